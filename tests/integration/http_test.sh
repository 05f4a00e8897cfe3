#!/usr/bin/env bash
# http_test.sh: evbusd's HTTP listener (http_listen) against a real broker:
# /metrics in Prometheus text 0.0.4 and, when asked, OpenMetrics (checked
# by promtool and by prometheus_client's OpenMetrics parser, as is
# `evbusctl metrics`), the metrics issue 17 asked for (build info,
# per-worker memory and CPU, exact bucket bounds), /healthz and /readyz,
# HEAD, 404, 405, 400, 431, the request deadline, the client limit, and
# the loop staying responsive (evbusctl status answers, a scrape gets
# through) under 100 idle and 20 trickling clients; readyz turning 503
# when the broker stops or no worker consumes, while healthz stays 200;
# bad addresses refused by evbusd -n with file:line; a port in use.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
. "$EVBUS_SRCDIR/tests/integration/status_lib.sh"
need_broker

BROKER_STOPPED=0
http_cleanup() {
	[ "$BROKER_STOPPED" = 1 ] && rmqctl start_app >/dev/null 2>&1
	t_cleanup
}
trap http_cleanup EXIT
command -v promtool >/dev/null || {
	not_ok "promtool not installed (apt-get install prometheus; packaging/deps.sh)"
	finish; }
"$PYTHON" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null || {
	not_ok "python3-prometheus-client not installed (packaging/deps.sh)"
	finish; }

PLUGINS=$T_DIR/plugins
LOG=$T_DIR/evbusd.log
PY=$T_DIR/web.py
mkdir -p "$PLUGINS"
cp "$EVBUS_BUILDDIR/handlers/.libs/jsonl.so" "$PLUGINS/" || {
	not_ok "plugin jsonl.so not built"; finish; }

{ printf '%s\n' "$PY_ASK"; cat <<'EOF'
import json, os, re, socket, subprocess, sys, time, uuid

HOST = "127.0.0.1"

def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    print(p)

def raw(port, data, timeout=8.0, host=HOST, family=socket.AF_INET):
    """Send data, read until the server closes: (status, headers, body)."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, int(port)))
    s.sendall(data)
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0]) if lines else None
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return (int(m.group(1)) if m else None), hdrs, body

def get(port, path, method="GET", accept=None, host=HOST,
        family=socket.AF_INET):
    req = "%s %s HTTP/1.1\r\nHost: x\r\nUser-Agent: http_test\r\n" % (
        method, path)
    if accept:
        req += "Accept: %s\r\n" % accept
    return raw(port, (req + "\r\n").encode(), host=host, family=family)

def fetch(port, path, out, method="GET", accept=None):
    """Status, content type and body length on stdout; body into out."""
    st, h, b = get(port, path, method, accept)
    open(out, "wb").write(b)
    print(st, h.get("content-type", "-"), h.get("content-length", "-"),
          len(b), h.get("allow", "-"))

def fetch6(port, path, out):
    """GET over IPv6 loopback: the status on stdout, the body into out."""
    st, h, b = get(port, path, host="::1", family=socket.AF_INET6)
    open(out, "wb").write(b)
    print(st)

def bad_password(url):
    """The test broker's URL with a password it refuses."""
    from urllib.parse import urlsplit, urlunsplit
    u = urlsplit(url)
    host = u.hostname + (":%d" % u.port if u.port else "")
    print(urlunsplit((u.scheme, "%s:wrong-password@%s" % (
        u.username or "guest", host), u.path, "", "")))

def garbage(port):
    print(raw(port, b"garbage\r\n\r\n")[0])

def om_check(path):
    """prometheus_client's OpenMetrics parser (strict) accepts the file."""
    from prometheus_client.openmetrics.parser import \
        text_string_to_metric_families
    text = open(path).read()
    try:
        fams = list(text_string_to_metric_families(text))
    except Exception as e:
        print("rejected: %s" % e)
        return 1
    print("%d families" % len(fams))
    return 0

def series(path):
    """name{labels} -> value of every sample of a text file."""
    out = {}
    for l in open(path):
        if l.startswith("#") or not l.strip():
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$",
                     l.rstrip("\n"))
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out

def content(path, nworkers):
    """The metrics issue 17 asked for, and exact bucket bounds."""
    s = series(path)
    text = open(path).read()
    errs = []
    bi = [k for k in s if k.startswith("evbus_build_info{")]
    if len(bi) != 1 or not re.search(r'version="[^"]+"', bi[0]) or \
            not re.search(r'rabbitmq_c="\d+\.\d+\.\d+', bi[0]) or \
            s[bi[0]] != 1:
        errs.append("evbus_build_info: %s" % bi)
    for w in [str(i) for i in range(int(nworkers))] + ["supervisor"]:
        r = s.get('process_resident_memory_bytes{worker="%s"}' % w)
        c = s.get('process_cpu_seconds_total{worker="%s"}' % w)
        if not r or r < 100000:
            errs.append("process_resident_memory_bytes worker %s: %s" % (w, r))
        if c is None or c < 0:
            errs.append("process_cpu_seconds_total worker %s: %s" % (w, c))
    les = re.findall(r'_bucket\{[^}]*le="([^"]+)"', text)
    want = ["%.6f" % ((1 << k) / 1e6) for k in range(32)]
    want = [x.rstrip("0").rstrip(".") for x in want]
    # 2^k us exactly: 0.000001 ... 1.048576 ... 2147.483648
    exact = {str(((1 << k) // 10**6)) + "." + ("%06d" % ((1 << k) % 10**6))
             .rstrip("0") for k in range(32)}
    exact = {x.rstrip(".") for x in exact} | {"+Inf"}
    if not les:
        errs.append("no histogram buckets")
    bad = [x for x in les if x not in exact]
    if bad:
        errs.append("inexact bounds: %s" % bad[:5])
    if "1.048576" not in les:
        errs.append('no le="1.048576"')
    for e in errs:
        print(e)
    if not errs:
        print("build info, %s workers + supervisor, %d exact bounds" %
              (nworkers, len(set(les))))
    return 1 if errs else 0

def closed_by_server(s):
    """Has the server closed s (or answered on it)?  Never blocks."""
    s.setblocking(False)
    try:
        s.recv(4096, socket.MSG_PEEK)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True

def flood(port, sock, evbusctl, conf, nidle, nslow, secs):
    """nidle idle and nslow trickling (a byte a second) clients; meanwhile
    evbusctl status, and one scrape.  Prints one JSON line."""
    port = int(port)
    res = {"status_times": [], "status_fail": 0, "refused": 0}
    idle, slow = [], []
    for i in range(int(nidle)):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((HOST, port))
            idle.append(s)
        except OSError:
            res["refused"] += 1
    for i in range(int(nslow)):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((HOST, port))
            slow.append([s, time.time(), None])
        except OSError:
            res["refused"] += 1
    msg = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    # Soon the server has made room for the newest 64 by closing the
    # oldest idle ones (the limit; the deadline comes at 5 s).
    t = time.time()
    while True:
        res["closed_early"] = sum(1 for s in idle if closed_by_server(s))
        if res["closed_early"] >= len(idle) + len(slow) - 64 or \
                time.time() - t > 3:
            break
        time.sleep(0.05)
    res["closed_early_after"] = round(time.time() - t, 2)
    start = time.time()
    scraped = None
    n = 0
    while time.time() - start < float(secs):
        for c in slow:
            if c[2] is None:
                try:
                    c[0].send(msg[n % len(msg):n % len(msg) + 1])
                except OSError:
                    c[2] = time.time() - c[1]
        n += 1
        t = time.time()
        r = subprocess.run([evbusctl, "-f", conf, "status", "--json"],
                           capture_output=True, timeout=30)
        res["status_times"].append(round(time.time() - t, 3))
        if r.returncode != 0 or not json.loads(r.stdout).get("workers"):
            res["status_fail"] += 1
        if scraped is None and time.time() - start > 1.5:
            t = time.time()
            try:
                st, h, b = get(port, "/metrics")
                scraped = [st, round(time.time() - t, 3), len(b)]
            except OSError as e:
                scraped = [str(e)]
        time.sleep(max(0, 1.0 - (time.time() - t)))
    res["scrape"] = scraped
    # Which of the clients did the server close (EOF, reset, an answer)?
    closed_idle = sum(1 for s in idle if closed_by_server(s))
    for c in slow:
        if c[2] is None and closed_by_server(c[0]):
            c[2] = time.time() - c[1]
    res["closed_idle"] = closed_idle
    res["slow_dropped"] = sum(1 for c in slow if c[2] is not None)
    res["slow_open"] = sum(1 for c in slow if c[2] is None)
    res["connected"] = len(idle) + len(slow)
    print(json.dumps(res))

def silent(port):
    """Connect, send nothing: seconds until the server closes, its status."""
    s = socket.socket()
    s.settimeout(20)
    s.connect((HOST, int(port)))
    t = time.time()
    out = b""
    while True:
        try:
            b = s.recv(4096)
        except OSError:
            break
        if not b:
            break
        out += b
    print("%.1f %s" % (time.time() - t, out.split(b"\r\n")[0].decode()))

def big(port):
    """A request head over the limit: status and whether it was closed."""
    s = socket.socket()
    s.settimeout(10)
    s.connect((HOST, int(port)))
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 20000)
    except OSError:
        pass
    out = b""
    while True:
        try:
            b = s.recv(4096)
        except OSError:
            break
        if not b:
            break
        out += b
    print(out.split(b"\r\n")[0].decode() or "-", "closed")

if __name__ == "__main__":
    r = globals()[sys.argv[1]](*sys.argv[2:])
    sys.exit(r or 0)
EOF
} > "$PY"

# svconf NAME WORKERS LISTEN: an evbusd of its own in $T_DIR (all but the URL)
svconf() {
	cat <<EOF
consumer_name = "$1$$";
workers = $2;
plugin_dir = "$PLUGINS";
status_socket = "$T_DIR/$1.sock";
pid_file = "$T_DIR/$1.pid";
reconnect_delay = 0.5;
reconnect_max_delay = 1.0;
http_listen = "$3";
handlers = { jsonl = { path = "$T_DIR/$1.jsonl"; }; };
EOF
}
SOCK=$T_DIR/http.sock
JSONL=$T_DIR/http.jsonl
PORT=$(py free_port)
CONF=$(svconf http 2 "127.0.0.1:$PORT" | make_conf http)
ctl() { "$EVBUSCTL" -f "$CONF" "$@"; }
# What Prometheus 2.x sends.
PROM_ACCEPT="application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
st() { ctl status --json > "$T_DIR/st.json" 2>/dev/null && jv "$T_DIR/st.json" "$1"; }
consuming_is() { [ "$(st 'd["workers_consuming"]')" = "$1" ]; }
# fetch PATH [METHOD] [ACCEPT]: "status content-type length bodylen allow"
fetch() { py fetch "$PORT" "$1" "$T_DIR/body" "${2:-GET}" "${3:-}"; }
code_of() { fetch "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------------
section "config: addresses refused with file:line"
bad_addr() {	# bad_addr VALUE EXPECTED-TEXT
	local f=$T_DIR/bad.conf out
	printf 'workers = 1;\nhttp_listen = "%s";\n' "$1" > "$f"
	out=$("$EVBUSD" -n -f "$f" 2>&1)
	local rc=$?
	[ $rc = 78 ] && grep -q "bad.conf:2: http_listen: .*$2" <<<"$out" ||
	    { echo "# rc $rc: $out"; return 1; }
}
check "evbusd -n: a host name is refused (names are not resolved)" \
    bad_addr "metrics.example.com:9466" "is not an IP address"
check "evbusd -n: ::1 without brackets is refused" \
    bad_addr "::1:9466" "in brackets"
check "evbusd -n: port 70000 is refused" bad_addr "127.0.0.1:70000" "too large"

section "start-up: 2 workers, HTTP on 127.0.0.1:$PORT"
"$EVBUSD" -d -f "$CONF" >>"$LOG" 2>&1 &
SVPID=$!
T_PIDS="$T_PIDS $SVPID"
if wait_for 40 consuming_is 2; then ok "2 workers consuming"
else not_ok "2 workers consuming"; cat "$LOG"; finish; fi
check "the log says where HTTP listens" \
    grep -q "http: listening on 127.0.0.1:$PORT" "$LOG"
# Some events, so that the handler has a histogram.
py_gen() {
	"$PYTHON" -c 'import json,sys,uuid
for i in range(int(sys.argv[1])):
    print(json.dumps({"event_id": str(uuid.uuid4()), "event_type": "OrderCreated",
        "aggregate_type": "Order", "aggregate_id": str(uuid.uuid4()), "n": i}))' "$1"
}
py_gen 50 > "$T_DIR/ev.jsonl"
ctl publish -i "$T_DIR/ev.jsonl" >/dev/null 2>&1
consumed_50() { [ "$(st 'd["events_consumed"]')" -ge 50 ]; }
check "50 events consumed" wait_for 20 consumed_50

section "GET /metrics: Prometheus text 0.0.4 unless OpenMetrics is asked for"
r=$(fetch /metrics)
check "GET /metrics (no Accept): 200 text/plain; version=0.0.4 ($r)" \
    grep -q "^200 text/plain; version=0.0.4; charset=utf-8 " <<<"$r"
cp "$T_DIR/body" "$T_DIR/m-text.prom"
check "text 0.0.4 has no '# EOF' and types its counters as name_total" \
    eval '! grep -q "^# EOF" "$T_DIR/m-text.prom" &&
    grep -q "^# TYPE evbus_events_consumed_total counter" "$T_DIR/m-text.prom"'
if promtool check metrics < "$T_DIR/m-text.prom" > "$T_DIR/promtool.out" 2>&1
then ok "promtool check metrics: GET /metrics (text 0.0.4) passes"
else not_ok "promtool check metrics: GET /metrics (text 0.0.4)"
	sed 's/^/#   /' "$T_DIR/promtool.out" | head -20; fi
checkpy "GET /metrics: build info, per-worker memory and CPU, exact bounds" \
    content "$T_DIR/m-text.prom" 2

r=$(fetch /metrics GET "$PROM_ACCEPT")
check "GET /metrics with Prometheus's Accept: 200 OpenMetrics 1.0.0 ($r)" \
    grep -q "^200 application/openmetrics-text; version=1.0.0; charset=utf-8 " <<<"$r"
cp "$T_DIR/body" "$T_DIR/m-om.txt"
check "OpenMetrics ends with '# EOF'" \
    eval '[ "$(tail -n1 "$T_DIR/m-om.txt")" = "# EOF" ]'
checkpy "OpenMetrics from GET /metrics: prometheus_client's parser accepts it" \
    om_check "$T_DIR/m-om.txt"
checkpy "OpenMetrics from GET /metrics: the same metrics" \
    content "$T_DIR/m-om.txt" 2
r=$(fetch /metrics GET "application/openmetrics-text;q=0, text/plain")
check "Accept with openmetrics q=0: text 0.0.4 ($r)" \
    grep -q "^200 text/plain; version=0.0.4" <<<"$r"

ctl metrics > "$T_DIR/ctl-om.txt"
checkpy "evbusctl metrics (OpenMetrics): prometheus_client's parser accepts it" \
    om_check "$T_DIR/ctl-om.txt"
ctl metrics --prometheus > "$T_DIR/ctl-text.prom" 2>"$T_DIR/ctl.err"
if promtool check metrics < "$T_DIR/ctl-text.prom" > "$T_DIR/promtool.out" 2>&1
then ok "promtool check metrics: evbusctl metrics --prometheus passes"
else not_ok "promtool check metrics: evbusctl metrics --prometheus"
	sed 's/^/#   /' "$T_DIR/promtool.out" "$T_DIR/ctl.err" | head -20; fi
checkpy "evbusctl metrics --prometheus: the same metrics" \
    content "$T_DIR/ctl-text.prom" 2

section "HEAD, /healthz, /readyz, 404, 405, 400"
r=$(fetch /metrics HEAD)
check "HEAD /metrics: 200, a Content-Length, no body ($r)" \
    eval '[ "$(cut -d" " -f1 <<<"$r")" = 200 ] &&
    [ "$(awk "{print \$(NF-1)}" <<<"$r")" = 0 ] &&
    [ "$(awk "{print \$(NF-2)}" <<<"$r")" -gt 1000 ]'
r=$(fetch /healthz)
check "GET /healthz: 200 application/json ($r)" \
    grep -q "^200 application/json " <<<"$r"
check "healthz body: status ok, 2 of 2 workers ($(cat "$T_DIR/body"))" \
    eval '[ "$(jv "$T_DIR/body" "(d[\"status\"], d[\"workers_running\"], d[\"workers_wanted\"])")" = "('"'ok'"', 2, 2)" ]'
ready() { [ "$(code_of /readyz)" = 200 ]; }
check "GET /readyz: 200 once the probe saw the queue" wait_for 10 ready
fetch /readyz >/dev/null
check "readyz body is evbusctl health's JSON (healthy, queue accessible)" \
    eval '[ "$(jv "$T_DIR/body" "(d[\"healthy\"], d[\"queue_status\"], d[\"details\"][\"queue\"])")" = "(True, '"'accessible'"', '"'t$$.http.default'"')" ]'
r=$(fetch /readyz HEAD)
check "HEAD /readyz: 200, no body ($r)" \
    eval '[ "$(cut -d" " -f1,4 <<<"$r")" = "200 0" ]'
check "GET /nope: 404" eval '[ "$(code_of /nope)" = 404 ]'
check "GET /metrics?x=1: the query is ignored (200)" \
    eval '[ "$(code_of "/metrics?x=1")" = 200 ]'
r=$(fetch /metrics POST)
check "POST /metrics: 405 with Allow: GET, HEAD ($r)" \
    eval '[ "$(cut -d" " -f1 <<<"$r")" = 405 ] && grep -q "GET, HEAD$" <<<"$r"'
r=$(py garbage "$PORT")
check "a request that is not HTTP: 400 ($r)" [ "$r" = 400 ]
r=$(py big "$PORT")
check "a request head over 8 KiB: 431 and closed ($r)" \
    [ "$r" = "HTTP/1.1 431 Request Header Fields Too Large closed" ]

section "deadline: a silent client is dropped"
r=$(py silent "$PORT")
t=${r%% *}
check "a client that sends nothing gets 408 and is closed after ~5 s ($r)" \
    eval '[ "${t%.*}" -ge 4 ] && [ "${t%.*}" -le 8 ] && grep -q " 408 " <<<"$r"'

section "100 idle and 20 trickling clients: the loop stays responsive"
py flood "$PORT" "$SOCK" "$EVBUSCTL" "$CONF" 100 20 9 > "$T_DIR/flood.json"
echo "# $(cat "$T_DIR/flood.json")"
fl() { jv "$T_DIR/flood.json" "$1"; }
check "evbusctl status answered every time ($(fl 'len(d["status_times"])') calls, $(fl 'd["status_fail"]') failed)" \
    eval '[ "$(fl "d[\"status_fail\"]")" = 0 ] && [ "$(fl "len(d[\"status_times\"])")" -ge 5 ]'
check "evbusctl status took at most 3 s (slowest $(fl 'max(d["status_times"])') s)" \
    eval '[ "$(fl "max(d[\"status_times\"]) <= 3.0")" = True ]'
check "a scrape during the flood got its metrics ($(fl 'd["scrape"]'))" \
    eval '[ "$(fl "d[\"scrape\"][0] == 200 and d[\"scrape\"][1] < 3 and d[\"scrape\"][2] > 1000")" = True ]'
check "over the limit of 64, the oldest idle clients were closed at once ($(fl 'd["closed_early"]') of 100 after $(fl 'd["closed_early_after"]') s)" \
    eval '[ "$(fl "d[\"closed_early\"] >= 100 + 20 - 64")" = True ]'
check "the deadline closed the other idle ones ($(fl 'd["closed_idle"]') of 100)" \
    [ "$(fl 'd["closed_idle"]')" = 100 ]
check "trickling clients were dropped by the deadline ($(fl 'd["slow_dropped"]') of 20; $(fl 'd["slow_open"]') open)" \
    [ "$(fl 'd["slow_open"]')" = 0 ]
check "evbusd still serves after the flood" eval '[ "$(code_of /healthz)" = 200 ]'
check "evbusd logged the full listener at most once" \
    eval '[ "$(grep -c "http: 64 clients at once" "$LOG")" -le 1 ]'

section "the broker stops: readyz 503, healthz 200; back: readyz 200"
BROKER_STOPPED=1
check "rabbitmqctl stop_app" eval 'rmqctl stop_app >/dev/null 2>&1'
not_ready() { [ "$(code_of /readyz)" = 503 ]; }
check "readyz: 503 without the broker" wait_for 30 not_ready
fetch /readyz >/dev/null
check "readyz body says why ($(jv "$T_DIR/body" 'd["error"]'))" \
    eval '[ "$(jv "$T_DIR/body" "d[\"healthy\"]")" = False ]'
check "healthz: still 200 (the broker is not evbusd's liveness)" \
    eval '[ "$(code_of /healthz)" = 200 ]'
r=$(fetch /metrics); check "metrics still served without the broker ($r)" \
    grep -q "^200 " <<<"$r"
check "rabbitmqctl start_app" eval 'rmqctl start_app >/dev/null 2>&1'
BROKER_STOPPED=0
check "readyz: 200 again once the workers consume" wait_for 60 ready

section "workers that never consume (wrong password): readyz 503"
PORT2=$(py free_port)
# Not make_conf: it writes the working URL.
CONF2=$T_DIR/nocons.conf
{ echo "rabbitmq_url = \"$(py bad_password "$EVBUS_TEST_URL")\";"
  echo "exchange_name = \"t$$.nocons\";"
  svconf nc 1 "[::1]:$PORT2"; } > "$CONF2"
chmod 600 "$CONF2"
"$EVBUSD" -d -f "$CONF2" >>"$T_DIR/nc.log" 2>&1 &
NCPID=$!
T_PIDS="$T_PIDS $NCPID"
v6code() { py fetch6 "$PORT2" "$1" "$T_DIR/body6" 2>/dev/null; }
up6() { [ "$(v6code /healthz)" = 200 ]; }
if wait_for 20 up6; then
	ok "[::1]:$PORT2 (IPv6): healthz 200 while no worker can connect"
else not_ok "[::1]:$PORT2 (IPv6): healthz 200 while no worker can connect"
	sed 's/^/#   /' "$T_DIR/nc.log" | tail -20; fi
sleep 3
check "readyz: 503 ($(v6code /readyz); $(jv "$T_DIR/body6" 'd["error"]' 2>/dev/null))" \
    eval '[ "$(v6code /readyz)" = 503 ]'
kill -TERM "$NCPID"; wait "$NCPID" 2>/dev/null

section "a port in use: evbusd refuses to start and says why"
CONF3=$(svconf bz 1 "127.0.0.1:$PORT" | make_conf busy)
timeout 20 "$EVBUSD" -d -f "$CONF3" > "$T_DIR/bz.log" 2>&1
rc=$?
check "second evbusd on the same port: exit 1, 'Address already in use' (rc $rc)" \
    eval '[ $rc = 1 ] && grep -q "http_listen 127.0.0.1:$PORT: Address already in use" "$T_DIR/bz.log"' ||
    sed 's/^/#   /' "$T_DIR/bz.log"
check "the first one still serves" eval '[ "$(code_of /healthz)" = 200 ]'

section "stop: the port is closed"
kill -TERM "$SVPID"
wait "$SVPID" 2>/dev/null
closed() { ! "$PYTHON" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$PORT" 2>/dev/null; }
check "after SIGTERM nothing listens on $PORT" closed
finish
