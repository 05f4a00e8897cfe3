# worker_lib.sh: helpers shared by the worker tests (worker_test.sh,
# retry_test.sh, reconnect_test.sh, poison_test.sh), sourced after lib.sh
# and need_broker.  It sets PY, PYPUB, AMQPGET and URL (the test broker,
# unless the test set URL first) and fails the test when a tool is not
# built.

# The system Python (a version manager's shim costs a second a call).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PYPUB=$EVBUS_BUILDDIR/tests/integration/pypub
AMQPGET=$EVBUS_BUILDDIR/tests/integration/amqpget
URL=${URL:-${EVBUS_TEST_URL:-}}
for f in "$PYPUB" "$AMQPGET" "$EVBUSD" "$EVBUSCTL"; do
	[ -x "$f" ] || { not_ok "$f is not built"; finish; }
done

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
