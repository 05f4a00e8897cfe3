int evbus_stub_wild;
