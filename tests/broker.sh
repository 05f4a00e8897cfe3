#!/usr/bin/env bash
# broker.sh: a throwaway RabbitMQ node for tests, the demo and benchmarks.
#
#   broker.sh start DIR [--owner PID]   start a node whose state lives in DIR and
#                                       print its AMQP URL; with --owner the node
#                                       is stopped and DIR removed once PID exits
#                                       The node also has a TLS listener
#                                       (amqps, port+1) that requires client
#                                       certificates, made by a throwaway CA
#                                       in DIR/tls (see make_tls below)
#   broker.sh url DIR [--tls]           print the AMQP URL of the node in DIR
#                                       (--tls: its amqps:// URL)
#   broker.sh ctl DIR ARGS...           run rabbitmqctl against the node in DIR
#   broker.sh stop DIR                  stop the node and remove DIR
#
# The node runs Debian's rabbitmq-server as an ordinary process bound to
# 127.0.0.1 on a free port, with its own node name, cookie and data/log
# directories, so two test runs on one machine never collide.
set -u

RMQ_BIN=${RMQ_BIN:-/usr/lib/rabbitmq/bin}

die() { echo "broker.sh: $*" >&2; exit 1; }

# Load the environment of the node living in $1.
node_env() {
	local dir=$1
	[ -f "$dir/env" ] || die "no broker in $dir (missing $dir/env)"
	# shellcheck disable=SC1091
	. "$dir/env"
	export HOME RABBITMQ_NODENAME RABBITMQ_NODE_IP_ADDRESS RABBITMQ_NODE_PORT \
	    RABBITMQ_DIST_PORT RABBITMQ_MNESIA_BASE RABBITMQ_LOG_BASE \
	    RABBITMQ_CONFIG_FILE RABBITMQ_ENABLED_PLUGINS_FILE \
	    RABBITMQ_PID_FILE RABBITMQ_CONF_ENV_FILE
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local p i
	for i in $(seq 1 200); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
		if port_free "$p" && port_free $((p + 1)) && port_free $((p + 10000)); then
			echo "$p"
			return 0
		fi
	done
	return 1
}

ctl() {
	local dir=$1; shift
	node_env "$dir"
	"$RMQ_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" "$@"
}

do_stop() {
	local dir=$1 pid=""
	[ -d "$dir" ] || return 0
	if [ -f "$dir/env" ]; then
		node_env "$dir"
		[ -f "$dir/watch.pid" ] && kill "$(cat "$dir/watch.pid")" 2>/dev/null
		pid=$(cat "$RABBITMQ_PID_FILE" 2>/dev/null)
		timeout 30 "$RMQ_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" \
		    shutdown >/dev/null 2>&1
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
		fi
		# The Erlang VM leaves helpers (erl_child_setup, inet_gethost)
		# that hold the log directory open.
		pkill -KILL -f -- "-sname $RABBITMQ_NODENAME " 2>/dev/null
		pkill -KILL -f -- "$RABBITMQ_MNESIA_BASE" 2>/dev/null
	fi
	rm -rf "$dir"
}

# Throwaway PKI for the TLS listener: a CA, a server certificate for
# DNS:localhost (rabbitmq-c 0.11 cannot verify IP SANs), a client
# certificate, an expired client certificate, and a second, unrelated CA.
make_tls() {
	local t=$1/tls
	mkdir -p "$t"
	(
		cd "$t" || exit 1
		exec >/dev/null 2>&1
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key \
		    -out ca.pem -days 3 -subj "/CN=evbus-test-ca"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key \
		    -out other-ca.pem -days 3 -subj "/CN=evbus-other-ca"
		openssl req -newkey rsa:2048 -nodes -keyout server.key \
		    -out server.csr -subj "/CN=localhost"
		printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -out server.pem -days 3 -extfile server.ext
		openssl req -newkey rsa:2048 -nodes -keyout client.key \
		    -out client.csr -subj "/CN=evbus-test-client"
		printf 'extendedKeyUsage=clientAuth\n' > client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key \
		    -CAcreateserial -out client.pem -days 3 -extfile client.ext
		# An expired client certificate, signed by the right CA.
		mkdir -p ca.db/new
		: > ca.db/index.txt
		echo 01 > ca.db/serial
		cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = ca.db
database = ca.db/index.txt
new_certs_dir = ca.db/new
serial = ca.db/serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
CNF
		openssl req -newkey rsa:2048 -nodes -keyout expired.key \
		    -out expired.csr -subj "/CN=evbus-expired-client"
		openssl ca -batch -config ca.cnf -in expired.csr \
		    -out expired.pem -startdate 20200101000000Z \
		    -enddate 20200102000000Z -notext
		chmod 644 ./*.key
	)
	[ -s "$t/server.pem" ] && [ -s "$t/client.pem" ]
}

do_start() {
	local dir=$1 owner=$2 port tlsport dist node try
	[ -x "$RMQ_BIN/rabbitmq-server" ] ||
	    die "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
	mkdir -p "$dir" || die "cannot create $dir"
	dir=$(cd "$dir" && pwd)
	for try in 1 2 3; do
		port=$(pick_port) || die "no free TCP port found on 127.0.0.1"
		tlsport=$((port + 1))
		dist=$((port + 10000))
		node="evbus-test-$port@localhost"
		mkdir -p "$dir/mnesia" "$dir/log"
		cat > "$dir/env" <<ENV
HOME='$dir'
RABBITMQ_NODENAME='$node'
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$port
RABBITMQ_DIST_PORT=$dist
RABBITMQ_MNESIA_BASE='$dir/mnesia'
RABBITMQ_LOG_BASE='$dir/log'
RABBITMQ_CONFIG_FILE='$dir/rabbitmq.conf'
RABBITMQ_ENABLED_PLUGINS_FILE='$dir/enabled_plugins'
RABBITMQ_PID_FILE='$dir/rabbit.pid'
RABBITMQ_CONF_ENV_FILE='$dir/no-such-env.conf'
AMQP_PORT=$port
AMQPS_PORT=$tlsport
ENV
		echo '[].' > "$dir/enabled_plugins"
		[ -s "$dir/tls/server.pem" ] || make_tls "$dir" ||
		    die "cannot make the TLS test certificates (is openssl installed?)"
		{
			echo "listeners.tcp.default = 127.0.0.1:$port"
			echo "listeners.ssl.default = 127.0.0.1:$tlsport"
			echo "ssl_options.cacertfile = $dir/tls/ca.pem"
			echo "ssl_options.certfile = $dir/tls/server.pem"
			echo "ssl_options.keyfile = $dir/tls/server.key"
			echo "ssl_options.verify = verify_peer"
			echo "ssl_options.fail_if_no_peer_cert = true"
			echo "loopback_users = none"
			echo "log.file.level = info"
			echo "log.console = false"
			[ -f "$dir/extra.conf" ] && cat "$dir/extra.conf"
		} > "$dir/rabbitmq.conf"
		node_env "$dir"
		rm -f "$RABBITMQ_PID_FILE"
		setsid "$RMQ_BIN/rabbitmq-server" > "$dir/server.out" 2>&1 < /dev/null &
		if timeout 120 "$RMQ_BIN/rabbitmqctl" -q -n "$node" wait \
		    "$RABBITMQ_PID_FILE" --timeout 90 > "$dir/wait.out" 2>&1 &&
		    "$RMQ_BIN/rabbitmqctl" -q -n "$node" await_startup \
		    >> "$dir/wait.out" 2>&1; then
			break
		fi
		echo "broker.sh: node $node did not start (try $try):" >&2
		tail -n 20 "$dir/server.out" "$dir/wait.out" >&2
		rm -f "$dir/watch.pid"
		do_stop "$dir"
		mkdir -p "$dir"
		[ "$try" = 3 ] && die "RabbitMQ could not be started; see the output above"
	done
	if [ -n "$owner" ]; then
		# Stop the node when its owner exits, also when a test fails
		# or the run is interrupted.
		setsid bash "$0" _watch "$dir" "$owner" </dev/null >/dev/null 2>&1 &
		echo $! > "$dir/watch.pid"
	fi
	do_url "$dir"
}

do_url() {
	node_env "$1"
	if [ "${2:-}" = "--tls" ]; then
		echo "amqps://guest:guest@localhost:$AMQPS_PORT/"
	else
		echo "amqp://guest:guest@127.0.0.1:$RABBITMQ_NODE_PORT/"
	fi
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: broker.sh start|stop|url|ctl DIR [--owner PID | ARGS]" >&2
	exit 2
}
shift 2
case $cmd in
start)
	owner=""
	if [ "${1:-}" = "--owner" ]; then owner=${2:?--owner needs a pid}; fi
	do_start "$dir" "$owner" ;;
stop)	do_stop "$dir" ;;
_watch)
	# Stop the node when its owner exits, also when a test fails or
	# the run is interrupted.
	trap '' HUP INT
	while kill -0 "$1" 2>/dev/null; do sleep 1; done
	rm -f "$dir/watch.pid"
	do_stop "$dir" ;;
url)	do_url "$dir" "${1:-}" ;;
ctl)	ctl "$dir" "$@" ;;
*)	die "unknown command: $cmd" ;;
esac
