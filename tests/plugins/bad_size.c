int evbus_stub_bad_size;
