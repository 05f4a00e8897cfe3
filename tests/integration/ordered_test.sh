#!/usr/bin/env bash
# ordered_test.sh: ordering = "aggregate" (issue 15) against the real
# broker and the real evbusd pool.  The topology (partition queues with a
# single active consumer behind an x-consistent-hash exchange, no retry
# queues) and the config checks; then 200 aggregates x 20 versions,
# published interleaved (version 1 of every aggregate, then version 2 ...)
# with 8 hot aggregates whose versions come in runs of 5 back to back in
# between, handled by the chaos plugin with a random sleep_ms, in five
# runs: plain on 4 workers; with repeated kill -9 of workers; with version
# 5 of some aggregates failing twice (retried in place); with scaling
# 4 -> 2 -> 6 -> 3 mid-run; and with two evbusd on the group, one killed
# mid-run.
#
# The record: chaos and jsonl append to one file, chaos a line with
# "outcome" when an attempt starts, jsonl (dispatched after it) a line
# when it ends.  The checker (ord.py check, below) reads it per aggregate
# in file order: no version lower than one already started (a repeat of
# the highest is allowed, and only after a crash), version v starts only
# after v-1 ended with outcome ok, every published event settled (none
# lost).  It is tried on hand-made good and bad records first (selftest).
# Each run has its own exchange, so runs never see each other's events.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"
. "$EVBUS_SRCDIR/tests/integration/status_lib.sh"

# status_lib's py and checkpy run this test's python helpers, $PY
# (worker_lib's jl and msg, which take PY for python itself, are not used).
PY=$T_DIR/ord.py
cat > "$PY" <<'EOF'
import json, os, random, re, sys, uuid


def gen(out, naggs, nvers, smin, smax, nfail=0, nhot=8, run=5, seed=None):
    """Events as JSON lines (evbusctl publish input) in nvers rounds: in
    round v, version v of each of naggs aggregates (interleaved: version
    1 of every aggregate, then version 2 ...), then, for each of nhot hot
    aggregates, its next run versions back to back, so that a partition
    with two active consumers or a retry overtaken shows at once (the
    interleaved ones are a partition's dozen messages apart).  Each body
    has a random sleep_ms smin..smax.  With nfail, version 5 of the first
    nfail aggregates and of every hot one has fail_until 2 (two retries,
    then ok)."""
    naggs, nvers, nfail = int(naggs), int(nvers), int(nfail)
    nhot, run, smin, smax = int(nhot), int(run), int(smin), int(smax)
    rnd = random.Random(int(seed) if seed else None)

    def uid():
        return str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    aggs = [uid() for _ in range(naggs)]
    hot = [uid() for _ in range(nhot)]
    with open(out, "w") as f:
        def ev(a, v, fail):
            e = {"event_id": uid(), "event_type": "OrderCreated" if v == 1
                 else "OrderUpdated", "aggregate_type": "Order",
                 "aggregate_id": a, "aggregate_version": v,
                 "sleep_ms": rnd.randint(smin, smax)}
            if fail and v == 5:
                e["fail_until"] = 2
            f.write(json.dumps(e) + "\n")
        for r in range(1, nvers + 1):
            for i, a in enumerate(aggs):
                ev(a, r, i < nfail)
            for a in hot:
                for v in range((r - 1) * run + 1, r * run + 1):
                    ev(a, v, nfail > 0)


class Agg:
    __slots__ = ("maxv", "settled", "open", "hist")

    def __init__(self):
        self.maxv = 0           # highest version started
        self.settled = {}       # version -> line where it was settled
        self.open = {}          # version -> outcome: started, not ended
        self.hist = []          # (line, text) of this aggregate


def check(record, events, *opts):
    """The order and loss checker over a record file where the chaos
    handler writes a line when an attempt starts (with "outcome") and the
    jsonl handler, dispatched after it, one when it ends (without).
    Per aggregate, in file order:
      - no attempt of a version lower than one already started (a repeat
        of the highest is allowed: a retry, or a redelivery);
      - version v starts only after v-1 was settled: an end line after
        an attempt whose outcome was ok;
      - an end line follows a start line of the same version.
    Every published (aggregate, version) settled (none lost).
    Options: strict (no crash in the run): every event attempted exactly
    fail_until + 1 times with retry_count 0, 1, ... (outcomes retry then
    ok) and no repeat or interrupted attempt; done: only check that every
    event is settled, quietly (for polling); progress: print how many are;
    consumers=N: at least N distinct consumers settled events."""
    strict = "strict" in opts
    done_only = "done" in opts
    min_cons = 1
    for o in opts:
        if o.startswith("consumers="):
            min_cons = int(o.split("=", 1)[1])
    want = {}
    for l in open(events):
        if l.strip():
            e = json.loads(l)
            want[(e["aggregate_id"], e["aggregate_version"])] = \
                e.get("fail_until", 0)
    aggs = {}
    attempts = {}               # (agg, v) -> [(retry_count, outcome)]
    errs = []
    n = {"lines": 0, "starts": 0, "ends": 0, "repeats": 0,
         "interrupted": 0, "retries": 0, "foreign": 0}
    consumers = {}

    def err(agg, msg, v=0):
        errs.append((agg, msg, v))

    try:
        lines = open(record).read().split("\n")
    except FileNotFoundError:
        lines = []
    for no, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        n["lines"] += 1
        try:
            x = json.loads(raw)
            b = x["body"]
            agg, v = b["aggregate_id"], b["aggregate_version"]
        except (ValueError, KeyError, TypeError):
            err(None, "line %d: not a record line: %.200s" % (no, raw))
            continue
        key = (agg, v)
        if key not in want:
            n["foreign"] += 1
            err(agg, "line %d: version %s of %s was not published in "
                "this run" % (no, v, agg))
            continue
        st = aggs.get(agg)
        if st is None:
            st = aggs[agg] = Agg()
        what = "start(%s rc=%s)" % (x.get("outcome"), x.get("retry_count")) \
            if "outcome" in x else "end"
        st.hist.append((v, "line %d: v%d %s worker %s %s" % (
            no, v, what, x.get("worker"), x.get("consumer"))))
        if "outcome" in x:
            n["starts"] += 1
            attempts.setdefault(key, []).append(
                (x.get("retry_count"), x["outcome"]))
            if v < st.maxv:
                err(agg, "line %d: %s version %d started after version "
                    "%d had started (went back)" % (no, agg, v, st.maxv), v)
            elif v > st.maxv:
                if v > 1 and (v - 1) not in st.settled:
                    err(agg, "line %d: %s version %d started before "
                        "version %d was settled (%s)" % (
                            no, agg, v, v - 1, "it never started"
                            if st.maxv < v - 1 else "it had not ended ok"), v)
                st.maxv = v
            elif v in st.settled:
                n["repeats"] += 1
            elif v in st.open:
                n["interrupted"] += 1
            else:
                n["retries"] += 1
            st.open[v] = x["outcome"]
        else:
            n["ends"] += 1
            if v not in st.open:
                err(agg, "line %d: version %d of %s ended without a "
                    "start of its own before it" % (no, v, agg), v)
            elif st.open.pop(v) == "ok":
                st.settled.setdefault(v, no)
                c = x.get("consumer")
                consumers[c] = consumers.get(c, 0) + 1
    lost = [k for k in want
            if k[0] not in aggs or k[1] not in aggs[k[0]].settled]
    if done_only:
        return 0 if not lost else 1
    if "progress" in opts:
        print(len(want) - len(lost))
        return 0
    if lost:
        lost.sort(key=lambda k: (k[1], k[0]))
        err(lost[0][0], "%d of %d events never handled to the end with "
            "outcome ok (lost), e.g. %s version %d" % (
                len(lost), len(want), lost[0][0], lost[0][1]), lost[0][1])
    if strict:
        for key, f in sorted(want.items()):
            exp = [(i, "retry") for i in range(f)] + [(f, "ok")]
            got = attempts.get(key, [])
            if got != exp:
                err(key[0], "%s version %d: attempts (retry_count, "
                    "outcome) %s, expected %s" % (key[0], key[1], got, exp),
                    key[1])
                break
        if n["repeats"] or n["interrupted"]:
            err(None, "%d repeats and %d interrupted attempts in a run "
                "without a crash" % (n["repeats"], n["interrupted"]))
    if len(consumers) < min_cons:
        err(None, "ended by %d consumer(s) %s, expected at least %d" % (
            len(consumers), sorted(consumers), min_cons))
    summary = ("%d events, %d settled, %d attempts (%d retries, %d "
               "repeats, %d interrupted), %d consumers (%s)" % (
                   len(want), len(want) - len(lost), n["starts"],
                   n["retries"], n["repeats"], n["interrupted"],
                   len(consumers), " ".join("%s:%d" % kv for kv in
                                            sorted(consumers.items()))))
    if not errs:
        print(summary)
        return 0
    print("%d violation(s); first: %s" % (len(errs), errs[0][1]))
    print(summary + "; " + ", ".join("%s %d" % kv for kv in sorted(
        n.items())))
    a, m, v = errs[0]
    if a in aggs:
        h = [t for hv, t in aggs[a].hist if v - 2 <= hv <= v + 1]
        print("record of %s, versions %d..%d:" % (a, v - 2, v + 1))
        for t in h[:12]:
            print("  " + t)
    for a, m, v in errs[1:6]:
        print(m)
    return 1


def selftest(dirname):
    """The checker on hand-made records: each case's verdict as expected.
    A token is <aggregate letter><version><s|e>[:outcome[:retry_count]]:
    s an attempt starts (chaos line), e it ends (jsonl line)."""
    ids = {"A": "11111111-1111-4111-8111-111111111111",
           "B": "22222222-2222-4222-8222-222222222222"}
    ev = os.path.join(dirname, "self.events")
    rec = os.path.join(dirname, "self.record")

    def events(fail=()):
        with open(ev, "w") as f:
            for v in (1, 2, 3):
                for a in "AB":
                    e = {"aggregate_id": ids[a], "aggregate_version": v}
                    if a + str(v) in fail:
                        e["fail_until"] = 2
                    f.write(json.dumps(e) + "\n")

    def record(toks, cons="c-0"):
        with open(rec, "w") as f:
            for t in toks.split():
                p = t.split(":")
                a, v, se = p[0][0], int(p[0][1:-1]), p[0][-1]
                x = {"worker": 0, "consumer": cons, "event_id": "x",
                     "retry_count": int(p[2]) if len(p) > 2 else 0}
                if se == "s":
                    x["outcome"] = p[1] if len(p) > 1 else "ok"
                x["body"] = {"aggregate_id": ids[a], "aggregate_version": v}
                f.write(json.dumps(x) + "\n")

    seq = "A1s A1e B1s A2s B1e A2e B2s B2e A3s B3s A3e B3e"
    retry = ("A1s A1e B1s B1e A2s:retry:0 B2s B2e A2e A2s:retry:1 A2e B3s "
             "A2s:ok:2 B3e A2e A3s A3e")
    cases = [
        ("in order", seq, (), (), 0),
        ("in order, strict", seq, (), ("strict",), 0),
        ("in-place retries, strict", retry, ("A2",), ("strict",), 0),
        ("retries missing, strict", retry.replace("A2s:retry:1 A2e ", ""),
         ("A2",), ("strict",), 1),
        ("crash: last version again", "A1s A1e B1s B1e A2s A2s A2e B2s "
         "B2e A3s A3e A3s A3e B3s B3e", (), (), 0),
        ("crash: repeats refused when strict", "A1s A1e B1s B1e A2s A2s "
         "A2e B2s B2e A3s A3e B3s B3e", (), ("strict",), 1),
        ("went back", "A1s A1e B1s B1e A2s A2e A3s A3e A2s A2e B2s B2e "
         "B3s B3e", (), (), 1),
        ("v3 started before v2 ended", "A1s A1e B1s B1e A2s A3s A2e A3e "
         "B2s B2e B3s B3e", (), (), 1),
        ("v3 overtook a retry of v2", "A1s A1e B1s B1e A2s:retry:0 A2e "
         "A3s A3e A2s:ok:1 A2e B2s B2e B3s B3e", ("A2",), (), 1),
        ("v2 and v3 at once, ends swapped", "A1s A1e B1s B1e A2s A3s A3e "
         "A2e B2s B2e B3s B3e", (), (), 1),
        ("lost", "A1s A1e B1s B1e A2s A2e B2s B2e A3s A3e", (), (), 1),
        ("started, never ended (lost)", "A1s A1e B1s B1e A2s A2e B2s B2e "
         "A3s A3e B3s", (), (), 1),
        ("skipped a version", "A1s A1e B1s B1e A3s A3e A2s A2e B2s B2e "
         "B3s B3e", (), (), 1),
        ("end without start", "A1e A1s A1e B1s B1e A2s A2e B2s B2e A3s "
         "A3e B3s B3e", (), (), 1),
        ("one consumer where two expected", seq, (), ("consumers=2",), 1),
    ]
    bad = 0
    for name, toks, fail, opts, verdict in cases:
        events(fail)
        record(toks)
        with open(os.devnull, "w") as null:
            so, sys.stdout = sys.stdout, null
            try:
                got = check(rec, ev, *opts)
            finally:
                sys.stdout = so
        if (got != 0) != (verdict != 0):
            print("checker wrong on '%s': exit %d, expected %s" % (
                name, got, "a violation" if verdict else "none"))
            bad += 1
    if bad == 0:
        print("%d hand-made records judged right" % len(cases))
    return 1 if bad else 0


def topo(snap, x, parts, workers, owners=""):
    """The broker's view of the ordered group <x>.g with parts partitions
    and a pool of workers: rabbitmqctl JSON snapshots snap.q (queues:
    name arguments), snap.x (exchanges: name type arguments), snap.b
    (bindings) and snap.c (consumers: queue_name consumer_tag active).
    With owners, each partition's active consumer is its owner's, worker
    p mod workers (a worker hands a partition over to its owner only when
    an event arrives on it, so this holds after a load, not at once)."""
    parts, workers = int(parts), int(workers)
    q = x + ".g"

    def load(n):
        return json.load(open("%s.%s" % (snap, n)))

    def targs(a):
        return {k: v for k, _, v in a} if isinstance(a, list) else a
    errs = []
    queues = {e["name"]: targs(e["arguments"]) for e in load("q")}
    exch = {e["name"]: e for e in load("x")}
    binds = load("b")
    cons = load("c")
    pq = ["%s.p%d" % (q, p) for p in range(parts)]
    mine = sorted(n for n in queues if n == q or n.startswith(q + "."))
    want = sorted(pq + [q + ".dlq"])
    if mine != want:
        errs.append("the group's queues are %s, expected the %d partitions "
                    "and the DLQ only (no group queue, no retry queues)"
                    % (mine, parts))
    dlx = [b for b in binds if b["destination_name"] == q + ".dlq" and
           b["source_name"] != ""]
    if len(dlx) != 1 or dlx[0]["routing_key"] != q:
        errs.append("DLQ %s.dlq bindings: %s" % (q, dlx))
    dlx = dlx[0]["source_name"] if dlx else "?"
    for n in pq:
        a = queues.get(n, {})
        if a.get("x-single-active-consumer") is not True:
            errs.append("%s: no x-single-active-consumer: %s" % (n, a))
        if a.get("x-dead-letter-exchange") != dlx or \
                a.get("x-dead-letter-routing-key") != q:
            errs.append("%s: dead-letters to %s/%s, not to the DLQ's "
                        "exchange %s with key %s" % (
                            n, a.get("x-dead-letter-exchange"),
                            a.get("x-dead-letter-routing-key"), dlx, q))
    hx = q + ".partitions"
    e = exch.get(hx)
    if e is None or e["type"] != "x-consistent-hash" or \
            targs(e["arguments"]).get("hash-header") != "aggregate_id":
        errs.append("exchange %s: %s, expected x-consistent-hash with "
                    "hash-header aggregate_id" % (hx, e))
    fromx = sorted((b["destination_kind"], b["destination_name"],
                    b["routing_key"]) for b in binds if b["source_name"] == x)
    if fromx != [("exchange", hx, "#")]:
        errs.append("bindings from %s: %s, expected the partition "
                    "exchange only, with #" % (x, fromx))
    fromh = sorted((b["destination_name"], b["routing_key"])
                   for b in binds if b["source_name"] == hx)
    if fromh != sorted((n, "1") for n in pq):
        errs.append("bindings from %s: %s, expected each partition with "
                    "weight 1" % (hx, fromh))
    tag = re.compile(r"-(\d+)\.p(\d+)$")
    for p, n in enumerate(pq):
        c = [k for k in cons if k["queue_name"] == n]
        act = [k["consumer_tag"] for k in c if k.get("active") is True]
        if len(c) != workers or len(act) != 1:
            errs.append("%s: %d consumers (%d active), expected %d (one "
                        "active): %s" % (n, len(c), len(act), workers,
                                         [(k["consumer_tag"], k.get("active"))
                                          for k in c]))
            continue
        m = tag.search(act[0])
        if not owners:
            continue
        if not m or int(m.group(1)) != p % workers or int(m.group(2)) != p:
            errs.append("%s: the active consumer is %s, expected worker %d "
                        "(p mod %d)" % (n, act[0], p % workers, workers))
    if errs:
        print("%d problem(s); first: %s" % (len(errs), errs[0]))
        for m in errs[1:8]:
            print(m)
        return 1
    print("%d partitions, %d consumers each, one active%s" % (
        parts, workers, ", its owner's" if owners else ""))
    return 0


def consuming(path, n):
    """The pool (evbusctl workers --json in path) has n workers, all
    consuming."""
    try:
        w = json.load(open(path))
    except ValueError:
        return 1
    return 0 if len(w) == int(n) and \
        all(x.get("state") == "consuming" for x in w) else 1


def drained(snap, q):
    """Every queue of the group q (rabbitmqctl list_queues name messages,
    JSON in snap) holds no message, ready or unacked."""
    full = ["%s: %d" % (e["name"], e["messages"]) for e in json.load(open(snap))
            if e["name"].startswith(q + ".") and e["messages"] != 0]
    if full:
        print("not empty: " + ", ".join(sorted(full)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(globals()[sys.argv[1]](*sys.argv[2:]) or 0)
EOF

P=$(plugin_dir plugins chaos jsonl) || { not_ok "plugins not built"; finish; }

# oconf NAME EXCHANGE RECORD: an ordered group g with 16 partitions and 4
# workers, chaos and jsonl writing RECORD.
oconf() {
	conf "$1" "$2" g <<EOF
ordering = "aggregate";
partitions = 16;
workers = 4;
plugin_dir = "$P";
status_socket = "$T_DIR/$1.sock";
pid_file = "$T_DIR/$1.pid";
max_crashes = 5;
retry_base_delay = 0.05;
retry_max_delay = 0.2;
shutdown_timeout = 10.0;
handlers = {
	chaos = { path = "$3"; };
	jsonl = { path = "$3"; };
};
EOF
}
# newrun NAME SMIN SMAX [NFAIL]: a run of its own: exchange t$$.NAME
# (X), its record (REC), config (CONF) and events (EV: ord.py gen, NEV of
# them); f0 the failures so far.
newrun() {
	f0=$T_FAIL
	X=t$$.$1
	REC=$T_DIR/$1.rec
	EV=$T_DIR/$1.events
	CONF=$(oconf "$1" "$X" "$REC")
	py gen "$EV" 200 20 "$2" "$3" "${4:-0}"
	NEV=$(wc -l < "$EV")
}
# start_pool NAME: evbusd NAME on $CONF, its 4 workers consuming.
start_pool() {
	sv_start "$1" "$CONF"
	check "evbusd $1: 4 workers consuming" wait_for 30 pool_is 4
}

# sv_start NAME CONF: evbusd (supervisor and pool) in the foreground, its
# log in $T_DIR/NAME.log, its pid in SV.
sv_start() {
	"$EVBUSD" -d -f "$2" 2> >(stamp >> "$T_DIR/$1.log") &
	SV=$!
	T_PIDS="$T_PIDS $SV"
}
# sv_stop PID: SIGTERM, then SIGKILL after 20 s.
sv_stop() {
	kill -TERM "$1" 2>/dev/null
	wait_for 20 eval "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
ctl() { "$EVBUSCTL" -f "$CONF" "$@"; }
# pool_is N: N workers, all consuming.
pool_is() {
	ctl workers --json > "$T_DIR/w.json" 2>/dev/null &&
	    py consuming "$T_DIR/w.json" "$1"
}
# elapsed T0: seconds since T0 (an $EPOCHREALTIME).
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
worker_pids() { pgrep -P "$SV" -f "evbusd: worker "; }
settled() {
	py check "$REC" "$EV" "done" && return 0
	[ -n "${DIAG:-}" ] && echo "#   $(progress) of $(wc -l < "$EV") settled"
	return 1
}
progress() { py check "$REC" "$EV" progress; }
# publish_start: evbusctl publishes the events of $EV in the background;
# publish_check: waits for it, all must be confirmed (without them
# nothing after is worth waiting for); publish: both.
publish_start() {
	ctl --json publish -i "$EV" > "$T_DIR/pub.json" 2> "$T_DIR/pub.err" &
	PUB=$!
}
publish_check() {
	local rc
	wait "$PUB"
	rc=$?
	if [ "$rc" = 0 ] && grep -q '"failed":0' "$T_DIR/pub.json"; then
		ok "published $(wc -l < "$EV") events: $(cat "$T_DIR/pub.json")"
		return 0
	fi
	not_ok "published $(wc -l < "$EV") events (exit $rc): $(cat "$T_DIR/pub.json")"
	sed -n '1,5s/^/#   /p' "$T_DIR/pub.err"
	finish
}
publish() { publish_start; publish_check; }
# drained: every queue of the group (partitions, DLQ) empty.
drained() {
	rmqctl list_queues name messages --formatter json > "$T_DIR/snap.m" \
	    2>/dev/null && py drained "$T_DIR/snap.m" "$X.g" > "$T_DIR/py2.out" &&
	    return 0
	[ -n "${DIAG:-}" ] && sed 's/^/#   /' "$T_DIR/py2.out"
	return 1
}
# snapshot: the broker's queues, exchanges, bindings and consumers.
snapshot() {
	rmqctl list_queues name arguments --formatter json > "$T_DIR/snap.q" &&
	rmqctl list_exchanges name type arguments --formatter json \
	    > "$T_DIR/snap.x" &&
	rmqctl list_bindings source_name destination_name destination_kind \
	    routing_key --formatter json > "$T_DIR/snap.b" &&
	rmqctl list_consumers queue_name consumer_tag active --formatter json \
	    > "$T_DIR/snap.c"
}
# topo_is WORKERS [owners]: the topology as it should be (ord.py topo).
topo_is() {
	snapshot 2>/dev/null && py topo "$T_DIR/snap" "$X" 16 "$@" \
	    > "$T_DIR/py2.out" && return 0
	[ -n "${DIAG:-}" ] && sed 's/^/#   /' "$T_DIR/py2.out"
	return 1
}

# settle_checks WHAT CHECKER-OPTIONS...: wait until every event is
# settled, then the order and loss checks, then the queues drained.
settle_checks() {
	local what=$1 t0=$SECONDS; shift
	check "$what: every event handled" wait_for 120 settled
	echo "# settled after $((SECONDS - t0)) s more"
	sleep 1		# a late repeat would show
	checkpy "$what: order per aggregate, none lost" check "$REC" "$EV" "$@"
	check "$what: partitions and DLQ empty" wait_for 20 drained
}
# log_fails NAME FAILS-BEFORE: the tail of evbusd's log after a failure.
log_fails() {
	[ "$T_FAIL" -gt "$2" ] || return 0
	echo "# --- $1.log (last 40 lines) ---"
	tail -40 "$T_DIR/$1.log" | sed 's/^/#   /'
}

# ---------------------------------------------------------------------
section "the checker on hand-made records"
checkpy "checker: good records pass, lost or out-of-order ones fail" \
    selftest "$T_DIR"

# ---------------------------------------------------------------------
section "config: evbusd -n"
newrun o1 0 3
"$EVBUSD" -n -f "$CONF" > "$T_DIR/n.out" 2>&1
rc=$?
check "evbusd -n accepts ordering = \"aggregate\"; partitions = 16 (exit $rc)" \
    [ "$rc" = 0 ]
# refused NAME SED-EXPR KEY: evbusd -n refuses the edited config with
# exit 78 and file:line: KEY.
refused() {
	local f=$T_DIR/$1.conf line rc
	sed "$2" "$CONF" > "$f"
	chmod 600 "$f"
	line=$(grep -n "^$3 = " "$f" | cut -d: -f1)
	"$EVBUSD" -n -f "$f" > "$T_DIR/n.out" 2>&1
	rc=$?
	if [ "$rc" = 78 ] && grep -q "$f:$line: $3" "$T_DIR/n.out"; then
		ok "evbusd -n refuses $(grep "^$3 = " "$f") with $f:$line"
	else
		not_ok "evbusd -n refuses $(grep "^$3 = " "$f") with exit 78 and $f:$line (exit $rc)"
		sed 's/^/#   /' "$T_DIR/n.out"
	fi
}
refused sideways 's/^ordering = .*/ordering = "sideways";/' ordering
refused zero 's/^partitions = .*/partitions = 0;/' partitions
refused many 's/^partitions = .*/partitions = 257;/' partitions

# ---------------------------------------------------------------------
section "topology: 16 partitions behind an x-consistent-hash exchange, 4 workers"
start_pool o1
check "partition queues, hash exchange and bindings; every partition has 4 consumers, one active" \
    wait_for 30 topo_is 4

# ---------------------------------------------------------------------
section "200 aggregates x 20 versions and 8 hot ones x 100 on 4 workers, sleep_ms 0..3"
t0=$SECONDS
publish
settle_checks "plain" strict
echo "# $NEV events in $((SECONDS - t0)) s"
nc=$(grep -o '[0-9]* consumers' "$T_DIR/py.out" | head -1)
check "the load spread: all 4 workers handled events ($nc)" \
    [ "$nc" = "4 consumers" ]
check "after the load, each partition's owner (p mod 4) is its active consumer" \
    wait_for 30 topo_is 4 owners
sv_stop "$SV"
log_fails o1 "$f0"

# ---------------------------------------------------------------------
section "kill -9 of random workers under load (7 kills)"
newrun o2 5 15
start_pool o2
publish_start
wait_for 30 eval '[ "$(progress)" -ge 200 ]'
t0=$EPOCHREALTIME
kills=0
for k in 1 2 3 4 5 6 7; do
	sleep "0.$((5 + RANDOM % 5))"
	mapfile -t pids < <(worker_pids)
	[ "${#pids[@]}" -gt 0 ] || continue
	v=${pids[RANDOM % ${#pids[@]}]}
	kill -KILL "$v" && kills=$((kills + 1))
	echo "# kill $k at +$(elapsed "$t0") s: worker pid $v ($(wc -l < "$REC") record lines)"
done
publish_check
done_at=$(progress)
check "$kills kills, all while events were still waiting ($done_at of $NEV settled at the last)" \
    [ "$kills" = 7 -a "$done_at" -lt "$NEV" ]
settle_checks "kill -9" consumers=2
check "log: the supervisor saw $kills workers killed by signal 9" \
    logged o2 "killed by signal 9" "$kills"
sv_stop "$SV"
log_fails o2 "$f0"

# ---------------------------------------------------------------------
section "version 5 of 20 aggregates and of the 8 hot ones fails twice (fail_until 2): retried in place"
newrun o3 0 3 20
start_pool o3
publish
# strict: each failing version 5 attempted exactly 3 times (retry_count 0,
# 1, 2; retry, retry, ok), all before version 6 of its aggregate starts;
# every other event exactly once.
settle_checks "fail twice" strict
nr=$(grep -o '[0-9]* retries' "$T_DIR/py.out" | head -1)
nf=$(grep -c '"fail_until"' "$EV")
check "$((2 * nf)) retries in the record, two for each of the $nf failing events ($nr)" \
    [ "$nr" = "$((2 * nf)) retries" ]
sv_stop "$SV"
log_fails o3 "$f0"

# ---------------------------------------------------------------------
section "evbusctl scale 4 -> 2 -> 6 -> 3 mid-run"
newrun o4 5 15
start_pool o4
publish_start
wait_for 30 eval '[ "$(progress)" -ge 300 ]'
for n in 2 6 3; do
	ctl scale "$n" > /dev/null
	check "scale $n: $n workers consuming (at $(progress) of $NEV)" \
	    wait_for 30 pool_is "$n"
	sleep 0.5
done
publish_check
done_at=$(progress)
check "scaled while events were still waiting ($done_at of $NEV settled)" \
    [ "$done_at" -lt "$NEV" ]
# No crash here: no event may run twice either.
settle_checks "scale" strict consumers=2
check "after the scaling, every partition has 3 consumers, one active" \
    wait_for 30 topo_is 3
sv_stop "$SV"
log_fails o4 "$f0"

# ---------------------------------------------------------------------
section "two evbusd on one group; kill -9 of one (supervisor and workers) mid-run"
newrun o5a 3 10
start_pool o5a
SV_A=$SV
CONF=$(oconf o5b "$X" "$REC")	# the same group, another consumer_name
start_pool o5b
SV_B=$SV
publish_start
wait_for 30 eval '[ "$(progress)" -ge 800 ]'
mapfile -t pids < <(pgrep -P "$SV_A")
at=$(progress)
{ kill -KILL "$SV_A" "${pids[@]}"; wait "$SV_A"; } 2>/dev/null
echo "# killed evbusd o5a ($SV_A) and its children (${pids[*]}) at $at of $NEV settled"
publish_check
check "o5a was killed mid-run ($at of $NEV settled)" [ "$at" -lt "$NEV" ]
settle_checks "two hosts" consumers=2
check "both evbusd handled events (o5a before its death, o5b after)" \
    grep -q "wt-o5a-.*wt-o5b-" "$T_DIR/py.out"
sv_stop "$SV_B"
log_fails o5a "$f0"
log_fails o5b "$f0"

finish
