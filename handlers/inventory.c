int evbus_stub_inventory;
