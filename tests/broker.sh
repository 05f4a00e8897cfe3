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

RABBIT_PROG=broker.sh
# shellcheck source=tests/rabbit_lib.sh
. "$(dirname "$0")/rabbit_lib.sh"

do_stop() { remove_dir "$1" node_stop; }

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
	local dir=$1 owner=$2 port tlsport try
	rabbit_need_server
	mkdir -p "$dir" || die "cannot create $dir"
	dir=$(cd "$dir" && pwd)
	for try in 1 2 3; do
		# shellcheck disable=SC2119
		port=$(pick_port) || die "no free TCP port found on 127.0.0.1"
		tlsport=$((port + 1))
		node_write_env "$dir" "$dir" "evbus-test-$port@localhost" "$port"
		echo "AMQPS_PORT=$tlsport" >> "$dir/env"
		[ -s "$dir/tls/server.pem" ] || make_tls "$dir" ||
		    die "cannot make the TLS test certificates (is openssl installed?)"
		{
			echo "listeners.ssl.default = 127.0.0.1:$tlsport"
			echo "ssl_options.cacertfile = $dir/tls/ca.pem"
			echo "ssl_options.certfile = $dir/tls/server.pem"
			echo "ssl_options.keyfile = $dir/tls/server.key"
			echo "ssl_options.verify = verify_peer"
			echo "ssl_options.fail_if_no_peer_cert = true"
			[ -f "$dir/extra.conf" ] && cat "$dir/extra.conf"
		} >> "$dir/rabbitmq.conf"
		node_launch "$dir"
		node_wait "$dir" && break
		echo "broker.sh: node evbus-test-$port@localhost did not start (try $try):" >&2
		tail -n 20 "$dir/server.out" "$dir/wait.out" >&2
		do_stop "$dir"
		mkdir -p "$dir"
		[ "$try" = 3 ] && die "RabbitMQ could not be started; see the output above"
	done
	# Stop the node when its owner exits, also when a test fails or the
	# run is interrupted.
	[ -n "$owner" ] && watch_owner "$0" "$dir" "$owner"
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

do_command() {
	local cmd=$1 dir=$2; shift 2
	case $cmd in
	url)	do_url "$dir" "${1:-}" ;;
	ctl)	node_ctl "$dir" "$@" ;;
	*)	die "unknown command: $cmd" ;;
	esac
}

rabbit_main "broker.sh start|stop|url|ctl DIR [--owner PID | ARGS]" "$@"
