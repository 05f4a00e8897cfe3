#!/usr/bin/env bash
# status_contents_test.sh: what `evbusctl status` and `workers` tell an
# operator (issue 17): version, uptime, config path, the broker node(s),
# the loaded plugins with versions and event types; a workers table
# sorted by index with uptime, restarts of that slot, RSS, CPU%, the last
# event and the message in flight with its duration; counters that add
# up (received = ok + skipped + failed + malformed + poison + in flight +
# unsettled); and the last error's text, with a password in it masked.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

PY=/usr/bin/python3
PLUGINS=$T_DIR/plugins
mkdir -p "$PLUGINS" && chmod 0755 "$PLUGINS"
for p in chaos inventory; do
	cp "$EVBUS_BUILDDIR/handlers/.libs/$p.so" "$PLUGINS/" || {
		not_ok "plugin $p.so not built"; finish; }
	chmod 0755 "$PLUGINS/$p.so"
done
C=$(make_conf st <<EOF
consumer_group = "g";
workers = 2;
plugin_dir = "$PLUGINS";
status_socket = "$T_DIR/st.sock";
pid_file = "$T_DIR/st.pid";
max_retries = 0;
handler_timeout = 30;
EOF
)
"$EVBUSD" -d -f "$C" > "$T_DIR/st.log" 2>&1 &
EP=$!
T_PIDS="$T_PIDS $EP"

j() {	# j COMMAND PYTHON-EXPR: evaluate EXPR on the command's JSON (as J)
	"$EVBUSCTL" -f "$C" "$1" --json > "$T_DIR/$1.json" 2>/dev/null || return 1
	"$PY" -c "import json,sys; J=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$T_DIR/$1.json"
}
check "evbusd: 2 workers consuming" wait_for 30 j status 'J["workers_consuming"] == 2'

ev() {	# ev TYPE EXTRA-JSON
	printf '{"event_id":"%s","event_type":"%s","aggregate_id":"%s","aggregate_type":"Order","correlation_id":"%s"%s}\n' \
	    "$(cat /proc/sys/kernel/random/uuid)" "$1" \
	    "$(cat /proc/sys/kernel/random/uuid)" \
	    "$(cat /proc/sys/kernel/random/uuid)" "$2"
}
{
	for i in 1 2 3 4 5; do ev OrderCreated ''; done
	for i in 1 2 3; do ev OrderShipped ''; done
	ev OrderCreated ',"chaos":"fail"'
} > "$T_DIR/ev.jsonl"
"$EVBUSCTL" -f "$C" publish -i "$T_DIR/ev.jsonl" > /dev/null 2>&1
check "9 events published" [ $? = 0 ]
# A malformed message (no JSON body) straight into the exchange.
"$EVBUS_BUILDDIR/tests/integration/pypub" "$EVBUS_TEST_URL" "t$$.st" \
    Order.OrderCreated --body-file /dev/null > /dev/null 2>&1
check "all 10 settled" wait_for 30 j status 'J["received"] >= 10 and J["in_flight"] == 0 and J["handled_ok"] + J["failed"] + J["malformed"] >= 10'

j status True
check "status: version, config path, supervisor uptime" "$PY" - "$T_DIR/status.json" "$C" <<'EOF'
import json, sys
J = json.load(open(sys.argv[1]))
ok = J["version"] and J["config"].endswith(sys.argv[2].split("/")[-1]) and J["supervisor_uptime_seconds"] >= 0
print(J["version"], J["config"], J["supervisor_uptime_seconds"])
sys.exit(0 if ok else 1)
EOF
check "status: the broker node" j status 'len(J["nodes"]) == 1 and J["nodes"][0].startswith("127.0.0.1:")'
check "status: plugins with version, file and event types" j status \
    '{p["name"]: (p["file"], p["event_types"]) for p in J["plugins"]} == {"chaos": ("chaos.so", None), "inventory": ("inventory.so", ["OrderCreated", "OrderCancelled"])} and all(p["version"] for p in J["plugins"])'
check "status: the counters add up" j status \
    'J["received"] == J["handled_ok"] + J["skipped"] + J["failed"] + J["malformed"] + J["poison_messages"] + J["in_flight"] + J["unsettled"]'
check "status: 1 failed, 1 malformed, 2 dead-lettered" j status \
    'J["failed"] == 1 and J["malformed"] == 1 and J["dead_lettered"] == 2'
check "status: skipped events are not counted as ok" j status \
    'J["handled_ok"] == J["events_processed_success"] - J["skipped"]'
check "status: the last error's text" j status \
    'J["last_error"] is not None and ("malformed" in J["last_error"] or "ChaosError" in J["last_error"])'

"$EVBUSCTL" -f "$C" status > "$T_DIR/status.txt" 2>&1
check "status text: version and uptime line" grep -qE '^evbusd: +[0-9][^,]*, up [0-9]+[smhd]' "$T_DIR/status.txt"
check "status text: plugins line names inventory's events" \
    grep -q 'inventory .*(inventory.so): OrderCreated, OrderCancelled' "$T_DIR/status.txt"
check "status text: the received line adds up" "$PY" - "$T_DIR/status.txt" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"received: +(\d+) = (\d+) ok \+ (\d+) skipped \(no handler\) \+ (\d+) failed \+ (\d+) malformed \+ (\d+) poison \+ (\d+) in flight \+ (\d+) unsettled", t)
print(m.group(0) if m else t)
sys.exit(0 if m and int(m.group(1)) == sum(int(x) for x in m.groups()[1:]) else 1)
EOF
check "status text: last error shows its text" grep -qE '^last error: +[0-9-]+T.*  message ' "$T_DIR/status.txt"

# Workers: sorted, with the new columns; a restart counted on its slot.
pid1=$("$PY" -c "import json; print([w['pid'] for w in json.load(open('$T_DIR/status.json'))['per_worker'] if w['index'] == 1][0])")
kill -9 "$pid1"
check "worker 1 replaced" wait_for 30 j workers '[w["index"] for w in J] == [0, 1] and [w for w in J if w["index"] == 1][0]["pid"] != '"$pid1"' and all(w["state"] == "consuming" for w in J)'
check "workers: restarts counted on the slot (0: 0, 1: 1)" j workers \
    '[w["restarts"] for w in J] == [0, 1]'
check "workers: RSS and CPU sampled" wait_for 10 j workers \
    'all(w["rss_bytes"] and w["rss_bytes"] > 100000 and w["cpu_percent"] is not None for w in J)'
check "workers: uptime, last event of the one that handled" j workers \
    'all(w["uptime_seconds"] >= 0 for w in J) and any(w["last_event_at"] for w in J)'
"$EVBUSCTL" -f "$C" workers > "$T_DIR/workers.txt" 2>&1
check "workers text: the columns" grep -qE '^INDEX +PID +STATE +UP +RESTARTS +RSS +CPU% +NODE +CONSUMED +FAILED +DLQ +LAST +IN FLIGHT' "$T_DIR/workers.txt"
check "workers text: rows sorted by index" eval \
    "[ \"\$(awk 'NR > 1 && /^[0-9]/ { print \$1 }' '$T_DIR/workers.txt' | tr '\n' ' ')\" = '0 1 ' ]"

# In flight: a handler sleeping 3 s shows with its duration.
ev OrderCreated ',"sleep_ms":3000' > "$T_DIR/slow.jsonl"
"$EVBUSCTL" -f "$C" publish -i "$T_DIR/slow.jsonl" > /dev/null 2>&1
check "workers: the message in flight with its duration" wait_for 10 j workers \
    'any(w["inflight"] and w["inflight_seconds"] >= 1.0 for w in J)'
"$EVBUSCTL" -f "$C" workers > "$T_DIR/workers2.txt" 2>&1
check "workers text: in flight with seconds" grep -qE ' \([0-9]+\.[0-9]s\)$' "$T_DIR/workers2.txt"

# A password in an error's text is masked.
ev OrderCreated ',"chaos":"amqp://app:hunter2@mq.example:5672/"' > "$T_DIR/pw.jsonl"
"$EVBUSCTL" -f "$C" publish -i "$T_DIR/pw.jsonl" > /dev/null 2>&1
check "last error masks the password" wait_for 15 j status \
    '"app:****@mq.example" in (J["last_error"] or "") and "hunter2" not in (J["last_error"] or "")'

kill -TERM "$EP"
wait "$EP"
finish
