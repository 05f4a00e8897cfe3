int evbus_stub_init_fail;
