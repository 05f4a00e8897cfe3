#!/usr/bin/env bash
# dlq_test.sh: evbusctl dlq count/list/replay/purge against a real broker:
# a DLQ filled by failing handlers and by eventsource-py's rules, listing
# that leaves the queue as it was, replay of a message in the middle,
# replay --all, --filter, --to-group, a message not found, an interrupted
# replay (at most duplicates, never a loss), and purge.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

PYPUB=$EVBUS_BUILDDIR/tests/integration/pypub
AMQPGET=$EVBUS_BUILDDIR/tests/integration/amqpget
X="t$$.dlq"
mkdir -p "$T_DIR/plugins"
chmod 755 "$T_DIR/plugins"
cp "$EVBUS_BUILDDIR/handlers/.libs/chaos.so" "$T_DIR/plugins/"
CONF=$(make_conf dlq <<EOF
exchange_name = "$X";
consumer_group = "g";
max_retries = 0;
plugin_dir = "$T_DIR/plugins";
EOF
)
# A second group on the same exchange, to see where replays go.
CONF2=$(make_conf dlq2 <<EOF
exchange_name = "$X";
consumer_group = "other";
EOF
)
ctl() { "$EVBUSCTL" -f "$CONF" "$@"; }
count() { ctl dlq count 2>/dev/null; }
qcount() { "$AMQPGET" "$EVBUS_TEST_URL" "$1" --count | awk '{ print $1 }'; }

ctl declare >/dev/null
"$EVBUSCTL" -f "$CONF2" declare >/dev/null

# 1. Three events dead-lettered by failing handlers (max_retries 0).
"$EVBUSD" --single-worker -f "$CONF" > "$T_DIR/worker.log" 2>&1 &
WPID=$!
T_PIDS="$T_PIDS $WPID"
ids=$("$PYPUB" "$EVBUS_TEST_URL" "$X" - --set chaos='"fail"' --count 3 --print-ids)
check "three failing events published" [ "$(echo "$ids" | wc -l)" -eq 3 ]
check "they reach the DLQ" wait_for 30 sh -c "[ \"\$($EVBUSCTL -f $CONF dlq count 2>/dev/null)\" = 3 ]"
kill -TERM "$WPID"; wait "$WPID" 2>/dev/null

# 2. Two dead-lettered by eventsource-py's rules (wire spec 5.5): a plain
# publish to the DLQ exchange with the DLQ headers, integer counts.
pyids=$("$PYPUB" "$EVBUS_TEST_URL" "${X}_dlq" "$X.g" --count 2 --print-ids \
    --no-timestamp \
    --header 'x-retry-count=b:3' --header 'x-dlq-reason=S:boom' \
    --header 'x-dlq-error-type=S:ValueError' --header 'x-dlq-retry-count=b:3' \
    --header 'x-dlq-timestamp=S:2025-03-14T15:09:33.004512+00:00' \
    --header 'x-original-routing-key=S:Order.OrderCreated' \
    --header 'x-last-retry-at=S:2025-03-14T15:09:27.102938+00:00')
all="$ids
$pyids"
check "DLQ count is 5" [ "$(count)" = 5 ]

# 3. list: distinct messages in queue order, fields, nothing consumed.
ctl dlq list --json > "$T_DIR/list1.json"
ctl dlq list --json > "$T_DIR/list2.json"
listed=$(python3 -c 'import json,sys; print("\n".join(m["message_id"] for m in json.load(open(sys.argv[1]))))' "$T_DIR/list1.json")
check "list shows the 5 messages in DLQ order" [ "$listed" = "$all" ]
check "listing twice gives the same list" cmp -s "$T_DIR/list1.json" "$T_DIR/list2.json"
check "listing leaves the DLQ as it was" [ "$(count)" = 5 ]
check "handler-failed records carry reason, type, count, original key" python3 - "$T_DIR/list1.json" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))
h = m[0]
ok = (h["dlq_error_type"] == "ChaosError" and "asked to fail" in h["dlq_reason"]
      and h["dlq_retry_count"] == 0 and h["original_routing_key"] == "Order.OrderCreated"
      and h["event_type"] == "OrderCreated"
      and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00", h["dlq_timestamp"]))
p = m[3]
ok = ok and p["dlq_error_type"] == "ValueError" and p["dlq_retry_count"] == 3 \
    and p["dlq_reason"] == "boom" and p["routing_key"].endswith(".g")
sys.exit(0 if ok else 1)
PY
ctl dlq list --limit 2 --json > "$T_DIR/list3.json"
check "--limit 2 lists the first two" [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T_DIR/list3.json")" = 2 ]
check "human-readable list names the error types" sh -c "$EVBUSCTL -f $CONF dlq list | grep -q ValueError"

# 4. replay of the message in the middle (eventsource-py only finds the head).
mid=$(echo "$all" | sed -n 3p)
"$AMQPGET" "$EVBUS_TEST_URL" "$X.other" >/dev/null	# empty the other group
check "replay of a message in the middle succeeds" ctl dlq replay "$mid"
check "DLQ count is 4" [ "$(count)" = 4 ]
left=$(ctl dlq list --json | python3 -c 'import json,sys; print("\n".join(m["message_id"] for m in json.load(sys.stdin)))')
check "the others stay, in order" [ "$left" = "$(echo "$all" | grep -v "^$mid\$")" ]
"$AMQPGET" "$EVBUS_TEST_URL" "$X.other" > "$T_DIR/replayed.json"
check "replay went to the main exchange by original routing key (other group got it)" \
    python3 - "$T_DIR/replayed.json" "$mid" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = len(lines) == 1
m = lines[0] if lines else {}
h = m.get("headers") or {}
ok = ok and m["properties"].get("message_id") == sys.argv[2]
ok = ok and m["routing_key"] == "Order.OrderCreated" and m["exchange"].endswith(".dlq")
ok = ok and h.get("x-retry-count", {}).get("value") == 0
ok = ok and "x-replayed-from-dlq" in h and h["x-replayed-from-dlq"]["value"].endswith("+00:00")
for k in ("x-dlq-reason", "x-dlq-error-type", "x-dlq-retry-count", "x-dlq-timestamp",
          "x-original-routing-key", "x-death"):
    ok = ok and k not in h
ok = ok and h.get("event_type", {}).get("value") == "OrderCreated"
sys.exit(0 if ok else 1)
PY

# 5. not found, filters.
ctl dlq replay 00000000-0000-4000-8000-000000000000 > "$T_DIR/nf.out" 2>&1
rc=$?
check "an unknown id exits non-zero" [ "$rc" -ne 0 ]
check "and says it was not found" grep -q "not found" "$T_DIR/nf.out"
check "and leaves the DLQ alone" [ "$(count)" = 4 ]
ctl dlq replay --all --filter event_type=NoSuchType > /dev/null
check "--filter that matches nothing replays nothing" [ "$(count)" = 4 ]

# 6. --to-group: only this group's queue gets it.
one=$(echo "$pyids" | tail -n 1)
"$AMQPGET" "$EVBUS_TEST_URL" "$X.g" >/dev/null
check "replay --to-group succeeds" ctl dlq replay --to-group "$one"
check "this group's queue got it" [ "$(qcount "$X.g")" = 1 ]
check "the other group did not" [ "$(qcount "$X.other")" = 0 ]

# 7. replay --all.
check "replay --all succeeds" ctl dlq replay --all
check "DLQ is empty" [ "$(count)" = 0 ]
check "every replayed message reached the other group" [ "$(qcount "$X.other")" = 3 ]

# 8. Interrupted replays: at most duplicates, never a loss.
"$AMQPGET" "$EVBUS_TEST_URL" "$X.other" >/dev/null
many=$("$PYPUB" "$EVBUS_TEST_URL" "${X}_dlq" "$X.g" --count 300 --print-ids \
    --header 'x-dlq-reason=S:boom' --header 'x-dlq-error-type=S:ValueError' \
    --header 'x-original-routing-key=S:Order.OrderCreated')
check "300 more dead-lettered" [ "$(count)" = 300 ]
for d in 0.05 0.15 0.3; do
	ctl dlq replay --all > /dev/null 2>&1 &
	p=$!
	sleep "$d"
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
wait_for 30 sh -c "[ \"\$($EVBUSCTL -f $CONF dlq count 2>/dev/null)\" != '' ]"
ctl dlq replay --all > /dev/null 2>&1
check "after the interrupted replays the DLQ is empty" wait_for 20 sh -c "[ \"\$($EVBUSCTL -f $CONF dlq count 2>/dev/null)\" = 0 ]"
"$AMQPGET" "$EVBUS_TEST_URL" "$X.other" > "$T_DIR/many.json"
got=$(python3 -c 'import json,sys; print("\n".join(sorted(set(json.loads(l)["properties"]["message_id"] for l in open(sys.argv[1]) if l.strip()))))' "$T_DIR/many.json")
check "every message arrived at least once (none lost)" \
    [ "$(echo "$many" | wc -l)" -eq 300 -a "$got" = "$(echo "$many" | sort)" ]
echo "# $(wc -l < "$T_DIR/many.json") copies of 300 messages (duplicates allowed)"

# 9. A replay while the group's worker runs and fails every message
# again: each message in the DLQ at the start is replayed once, never the
# copies that come back during the scan (they were replayed over and over).
CONF4=$(make_conf dlq4 <<EOF
exchange_name = "$X";
consumer_group = "g";
max_retries = 0;
plugin_dir = "$T_DIR/plugins";
handlers = { chaos = { path = "$T_DIR/again.chaos"; }; };
EOF
)
# Earlier replays left copies in the group's queue: start from empty.
"$AMQPGET" "$EVBUS_TEST_URL" "$X.g" >/dev/null
"$EVBUSD" --single-worker -f "$CONF4" > "$T_DIR/worker4.log" 2>&1 &
W4=$!
T_PIDS="$T_PIDS $W4"
check "a worker of the group consumes" \
    wait_for 30 grep -q "consuming from" "$T_DIR/worker4.log"
dlq_is() { [ "$(count)" = "$1" ]; }
again=$("$PYPUB" "$EVBUS_TEST_URL" "$X" - --set chaos='"fail"' --count 50 \
    --print-ids)
check "50 failing events reach the DLQ" wait_for 30 dlq_is 50
ctl dlq replay --all --json > "$T_DIR/again.json" 2> "$T_DIR/again.err"
check "replay --all: depth 50, scanned 50, matched 50, replayed 50, failed 0, left 0" \
    python3 - "$T_DIR/again.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if (d["depth"], d["scanned"], d["matched"], d["replayed"],
               d["failed"], d["left"]) == (50, 50, 50, 50, 0, 0) else 1)
PY
check "no progress line when stderr is not a terminal" \
    sh -c "! grep -q 'replay: scanned' '$T_DIR/again.err'"
check "they failed again and are back in the DLQ" wait_for 30 dlq_is 50
one=$(echo "$again" | sed -n 7p)
ctl dlq replay "$one" > "$T_DIR/again1.out" 2>&1
check "replay ID: the count adds up" grep -q \
    "scanned 50 of the 50 in $X.g.dlq at the start: 1 matched, 1 replayed, 0 failed; 49 left in the DLQ" \
    "$T_DIR/again1.out"
check "it failed again and is back in the DLQ" wait_for 30 dlq_is 50
ctl dlq replay --all --filter event_type=OrderCreated > /dev/null 2>&1
check "after --filter every one is back in the DLQ" wait_for 30 dlq_is 50
sleep 1
check "each ran once per replay: 3 times (first, --all, --filter), 4 for the one replayed by id" \
    python3 - "$T_DIR/again.chaos" "$one" $again <<'PY'
import collections, json, sys
seen = collections.Counter(json.loads(l)["event_id"]
                           for l in open(sys.argv[1]) if l.strip())
one, ids = sys.argv[2], sys.argv[3:]
bad = {i: seen[i] for i in ids if seen[i] != (4 if i == one else 3)}
if bad:
    print("#   runs per event that are wrong:", bad)
sys.exit(0 if len(ids) == 50 and not bad and sum(seen.values()) == 151 else 1)
PY
script -qec "$EVBUSCTL -f $CONF dlq replay --all" /dev/null > "$T_DIR/tty.out" 2>&1
check "on a terminal a replay shows its progress" grep -q "replay: scanned" "$T_DIR/tty.out"
kill -TERM "$W4"; wait "$W4" 2>/dev/null
ctl dlq purge --yes > /dev/null

# 10. purge.
"$PYPUB" "$EVBUS_TEST_URL" "${X}_dlq" "$X.g" --count 3 >/dev/null
ctl dlq purge < /dev/null > "$T_DIR/purge.out" 2>&1
rc=$?
check "purge without --yes off a terminal refuses" [ "$rc" -eq 64 ]
check "and deletes nothing" [ "$(count)" = 3 ]
check "purge --yes reports what it removed" sh -c "$EVBUSCTL -f $CONF dlq purge --yes | grep -q 'purged 3 message'"
check "DLQ empty after purge" [ "$(count)" = 0 ]

# 11. A DLQ that does not exist.
CONF3=$(make_conf dlq3 <<EOF
exchange_name = "$X";
consumer_group = "nosuchgroup";
EOF
)
"$EVBUSCTL" -f "$CONF3" dlq count > "$T_DIR/missing.out" 2>&1
rc=$?
check "count of a missing DLQ exits non-zero" [ "$rc" -ne 0 ]
check "saying the queue does not exist" grep -q "does not exist" "$T_DIR/missing.out"

# Clean up the broker side.
for q in "$X.g" "$X.g.dlq" "$X.other" "$X.other.dlq" "$X.g.retry.1000"; do
	rmqctl delete_queue "$q" >/dev/null 2>&1
done
finish
