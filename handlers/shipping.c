int evbus_stub_shipping;
