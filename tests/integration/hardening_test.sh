#!/usr/bin/env bash
# hardening_test.sh: what evbus does against mistakes and hostile input.
#
#   - config files: a file holding the broker password must be readable by
#     its owner only (also when the password sits in an @include'd file);
#     the password may come from $EVBUS_PASSWORD instead
#   - plugins: only *.so directly in plugin_dir, and never from a
#     world-writable directory or file
#   - the status socket: created with status_socket_mode; another user can
#     read stats when the mode lets them connect, but cannot scale, reload
#     or stop; oversized, NUL-laden and idle requests cost bounded memory
#     and never stop evbusd from answering
#   - AMQP input: an 8 MiB body of '[', JSON nested 100000 deep, invalid
#     UTF-8, headers of the wrong AMQP type, a header table nested 15000
#     deep: dead-lettered with a reason (or handled), and no worker dies
#   - the broker password never shows in logs, ps output, status, health,
#     queue, workers or metrics output, nor in error messages
#   - privilege drop: user = "nobody", group = "nogroup" runs the workers,
#     the probe and the plugin check as nobody (the supervisor keeps root)
#     and the status socket belongs to them
#
# Needs root (runuser, setpriv, the privilege drop), as CI runs it.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

AMQPGET=$EVBUS_BUILDDIR/tests/integration/amqpget
JSONL_SO=$EVBUS_BUILDDIR/handlers/.libs/jsonl.so
for f in "$EVBUSD" "$EVBUSCTL" "$AMQPGET" "$JSONL_SO"; do
	[ -x "$f" ] || [ -f "$f" ] || { not_ok "$f is not built"; finish; }
done
# Debian's python3 when there is one: a version manager's shim can take a
# second to start, and this test runs python a few dozen times.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for t in socat runuser setpriv amqp-publish "$PY"; do
	command -v "$t" >/dev/null || { not_ok "$t is not installed"; finish; }
done
if [ "$(id -u)" != 0 ]; then
	not_ok "hardening_test.sh needs root (runuser, setpriv, privilege drop)"
	finish
fi

URL=$EVBUS_TEST_URL
HOSTPORT=${URL#*@}; HOSTPORT=${HOSTPORT%%/*}
X=t$$.hard
# A broker user whose password is distinctive enough to grep for.
BUSER=t$$-hard
PW="Qz$$-Xylophone-hardening-Pw-7k"
BADPW="Wr$$-Zebra-not-the-password-9m"

h_cleanup() {
	rmqctl delete_user "$BUSER" >/dev/null 2>&1
	t_cleanup
}
trap h_cleanup EXIT

# nobody must reach the sockets, plugins and output files in here.
chmod 0755 "$T_DIR"
mkdir -p "$T_DIR/plugins" "$T_DIR/out"
cp "$JSONL_SO" "$T_DIR/plugins/" && chmod 0755 "$T_DIR/plugins"
chmod 1777 "$T_DIR/out"

# --- helpers -------------------------------------------------------------

# hconf NAME URL [PLUGIN_DIR]: config NAME (mode 0600) for exchange $X on
# URL, group NAME, status socket $T_DIR/NAME.sock, plus lines from stdin.
hconf() {
	local f=$T_DIR/$1.conf
	{
		echo "rabbitmq_url = \"$2\";"
		echo "exchange_name = \"$X\";"
		echo "consumer_group = \"$1\";"
		echo "consumer_name = \"t$$-$1\";"
		echo "heartbeat = 10;"
		echo "reconnect_delay = 0.5;"
		echo "reconnect_max_delay = 2.0;"
		echo "plugin_dir = \"${3:-$T_DIR/plugins}\";"
		echo "status_socket = \"$T_DIR/$1.sock\";"
		echo "shutdown_timeout = 10.0;"
		echo "handlers = { jsonl = { path = \"$T_DIR/out/$1.jsonl\"; }; };"
		cat
	} > "$f"
	chmod 600 "$f"
	echo "$f"
}

# run WHAT: run a command, output in $OUT, exit status in $RC.
run() { OUT=$("$@" 2>&1); RC=$?; }

# expect WHAT RC REGEX: the last run exited RC and said REGEX.
expect() {
	if [ "$RC" = "$2" ] && printf '%s\n' "$OUT" | grep -qE -- "$3"; then
		ok "$1"
	else
		not_ok "$1 (exit $RC, expected $2; output: $(printf '%s' "$OUT" | head -c 2000))"
	fi
}

# start NAME CONF [ENV...]: evbusd -d in the background, its log in
# $T_DIR/NAME.log, its pid in PID_NAME.
start() {
	local name=$1 conf=$2; shift 2
	env "$@" "$EVBUSD" -d -f "$conf" 2>> "$T_DIR/$name.log" &
	eval "PID_$name=$!"
	T_PIDS="$T_PIDS $!"
}
gone() { case $(ps -o stat= -p "$1" 2>/dev/null) in ''|Z*) return 0 ;; esac; return 1; }
stop() {
	local p
	eval "p=\${PID_$1:-}"
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	wait_for 30 gone "$p" || kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}
# alive NAME: evbusd NAME still runs; otherwise one failure stands for
# the checks that needed it (so a broken evbusd fails fast, not slowly).
alive() {
	local p
	eval "p=\${PID_$1:-}"
	[ -n "$p" ] && ! gone "$p" && return 0
	not_ok "evbusd $1 is gone: skipping the checks that need it"
	tail -n 20 "$T_DIR/$1.log" | sed 's/^/#   /'
	return 1
}
logged() {
	local n
	n=$(grep -cE -- "$2" "$T_DIR/$1.log" 2>/dev/null)
	[ "${n:-0}" -ge "${3:-1}" ]
}

# ask SOCK REQUEST [USER|uid:N]: one status socket request, as root, as
# USER (runuser) or as a bare uid without a passwd entry (setpriv).
ask() {
	case ${3:-root} in
	root)	printf '%s\n' "$2" | socat -t 10 - "UNIX-CONNECT:$1" ;;
	uid:*)	printf '%s\n' "$2" | setpriv --reuid="${3#uid:}" \
		    --regid="${3#uid:}" --clear-groups socat -t 10 - \
		    "UNIX-CONNECT:$1" ;;
	*)	printf '%s\n' "$2" | runuser -u "$3" -- socat -t 10 - \
		    "UNIX-CONNECT:$1" ;;
	esac
}
# answers SOCK: the socket answers stats with real statistics.
answers() { ask "$1" stats 2>/dev/null | grep -q '"events_consumed"'; }

# workers PID: the pids of the worker processes of supervisor PID.
workers() { ps -o pid=,args= --ppid "$1" | awk '/worker [0-9]/ { print $1 }' | sort; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

uid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
ev() {
	printf '{"event_id":"%s","event_type":"Hardened","aggregate_type":"Order","aggregate_id":"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5"}' "$1"
}
# jev N: event N as a JSON string (for rawpub specs).
jev() { "$PY" -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$(ev "$(uid "$1")")"; }
handled() { grep -q "$(uid "$2")" "$T_DIR/out/$1.jsonl" 2>/dev/null; }

# rawpub SPEC: publish one message to $X with any AMQP header types, from
# a JSON spec (see rawpub.py), speaking AMQP 0-9-1 directly: amqp-publish
# only sends string headers and no message_id.
cat > "$T_DIR/rawpub.py" <<'EOF'
# rawpub.py URL EXCHANGE ROUTING_KEY SPEC: publish one message, SPEC is
# JSON: {"body": text | "hex": hex, "message_id": id, "headers": {name:
# [kind, value]}} with kinds S I l d t V F (table) A (array), or
# "deep_header": N for a header table nested N deep.  Waits for the
# publisher confirm.
import json, socket, struct, sys
from urllib.parse import urlparse, unquote

def sstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack('B', len(b)) + b

def lstr(b):
    return struct.pack('>I', len(b)) + b

def fval(v):
    k, x = v
    if k == 'S': return b'S' + lstr(x.encode())
    if k == 'I': return b'I' + struct.pack('>i', x)
    if k == 'l': return b'l' + struct.pack('>q', x)
    if k == 'd': return b'd' + struct.pack('>d', x)
    if k == 't': return b't' + struct.pack('B', 1 if x else 0)
    if k == 'V': return b'V'
    if k == 'F': return b'F' + table(x)
    if k == 'A': return b'A' + lstr(b''.join(fval(e) for e in x))
    raise ValueError(k)

def table(d):
    return lstr(b''.join(sstr(n) + fval(v) for n, v in d.items()))

def frame(t, ch, payload):
    return struct.pack('>BHI', t, ch, len(payload)) + payload + b'\xce'

def method(ch, cls, mid, args=b''):
    return frame(1, ch, struct.pack('>HH', cls, mid) + args)

def recvn(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError('connection closed by the broker')
        b += c
    return b

def wait(s, cls, mid):
    while True:
        t, ch, n = struct.unpack('>BHI', recvn(s, 7))
        p = recvn(s, n + 1)[:-1]
        if t != 1:
            continue
        c, m = struct.unpack('>HH', p[:4])
        if (c, m) == (cls, mid):
            return p[4:]
        if (c, m) in ((10, 50), (20, 40)):
            code = struct.unpack('>H', p[4:6])[0]
            raise RuntimeError('closed by the broker: %d %s' %
                               (code, p[7:7 + p[6]].decode()))

url, exchange, rk = sys.argv[1], sys.argv[2], sys.argv[3]
spec = json.loads(sys.argv[4])
u = urlparse(url)
vhost = unquote(u.path[1:]) if len(u.path) > 1 else '/'
s = socket.create_connection((u.hostname, u.port or 5672), timeout=60)
s.sendall(b'AMQP\x00\x00\x09\x01')
wait(s, 10, 10)
resp = b'\x00' + unquote(u.username or 'guest').encode() + b'\x00' + \
    unquote(u.password or 'guest').encode()
s.sendall(method(0, 10, 11, table({}) + sstr('PLAIN') + lstr(resp) +
                 sstr('en_US')))
chmax, fmax, _ = struct.unpack('>HIH', wait(s, 10, 30)[:8])
fmax = fmax or 131072
s.sendall(method(0, 10, 31, struct.pack('>HIH', chmax, fmax, 0)))
s.sendall(method(0, 10, 40, sstr(vhost) + sstr('') + b'\x00'))
wait(s, 10, 41)
s.sendall(method(1, 20, 10, sstr('')))
wait(s, 20, 11)
s.sendall(method(1, 85, 10, b'\x00'))           # confirm.select
wait(s, 85, 11)
body = bytes.fromhex(spec['hex']) if 'hex' in spec else \
    spec.get('body', '').encode()
flags, props = 0, b''
if 'deep_header' in spec:
    # Built from the inside out: no recursion, any depth.
    t = lstr(sstr('v') + b'S' + lstr(b'x'))
    for i in range(spec['deep_header']):
        t = lstr(sstr('n') + b'F' + t)
    flags |= 1 << 13
    props += t
elif 'headers' in spec:
    flags |= 1 << 13
    props += table(spec['headers'])
flags |= 1 << 12
props += b'\x02'                                # delivery_mode 2
if 'message_id' in spec:
    flags |= 1 << 7
    props += sstr(spec['message_id'])
s.sendall(method(1, 60, 40, struct.pack('>H', 0) + sstr(exchange) +
                 sstr(rk) + b'\x00') +
          frame(2, 1, struct.pack('>HHQH', 60, 0, len(body), flags) + props))
for i in range(0, len(body), fmax - 8):
    s.sendall(frame(3, 1, body[i:i + fmax - 8]))
wait(s, 60, 80)                                 # basic.ack
s.sendall(method(0, 10, 50, struct.pack('>H', 200) + sstr('bye') +
                 struct.pack('>HH', 0, 0)))
wait(s, 10, 51)
EOF
rawpub() { "$PY" "$T_DIR/rawpub.py" "$URL" "$X" "hard.raw" "$1"; }
# apub ARGS...: amqp-publish to $X (its URL parser wants no trailing "/").
apub() { amqp-publish -u "${URL%/}" -e "$X" -r hard.amqp -p "$@"; }

# Socket abuse: sockpoke.py SOCK big|nul|idle N HOLD_SECONDS MARKER.
cat > "$T_DIR/sockpoke.py" <<'EOF'
import socket, sys, time

def conn(path):
    # A blocking connect: waits while the listen backlog is full.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(20)
    return s

def drain(s):
    out = b''
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
    except (ConnectionResetError, socket.timeout) as e:
        out += ('<%s>' % type(e).__name__).encode()
    return out

path, mode = sys.argv[1], sys.argv[2]
if mode == 'big':
    # 1 MiB without a newline.
    s, sent = conn(path), 0
    try:
        while sent < 1 << 20:
            s.sendall(b'a' * 65536)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
        print('sent %d bytes, then %s' % (sent, type(e).__name__))
    print('reply: %r' % drain(s)[:300])
elif mode == 'nul':
    s = conn(path)
    s.sendall(b'stats\x00\n')
    print('reply: %r' % drain(s)[:300])
elif mode == 'idle':
    n, hold, marker = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
    held = [conn(path) for i in range(n)]
    open(marker, 'w').write('%d\n' % len(held))
    time.sleep(hold)
EOF
poke() { timeout 60 "$PY" "$T_DIR/sockpoke.py" "$@" 2>&1; }

# dlq_check < EXPECTATIONS: each line "description ;; selector ;; type
# regex ;; reason regex": exactly one message of $T_DIR/dlq.jsonl (amqpget output)
# matches the selector (a message_id "hard-*", else a body prefix or
# substring) and its x-dlq-error-type and x-dlq-reason match.  One pass
# over the file (it holds 16 MiB of bodies).
dlq_check() {
	local st what
	"$PY" -c '
import json, re, sys
ms = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def body(m):
    if m.get("body") is not None:
        return m["body"].encode()
    return bytes.fromhex(m.get("body_hex", ""))
for spec in sys.stdin.read().splitlines():
    what, sel, etype, reason = spec.split(" ;; ")
    if sel.startswith("hard-"):
        hits = [m for m in ms if m["properties"].get("message_id") == sel]
    else:
        hits = [m for m in ms if sel.encode() in body(m)]
    if len(hits) != 1:
        print("not ok|%s (%d DLQ messages of %d match)" % (what, len(hits), len(ms)))
        continue
    h = {k: v["value"] for k, v in (hits[0]["headers"] or {}).items()}
    if re.search(etype, str(h.get("x-dlq-error-type"))) and \
            re.search(reason, str(h.get("x-dlq-reason"))):
        print("ok|" + what)
    else:
        print("not ok|%s (headers: %r)" % (what, {k: v for k, v in
              h.items() if k.startswith("x-dlq")}))
'  "$T_DIR/dlq.jsonl" > "$T_DIR/dlq.result"
	while IFS='|' read -r st what; do
		if [ "$st" = ok ]; then ok "$what"; else not_ok "$what"; fi
	done < "$T_DIR/dlq.result"
}

# Everything the password must not appear in is collected here.
LEAK=$T_DIR/leakcheck
: > "$LEAK"
collect() { cat >> "$LEAK"; }

# --- config files holding a password -------------------------------------

mkdir -p "$T_DIR/empty-plugins" && chmod 0755 "$T_DIR/empty-plugins"
C=$(hconf pwfile "amqp://$BUSER:$PW@$HOSTPORT/" "$T_DIR/empty-plugins" < /dev/null)
chmod 0644 "$C"
run "$EVBUSD" -n -f "$C"
expect "evbusd -n refuses a world-readable (0644) config holding a password" 78 \
    "pwfile\.conf:1: rabbitmq_url holds a password but .* is readable by everyone \(mode 0644\)"
collect <<< "$OUT"
chmod 0640 "$C"
run "$EVBUSD" -n -f "$C"
expect "evbusd -n refuses a group-readable (0640) config holding a password" 78 \
    "is readable by its group \(mode 0640\)"
collect <<< "$OUT"
chmod 0600 "$C"
run "$EVBUSD" -n -f "$C"
expect "evbusd -n accepts the same config at mode 0600" 0 "configuration OK"
chmod 0644 "$C"
run timeout 30 "$EVBUSD" -d -f "$C"
expect "evbusd refuses to start from a 0644 config holding a password" 78 \
    "holds a password"
collect <<< "$OUT"

C=$(hconf envpw "amqp://$BUSER@$HOSTPORT/" "$T_DIR/empty-plugins" < /dev/null)
chmod 0644 "$C"
run env EVBUS_PASSWORD="$PW" "$EVBUSD" -n -v -f "$C"
expect "a 0644 config without a password passes evbusd -n, password from EVBUS_PASSWORD" \
    0 "\(with password\)"
collect <<< "$OUT"

# The password in an @include'd file: that file's mode counts.
printf 'rabbitmq_url = "amqp://%s:%s@%s/";\n' "$BUSER" "$PW" "$HOSTPORT" \
    > "$T_DIR/secret.inc"
chmod 0644 "$T_DIR/secret.inc"
C=$T_DIR/include.conf
printf '@include "secret.inc"\nexchange_name = "%s";\nplugin_dir = "%s";\n' \
    "$X" "$T_DIR/empty-plugins" > "$C"
chmod 0600 "$C"
run "$EVBUSD" -n -f "$C"
expect "a password in a 0644 @include'd file is refused, naming that file" 78 \
    "secret\.inc.*readable by everyone"
collect <<< "$OUT"

# An invalid URL is quoted masked in the error.
C=$(hconf badurl "amqp://$BUSER:$PW@127.0.0.1:99999/" < /dev/null)
run "$EVBUSD" -n -f "$C"
expect "an invalid URL's error message masks the credentials" 78 \
    "rabbitmq_url: \"amqp://\*\*\*:\*\*\*@127\.0\.0\.1:99999/\".*port"
collect <<< "$OUT"
run "$EVBUSCTL" --url "amqp://$BUSER:$PW@127.0.0.1:99999/" status
expect "evbusctl --url with an invalid URL masks the credentials" 64 \
    "\*\*\*:\*\*\*@"
collect <<< "$OUT"

# --- plugin directory ------------------------------------------------------

mkdir -p "$T_DIR/ww"
cp "$JSONL_SO" "$T_DIR/ww/"
chmod 0777 "$T_DIR/ww"
C=$(hconf ww "$URL" "$T_DIR/ww" < /dev/null)
run "$EVBUSD" -n -f "$C"
expect "evbusd -n refuses a world-writable (0777) plugin_dir" 78 \
    "plugin_dir .*/ww is world-writable \(mode 0777\)"
run timeout 60 "$EVBUSD" -d -f "$C"
expect "evbusd refuses to start with a world-writable plugin_dir" 78 \
    "plugin_dir .*/ww is world-writable.*refusing to load plugins"
check "no status socket was left behind by the refused start" \
    test ! -e "$T_DIR/ww.sock"
chmod 0755 "$T_DIR/ww"
chmod 0666 "$T_DIR/ww/jsonl.so"
run "$EVBUSD" -n -f "$C"
expect "evbusd -n refuses a world-writable plugin file" 78 \
    "jsonl\.so is world-writable \(mode 0666\)"

# Only *.so directly in plugin_dir: not in subdirectories, not hidden, not
# other suffixes (copies of jsonl.so would clash or count).
mkdir -p "$T_DIR/only/sub"
cp "$JSONL_SO" "$T_DIR/only/jsonl.so"
cp "$JSONL_SO" "$T_DIR/only/sub/other.so"
cp "$JSONL_SO" "$T_DIR/only/.hidden.so"
cp "$JSONL_SO" "$T_DIR/only/old.so.disabled"
cp "$JSONL_SO" "$T_DIR/only/so"
chmod -R go-w "$T_DIR/only"
C=$(hconf only "$URL" "$T_DIR/only" < /dev/null)
run "$EVBUSD" -n -v -f "$C"
expect "only *.so directly in plugin_dir is loaded (1 of 5 copies)" 0 \
    "plugins: 1 plugin\(s\) OK"

# --- evbusd with a distinctive password, a 0666 status socket --------------

rmqctl add_user "$BUSER" "$PW" >/dev/null 2>&1
rmqctl set_permissions -p / "$BUSER" '.*' '.*' '.*' >/dev/null 2>&1
C_MAIN=$(hconf main "amqp://$BUSER@$HOSTPORT/" <<EOF
workers = 2;
status_socket_mode = "0666";
EOF
)
SOCK=$T_DIR/main.sock
start main "$C_MAIN" EVBUS_PASSWORD="$PW"
SUP=$PID_main

main_section() {
	if wait_for 60 logged main "worker\[[01]\]: consuming from" 2; then
		ok "evbusd runs 2 workers as $BUSER, password from EVBUS_PASSWORD"
	else
		not_ok "evbusd runs 2 workers as $BUSER, password from EVBUS_PASSWORD"
		sed 's/^/#   /' "$T_DIR/main.log"
	fi
	alive main || return
	check "the status socket has status_socket_mode 0666" \
	    test "$(stat -c '%F %a' "$SOCK" 2>/dev/null)" = "socket 666"

	# Another user may read, not change.
	run ask "$SOCK" stats nobody
	expect "nobody can read stats through a 0666 socket" 0 '"events_consumed"'
	for req in "scale 3" reload stop; do
		run ask "$SOCK" "$req" nobody
		expect "nobody cannot '$req'" 0 "permission denied"
	done
	run ask "$SOCK" "scale 3" uid:12345
	expect "a uid without a passwd entry cannot scale either" 0 "permission denied"
	check "the refusals are logged with the uid" \
	    logged main "scale refused for uid 65534"
	sleep 1
	check "evbusd is still running after the refused stop" eval '! gone "$SUP"'
	run ask "$SOCK" stats
	expect "still 2 workers wanted after the refused scale" 0 '"workers_wanted":2,'
	check "no reload happened" eval '! logged main "reloading"'
	run "$EVBUSCTL" -f "$C_MAIN" status
	expect "root can use evbusctl status" 0 "workers: +2 consuming of 2"
	collect <<< "$OUT"

	alive main || return

	# Oversized and malformed requests: an error or a close, bounded memory.
	rss0=$(rss "$SUP")
	run poke "$SOCK" big
	expect "a 1 MiB request without a newline gets an error or is cut off" 0 \
	    "request longer than|Reset|BrokenPipe"
	check "evbusd answers stats after the 1 MiB request" wait_for 20 answers "$SOCK"
	run poke "$SOCK" big
	run poke "$SOCK" big
	rss1=$(rss "$SUP")
	check "the supervisor's RSS did not grow by the requests (${rss0} kB -> ${rss1} kB)" \
	    test "$((rss1 - rss0))" -lt 4096
	run poke "$SOCK" nul
	expect "a request with a NUL byte gets an error" 0 "NUL byte"
	run ask "$SOCK" "stats please"
	expect "an unknown request gets an error" 0 "unknown request"

	alive main || return

	# 100 idle connections: the slots are taken back, evbusd keeps answering.
	rm -f "$T_DIR/idle.held"
	poke "$SOCK" idle 100 40 "$T_DIR/idle.held" > "$T_DIR/idle.out" &
	IDLE=$!
	T_PIDS="$T_PIDS $IDLE"
	if wait_for 30 test -s "$T_DIR/idle.held"; then
		if wait_for 30 answers "$SOCK" && kill -0 "$IDLE" 2>/dev/null; then
			ok "evbusd answers stats while 100 idle connections are open"
		else
			not_ok "evbusd answers stats while 100 idle connections are open"
		fi
	else
		not_ok "100 idle connections to the status socket ($(cat "$T_DIR/idle.out"))"
	fi
	kill "$IDLE" 2>/dev/null
	wait "$IDLE" 2>/dev/null
	check "evbusd is alive after the socket abuse" eval '! gone "$SUP"'

	alive main || return

	# Hostile AMQP messages: DLQ with a reason, workers survive.
	W0=$(workers "$SUP")
	"$PY" -c "import sys; sys.stdout.write('[' * (8 << 20))" > "$T_DIR/big.json"
	run apub < "$T_DIR/big.json"
	expect "published an 8 MiB body of '['" 0 ""
	"$PY" -c "import sys; sys.stdout.write('{\"a\":' * 100000 + '1' + '}' * 100000)" \
	    > "$T_DIR/deep.json"
	run apub < "$T_DIR/deep.json"
	expect "published JSON nested 100000 deep" 0 ""
	ev "$(uid 301)" | sed 's/Hardened/Bad\xff\xfeUtf8/' > "$T_DIR/utf8.json"
	run apub < "$T_DIR/utf8.json"
	expect "published a body with invalid UTF-8" 0 ""
	run apub -H "x-retry-count: many" -b "$(ev "$(uid 302)")"
	expect "published x-retry-count as a string" 0 ""
	run rawpub "{\"message_id\":\"hard-303\",\"body\":$(jev 303),
	    \"headers\":{\"event_type\":[\"I\",42]}}"
	expect "published an event_type header of type integer" 0 ""
	run rawpub "{\"message_id\":\"hard-304\",\"body\":$(jev 304),
	    \"headers\":{\"x-retry-count\":[\"F\",{\"n\":[\"d\",1.5]}],
	    \"event_type\":[\"A\",[[\"S\",\"Hardened\"]]]}}"
	expect "published x-retry-count as a table, event_type as an array" 0 ""
	run rawpub "{\"message_id\":\"hard-305\",\"body\":$(jev 305),
	    \"deep_header\":15000}"
	expect "published a header table nested 15000 deep" 0 ""
	run apub -b "$(ev "$(uid 306)")"
	expect "published a good event after them" 0 ""

	if wait_for 60 handled main 306; then
		ok "the good event after the hostile ones was handled"
	else
		not_ok "the good event after the hostile ones was handled"
		tail -n 30 "$T_DIR/main.log" | sed 's/^/#   /'
	fi
	check "the event with a header table nested 15000 deep was handled" \
	    wait_for 30 handled main 305
	# Counted once each DLQ copy is confirmed.
	dlqd() { ask "$SOCK" stats 2>/dev/null | grep -q '"messages_sent_to_dlq":6[,}]'; }
	check "stats: 6 messages sent to the DLQ" wait_for 60 dlqd
	check "no worker died: same worker pids" test "$(workers "$SUP")" = "$W0"
	run ask "$SOCK" stats
	expect "stats: no crashes, no restarts" 0 '"restarts":0,"crashes":0,'
	check "stats: 6 malformed messages" eval \
	    'printf "%s" "$OUT" | grep -q "\"malformed\":6[,}]"'

	# The DLQ has each with its reason.
	"$AMQPGET" "$URL" "$X.main.dlq" > "$T_DIR/dlq.jsonl" 2> "$T_DIR/dlq.err"
	dlq_check <<-EOF
	DLQ: the 8 MiB '[' body, as invalid JSON ;; [[[[[[[[ ;; MalformedMessage ;; invalid JSON
	DLQ: the 100000-deep JSON, as invalid JSON ;; {"a":{"a": ;; MalformedMessage ;; invalid JSON
	DLQ: the invalid UTF-8 body ;; $(uid 301) ;; Malformed|Invalid ;; UTF-8
	DLQ: x-retry-count as a string ;; $(uid 302) ;; InvalidHeader ;; x-retry-count
	DLQ: event_type header of type integer ;; hard-303 ;; InvalidHeader ;; event_type
	DLQ: x-retry-count as a table ;; hard-304 ;; InvalidHeader ;; x-retry-count
	EOF
	check "DLQ: the good events are not there" \
	    eval '! grep -q "$(uid 306)" "$T_DIR/dlq.jsonl"'

	alive main || return

	# Everything an operator sees, for the password check below.
	for c in status health queue workers metrics; do
		"$EVBUSCTL" -f "$C_MAIN" "$c" 2>&1 | collect
		"$EVBUSCTL" -f "$C_MAIN" --json "$c" 2>&1 | collect
		ask "$SOCK" "$c" 2>&1 | collect
	done
	EVBUS_PASSWORD="$PW" "$EVBUSCTL" -f "$C_MAIN" health --broker 2>&1 | collect
	EVBUS_PASSWORD="$PW" "$EVBUSCTL" -f "$C_MAIN" queue --broker 2>&1 | collect
	EVBUS_PASSWORD="$PW" "$EVBUSCTL" -f "$C_MAIN" dlq count 2>&1 | collect
	ps -eo pid,user,args > "$T_DIR/ps.txt"
	ps -eo pid,args e >> "$T_DIR/ps.txt"
	for p in $SUP $(ps -o pid= --ppid "$SUP"); do
		tr '\0' '\n' < "/proc/$p/cmdline"
		tr '\0' '\n' < "/proc/$p/environ"
	done >> "$T_DIR/ps.txt" 2>/dev/null
	check "ps lists the workers by role" grep -q "evbusd: worker 1 of group main" "$T_DIR/ps.txt"
	collect < "$T_DIR/ps.txt"
}
main_section

# A failing login: wrong password, for evbusctl and a worker.
run env EVBUS_PASSWORD="$BADPW" "$EVBUSCTL" -f "$C_MAIN" publish "$(ev "$(uid 307)")"
expect "a wrong password: evbusctl fails with the broker's refusal" 69 \
    "login to .* as $BUSER.*ACCESS_REFUSED"
collect <<< "$OUT"
C=$(hconf badlogin "amqp://$BUSER@$HOSTPORT/" < /dev/null)
"$EVBUSD" --single-worker -f "$C" 2>> "$T_DIR/badlogin.log" &
PID_badlogin=$!
T_PIDS="$T_PIDS $!"
if wait_for 30 logged badlogin "ACCESS_REFUSED"; then
	ok "a wrong password: the worker logs the refusal"
else
	not_ok "a wrong password: the worker logs the refusal"
fi
stop badlogin

if alive main; then
	run ask "$SOCK" stop
	expect "root may stop evbusd through the socket" 0 '"stopping"'
	if wait_for 40 gone "$SUP"; then
		wait "$SUP"
		check "evbusd stopped with status 0" test "$?" = 0
	else
		not_ok "evbusd stopped after 'stop'"
	fi
	check "the status socket was removed" test ! -e "$SOCK"
fi
collect < "$T_DIR/main.log"
collect < "$T_DIR/badlogin.log"

# --- privilege drop --------------------------------------------------------

C_DROP=$(hconf drop "amqp://$BUSER:$PW@$HOSTPORT/" <<EOF
workers = 2;
user = "nobody";
group = "nogroup";
status_socket_mode = "0660";
EOF
)
DSOCK=$T_DIR/drop.sock
# No file is created for the workers: the plugin check runs as nobody too,
# so jsonl's output file belongs to the user the workers run as.
rm -f "$T_DIR/out/drop.jsonl"
start drop "$C_DROP"
DSUP=$PID_drop

drop_section() {
	if wait_for 60 logged drop "worker\[[01]\]: consuming from" 2; then
		ok "evbusd with user nobody: 2 workers consume"
	else
		not_ok "evbusd with user nobody: 2 workers consume"
		sed 's/^/#   /' "$T_DIR/drop.log"
	fi
	alive drop || return
	# The supervisor keeps root (it runs no plugin code and no broker
	# connection) so a reload can read a root-only config file.
	check "the supervisor keeps root" \
	    test "$(ps -o user= -p "$DSUP" | tr -d ' ')" = root
	U=$(ps -o user= --ppid "$DSUP" | sort -u | tr -d ' ')
	check "every child (workers, probe) runs as nobody (got: $U)" test "$U" = nobody
	check "2 workers run" test "$(workers "$DSUP" | wc -l)" = 2
	check "the status socket is nobody:nogroup, mode 0660" \
	    test "$(stat -c '%U:%G %a' "$DSOCK" 2>/dev/null)" = "nobody:nogroup 660"
	run ask "$DSOCK" stats nobody
	expect "nobody (evbusd's own user) can read stats" 0 '"events_consumed"'
	run ask "$DSOCK" stats uid:12345
	check "another uid cannot even connect to the 0660 socket" \
	    eval '[ "$RC" != 0 ] && printf "%s" "$OUT" | grep -q "Permission denied"'
	run "$EVBUSCTL" -f "$C_DROP" status
	expect "root can use evbusctl status" 0 "workers: +2 consuming of 2"
	collect <<< "$OUT"
	run apub -b "$(ev "$(uid 401)")"
	if wait_for 30 handled drop 401; then
		ok "the workers running as nobody handle events"
	else
		not_ok "the workers running as nobody handle events"
	fi
	check "jsonl's output file belongs to nobody" \
	    test "$(stat -c %U "$T_DIR/out/drop.jsonl" 2>/dev/null)" = nobody
}
drop_section
stop drop
collect < "$T_DIR/drop.log"

# --- the password, nowhere -------------------------------------------------

check "the password check saw real output" test "$(wc -l < "$LEAK")" -gt 100
for p in "$PW" "$BADPW"; do
	if grep -nF -- "$p" "$LEAK" > "$T_DIR/leaks"; then
		not_ok "a broker password appears in logs, ps, status output or errors:"
		sed 's/^/#   /' "$T_DIR/leaks" | head -n 10
	else
		ok "the password ${p%%-*}-... appears nowhere (logs, ps, status, health, queue, workers, metrics, errors)"
	fi
done

finish
