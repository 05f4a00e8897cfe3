int evbus_stub_fulfillment;
