#!/usr/bin/env bash
# reconnect_test.sh: the worker loses the broker and comes back without
# losing a message: forced connection closes under load (every event
# handled at least once, the queue drained, reconnects logged), a broker
# application restart (reconnect with backoff, topology redeclared), and
# its queue deleted under it (consumer cancelled, queue redeclared).
#
# The worker runs in a vhost of its own, so closing all connections of
# that vhost touches no other test; the broker restart does stop the whole
# node for a few seconds, so this test must not share the broker with a
# test running at the same time.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

VHOST=evbus-reconnect-$$
URL=${EVBUS_TEST_URL%/}/$VHOST
. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"

# ids FILE: the event ids that the jsonl FILE shows handled, one per line.
handled_ids() { "$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    print(json.loads(l)["event_id"])' "$1" 2>/dev/null | sort -u; }

# all_handled IDS JSONL: every id in the file IDS appears in JSONL.
all_handled() {
	[ -z "$(comm -23 <(sort -u "$1") <(handled_ids "$2"))" ]
}

nlines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }

# nready NAME: how many times worker NAME started consuming so far.
nready() { grep -c "consuming from" "$T_DIR/$1.log"; }

# queue_totals QUEUE: "<ready> <unacked>" as the broker counts them.
queue_totals() {
	rmqctl list_queues -p "$VHOST" name messages_ready \
	    messages_unacknowledged | awk -v q="$1" '$1 == q { print $2, $3 }'
}

vhost_cleanup() {
	rmqctl delete_vhost "$VHOST" >/dev/null 2>&1
}

# --- a vhost of our own ------------------------------------------------------

if ! rmqctl add_vhost "$VHOST" >/dev/null ||
    ! rmqctl set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null; then
	not_ok "create vhost $VHOST"
	finish
fi
trap 'vhost_cleanup; t_cleanup' EXIT
ok "vhost $VHOST created"

X=reconnect
Q=$X.grp
P=$(plugin_dir p chaos jsonl) || { not_ok "plugins not built"; finish; }
J=$T_DIR/r.jsonl
# chaos slows every event down (5 ms), so the closes land mid-stream.
CR=$(conf r "$X" grp <<EOF2
plugin_dir = "$P";
reconnect_max_delay = 2.0;
handlers = {
	jsonl = { path = "$J"; };
	chaos = { sleep_ms = 5; };
};
EOF2
)
# Non-durable entities: a broker restart removes them, so consuming again
# afterwards proves the worker declared them again.
XN=transient
QN=$XN.grp
JN=$T_DIR/n.jsonl
CN=$(conf n "$XN" grp <<EOF2
plugin_dir = "$P";
durable = false;
reconnect_max_delay = 2.0;
handlers = {
	jsonl = { path = "$JN"; };
};
EOF2
)
start r "$CR"
start n "$CN"
for w in r n; do
	if ! wait_for 30 ready $w; then
		not_ok "worker $w consumes"
		show_log $w
		finish
	fi
done
ok "workers consume"

# --- forced connection closes under load --------------------------------

N=2000
check "publish $N events (pypub, confirmed)" eval \
    '"$PYPUB" "$URL" "$X" - --count $N --print-ids > "$T_DIR/ids1"'
check "pypub reported $N confirmed ids" [ "$(sort -u "$T_DIR/ids1" | wc -l)" -eq "$N" ]
seen_before=()
for i in 1 2 3; do
	[ $i = 1 ] && sleep 0.7
	seen_before+=("$(nlines "$J")")
	R0=$(nready r)
	check "close all connections of the vhost (round $i)" \
	    eval 'rmqctl close_all_connections -p "$VHOST" "test $i" >/dev/null'
	check "worker reconnected and consumes again (round $i)" \
	    wait_for 30 ready r $((R0 + 1))
done
SEEN=$(IFS=,; echo "${seen_before[*]}")
echo "# events handled before each close: $SEEN"
check "the closes came while the worker was consuming" \
    "$PY" -c "import sys; s=[$SEEN]; sys.exit(0 if 0 < s[0] and s[-1] < $N else 1)"
check "every event handled at least once" wait_for 90 all_handled "$T_DIR/ids1" "$J"
check "main queue drained: nothing ready, nothing unacked" \
    wait_for 20 eval '[ "$(queue_totals "$Q")" = "0 0" ]'
check "nothing dead-lettered" qis "$Q.dlq" "0 0"
check "worker logged each forced close" \
    logged r "connection lost: .*CONNECTION_FORCED - test" 3
check "worker logged each reconnect" logged r "consuming from $Q" 4
check "transient worker reconnected too" logged n "consuming from $QN" 4
DUPS=$(( $(nlines "$J") - N ))
echo "# $DUPS duplicate deliveries after 3 forced closes (at least once)"
check "duplicates bounded by the unacked window (3 closes x prefetch 10)" \
    [ "$DUPS" -ge 0 ] && [ "$DUPS" -le 30 ]
check "duplicates are redeliveries" "$PY" - "$J" <<'PY'
import json, sys
seen = set()
ok = True
for l in open(sys.argv[1]):
    x = json.loads(l)
    if x['event_id'] in seen and not x['redelivered']:
        ok = False
        print('#   %s handled again without the redelivered flag' % x['event_id'])
    seen.add(x['event_id'])
sys.exit(0 if ok else 1)
PY

# --- broker application restart ------------------------------------------

N2=500
check "publish $N2 more events" eval \
    '"$PYPUB" "$URL" "$X" - --count $N2 --print-ids > "$T_DIR/ids2"'
sleep 0.5
RESTART_AT=$(nlines "$J")
R0=$(nready r)
N0=$(nready n)
check "rabbitmqctl stop_app" eval 'rmqctl stop_app >/dev/null'
sleep 2
check "rabbitmqctl start_app" eval 'rmqctl start_app >/dev/null'
check "durable worker reconnects after the restart" wait_for 60 ready r $((R0 + 1))
check "transient worker reconnects after the restart" wait_for 60 ready n $((N0 + 1))
check "the restart came while the worker was consuming" \
    [ "$RESTART_AT" -lt $((N + DUPS + N2)) ]
check "worker logged the lost broker and retried with backoff" \
    logged r "retrying in [0-9.]+s"
check "every event published before the restart handled" \
    wait_for 60 all_handled "$T_DIR/ids2" "$J"
check "main queue drained after the restart" \
    wait_for 20 eval '[ "$(queue_totals "$Q")" = "0 0" ]'
check "transient queue declared again after the restart" qis "$QN" "0 1"
check "publish to the transient exchange" eval \
    '"$PYPUB" "$URL" "$XN" - --count 3 --print-ids > "$T_DIR/ids3"'
check "transient worker handles events again" \
    wait_for 20 all_handled "$T_DIR/ids3" "$JN"

# --- queue deleted under the worker -----------------------------------------

N0=$(nready n)
check "delete the transient worker's queue" \
    eval 'rmqctl delete_queue -p "$VHOST" "$QN" >/dev/null'
check "worker noticed the cancelled consumer" \
    wait_for 20 logged n "cancelled our consumer"
check "worker declared the queue again and consumes" wait_for 30 ready n $((N0 + 1))
check "the queue is back" qis "$QN" "0 1"
check "publish after the queue came back" eval \
    '"$PYPUB" "$URL" "$XN" - --count 3 --print-ids > "$T_DIR/ids4"'
check "events handled after the queue came back" \
    wait_for 20 all_handled "$T_DIR/ids4" "$JN"

check "durable worker still running" kill -0 "$PID_r"
check "transient worker still running" kill -0 "$PID_n"
if [ "$T_FAIL" -gt 0 ]; then
	echo "# log of worker r:"; show_log r 40
	echo "# log of worker n:"; show_log n 20
fi
finish
