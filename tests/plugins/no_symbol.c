int evbus_stub_no_symbol;
