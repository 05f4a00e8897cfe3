int evbus_stub_bad_major;
