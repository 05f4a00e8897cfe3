#!/usr/bin/env bash
# operator_test.sh: evbusctl and the status socket as an operator meets
# them (issue 12, items 3, 4, 6 and 9), against the real broker:
# - health with no evbusd fails and says why, once; --broker is the
#   broker-only check; queue falls back to the broker and says so;
# - evbusctl against a socket that closes at once: an error, not SIGPIPE;
# - right after start on a fresh exchange and group, health and queue
#   never report the queue missing, and uptime_seconds is never negative;
# - 200 idle connections (root's, then nobody's) do not lock evbusctl out;
# - scale below 1 is refused (client and server), scale abc is a usage
#   error, a reload keeps a pool scaled at run time unless `workers`
#   changed, and workers rows come sorted by index.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
. "$EVBUS_SRCDIR/tests/integration/status_lib.sh"
need_broker

# nobody must reach the status socket in the idle-client test.
chmod 755 "$T_DIR"
PLUGINS=$T_DIR/plugins
SOCK=$T_DIR/op.sock
LOG=$T_DIR/evbusd.log
PY=$T_DIR/op.py
mkdir -p "$PLUGINS"
cp "$EVBUS_BUILDDIR/handlers/.libs/jsonl.so" "$PLUGINS/" || {
	not_ok "plugin jsonl.so not built"; finish; }
chmod 0755 "$PLUGINS/jsonl.so"

{ printf '%s\n' "$PY_ASK"; cat <<'EOF'
import json, os, socket, sys, time

def closer(path, ready):
    """A status socket that accepts and at once closes, until killed."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    open(ready, "w").close()
    end = time.time() + 120
    while time.time() < end:
        c, _ = srv.accept()
        c.close()

def idle(path, n, hold, ready):
    """n connections that never send, held for hold seconds."""
    socks, failed = [], 0
    for i in range(int(n)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(path)
            socks.append(s)
        except OSError:
            failed += 1
            s.close()
    with open(ready, "w") as f:
        f.write("%d connected, %d failed\n" % (len(socks), failed))
    time.sleep(float(hold))
    for s in socks:
        s.close()

def watch(path, out, secs):
    """Ask health, queue and stats again and again for secs seconds from
    before evbusd is up; one JSON line per answer."""
    end = time.time() + float(secs)
    with open(out, "w") as f:
        while time.time() < end:
            for r in ("health", "queue", "stats"):
                try:
                    a = json.loads(ask(path, r))
                except (OSError, ValueError):
                    continue
                f.write(json.dumps({"t": time.time(), "req": r, "a": a}) +
                        "\n")
                f.flush()
            time.sleep(0.02)

def check_watch(out):
    """No health or queue answer says the queue does not exist; once a
    worker consumes, health says the queue is accessible; every stats
    uptime_seconds is >= 0."""
    rows = [json.loads(l) for l in open(out)]
    errs = []
    h = [r["a"] for r in rows if r["req"] == "health"]
    q = [r["a"] for r in rows if r["req"] == "queue"]
    s = [r["a"] for r in rows if r["req"] == "stats"]
    up = [x["uptime_seconds"] for x in s if x.get("uptime_seconds") is not None]
    print("%d health, %d queue, %d stats answers; uptime_seconds from %s" %
          (len(h), len(q), len(s), min(up) if up else None))
    for x in h:
        if "does not exist" in json.dumps(x):
            errs.append("health: %s" % x["queue_status"])
            break
    for x in q:
        if "does not exist" in json.dumps(x):
            errs.append("queue: %s" % x.get("error"))
            break
    cons = [x for x in h if x["details"]["workers_consuming"] > 0]
    if not cons:
        errs.append("no health answer with a worker consuming")
    elif cons[0]["queue_status"] != "accessible":
        errs.append("first health answer with a worker consuming: %s" %
                    cons[0]["queue_status"])
    if not up:
        errs.append("no stats answer with uptime_seconds")
    elif min(up) < 0:
        errs.append("uptime_seconds %s < 0" % min(up))
    if len(h) < 5 or len(q) < 5:
        errs.append("too few answers")
    for e in errs:
        print(e)
    return 1 if errs else 0

def sorted_rows(path):
    """workers rows sorted by index, in workers and in status."""
    w = json.loads(ask(path, "workers"))
    st = json.loads(ask(path, "stats"))["per_worker"]
    a = [x["index"] for x in w]
    b = [x["index"] for x in st]
    print("workers %s, status %s" % (a, b))
    return 0 if a == sorted(a) and b == sorted(b) and len(a) > 1 else 1

if __name__ == "__main__":
    r = globals()[sys.argv[1]](*sys.argv[2:])
    sys.exit(r or 0)
EOF
} > "$PY"

CONF=$(make_conf op <<EOF
consumer_name = "op$$";
consumer_group = "g$$";
workers = 2;
plugin_dir = "$PLUGINS";
status_socket = "$SOCK";
status_socket_mode = "0666";
pid_file = "$T_DIR/op.pid";
shutdown_timeout = 5.0;
handlers = { jsonl = { path = "$T_DIR/op.jsonl"; }; };
EOF
)
QUEUE=t$$.op.g$$
ctl() { "$EVBUSCTL" -f "$CONF" "$@"; }

# ---------------------------------------------------------------------
section "no evbusd: health fails and says so once; --broker; queue"
ctl health > "$T_DIR/h.out" 2> "$T_DIR/h.err"
rc=$?
check "health without evbusd: exit 69, not healthy (got $rc)" [ $rc = 69 ]
check "health without evbusd: says evbusd is not running, names the socket" \
    grep -q "evbusd is not running (no status socket at $SOCK)" "$T_DIR/h.err"
check "health without evbusd: the error once, nothing on stdout ($(wc -l < "$T_DIR/h.err") line(s))" \
    [ "$(wc -l < "$T_DIR/h.err")" = 1 -a ! -s "$T_DIR/h.out" ]
ctl health --json > "$T_DIR/h.out" 2> "$T_DIR/h.err"
rc=$?
check "health --json without evbusd: exit 69 too (got $rc)" [ $rc = 69 ]
ctl declare > /dev/null 2>&1
ctl health --broker > "$T_DIR/hb.out" 2> "$T_DIR/hb.err"
rc=$?
check "health --broker: the broker-only check, healthy once declared (exit $rc)" \
    [ $rc = 0 ]
check "health --broker: text names the broker as its source" \
    grep -q "^source: *broker .*--broker: evbusd not asked" "$T_DIR/hb.out"
ctl queue > "$T_DIR/q.out" 2> "$T_DIR/q.err"
rc=$?
check "queue without evbusd: falls back to the broker (exit $rc)" [ $rc = 0 ]
check "queue without evbusd: text names the broker and that evbusd is not running" \
    grep -q "^source: *broker .*evbusd is not running (no status socket at $SOCK)" "$T_DIR/q.out"
ctl queue --json > "$T_DIR/q.json" 2>/dev/null
check "queue --json without evbusd: source broker" \
    [ "$(jv "$T_DIR/q.json" '(d["source"], d["name"], d["state"])')" = "('broker', '$QUEUE', 'idle')" ]

section "a status socket that closes at once: an error, not SIGPIPE"
FAKE=$T_DIR/fake.sock
# On one CPU, a real-time server runs as soon as evbusctl's connect()
# wakes it, so it has closed before evbusctl writes its request: the
# write meets a closed socket every time (SIGPIPE on the old evbusctl).
RT=
chrt -f 50 true 2>/dev/null && RT="chrt -f 50"
taskset -c 0 $RT "$PYTHON" "$PY" closer "$FAKE" "$T_DIR/fake.ready" &
CLOSER=$!
T_PIDS="$T_PIDS $CLOSER"
wait_for 10 test -e "$T_DIR/fake.ready"
bad=0 sigpipe=0 silent=0
for i in $(seq 1 20); do
	taskset -c 0 "$EVBUSCTL" -f "$CONF" status --socket "$FAKE" \
	    > /dev/null 2> "$T_DIR/fake.err"
	rc=$?
	[ $rc = 0 ] && bad=$((bad + 1))
	[ $rc = 141 ] && sigpipe=$((sigpipe + 1))
	grep -q "evbusd closed the connection" "$T_DIR/fake.err" ||
	    silent=$((silent + 1))
done
check "20 status calls: none exits 0 ($bad), none dies of SIGPIPE ($sigpipe)" \
    [ $bad = 0 -a $sigpipe = 0 ]
check "each says evbusd closed the connection ($silent did not)" [ $silent = 0 ]
"$EVBUSCTL" -f "$CONF" health --socket "$FAKE" > /dev/null 2> "$T_DIR/fake.err"
rc=$?
check "health against it: exit non-zero, not 141 (got $rc)" \
    [ $rc != 0 -a $rc != 141 ]
kill "$CLOSER" 2>/dev/null; wait "$CLOSER" 2>/dev/null

# ---------------------------------------------------------------------
section "right after start on a fresh group: no missing queue, uptime >= 0"
# The watcher asks from before evbusd is up until well after.
py watch "$SOCK" "$T_DIR/watch.jsonl" 6 &
WATCH=$!
T_PIDS="$T_PIDS $WATCH"
# A group no worker has declared yet: its queue appears only when the
# first worker starts.
sed -i "s/^consumer_group = \"g$$\";/consumer_group = \"f$$\";/" "$CONF"
QUEUE=t$$.op.f$$
"$EVBUSD" -d -f "$CONF" >> "$LOG" 2>&1 &
SVPID=$!
T_PIDS="$T_PIDS $SVPID"
consuming() { [ "$(ctl workers --json 2>/dev/null | grep -o '"state":"consuming"' | wc -l)" = "$1" ]; }
check "evbusd: 2 workers consuming" wait_for 30 consuming 2
ctl health > "$T_DIR/h1.out" 2>&1
rc=$?
check "health at once: exit 0 (got $rc)" [ $rc = 0 ]
check "health at once: queue accessible" grep -q "^queue: *accessible" "$T_DIR/h1.out"
check "health text names evbusd's status socket as its source" \
    grep -q "^source: *evbusd (status socket $SOCK)" "$T_DIR/h1.out"
ctl queue --json > "$T_DIR/q1.json" 2>&1
check "queue at once: $QUEUE, source evbusd, not an error ($(jv "$T_DIR/q1.json" '(d["source"], d["state"], d["error"])'))" \
    [ "$(jv "$T_DIR/q1.json" '(d["name"], d["source"], d["state"] != "error")')" = "('$QUEUE', 'evbusd', True)" ]
wait "$WATCH"
checkpy "health/queue from the first moment: never a missing queue; stats uptime_seconds never negative" \
    check_watch "$T_DIR/watch.jsonl"

# ---------------------------------------------------------------------
section "200 idle connections do not lock evbusctl out"
status8() {	# status8 [AS...]: 8 status calls; prints how many failed
	local i f=0
	for i in 1 2 3 4 5 6 7 8; do
		"$@" "$EVBUSCTL" status --socket "$SOCK" > "$T_DIR/s8.out" \
		    2> "$T_DIR/s8.err" && grep -q "consuming of 2 running" \
		    "$T_DIR/s8.out" || { f=$((f + 1)); cat "$T_DIR/s8.err" >&2; }
	done
	echo $f
}
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
mkdir -m 1777 "$T_DIR/nb"	# for nobody's ready file
idle_flood() {	# idle_flood [AS...]: 200 idle connections held 10 s
	rm -f "$T_DIR/nb/idle.ready"
	"$@" "$PYTHON" "$PY" idle "$SOCK" 200 10 "$T_DIR/nb/idle.ready" &
	FLOOD=$!
	T_PIDS="$T_PIDS $FLOOD"
	wait_for 20 test -s "$T_DIR/nb/idle.ready"
	echo "# flood: $(cat "$T_DIR/nb/idle.ready")"
}
idle_flood
f=$(status8)
check "root's 200 idle connections: 8 of 8 status calls by root answered ($f failed)" [ "$f" = 0 ]
kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null
idle_flood as_nobody
f=$(status8)
check "nobody's 200 idle connections: 8 of 8 status calls by root answered ($f failed)" [ "$f" = 0 ]
f=$(status8 as_nobody)
check "and 8 of 8 by nobody ($f failed)" [ "$f" = 0 ]
sleep 1.5
f=$(status8)
check "1.5 s later, the idle ones timed out: 8 of 8 ($f failed)" [ "$f" = 0 ]
kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null
check "log: the full socket is reported" grep -q "status socket: full" "$LOG"

# ---------------------------------------------------------------------
section "scale: below 1 refused, abc a usage error; reload keeps a runtime size"
wanted() { ctl status --json 2>/dev/null | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["workers_wanted"], d["workers_consuming"], d["workers"])'; }
ctl scale 1 > /dev/null
check "scale 1: 1 worker" wait_for 20 eval '[ "$(wanted)" = "1 1 1" ]'
ctl scale 0 > /dev/null 2> "$T_DIR/sc.err"
rc=$?
check "scale 0: exit 64, a usage error (got $rc: $(head -c 100 "$T_DIR/sc.err"))" [ $rc = 64 ]
ctl scale -10 > /dev/null 2> "$T_DIR/sc.err"
rc=$?
check "scale -10 from 1: refused, exit 1 (got $rc: $(head -c 120 "$T_DIR/sc.err"))" [ $rc = 1 ]
check "scale -10 from 1: evbusd says it refused" grep -q "refused" "$T_DIR/sc.err"
ctl scale -1 > /dev/null 2>&1
rc=$?
check "scale -1 from 1: refused too (exit $rc)" [ $rc = 1 ]
check "scale abc: exit 64 (usage)" eval 'ctl scale abc >/dev/null 2>&1; [ $? = 64 ]'
check "scale (no count): exit 64 (usage)" eval 'ctl scale >/dev/null 2>&1; [ $? = 64 ]'
check "evbusd itself refuses scale 0 and scale -5 on the socket" \
    "$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[2]); import op
a = op.ask(sys.argv[1], "scale 0"); b = op.ask(sys.argv[1], "scale -5")
sys.exit(0 if "error" in a and "error" in b else 1)' "$SOCK" "$T_DIR"
kill -TTOU "$SVPID"
sleep 1
check "SIGTTOU at 1 worker: still 1 wanted and running" [ "$(wanted)" = "1 1 1" ]
check "log: the refused sizes are named" grep -q "scale: 0 workers refused" "$LOG"

ctl scale 5 > /dev/null
check "scale 5: 5 workers" wait_for 30 eval '[ "$(wanted)" = "5 5 5" ]'
ctl reload > /dev/null
check "reload with workers unchanged: log says the runtime size is kept" \
    wait_for 10 grep -q "reload: workers unchanged (2) in $CONF; keeping the 5 workers scaled to at run time" "$LOG"
sleep 2
check "after the reload: still 5 wanted and consuming" \
    wait_for 60 eval '[ "$(wanted)" = "5 5 5" ]'
checkpy "after a reload and scaling: workers rows sorted by index" \
    sorted_rows "$SOCK"
ctl workers > "$T_DIR/w.out"
check "workers text: rows by index" \
    [ "$(awk 'NR > 1 { print $1 }' "$T_DIR/w.out" | tr '\n' ' ')" = "0 1 2 3 4 " ]
sed -i 's/^workers = 2;/workers = 3;/' "$CONF"
ctl reload > /dev/null
check "reload with workers 2 -> 3: log says so" \
    wait_for 10 grep -q "reload: workers changed from 2 to 3 in $CONF; scaling from 5 to 3" "$LOG"
check "and the pool follows the key: 3 workers" \
    wait_for 60 eval '[ "$(wanted)" = "3 3 3" ]'

ctl stop > /dev/null
check "evbusctl stop: evbusd exits" wait_for 20 eval '! kill -0 $SVPID 2>/dev/null'
ctl health > /dev/null 2>&1
rc=$?
check "health after stop: exit 69 again (got $rc)" [ $rc = 69 ]

if [ "$T_FAIL" -gt 0 ]; then
	echo "# --- evbusd log (last 40 lines) ---"
	tail -40 "$LOG"
fi
finish
