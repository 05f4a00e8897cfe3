# shellcheck shell=bash
# rabbit_lib.sh: what broker.sh (one node) and cluster.sh (three nodes)
# share to run Debian's rabbitmq-server as an ordinary process (sourced).
#
# A node lives in a directory holding its env file (node name, ports,
# data, log and config paths), rabbitmq.conf, enabled_plugins, mnesia/,
# log/ (the node's log is log/<node>.log), rabbit.pid, server.out (the
# server's own output) and wait.out (the start-up wait's).  HOME, where
# the Erlang cookie lives, is the node's directory for broker.sh and the
# cluster's directory for cluster.sh (the nodes of a cluster share it).
#
# The caller sets RABBIT_PROG (its name, for messages) before sourcing.

RMQ_BIN=${RMQ_BIN:-/usr/lib/rabbitmq/bin}
# Plugins every test node enables: the consistent-hash exchange (shipped
# with RabbitMQ) for ordered partitions (DESIGN.md).
RABBIT_PLUGINS='[rabbitmq_consistent_hash_exchange].'

die() { echo "${RABBIT_PROG:-rabbit_lib.sh}: $*" >&2; exit 1; }

rabbit_need_server() {
	[ -x "$RMQ_BIN/rabbitmq-server" ] ||
	    die "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
}

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

# pick_port [TAKEN...]: a port P with P, P+1 and P+10000 (the TLS and
# distribution ports) free on 127.0.0.1 and apart from those of every
# port among TAKEN (picked the same way).
pick_port() {
	local p t d clash
	for _ in $(seq 1 200); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
		clash=0
		for t in "$@"; do
			for d in $((p - t)) $((p - t - 10000)) $((p - t + 10000)); do
				[ "$d" -ge -1 ] && [ "$d" -le 1 ] && clash=1
			done
		done
		if [ "$clash" = 0 ] && port_free "$p" &&
		    port_free $((p + 1)) && port_free $((p + 10000)); then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# node_write_env DIR HOME NODE PORT: the env file of a node listening on
# 127.0.0.1:PORT (distribution on PORT+10000) whose state lives in DIR;
# its enabled_plugins file; the first lines of its rabbitmq.conf (the
# caller appends its own).
node_write_env() {
	local dir=$1 home=$2 node=$3 port=$4
	mkdir -p "$dir/mnesia" "$dir/log" || die "cannot create $dir"
	cat > "$dir/env" <<ENV
HOME='$home'
RABBITMQ_NODENAME='$node'
RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
RABBITMQ_NODE_PORT=$port
RABBITMQ_DIST_PORT=$((port + 10000))
RABBITMQ_MNESIA_BASE='$dir/mnesia'
RABBITMQ_LOG_BASE='$dir/log'
RABBITMQ_CONFIG_FILE='$dir/rabbitmq.conf'
RABBITMQ_ENABLED_PLUGINS_FILE='$dir/enabled_plugins'
RABBITMQ_PID_FILE='$dir/rabbit.pid'
RABBITMQ_CONF_ENV_FILE='$dir/no-such-env.conf'
AMQP_PORT=$port
ENV
	echo "$RABBIT_PLUGINS" > "$dir/enabled_plugins"
	{
		echo "listeners.tcp.default = 127.0.0.1:$port"
		echo "loopback_users = none"
		echo "log.file.level = info"
		echo "log.console = false"
	} > "$dir/rabbitmq.conf"
}

# node_launch DIR: start the node in the background, in its own session
# (the server script's pid in DIR/server.pid).
node_launch() {
	(
		node_env "$1"
		rm -f "$RABBITMQ_PID_FILE"
		setsid "$RMQ_BIN/rabbitmq-server" > "$1/server.out" 2>&1 \
		    < /dev/null &
		echo $! > "$1/server.pid"
	)
}

# node_wait DIR: wait until the node has booted (pid file, distribution,
# then the apps); output in DIR/wait.out.  Fails at once when the server
# exits before.
node_wait() {
	(
		node_env "$1"
		timeout 120 "$RMQ_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" \
		    wait "$RABBITMQ_PID_FILE" --timeout 90 > "$1/wait.out" 2>&1 &
		w=$!
		while kill -0 "$w" 2>/dev/null; do
			if ! kill -0 "$(cat "$1/server.pid")" 2>/dev/null; then
				kill "$w" 2>/dev/null
				echo "rabbitmq-server exited" >> "$1/wait.out"
				exit 1
			fi
			sleep 0.5
		done
		wait "$w" && "$RMQ_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" \
		    await_startup >> "$1/wait.out" 2>&1
	)
}

# node_ctl DIR ARGS...: rabbitmqctl against the node in DIR.
node_ctl() {
	local dir=$1; shift
	node_env "$dir"
	"$RMQ_BIN/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" "$@"
}

# node_stop DIR: stop the node in DIR, if any (its files stay).
node_stop() {
	local dir=$1 pid=""
	[ -f "$dir/env" ] || return 0
	(
		node_env "$dir"
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
	)
	return 0
}

# watch_owner SCRIPT DIR OWNER: in the background, run "SCRIPT stop DIR"
# once process OWNER has exited, also when a test fails or the run is
# interrupted; its pid goes to DIR/watch.pid.
watch_owner() {
	setsid bash "$1" _watch "$2" "$3" </dev/null >/dev/null 2>&1 &
	echo $! > "$2/watch.pid"
}

# The body of "SCRIPT _watch DIR OWNER".
watch_loop() {
	trap '' HUP INT
	while kill -0 "$2" 2>/dev/null; do sleep 1; done
	rm -f "$1/watch.pid"
}

# unwatch DIR: end the watcher of DIR (before stopping it by hand).
unwatch() {
	[ -f "$1/watch.pid" ] && kill "$(cat "$1/watch.pid")" 2>/dev/null
	rm -f "$1/watch.pid"
}

# remove_dir DIR STOP: end the watcher of DIR, run "STOP DIR" (which stops
# the nodes there), remove DIR.
remove_dir() {
	[ -d "$1" ] || return 0
	unwatch "$1"
	"$2" "$1"
	rm -rf "$1"
}

# rabbit_main USAGE ARGS...: the commands broker.sh and cluster.sh share,
# start DIR [--owner PID], stop DIR and the watcher's _watch DIR PID, run
# the caller's do_start DIR OWNER and do_stop DIR; any other command goes
# to its do_command CMD DIR ARGS...
rabbit_main() {
	local usage=$1 cmd=${2:-} dir=${3:-} owner=""
	if [ -z "$cmd" ] || [ -z "$dir" ]; then
		echo "usage: $usage" >&2
		exit 2
	fi
	shift 3
	case $cmd in
	start)
		[ "${1:-}" = "--owner" ] && owner=${2:?--owner needs a pid}
		do_start "$dir" "$owner" ;;
	stop)	do_stop "$dir" ;;
	_watch)	watch_loop "$dir" "$1"
		do_stop "$dir" ;;
	*)	do_command "$cmd" "$dir" "$@" ;;
	esac
}
