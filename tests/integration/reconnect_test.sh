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

# The system Python (a version manager's shim costs a second a call).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

PYPUB=$EVBUS_BUILDDIR/tests/integration/pypub
AMQPGET=$EVBUS_BUILDDIR/tests/integration/amqpget
for f in "$PYPUB" "$AMQPGET" "$EVBUSD"; do
	[ -x "$f" ] || { not_ok "$f is not built"; finish; }
done

VHOST=evbus-reconnect-$$
URL=${EVBUS_TEST_URL%/}/$VHOST
# --- helpers -------------------------------------------------------------

# check DESC CMD...: lib.sh's check, and when it fails, the condition is
# run once more with DIAG=1 so that it shows what it saw (the conditions
# polled by wait_for stay quiet while they poll).
check() {
	local what=$1; shift
	if "$@"; then
		ok "$what"
		return 0
	fi
	not_ok "$what"
	[ "$1" = wait_for ] && shift 2
	DIAG=1 "$@" || true
}

# plugin_dir NAME PLUGIN...: a plugin directory (mode 0755) holding copies
# of the given plugins (bundled handlers or test plugins).
plugin_dir() {
	local d=$T_DIR/$1 p; shift
	mkdir -p "$d"
	for p in "$@"; do
		if [ -f "$EVBUS_BUILDDIR/handlers/.libs/$p.so" ]; then
			cp "$EVBUS_BUILDDIR/handlers/.libs/$p.so" "$d/"
		else
			cp "$EVBUS_BUILDDIR/tests/plugins/.libs/$p.so" "$d/"
		fi || return 1
	done
	chmod 0755 "$d"
	echo "$d"
}

# conf NAME EXCHANGE GROUP [HEARTBEAT]: a config on stdin plus the broker
# and names.
conf() {
	local f=$T_DIR/$1.conf
	{
		echo "rabbitmq_url = \"$URL\";"
		echo "exchange_name = \"$2\";"
		echo "consumer_group = \"$3\";"
		echo "consumer_name = \"wt-$1\";"
		echo "heartbeat = ${4:-10};"
		echo "reconnect_delay = 0.5;"
		cat
	} > "$f"
	chmod 600 "$f"
	echo "$f"
}

# Timestamp every line (epoch seconds with microseconds).
stamp() {
	local l
	while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done
}

# start NAME CONF [ARGS...]: evbusd --single-worker in the background, its
# log in $T_DIR/NAME.log; its pid in PID_NAME and T_PIDS.
start() {
	local name=$1 conf=$2; shift 2
	"$EVBUSD" --single-worker -f "$conf" "$@" 2> >(stamp >> "$T_DIR/$name.log") &
	eval "PID_$name=$!"
	T_PIDS="$T_PIDS $!"
}

# logged NAME PATTERN [N]: the log of NAME has at least N (1) lines
# matching the extended regular expression.
logged() {
	local n
	n=$(grep -cE -- "$2" "$T_DIR/$1.log" 2>/dev/null)
	[ "${n:-0}" -ge "${3:-1}" ]
}

# ready NAME: the worker NAME logged that it consumes.
ready() { logged "$1" "consuming from" "${2:-1}"; }

# qcount QUEUE: "<ready messages> <consumers>" of the queue.
qcount() { "$AMQPGET" "$URL" "$1" --count 2>/dev/null; }
qis() { [ "$(qcount "$1")" = "$2" ]; }

# pub EXCHANGE [pypub options...]: publish with routing key from the body.
pub() {
	local x=$1; shift
	"$PYPUB" "$URL" "$x" - "$@"
}

uid() { printf '00000000-0000-4000-8000-%012d' "$1"; }

# ev ID TYPE [MEMBERS]: an event body the way pydantic writes it.
ev() {
	printf '{"event_id":"%s","event_type":"%s","event_version":1,"occurred_at":"2025-03-14T15:09:26.535897Z","aggregate_id":"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5","aggregate_type":"Order","aggregate_version":3,"tenant_id":null,"actor_id":null,"correlation_id":"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9","causation_id":null,"metadata":{}%s}' \
	    "$1" "$2" "${3:+,$3}"
}

# jl FILE EXPR: a Python expression over the JSON lines of FILE: L (handled
# events: jsonl lines), C (chaos attempt records: lines with "outcome"),
# raw (the text of every line), n(id) (how many times L has event id),
# and re.  Prints the lines when it is false.
jl() {
	"$PY" - "$@" <<'EOF'
import json, os, re, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    raw = [l.rstrip('\n') for l in open(path) if l.strip()]
except FileNotFoundError:
    raw = []
def load(l):
    # A handler may have written a line that is no JSON (a body that
    # should never have reached it): keep what can be read of it.
    try:
        return json.loads(l)
    except ValueError:
        m = re.search(r'"event_id":"([^"]*)"', l)
        return {'event_id': m.group(1) if m else None, 'unparsable': l}
A = [load(l) for l in raw]
L = [x for x in A if 'outcome' not in x]
C = [x for x in A if 'outcome' in x]
def n(eid): return sum(1 for x in L if x['event_id'] == eid)
ok = eval('(' + expr + ')')
if not ok and os.environ.get('DIAG'):
    print('#   false: ' + expr)
    for l in raw[-30:]:
        print('#   ' + l[:300])
sys.exit(0 if ok else 1)
EOF
}

# msg FILE ID EXPR: the one message with message_id ID in FILE (amqpget
# output) satisfies EXPR over m (the message), h (header -> value), k
# (header -> AMQP kind) and body.
msg() {
	"$PY" - "$@" <<'EOF'
import json, os, re, sys
path, mid, expr = sys.argv[1:4]
ms = [json.loads(l) for l in open(path) if l.strip()]
sel = [m for m in ms if m['properties'].get('message_id') == mid]
if len(sel) != 1:
    if os.environ.get('DIAG'):
        print('#   %d messages with message_id %s in %s' % (len(sel), mid, path))
    sys.exit(1)
m = sel[0]
hd = m['headers'] or {}
h = {n: v['value'] for n, v in hd.items()}
k = {n: v['kind'] for n, v in hd.items()}
body = m['body']
ok = eval('(' + expr + ')')
if not ok and os.environ.get('DIAG'):
    print('#   false: ' + expr)
    print('#   message: ' + json.dumps(m)[:3000])
sys.exit(0 if ok else 1)
EOF
}

show_log() { sed 's/^/#   /' "$T_DIR/$1.log" | tail -n "${2:-40}"; }

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
