int evbus_stub_jsonl;
