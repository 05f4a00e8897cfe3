int evbus_stub_good_b;
