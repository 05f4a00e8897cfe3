#!/usr/bin/env bash
# supervisor_test.sh: evbusd's supervisor against a real broker: the
# worker pool consuming as one group, restarts after kill -9, poison
# messages (segfault, hang) dead-lettered after max_crashes, SIGHUP
# reloads good and bad, graceful SIGTERM with a message in flight,
# scaling (signals and the socket), the status socket's stats, health,
# queue and OpenMetrics answers, permissions on the socket, the pid
# file and daemon mode, and a plugin whose init refuses to start.
#
# Every evbusd here runs in this test's temp dir (socket, pid file,
# plugins, logs); python3 (stdlib only) parses the JSON and metrics.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
. "$EVBUS_SRCDIR/tests/integration/status_lib.sh"
need_broker

# nobody must be able to reach the status socket in the nobody test.
chmod 755 "$T_DIR"
# The broker must not stay stopped if this test dies in the middle.
BROKER_STOPPED=0
sv_cleanup() {
	[ "$BROKER_STOPPED" = 1 ] && rmqctl start_app >/dev/null 2>&1
	t_cleanup
}
trap sv_cleanup EXIT
PLUGINS=$T_DIR/plugins
SOCK=$T_DIR/evbusd.sock
LOG=$T_DIR/evbusd.log
JSONL=$T_DIR/events.jsonl
JSONL2=$T_DIR/events2.jsonl
CHAOS=$T_DIR/chaos.jsonl
CN=sv$$
PY=$T_DIR/sv.py
mkdir -p "$PLUGINS"
for p in jsonl chaos; do
	cp "$EVBUS_BUILDDIR/handlers/.libs/$p.so" "$PLUGINS/" || {
		not_ok "plugin $p.so not built (make handlers/$p.la)"; finish; }
	chmod 0755 "$PLUGINS/$p.so"
done

# --- python helpers: events, socket requests, JSON and metrics checks ---
{ printf '%s\n' "$PY_ASK"; cat <<'EOF'
import json, os, re, socket, sys, time, uuid

def gen(n, out, extra):
    """n events (JSON lines) into out, their ids into out.ids."""
    extra = json.loads(extra) if extra else {}
    with open(out, "w") as f, open(out + ".ids", "w") as g:
        for i in range(int(n)):
            e = {"event_id": str(uuid.uuid4()), "event_type": "OrderCreated",
                 "aggregate_type": "Order", "aggregate_id": str(uuid.uuid4()),
                 "n": i}
            e.update(extra)
            f.write(json.dumps(e) + "\n")
            g.write(e["event_id"] + "\n")

def handled(files):
    """event_id -> times seen in jsonl files."""
    seen = {}
    for fn in files:
        if not os.path.exists(fn):
            continue
        for line in open(fn):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            seen[d["event_id"]] = seen.get(d["event_id"], 0) + 1
    return seen

def missing(ids, *files):
    """Exit 0 when every id in the ids file was handled."""
    seen = handled(files)
    want = [l.strip() for l in open(ids) if l.strip()]
    miss = [i for i in want if i not in seen]
    if miss:
        print("%d of %d not handled, e.g. %s" % (len(miss), len(want), miss[0]))
    return 1 if miss else 0

def count(eid, *files):
    print(handled(files).get(eid, 0))

def workers_of(jsonl):
    print(len({json.loads(l)["worker"] for l in open(jsonl)}))

STATS_KEYS = ["events_published", "events_consumed", "events_processed_success",
    "events_processed_failed", "messages_sent_to_dlq", "handler_errors",
    "reconnections", "publish_confirms", "publish_returns", "batch_publishes",
    "batch_events_published", "batch_partial_failures", "last_publish_at",
    "last_consume_at", "last_error_at", "connected_at", "is_connected",
    "is_consuming", "uptime_seconds"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")

def check_stats(path):
    """eventsource-py's get_stats_dict keys in order, then evbus's own."""
    d = json.load(open(path))
    errs = []
    keys = list(d.keys())
    if keys[:len(STATS_KEYS)] != STATS_KEYS:
        errs.append("first keys %s" % keys[:len(STATS_KEYS)])
    for k in STATS_KEYS[:12] + ["restarts", "crashes", "poison_messages",
            "received", "skipped", "malformed", "retried", "dead_lettered",
            "dropped", "redelivered", "workers", "workers_consuming",
            "workers_wanted"]:
        if not isinstance(d.get(k), int) or isinstance(d.get(k), bool) \
                or d[k] < 0:
            errs.append("%s: not a count: %r" % (k, d.get(k)))
    for k in ("last_publish_at", "last_consume_at", "last_error_at",
            "connected_at"):
        if d.get(k) is not None and not ISO.match(d[k]):
            errs.append("%s: not ISO-8601 +00:00: %r" % (k, d[k]))
    for k in ("is_connected", "is_consuming"):
        if not isinstance(d.get(k), bool):
            errs.append("%s: not a bool" % k)
    if d.get("uptime_seconds") is not None and \
            not isinstance(d["uptime_seconds"], (int, float)):
        errs.append("uptime_seconds: %r" % d["uptime_seconds"])
    if not isinstance(d.get("handlers"), dict) or \
            set(d["handlers"]) != {"chaos", "jsonl"}:
        errs.append("handlers: %r" % d.get("handlers"))
    pw = d.get("per_worker")
    if not isinstance(pw, list) or len(pw) != d.get("workers"):
        errs.append("per_worker: %d rows for %s workers" %
                    (len(pw or []), d.get("workers")))
    for w in pw or []:
        for k in ("index", "pid", "state", "consumer", "events_consumed",
                "events_processed_failed", "messages_sent_to_dlq"):
            if k not in w:
                errs.append("per_worker row without %s" % k)
    for e in errs:
        print(e)
    return 1 if errs else 0

def adds_up(path, strict):
    """sum of per_worker events_consumed (+ retired, from metrics) == total."""
    d = json.load(open(path))
    live = sum(w["events_consumed"] for w in d["per_worker"])
    retired = 0
    if not int(strict):
        retired = metrics_series(open(path + ".metrics").read()).get(
            ("evbus_events_consumed_total", (("worker", "retired"),)), 0)
    if live + retired != d["events_consumed"]:
        print("per_worker %d + retired %d != events_consumed %d" %
              (live, retired, d["events_consumed"]))
        return 1
    return 0

LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)( -?\d+(\.\d+)?)?$')
SUFFIXES = {"counter": ["_total", "_created"], "gauge": [""],
    "histogram": ["_bucket", "_count", "_sum", "_created"],
    "gaugehistogram": ["_gcount", "_gsum", "_bucket"], "summary":
    ["", "_count", "_sum", "_created"], "info": ["_info"],
    "stateset": [""], "unknown": [""]}

def parse_labels(s, errs, where):
    if not s:
        return ()
    inner = s[1:-1]
    out, pos = [], 0
    while pos < len(inner):
        m = LABEL.match(inner, pos)
        if not m:
            errs.append("%s: bad labels %s" % (where, s))
            return tuple(out)
        out.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(inner):
            if inner[pos] != ",":
                errs.append("%s: bad labels %s" % (where, s))
                return tuple(out)
            pos += 1
    if len({k for k, _ in out}) != len(out):
        errs.append("%s: repeated label name" % where)
    return tuple(sorted(out))

def metrics_check(text):
    """OpenMetrics text format checks; returns (errors, series)."""
    errs, fams, series = [], {}, {}
    cur = None
    if not text.endswith("# EOF\n"):
        errs.append("does not end with '# EOF'")
    lines = text.split("\n")[:-1]
    for n, l in enumerate(lines[:-1], 1):
        where = "line %d (%s)" % (n, l[:60])
        if l.startswith("#"):
            m = re.match(r"^# (TYPE|HELP|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*)"
                         r"(?: (.*))?$", l)
            if not m:
                errs.append("%s: bad comment" % where)
                continue
            kind, name, rest = m.groups()
            if kind == "TYPE":
                if name in fams:
                    errs.append("%s: family %s declared again" % (where, name))
                if rest not in SUFFIXES:
                    errs.append("%s: unknown type %s" % (where, rest))
                if name.endswith("_total"):
                    errs.append("%s: family name ends with _total" % where)
                fams[name] = rest
                cur = name
            elif name != cur:
                errs.append("%s: %s outside its family" % (where, kind))
            continue
        m = SAMPLE.match(l)
        if not m:
            errs.append("%s: not 'name{labels} value'" % where)
            continue
        name, lbl, val = m.group(1), m.group(2), m.group(3)
        try:
            v = float(val)
        except ValueError:
            errs.append("%s: value %s" % (where, val))
            continue
        if cur is None or not any(name == cur + s
                                  for s in SUFFIXES.get(fams[cur], [""])):
            errs.append("%s: sample outside family %s" % (where, cur))
        elif fams[cur] == "counter" and not name.endswith("_total") \
                and not name.endswith("_created"):
            errs.append("%s: counter sample without _total" % where)
        if fams.get(cur) == "counter" and v < 0:
            errs.append("%s: negative counter" % where)
        key = (name, parse_labels(lbl, errs, where))
        if key in series:
            errs.append("%s: duplicate series %s%s" % (where, name, lbl))
        series[key] = v
    if lines and lines[-1] != "# EOF":
        errs.append("last line is %r" % lines[-1])
    # Histograms: cumulative buckets, +Inf == _count.
    for (name, lb), v in series.items():
        if name.endswith("_bucket") and dict(lb).get("le") == "+Inf":
            base = name[:-7]
            rest = tuple(x for x in lb if x[0] != "le")
            c = series.get((base + "_count", rest))
            if c != v:
                errs.append("%s%s: +Inf bucket %s != count %s" %
                            (name, lb, v, c))
            bs = sorted((float(dict(l2)["le"]), v2) for (n2, l2), v2 in
                        series.items() if n2 == name and
                        tuple(x for x in l2 if x[0] != "le") == rest)
            if any(b[1] > a[1] for b, a in zip(bs, bs[1:])):
                errs.append("%s%s: buckets not cumulative" % (name, rest))
    return errs, series

def metrics_series(text):
    return metrics_check(text)[1]

COUNTERS = {"events_published": "events_published",
    "events_consumed": "events_consumed",
    "events_processed_success": "events_processed_success",
    "events_processed_failed": "events_processed_failed",
    "messages_sent_to_dlq": "messages_sent_to_dlq",
    "handler_errors": "handler_errors", "reconnections": "reconnections",
    "received": "received", "skipped": "skipped", "malformed": "malformed",
    "retried": "retried", "dropped": "dropped", "redelivered": "redelivered",
    "poisoned": "poison_messages"}

def check_metrics(mpath, spath):
    """Valid OpenMetrics; per-worker series sum to the status totals."""
    errs, series = metrics_check(open(mpath).read())
    d = json.load(open(spath))
    for fam, key in COUNTERS.items():
        tot = sum(v for (n, lb), v in series.items()
                  if n == "evbus_%s_total" % fam)
        workers = {dict(lb).get("worker") for (n, lb), v in series.items()
                   if n == "evbus_%s_total" % fam}
        if tot != d[key]:
            errs.append("evbus_%s_total sums to %s, status says %s" %
                        (fam, tot, d[key]))
        want = {str(w["index"]) for w in d["per_worker"]} | {"retired"}
        if workers != want:
            errs.append("evbus_%s_total workers %s, want %s" %
                        (fam, sorted(workers), sorted(want)))
    for fam, key in (("worker_restarts", "restarts"),
                     ("worker_crashes", "crashes")):
        if series.get(("evbus_%s_total" % fam, ())) != d[key]:
            errs.append("evbus_%s_total != status %s" % (fam, key))
    if series.get(("evbus_workers", (("kind", "running"),))) != d["workers"]:
        errs.append("evbus_workers{kind=running} != status workers")
    for e in errs[:20]:
        print(e)
    return 1 if errs else 0

def poll(path, reqs, out, stop, maxsec):
    """Ask reqs (comma-separated) again and again until stop exists."""
    end = time.time() + float(maxsec)
    with open(out, "w") as f:
        while time.time() < end and not os.path.exists(stop):
            rec = {"t": time.time()}
            for r in reqs.split(","):
                try:
                    a = ask(path, r)
                    rec[r] = a if r == "metrics" else json.loads(a)
                except Exception as e:
                    rec["error"] = "%s: %s" % (r, e)
            f.write(json.dumps(rec) + "\n")
            f.flush()
            time.sleep(0.03)

def samples(out):
    return [json.loads(l) for l in open(out)]

def monotonic(out, key):
    """key in the stats samples never went backwards."""
    s = samples(out)
    vals = [r["stats"][key] for r in s if "stats" in r]
    errs = [r["error"] for r in s if "error" in r]
    bad = [(a, b) for a, b in zip(vals, vals[1:]) if b < a]
    print("%d samples, %s from %s to %s, %d errors" % (len(vals), key,
          vals[0] if vals else None, vals[-1] if vals else None, len(errs)))
    if errs:
        print("first error: %s" % errs[0])
    if bad:
        print("went backwards: %s -> %s" % bad[0])
    return 1 if bad or errs or len(vals) < 5 else 0

def reload_ok(out, maxlive):
    """During a reload: always someone consuming, at most maxlive workers,
    every metrics answer valid."""
    s = samples(out)
    rc = 0
    cons = [sum(1 for w in r["workers"] if w["state"] == "consuming")
            for r in s if "workers" in r]
    live = [sum(1 for w in r["workers"] if w["state"] != "retiring")
            for r in s if "workers" in r]
    total = [len(r["workers"]) for r in s if "workers" in r]
    dup = sum(1 for r in s if "workers" in r and
              len({w["index"] for w in r["workers"]}) < len(r["workers"]))
    print("%d samples; consuming min %s max %s; live max %s (%s with "
          "retiring ones); %d samples with a replacement overlapping its "
          "worker" % (len(cons), min(cons or [0]), max(cons or [0]),
          max(live or [0]), max(total or [0]), dup))
    if len(cons) < 5 or min(cons) < 1:
        print("consuming dropped to %s" % min(cons or [0]))
        rc = 1
    if max(live) > int(maxlive):
        print("%d workers (not retiring) at once: replacements not one "
              "at a time" % max(live))
        rc = 1
    for r in s:
        if "error" in r:
            print("request failed: %s" % r["error"])
            rc = 1
            break
    for r in s:
        if "metrics" in r:
            errs = metrics_check(r["metrics"])[0]
            if errs:
                print("metrics during the reload: %s" % errs[0])
                rc = 1
                break
    return rc

if __name__ == "__main__":
    f = globals()[sys.argv[1].replace("-", "_")]
    r = f(*sys.argv[2:])
    sys.exit(r or 0)
EOF
} > "$PY"

# --- shell helpers ---
# Ask the running evbusd of config $CONF (through a copy, $CTLCONF, while
# $CONF is broken on purpose).
ctl() { "$EVBUSCTL" -f "${CTLCONF:-$CONF}" "$@"; }
stats() { ctl status --json > "$T_DIR/st.json" 2>>"$T_DIR/ctl.err"; }
# st EXPR: evaluate over fresh status JSON
st() { stats && jv "$T_DIR/st.json" "$1"; }
consuming_is() { [ "$(st 'd["workers_consuming"]')" = "$1" ] && [ "$(st 'd["workers"]')" = "$1" ]; }
pids_of() { ctl workers --json | "$PYTHON" -c 'import json,sys; print(" ".join(str(w["pid"]) for w in sorted(json.load(sys.stdin), key=lambda w: w["index"])))'; }
pid_of_index() { ctl workers --json | "$PYTHON" -c 'import json,sys; print([w["pid"] for w in json.load(sys.stdin) if w["index"]==int(sys.argv[1]) and w["state"]=="consuming"][0])' "$1" 2>/dev/null; }
log_has() { grep -q -- "$1" "$LOG"; }
dlq_has() {	# dlq_has ID ERRTYPE
	ctl dlq list --json --limit 1000 2>/dev/null | "$PYTHON" -c '
import json,sys
sys.exit(0 if any(m["message_id"]==sys.argv[1] and m["dlq_error_type"]==sys.argv[2] for m in json.load(sys.stdin)) else 1)' "$1" "$2"
}
publish_file() { ctl publish -i "$1" >/dev/null 2>>"$T_DIR/ctl.err"; }
# pub1 EXTRA-JSON: publish one event, print its id
pub1() {
	py gen 1 "$T_DIR/one.jsonl" "$1" && publish_file "$T_DIR/one.jsonl" &&
	    cat "$T_DIR/one.jsonl.ids"
}
handled_all() { py missing "$@" > "$T_DIR/missing.out"; }
start_poller() {	# start_poller REQS OUT
	rm -f "$T_DIR/stop-poll"
	"$PYTHON" "$PY" poll "$SOCK" "$1" "$2" "$T_DIR/stop-poll" 60 &
	POLLER=$!
	T_PIDS="$T_PIDS $POLLER"
}
stop_poller() { touch "$T_DIR/stop-poll"; wait "$POLLER" 2>/dev/null; }
# Wait for pid to exit (not our child): up to $2 seconds.
gone() { ! kill -0 "$1" 2>/dev/null; }
# exit_within PID SECS: wait for our child; its exit status in EC
# ("timeout" if it is still running).  Not in $(...): wait needs this shell.
exit_within() {
	local end=$(( $(date +%s) + $2 ))
	while kill -0 "$1" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then EC=timeout; return; fi
	wait "$1"
	EC=$?
}
consumed_ge() { [ "$(st 'd["events_consumed"]')" -ge "$1" ]; }

CONF=$(make_conf main <<EOF
consumer_name = "$CN";
workers = 3;
plugin_dir = "$PLUGINS";
status_socket = "$SOCK";
status_socket_mode = "0666";
pid_file = "$T_DIR/main.pid";
max_crashes = 2;
handler_timeout = 2.0;
shutdown_timeout = 10.0;
reconnect_delay = 0.5;
reconnect_max_delay = 2.0;
retry_base_delay = 0.2;
handlers = {
	jsonl = { path = "$JSONL"; };
	chaos = { path = "$CHAOS"; };
};
EOF
)
QUEUE=t$$.main.default

start_main() {
	"$EVBUSD" -d -f "$CONF" >>"$LOG" 2>&1 &
	SVPID=$!
	T_PIDS="$T_PIDS $SVPID"
}

# ---------------------------------------------------------------------
section "start-up: 3 workers consume as one group"
start_main
if wait_for 40 consuming_is 3; then ok "evbusd -d: 3 workers consuming"
else not_ok "evbusd -d: 3 workers consuming"; cat "$LOG"; finish; fi

tags=$(rmqctl list_consumers queue_name consumer_tag 2>/dev/null |
    awk -v q="$QUEUE" '$1 == q { print $2 }' | sort | tr '\n' ' ')
check "list_consumers: $QUEUE has consumers $CN-0 $CN-1 $CN-2 (got: $tags)" \
    [ "$tags" = "$CN-0 $CN-1 $CN-2 " ]

ps_sv=$(ps -o args= -p "$SVPID")
check "ps shows the supervisor's role ($ps_sv)" \
    grep -q "supervisor of group default ($QUEUE, 3 workers)" <<<"$ps_sv"
ps_w=$(ps -o pid=,args= --ppid "$SVPID")
ok_ps=1
for i in 0 1 2; do
	p=$(pid_of_index $i)
	grep -q "^ *$p evbusd: worker $i of group default ($QUEUE)" \
	    <<<"$ps_w" || ok_ps=0
done
check "ps shows each worker's index, pids as in evbusctl workers" \
    [ $ok_ps = 1 ]
[ $ok_ps = 1 ] || echo "$ps_w"

section "load: 300 events spread over the workers"
py gen 300 "$T_DIR/ev300.jsonl" ""
publish_file "$T_DIR/ev300.jsonl"
check "all 300 events handled (jsonl)" \
    wait_for 30 handled_all "$T_DIR/ev300.jsonl.ids" "$JSONL"
nw=$(py workers_of "$JSONL")
check "events handled by more than one worker ($nw workers)" [ "$nw" -gt 1 ]
wait_for 10 consumed_ge 300
stats
checkpy "status --json: get_stats_dict keys in order, evbus's own, per_worker" \
    check_stats "$T_DIR/st.json"
check "status: events_consumed 300 ($(jv "$T_DIR/st.json" 'd["events_consumed"]')), no restarts or crashes" \
    [ "$(jv "$T_DIR/st.json" '(d["events_consumed"], d["events_processed_success"], d["restarts"], d["crashes"])')" = "(300, 300, 0, 0)" ]
checkpy "status: per_worker events_consumed add up to the total (nobody died)" \
    adds_up "$T_DIR/st.json" 1

# (With a wait: the broker probe behind queue_status runs every 2 s.)
health_fields() {
	[ "$(jv "$T_DIR/health.json" '(list(d)[:7], d["healthy"], d["connection_status"], d["channel_status"], d["queue_status"], d["dlq_status"], d["error"], d["details"]["queue"], d["details"]["consuming"], d["details"]["dlq_enabled"], sorted(d["details"]["stats"]))')" = \
	    "(['healthy', 'connection_status', 'channel_status', 'queue_status', 'dlq_status', 'error', 'details'], True, 'connected', 'open', 'accessible', 'accessible', None, '$QUEUE', True, True, ['events_consumed', 'events_processed_failed', 'events_processed_success', 'events_published', 'messages_sent_to_dlq', 'reconnections'])" ]
}
healthy() { ctl health --json > "$T_DIR/health.json" 2>/dev/null; }
check "health --json: exit 0 while healthy" wait_for 10 healthy
check "health --json: eventsource-py's fields and details" \
    wait_for 10 eval 'healthy; health_fields'
# The probe runs every 2 s: wait for it to see the drained queue.
queue_idle() {
	ctl queue --json > "$T_DIR/queue.json" &&
	[ "$(jv "$T_DIR/queue.json" '(d["name"], d["message_count"], d["consumer_count"], d["state"])')" = "('$QUEUE', 0, 3, 'running')" ]
}
check "queue --json: name, message_count 0, consumer_count 3, running" \
    wait_for 10 queue_idle

metrics_pair() {	# status then metrics then status; equal if idle
	local a
	stats; a=$(cat "$T_DIR/st.json")
	ctl metrics > "$T_DIR/st.json.metrics"
	stats
	[ "$(jv "$T_DIR/st.json" 'd["events_consumed"]')" = \
	    "$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["events_consumed"])' "$a")" ]
}
wait_for 10 metrics_pair
checkpy "metrics: valid OpenMetrics, series per worker sum to the status" \
    check_metrics "$T_DIR/st.json.metrics" "$T_DIR/st.json"

section "the socket: others may read, only root and evbusd's user may change"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_nobody "$EVBUSCTL" scale 5 --socket "$SOCK" >"$T_DIR/nobody.out" 2>&1
nrc=$?
check "scale 5 as nobody: refused (exit $nrc: $(head -c 120 "$T_DIR/nobody.out"))" \
    [ $nrc != 0 ]
check "scale 5 as nobody: 'permission denied'" \
    grep -q "permission denied" "$T_DIR/nobody.out"
sleep 0.5
check "scale 5 as nobody: still 3 workers wanted and running" \
    [ "$(st '(d["workers_wanted"], d["workers"])')" = "(3, 3)" ]
as_nobody "$EVBUSCTL" status --socket "$SOCK" >"$T_DIR/nobody.out" 2>&1
check "status as nobody: answered" \
    grep -q "consuming of 3 running" "$T_DIR/nobody.out"

# ---------------------------------------------------------------------
section "kill -9 of a worker under load"
# 600 events of 20 ms each keep 3 workers busy for 4 s or more.
st0=$(st '(d["restarts"], d["crashes"])')
victim=$(pid_of_index 1)
# A worker that ran fine for 10 s is replaced at once (no backoff).
aged() { [ "$(ps -o etimes= -p "$1" | tr -d ' ')" -ge "$2" ]; }
wait_for 20 aged "$victim" 11
py gen 600 "$T_DIR/ev600.jsonl" '{"sleep_ms": 20}'
start_poller stats "$T_DIR/poll-kill.jsonl"
wait_for 10 test -s "$T_DIR/poll-kill.jsonl"
base=$(st 'd["events_consumed"]')
publish_file "$T_DIR/ev600.jsonl"
wait_for 20 consumed_ge $((base + 30))
kill -9 "$victim"
echo "# killed worker 1 (pid $victim) at $(st 'd["events_consumed"]') of $((base + 600)) consumed"
new_pid() { p=$(pid_of_index 1); [ -n "$p" ] && [ "$p" != "$victim" ]; }
check "worker 1 restarted with a new pid" wait_for 20 new_pid
# The status poller has been asking all along: what a status answer
# allocates must not stay in the supervisor's heap, where every worker
# forked later would keep it mapped (a 3 MiB snapshot of the slots did).
heap_kib() { awk '/\[heap\]/ { h = 1; next } /^[0-9a-f]+-/ { h = 0 }
    h && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps"; }
hs=$(heap_kib "$SVPID"); hn=$(heap_kib "$(pid_of_index 1)")
hw=$(heap_kib "$(pid_of_index 0)")
heap_small() { [ "$hs" -gt 0 ] && [ "$hs" -lt 1536 ] && [ "$hw" -gt 0 ] &&
    [ "$hn" -gt 0 ] && [ "$hn" -lt $((hw + 1024)) ]; }
check "status polling left no big heap: supervisor $hs KiB, new worker 1 $hn KiB, worker 0 (forked before) $hw KiB" \
    heap_small
check "every one of the 600 events handled at least once" \
    wait_for 40 handled_all "$T_DIR/ev600.jsonl.ids" "$JSONL"
stop_poller
checkpy "events_consumed never went backwards across the restart" \
    monotonic "$T_DIR/poll-kill.jsonl" events_consumed
st1=$(st '(d["restarts"], d["crashes"])')
check "status: restarts and crashes went up ($st0 -> $st1)" \
    "$PYTHON" -c 'import sys; a=eval(sys.argv[1]); b=eval(sys.argv[2]); sys.exit(0 if b[0]>a[0] and b[1]>a[1] else 1)' "$st0" "$st1"
check "messages the killed worker had were redelivered ($(st 'd["redelivered"]'))" \
    [ "$(st 'd["redelivered"]')" -ge 1 ]
check "log: worker 1 killed by signal 9" \
    log_has "worker 1 (pid $victim) killed by signal 9 (SIGKILL)"
check "log: worker 1 (up more than 10 s) restarted at once, no backoff" \
    log_has "restarting worker 1 now"
wait_for 10 metrics_pair
checkpy "status adds up after a death: per_worker + retired == total" \
    adds_up "$T_DIR/st.json" 0
checkpy "metrics after a death: valid, sums match the status" \
    check_metrics "$T_DIR/st.json.metrics" "$T_DIR/st.json"

# ---------------------------------------------------------------------
section "a handler that segfaults on one message: DLQ after max_crashes = 2"
segv=$(pub1 '{"chaos": "segv"}')
py gen 20 "$T_DIR/ev20.jsonl" ""
publish_file "$T_DIR/ev20.jsonl"
check "segv message $segv in the DLQ with x-dlq-error-type SIGSEGV" \
    wait_for 30 dlq_has "$segv" SIGSEGV
segv_runs=$(grep -c "\"event_id\":\"$segv\"" "$CHAOS")
check "its handler ran (and crashed) at least max_crashes = 2 times ($segv_runs)" \
    [ "$segv_runs" -ge 2 ]
check "the other 20 messages kept flowing" \
    wait_for 20 handled_all "$T_DIR/ev20.jsonl.ids" "$JSONL"
check "log: worker killed by SIGSEGV while handling $segv" \
    log_has "killed by signal 11 (SIGSEGV) while handling message $segv"
check "status: poison_messages >= 1" [ "$(st 'd["poison_messages"]')" -ge 1 ]

section "a handler that hangs: the watchdog kills it (handler_timeout = 2)"
hang=$(pub1 '{"chaos": "hang"}')
check "log: the watchdog killed the worker hanging on $hang" \
    wait_for 20 log_has "handler_timeout (2.0s) on message $hang; killing it"
check "hang message in the DLQ as HandlerTimeout after 2 crashes" \
    wait_for 30 dlq_has "$hang" HandlerTimeout
check "consuming again: 3 workers" wait_for 20 consuming_is 3

# ---------------------------------------------------------------------
section "scaling: SIGTTIN, SIGTTOU, evbusctl scale"
kill -TTIN "$SVPID"
check "SIGTTIN: 4 workers consuming" wait_for 20 consuming_is 4
kill -TTOU "$SVPID"
check "SIGTTOU: back to 3" wait_for 20 consuming_is 3
ctl scale 2 --json > "$T_DIR/scale.json"
check "evbusctl scale 2 --json: {ok, workers: 2}" \
    [ "$(jv "$T_DIR/scale.json" '(d["ok"], d["workers"])')" = "(True, 2)" ]
check "evbusctl scale 2: 2 workers" wait_for 20 consuming_is 2
ctl scale +2 >/dev/null
check "evbusctl scale +2: 4 workers" wait_for 20 consuming_is 4
ctl scale -1 >/dev/null
check "evbusctl scale -1: 3 workers" wait_for 20 consuming_is 3

# ---------------------------------------------------------------------
section "SIGHUP with a good change: workers 3 -> 4, jsonl writes elsewhere, handler_timeout 2 -> 8"
old_pids=$(pids_of)
sed -i -e 's/^workers = 3;/workers = 4;/' -e "s|$JSONL|$JSONL2|" \
    -e 's/^handler_timeout = 2.0;/handler_timeout = 8.0;/' "$CONF"
# Under load: 150 events of 40 ms keep the workers busy through it.
py gen 150 "$T_DIR/ev150.jsonl" '{"sleep_ms": 40}'
start_poller workers,metrics "$T_DIR/poll-reload.jsonl"
wait_for 10 test -s "$T_DIR/poll-reload.jsonl"
base=$(st 'd["events_consumed"]')
publish_file "$T_DIR/ev150.jsonl"
wait_for 10 consumed_ge $((base + 20))
kill -HUP "$SVPID"
all_new() {
	local p now
	consuming_is 4 || return 1
	now=$(pids_of)
	for p in $old_pids; do
		case " $now " in *" $p "*) return 1;; esac
	done
}
check "reload applied: 4 workers, every old worker replaced" \
    wait_for 60 all_new
sleep 0.5
stop_poller
check "log: reload valid, workers replaced one at a time" \
    log_has "reload: configuration valid"
checkpy "during the reload: always a worker consuming, at most one replacement at a time, metrics valid" \
    reload_ok "$T_DIR/poll-reload.jsonl" 5
check "events published during the reload all handled" \
    wait_for 30 handled_all "$T_DIR/ev150.jsonl.ids" "$JSONL" "$JSONL2"
py gen 10 "$T_DIR/ev10.jsonl" ""
publish_file "$T_DIR/ev10.jsonl"
check "new handler config applied: events go to the new jsonl file" \
    wait_for 20 handled_all "$T_DIR/ev10.jsonl.ids" "$JSONL2"

section "SIGHUP with a syntax error: the running configuration stays"
cp -p "$CONF" "$T_DIR/good.conf"
CTLCONF=$T_DIR/good.conf
pids=$(pids_of)
echo "# workers: $pids"
echo 'workers = 5' >> "$CONF"	# no ';': a syntax error
kill -HUP "$SVPID"
check "log: the bad file is named and the old configuration kept" \
    wait_for 10 log_has "reload: $CONF is not valid; keeping the running configuration"
check "log: with the line of the error" \
    grep -q "^evbusd: $CONF:[0-9]*: " "$LOG"
sleep 1
check "same workers still running" test -n "$pids" -a "$(pids_of)" = "$pids"
py gen 5 "$T_DIR/ev5.jsonl" ""
publish_file "$T_DIR/ev5.jsonl"
check "and consuming" wait_for 20 handled_all "$T_DIR/ev5.jsonl.ids" "$JSONL2"
cp -p "$T_DIR/good.conf" "$CONF"
CTLCONF=

section "reload with a broken plugin (bad ABI major) dropped in"
cp "$EVBUS_BUILDDIR/tests/plugins/.libs/bad_major.so" "$PLUGINS/" &&
    chmod 0755 "$PLUGINS/bad_major.so"
ctl reload > /dev/null
check "log: reload refused, naming the plugin" \
    wait_for 10 grep -q "reload: plugins: .*bad_major.*keeping the running configuration and plugins" "$LOG"
sleep 1
check "same workers still running" test -n "$pids" -a "$(pids_of)" = "$pids"
rm -f "$PLUGINS/bad_major.so"

section "reload: an old worker dies while its replacement starts"
# Fix: the dead old worker was restarted although its replacement covered
# its index, leaving two workers with index 0 for good.  Replacements take
# 1.5 s to start (chaos init_sleep_ms), so the old one surely dies while
# the pair is rolling.
want=$(st 'd["workers_wanted"]')
old0=$(pid_of_index 0)
sed -i 's|^\(\s*chaos = { path = "[^"]*";\) };|\1 init_sleep_ms = 1500; };|' "$CONF"
grep -q "init_sleep_ms = 1500" "$CONF" || echo "# init_sleep_ms not set: $(grep chaos "$CONF")"
kill -HUP "$SVPID"
rep0=""
for i in $(seq 1 1000); do
	rep0=$(pgrep -P "$SVPID" -f "evbusd: worker 0 " | grep -vx "$old0" | head -1)
	[ -n "$rep0" ] && break
	sleep 0.01
done
check "reload started a replacement for worker 0 ($rep0, old $old0)" [ -n "$rep0" ]
kill -9 "$old0"
check "log: the old worker 0 died while being replaced; not restarted" \
    wait_for 10 log_has "reload: worker 0 died while being replaced"
sed -i 's| init_sleep_ms = 1500;||' "$CONF"
one_each() {	# exactly one worker process per wanted index, all consuming
	[ "$(pgrep -P "$SVPID" -f "evbusd: worker " | wc -l)" = "$want" ] &&
	    consuming_is "$want" &&
	    [ "$(ctl workers --json | "$PYTHON" -c 'import json,sys; w=json.load(sys.stdin); print(sorted(x["index"] for x in w) == list(range(len(w))))')" = True ]
}
check "after the reload: $want workers, one per index" wait_for 60 one_each
sleep 2
check "and still so 2 s later" one_each

section "a second evbusd on the same status socket"
CONF2=$(make_conf second <<EOF
consumer_name = "${CN}b";
workers = 1;
plugin_dir = "$PLUGINS";
status_socket = "$SOCK";
pid_file = "$T_DIR/second.pid";
handlers = { jsonl = { path = "$T_DIR/second.jsonl"; }; };
EOF
)
"$EVBUSD" -d -f "$CONF2" > "$T_DIR/second.log" 2>&1 &
p2=$!
T_PIDS="$T_PIDS $p2"
exit_within $p2 20
check "refuses to start (exit $EC)" test "$EC" != 0 -a "$EC" != timeout
check "says the socket is in use" grep -q "status socket $SOCK is in use" "$T_DIR/second.log"
check "the first one still answers" consuming_is 4

# ---------------------------------------------------------------------
section "the broker goes away: health turns unhealthy, then recovers"
BROKER_STOPPED=1
rmqctl stop_app >/dev/null 2>&1
unhealthy() { ! ctl health --json > "$T_DIR/health.json" 2>/dev/null; }
check "evbusctl health: exit non-zero with the broker stopped" \
    wait_for 30 unhealthy
disconnected() {
	unhealthy && [ "$(jv "$T_DIR/health.json" '(d["healthy"], d["connection_status"], d["channel_status"], d["error"] is not None)')" = "(False, 'disconnected', 'not_initialized', True)" ]
}
check "health --json: healthy false, disconnected, with an error" \
    wait_for 20 disconnected
disconnected || cat "$T_DIR/health.json"
check "status still answers with the broker down" \
    [ "$(st 'd["is_connected"]')" = False ]
rmqctl start_app >/dev/null 2>&1
BROKER_STOPPED=0
t0=$(date +%s)
check "evbusctl health: exit 0 again once the broker is back" \
    wait_for 60 healthy
echo "# healthy again after $(( $(date +%s) - t0 )) s"
if ! healthy; then
	cat "$T_DIR/health.json"
	for p in $(pgrep -P "$SVPID" -f 'broker probe'); do
		echo "# probe $p: $(cat /proc/$p/wchan)"; cat /proc/$p/stack
	done
fi
all_back() { consuming_is 4 && [ "$(st 'd["reconnections"]')" -ge 4 ]; }
check "all 4 workers reconnected, reconnections counted" wait_for 60 all_back

# ---------------------------------------------------------------------
section "SIGTERM with a message in flight (sleep_ms 3000)"
wait_for 30 consuming_is 4
slow=$(pub1 '{"sleep_ms": 3000}')
busy() { ctl workers --json | grep -q "\"inflight\":\"$slow\""; }
check "a worker has $slow in flight" wait_for 20 busy
t0=$(date +%s)
kill -TERM "$SVPID"
exit_within "$SVPID" 25
t1=$(date +%s)
check "evbusd exits 0 (got $EC) within shutdown_timeout 10 s ($((t1 - t0)) s)" \
    test "$EC" = 0 -a $((t1 - t0)) -le 12
check "the in-flight message was handled once" \
    [ "$(py count "$slow" "$JSONL2")" = 1 ]
check "log: stopped cleanly" log_has "evbusd: stopped"
check "status socket removed" [ ! -e "$SOCK" ]
sleep 1.5	# the broker requeues what a closed channel left unacked
ctl queue --json > "$T_DIR/queue.json" 2>/dev/null
check "queue empty (acked, nothing to redeliver): $(jv "$T_DIR/queue.json" '(d["message_count"], d["consumer_count"])')" \
    [ "$(jv "$T_DIR/queue.json" '(d["message_count"], d["consumer_count"])')" = "(0, 0)" ]

# ---------------------------------------------------------------------
section "a stale socket left by a killed evbusd is replaced"
sed -i 's/^workers = 4;/workers = 1;/' "$CONF"
start_main
wait_for 30 consuming_is 1
sleep 1
check "after a restart, the message of the SIGTERM is not redelivered" \
    [ "$(py count "$slow" "$CHAOS")" = 1 ]
wpid=$(pid_of_index 0)
{ kill -9 "$SVPID"; wait "$SVPID"; } 2>/dev/null
check "the killed supervisor's worker stops too" wait_for 20 gone "$wpid"
check "its socket file is left behind" [ -S "$SOCK" ]
start_main
check "a new evbusd starts on the stale socket and answers" \
    wait_for 30 consuming_is 1
kill -TERM "$SVPID"
exit_within "$SVPID" 20
check "and stops with exit 0 (got $EC)" [ "$EC" = 0 ]

# ---------------------------------------------------------------------
section "daemon mode: pid file, a second instance refuses, reload of a relative -f"
SOCKD=$T_DIR/d.sock
PIDF=$T_DIR/d.pid
CONFD=$(make_conf daemon <<EOF
consumer_name = "${CN}d";
workers = 1;
plugin_dir = "$PLUGINS";
status_socket = "$SOCKD";
pid_file = "$PIDF";
handlers = { jsonl = { path = "$T_DIR/d.jsonl"; }; };
EOF
)
# A relative -f path: SIGHUP must still find it after daemon() moved to /.
(cd "$T_DIR" && "$EVBUSD" -f "${CONFD##*/}" > "$T_DIR/d.log" 2>&1)
drc=$?
check "evbusd (no -d) returns 0 after daemonizing (got $drc)" [ $drc = 0 ]
check "pid file written" wait_for 10 test -s "$PIDF"
dpid=$(cat "$PIDF" 2>/dev/null)
T_PIDS="$T_PIDS $dpid"
check "pid file names the running supervisor ($dpid)" \
    grep -q "supervisor of group" <(ps -o args= -p "${dpid:-0}")
dsock_up() { "$EVBUSCTL" workers --json --socket "$SOCKD" 2>/dev/null | grep -q consuming; }
wait_for 30 dsock_up
sed -e "s|$SOCKD|$T_DIR/d2.sock|" "$CONFD" > "$T_DIR/d2.conf"
chmod 600 "$T_DIR/d2.conf"
"$EVBUSD" -f "$T_DIR/d2.conf" > "$T_DIR/d2.log" 2>&1
d2rc=$?
check "a second instance with the same pid file refuses (exit $d2rc)" \
    [ $d2rc != 0 ]
check "naming the running one" \
    grep -q "another evbusd (pid $dpid) is running with pid file $PIDF" "$T_DIR/d2.log"
check "the daemon still runs" dsock_up
sed -i 's/^workers = 1;/workers = 2;/' "$CONFD"
kill -HUP "$dpid"
# Counted per match, not per line: the JSON is one line (one row per
# worker only when it was pretty-printed).
d_two() { [ "$("$EVBUSCTL" workers --json --socket "$SOCKD" 2>/dev/null | grep -o '"state":"consuming"' | wc -l)" = 2 ]; }
check "SIGHUP re-reads the file given with a relative -f: 2 workers" \
    wait_for 30 d_two
"$EVBUSCTL" stop --socket "$SOCKD" >/dev/null
check "evbusctl stop: the daemon exits" wait_for 20 gone "$dpid"
check "and removes its pid file" wait_for 5 test ! -e "$PIDF"

# ---------------------------------------------------------------------
section "a plugin whose init refuses: configuration broken"
# The start-up plugin check (a throwaway child loads and inits every
# plugin) catches it before any worker is forked, so evbusd refuses to
# start with EX_CONFIG (78) and the plugin's reason; workers never get to
# exit with "configuration is broken", so there is nothing to respawn.
PLUGI=$T_DIR/plugins-init
mkdir -p "$PLUGI"
cp "$PLUGINS/jsonl.so" "$EVBUS_BUILDDIR/tests/plugins/.libs/init_fail.so" "$PLUGI/"
chmod 0755 "$PLUGI"/*.so
CONFI=$(make_conf initfail <<EOF
consumer_name = "${CN}i";
workers = 2;
plugin_dir = "$PLUGI";
status_socket = "$T_DIR/i.sock";
handlers = { jsonl = { path = "$T_DIR/i.jsonl"; }; };
EOF
)
"$EVBUSD" -d -f "$CONFI" > "$T_DIR/i.log" 2>&1 &
pi=$!
T_PIDS="$T_PIDS $pi"
exit_within $pi 30
check "evbusd refuses to start: exit 78 (got $EC)" [ "$EC" = 78 ]
check "with the plugin's reason" grep -q "init_fail.*refusing to start" "$T_DIR/i.log"
check "and a clear 'plugins:' message" grep -q "^evbusd: plugins: " "$T_DIR/i.log"
check "no worker was started" [ "$(grep -c '^worker\[' "$T_DIR/i.log")" = 0 ]

if [ "$T_FAIL" -gt 0 ]; then
	echo "# --- evbusd log (last 60 lines) ---"
	tail -60 "$LOG"
fi
finish
