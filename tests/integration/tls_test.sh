#!/usr/bin/env bash
# tls_test.sh: amqps:// against the test broker's TLS listener, which
# demands client certificates (verify_peer + fail_if_no_peer_cert, made by
# tests/broker.sh in $EVBUS_BROKER_DIR/tls):
#
#   - mutual TLS end to end: evbusctl publishes, evbusd --single-worker
#     consumes and the jsonl handler records the event; the broker lists
#     the connections as TLS with our client certificate's subject
#   - every way it must fail, each checked for exit status AND message: a
#     broker certificate from another CA, a host name (IP) that is not in
#     it, no ca_file (the system store, which lacks the test CA), no
#     client certificate, an expired one, a key that does not match, an
#     encrypted key (no passphrase prompt), an amqps:// URL pointed at the
#     plain AMQP port (never a plaintext fallback)
#   - verify_ssl = false connects to 127.0.0.1, with a loud WARNING at
#     every connect, reconnects included
#   - cert_file without key_file (and the reverse) is a config error of
#     evbusd -n (exit 78), not a warning
#   - without ca_file the system trust store is really used (SSL_CERT_FILE
#     pointing at the test CA makes it connect); with ca_file only ca_file
#     is trusted
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

TLS=$EVBUS_BROKER_DIR/tls
JSONL_SO=$EVBUS_BUILDDIR/handlers/.libs/jsonl.so
for f in "$EVBUSD" "$EVBUSCTL" "$JSONL_SO" "$TLS/ca.pem" "$TLS/client.pem" \
    "$TLS/client.key" "$TLS/expired.pem" "$TLS/expired.key" \
    "$TLS/other-ca.pem"; do
	[ -e "$f" ] || { not_ok "$f is missing"; finish; }
done
TLSURL=$(bash "$EVBUS_SRCDIR/tests/broker.sh" url "$EVBUS_BROKER_DIR" --tls)
case $TLSURL in
amqps://*@localhost:*) ;;
*) not_ok "broker.sh url --tls printed '$TLSURL'"; finish ;;
esac
TLSPORT=${TLSURL##*:}; TLSPORT=${TLSPORT%/}
PLAINPORT=${EVBUS_TEST_URL##*:}; PLAINPORT=${PLAINPORT%/}
X=t$$.tls
# The test CA must not be in the system store (or the "no ca_file" case
# would prove nothing), and no outside variable may point OpenSSL at it.
unset SSL_CERT_FILE SSL_CERT_DIR

# --- helpers -------------------------------------------------------------

# tconf NAME URL: a config for exchange $X on the given URL, group and
# consumer named after NAME, plus lines from stdin.
tconf() {
	local f=$T_DIR/$1.conf
	{
		echo "rabbitmq_url = \"$2\";"
		echo "exchange_name = \"$X\";"
		echo "consumer_group = \"$1\";"
		echo "consumer_name = \"t$$-$1\";"
		echo "heartbeat = 10;"
		echo "connect_timeout = 20.0;"
		echo "reconnect_delay = 0.5;"
		echo "reconnect_max_delay = 2.0;"
		echo "plugin_dir = \"$T_DIR/plugins\";"
		echo "handlers = { jsonl = { path = \"$T_DIR/$1.jsonl\"; }; };"
		cat
	} > "$f"
	chmod 600 "$f"
	echo "$f"
}

ca() { echo "ca_file = \"$TLS/$1\";"; }
pair() { printf 'cert_file = "%s";\nkey_file = "%s";\n' "$1" "$2"; }
MTLS="$(ca ca.pem)
$(pair "$TLS/client.pem" "$TLS/client.key")"

# start NAME CONF: evbusd --single-worker in the background, stderr in
# $T_DIR/NAME.log, its pid in PID_NAME.
start() {
	"$EVBUSD" --single-worker -f "$2" 2>> "$T_DIR/$1.log" &
	eval "PID_$1=$!"
	T_PIDS="$T_PIDS $!"
}
# gone PID: the process has exited (a zombie counts).
gone() { case $(ps -o stat= -p "$1" 2>/dev/null) in ''|Z*) return 0 ;; esac; return 1; }
stop() {
	local p
	eval "p=\${PID_$1:-}"
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	wait_for 30 gone "$p" || kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}
logged() {
	local n
	n=$(grep -cE -- "$2" "$T_DIR/$1.log" 2>/dev/null)
	[ "${n:-0}" -ge "${3:-1}" ]
}
count() { grep -cE -- "$2" "$T_DIR/$1.log" 2>/dev/null || true; }

uid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
ev() {
	printf '{"event_id":"%s","event_type":"TlsTested","aggregate_type":"Order","aggregate_id":"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5"}' "$1"
}

# pub CONF ID [ENV...]: evbusctl publish of event ID, output in $OUT,
# exit status in $RC.
pub() {
	local conf=$1 id=$2; shift 2
	OUT=$(env "$@" timeout 60 "$EVBUSCTL" -f "$conf" publish "$(ev "$(uid "$id")")" 2>&1)
	RC=$?
}

# expect WHAT RC REGEX: the last pub exited RC and said REGEX.
expect() {
	if [ "$RC" = "$2" ] && printf '%s\n' "$OUT" | grep -qE -- "$3"; then
		ok "$1"
	else
		not_ok "$1 (exit $RC, expected $2; output: $OUT)"
	fi
}

handled() { grep -q "$(uid "$2")" "$T_DIR/$1.jsonl" 2>/dev/null; }

# conns NAME: the broker's view of the connections of consumer NAME (its
# connection_name client property): "pid ssl peer_cert_subject
# ssl_protocol client_properties", one per line.
conns() {
	rmqctl list_connections pid ssl peer_cert_subject ssl_protocol \
	    client_properties --no-table-headers 2>/dev/null |
	    grep -F "\"t$$-$1-0 ("
}

mkdir -p "$T_DIR/plugins"
cp "$JSONL_SO" "$T_DIR/plugins/" && chmod 0755 "$T_DIR/plugins"

# --- mutual TLS end to end ---------------------------------------------

C_MTLS=$(tconf mtls "$TLSURL" <<< "$MTLS")
start mtls "$C_MTLS"
if wait_for 60 logged mtls "consuming from"; then
	ok "evbusd consumes over TLS with a client certificate"
else
	not_ok "evbusd consumes over TLS with a client certificate"
	sed 's/^/#   /' "$T_DIR/mtls.log"
fi
check "the worker's log names the TLS port" logged mtls "on localhost:$TLSPORT"

# The broker's side: both worker connections (consumer, publisher) are
# TLS, with our client certificate, on TLS 1.2 or later.
wait_for 20 eval '[ "$(conns mtls | wc -l)" -ge 2 ]'
L=$(conns mtls)
if [ "$(printf '%s\n' "$L" | grep -c .)" -ge 2 ] &&
    ! printf '%s\n' "$L" | awk -F'\t' '$2 != "true"' | grep -q . &&
    ! printf '%s\n' "$L" | grep -vq "CN=evbus-test-client" &&
    ! printf '%s\n' "$L" | grep -vqE "tlsv1\.[23]"; then
	ok "rabbitmqctl list_connections: ssl true, peer_cert_subject CN=evbus-test-client, TLS >= 1.2"
else
	not_ok "rabbitmqctl list_connections: ssl true, peer_cert_subject CN=evbus-test-client (got: $L)"
fi

pub "$C_MTLS" 1
expect "evbusctl publish over mutual TLS" 0 "published 1 of 1"
if wait_for 30 handled mtls 1; then
	ok "the event published over TLS was handled by the worker"
else
	not_ok "the event published over TLS was handled by the worker"
fi

# --- refusals ------------------------------------------------------------

C=$(tconf wrongca "$TLSURL" <<EOF
$(ca other-ca.pem)
$(pair "$TLS/client.pem" "$TLS/client.key")
EOF
)
pub "$C" 101
expect "a broker certificate from another CA is refused as untrusted" 69 \
    "connect to localhost:$TLSPORT.*certificate is not trusted"
C_WRONGCA=$C

C=$(tconf hostname "amqps://guest:guest@127.0.0.1:$TLSPORT/" <<< "$MTLS")
pub "$C" 102
expect "connecting by 127.0.0.1 (not in the certificate) is refused" 69 \
    "does not match the host name \"127\.0\.0\.1\""

C=$(tconf noca "$TLSURL" <<< "$(pair "$TLS/client.pem" "$TLS/client.key")")
pub "$C" 103
expect "without ca_file the system store is used: test CA untrusted" 69 \
    "not trusted.*system trust store"
C_NOCA=$C

C=$(tconf nocert "$TLSURL" <<< "$(ca ca.pem)")
pub "$C" 104
expect "without a client certificate the broker refuses us, and says so" 69 \
    "requires a client certificate"

C=$(tconf expired "$TLSURL" <<EOF
$(ca ca.pem)
$(pair "$TLS/expired.pem" "$TLS/expired.key")
EOF
)
pub "$C" 105
expect "an expired client certificate is refused" 69 \
    "client certificate .*expired\.pem expired on .*2020"

C=$(tconf mismatch "$TLSURL" <<EOF
$(ca ca.pem)
$(pair "$TLS/client.pem" "$TLS/expired.key")
EOF
)
pub "$C" 106
expect "a key that does not belong to the certificate is refused" 69 \
    "cannot load client certificate .*client\.pem with key .*expired\.key: .*mismatch"

C=$(tconf noca_file "$TLSURL" <<EOF
ca_file = "$T_DIR/no-such-ca.pem";
$(pair "$TLS/client.pem" "$TLS/client.key")
EOF
)
pub "$C" 107
expect "a missing ca_file is named" 69 "cannot load CA file .*no-such-ca\.pem"

# An encrypted key must fail at once, not prompt for a passphrase on the
# terminal (script gives evbusctl one) and hang.
if openssl pkey -in "$TLS/client.key" -aes256 -passout pass:secret \
    -out "$T_DIR/enc.key" 2>/dev/null; then
	C=$(tconf enckey "$TLSURL" <<EOF
$(ca ca.pem)
$(pair "$TLS/client.pem" "$T_DIR/enc.key")
EOF
)
	OUT=$(timeout 30 script -qec "'$EVBUSCTL' -f '$C' publish '$(ev "$(uid 108)")'; echo \"rc=\$?\"" /dev/null < /dev/null 2>&1)
	RC=$(printf '%s\n' "$OUT" | sed -n 's/^rc=\([0-9]*\).*/\1/p' | tail -n1)
	if [ "$RC" = 69 ] && printf '%s\n' "$OUT" | grep -q "the key is encrypted" &&
	    ! printf '%s\n' "$OUT" | grep -qi "pass phrase"; then
		ok "an encrypted key_file fails with a message, without a passphrase prompt"
	else
		not_ok "an encrypted key_file fails with a message, without a passphrase prompt (rc ${RC:-none}: $OUT)"
	fi
else
	not_ok "openssl pkey could not encrypt the client key"
fi

# amqps:// aimed at the plain AMQP port: a TLS error, never plaintext.
C=$(tconf plainport "amqps://guest:guest@localhost:$PLAINPORT/" <<< "$MTLS")
pub "$C" 109
expect "amqps:// on the plain AMQP port fails with a TLS error" 69 \
    "connect to localhost:$PLAINPORT.*TLS.*does not speak TLS"

# The system store really is used without ca_file: point it at the test CA.
pub "$C_NOCA" 2 SSL_CERT_FILE="$TLS/ca.pem"
expect "without ca_file a CA in the system trust store (SSL_CERT_FILE) is trusted" \
    0 "published 1 of 1"
# ca_file replaces the system store: the test CA there does not help.
pub "$C_WRONGCA" 110 SSL_CERT_FILE="$TLS/ca.pem"
expect "with ca_file the system trust store is not consulted" 69 \
    "certificate is not trusted"

# evbusd says the same and keeps retrying (a renewed CA file may come).
start wrongca "$C_WRONGCA"
if wait_for 30 logged wrongca "certificate is not trusted.*check ca_file"; then
	ok "evbusd logs the untrusted broker certificate"
else
	not_ok "evbusd logs the untrusted broker certificate"
	sed 's/^/#   /' "$T_DIR/wrongca.log"
fi
check "evbusd keeps retrying after a TLS refusal" eval '! gone "$PID_wrongca"'
check "evbusd never consumed with the untrusted certificate" \
    eval '! logged wrongca "consuming from"'
stop wrongca

# Nothing that failed above reached the queue (no plaintext fallback, no
# connection despite a refusal): a last good event is handled, none of the
# refused ones ever were.
pub "$C_MTLS" 3
expect "evbusctl publish over mutual TLS (again)" 0 "published 1 of 1"
if wait_for 30 handled mtls 3; then
	bad=""
	for i in 101 102 103 104 105 106 107 108 109 110; do
		handled mtls "$i" && bad="$bad $i"
	done
	if [ -z "$bad" ] && handled mtls 2; then
		ok "no refused publish reached the queue (and the SSL_CERT_FILE one did)"
	else
		not_ok "refused publishes reached the queue:${bad:- none, but event 2 is missing}"
	fi
else
	not_ok "the last event published over TLS was handled"
fi
stop mtls

# --- verify_ssl = false --------------------------------------------------

C=$(tconf noverify "amqps://guest:guest@127.0.0.1:$TLSPORT/" <<EOF
verify_ssl = false;
$MTLS
EOF
)
start noverify "$C"
if wait_for 60 logged noverify "consuming from"; then
	ok "verify_ssl = false: evbusd connects by 127.0.0.1"
else
	not_ok "verify_ssl = false: evbusd connects by 127.0.0.1"
	sed 's/^/#   /' "$T_DIR/noverify.log"
fi
W='WARNING: TLS certificate verification is OFF'
n1=$(count noverify "$W")
check "verify_ssl = false: a WARNING for each of the worker's two connections" \
    test "${n1:-0}" -ge 2
pub "$C" 4
expect "verify_ssl = false: evbusctl publishes" 0 "published 1 of 1"
expect "verify_ssl = false: evbusctl prints the WARNING" 0 "^evbusctl: $W"
check "verify_ssl = false: the event was handled" wait_for 30 handled noverify 4

# Cut the worker's connections: the WARNING comes again on reconnect.
for p in $(conns noverify | cut -f1); do
	rmqctl close_connection "$p" "tls_test: reconnect" >/dev/null 2>&1
done
if wait_for 60 logged noverify "consuming from" 2; then
	n2=$(count noverify "$W")
	check "verify_ssl = false: the WARNING is logged again at the reconnect ($n1 -> $n2)" \
	    test "${n2:-0}" -ge $((n1 + 2))
else
	not_ok "verify_ssl = false: evbusd reconnected after its connections were closed"
	sed 's/^/#   /' "$T_DIR/noverify.log"
fi
stop noverify

# --- configuration -------------------------------------------------------

C=$(tconf certonly "$TLSURL" <<EOF
$(ca ca.pem)
cert_file = "$TLS/client.pem";
EOF
)
OUT=$("$EVBUSD" -n -f "$C" 2>&1); RC=$?
expect "cert_file without key_file: evbusd -n exits 78" 78 \
    "certonly\.conf:[0-9]+: cert_file is set but key_file is not"
check "cert_file without key_file: not 'configuration OK'" \
    eval '! printf "%s\n" "$OUT" | grep -q "configuration OK"'

C=$(tconf keyonly "$TLSURL" <<EOF
$(ca ca.pem)
key_file = "$TLS/client.key";
EOF
)
OUT=$("$EVBUSD" -n -f "$C" 2>&1); RC=$?
expect "key_file without cert_file: evbusd -n exits 78" 78 \
    "keyonly\.conf:[0-9]+: key_file is set but cert_file is not"

OUT=$("$EVBUSD" -n -f "$C_MTLS" 2>&1); RC=$?
expect "the mutual TLS configuration passes evbusd -n" 0 "configuration OK"

finish
