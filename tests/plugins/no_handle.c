int evbus_stub_no_handle;
