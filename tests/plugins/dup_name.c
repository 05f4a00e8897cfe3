int evbus_stub_dup_name;
