int evbus_stub_chaos;
