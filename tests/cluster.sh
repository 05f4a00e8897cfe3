#!/usr/bin/env bash
# cluster.sh: a throwaway 3-node RabbitMQ cluster for tests and benchmarks.
#
#   cluster.sh start DIR [--owner PID]  start 3 nodes whose state lives in
#                                       DIR/n1..n3, join nodes 2 and 3 to
#                                       node 1, wait until all 3 run, and
#                                       print one amqp:// URL per node, one
#                                       a line, node 1 first; with --owner
#                                       the nodes are stopped and DIR
#                                       removed once PID exits
#   cluster.sh urls DIR                 print the URLs again (one a line)
#   cluster.sh conf-list DIR            print them as a libconfig list:
#                                       ["amqp://...", "amqp://...", ...]
#   cluster.sh ctl DIR N ARGS...        run rabbitmqctl against node N
#                                       (1..3), e.g. stop_app, start_app
#   cluster.sh running DIR N            print the names of the running
#                                       nodes as node N sees them, sorted,
#                                       one a line (cluster_status)
#   cluster.sh stop DIR                 stop every node and remove DIR
#
# Like broker.sh's node (tests/rabbit_lib.sh holds what they share), each
# node is Debian's rabbitmq-server run as an ordinary process bound to
# 127.0.0.1 on a free port (distribution on port+10000), with its own
# node name (evbus-cN-<port>@localhost), data and log directories
# (DIR/nN; the node's log is DIR/nN/log/<node>.log).  The three share an
# Erlang cookie of their own, DIR/.erlang.cookie.  Users are the single
# test broker's: guest:guest, vhost "/", allowed from loopback.
#
# When a node does not start, does not join, or the cluster does not show
# 3 running nodes, start says which node and where its log is, stops every
# node it started, keeps DIR for the logs (stop removes it) and exits 1.
# A node that does not start (a port taken meanwhile) is retried once on
# other ports, unless CLUSTER_PORTS="P1 P2 P3" fixes the AMQP ports.
set -u

RABBIT_PROG=cluster.sh
# shellcheck source=tests/rabbit_lib.sh
. "$(dirname "$0")/rabbit_lib.sh"

NODES="1 2 3"

node_name() { sed -n "s/^RABBITMQ_NODENAME='\(.*\)'$/\1/p" "$1/n$2/env"; }
node_log() { echo "$1/n$2/log/$(node_name "$1" "$2").log"; }

# The nodes of DIR stop, in parallel; DIR stays.
stop_nodes() {
	local dir=$1 n pids=""
	for n in $NODES; do
		node_stop "$dir/n$n" &
		pids="$pids $!"
	done
	# Not a bare wait: the owner's watcher is a child too.
	# shellcheck disable=SC2086
	wait $pids
}

do_stop() { remove_dir "$1" stop_nodes; }

# fail DIR N WHAT [FILE...]: node N of the cluster in DIR failed to WHAT:
# say so with the tail of FILEs and of its log, stop every node, exit 1.
fail() {
	local dir=$1 n=$2 what=$3 f log; shift 3
	log=$(node_log "$dir" "$n")
	{
		echo "cluster.sh: FATAL: node $n ($(node_name "$dir" "$n")) $what"
		for f in "$@"; do
			[ -s "$f" ] && { echo "---- $f"; tail -n 15 "$f"; }
		done
		f=$(grep -i -m 10 'error\|fail' "$log" 2>/dev/null) &&
		    printf '%s\n' "---- $log (errors)" "$f"
		echo "cluster.sh: its log: $log"
		echo "cluster.sh: every node of $dir stopped; DIR kept for the" \
		    "logs (cluster.sh stop $dir removes it)"
	} >&2
	trap - INT TERM
	unwatch "$dir"
	stop_nodes "$dir"
	exit 1
}

# Start the three nodes on fresh ports (or $CLUSTER_PORTS) in parallel.
# Returns 1 after reporting a node that did not start.
launch_nodes() {
	local dir=$1 ports=${CLUSTER_PORTS:-} p taken="" n rc=0
	if [ -z "$ports" ]; then
		for n in $NODES; do
			# shellcheck disable=SC2086
			p=$(pick_port $taken) ||
			    die "no free TCP port found on 127.0.0.1"
			taken="$taken $p"
		done
		ports=$taken
	fi
	# shellcheck disable=SC2086
	set -- $ports
	[ $# = 3 ] || die "CLUSTER_PORTS must hold 3 ports, not '$ports'"
	for n in $NODES; do
		rm -rf "$dir/n$n"
		node_write_env "$dir/n$n" "$dir" "evbus-c$n-$1@localhost" "$1"
		shift
	done
	for n in $NODES; do node_launch "$dir/n$n"; done
	for n in $NODES; do node_wait "$dir/n$n" & eval "w$n=\$!"; done
	for n in $NODES; do
		eval "wait \$w$n" && continue
		rc=1
		echo "cluster.sh: node $n ($(node_name "$dir" "$n")) did not" \
		    "start; its log: $(node_log "$dir" "$n")" >&2
		tail -n 5 "$dir/n$n/server.out" "$dir/n$n/wait.out" | cut -c1-300 >&2
	done
	return $rc
}

running_nodes() {
	node_ctl "$1/n$2" cluster_status --formatter json 2>/dev/null |
	    sed -n 's/.*"running_nodes":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' |
	    tr -d '"' | grep '@' | sort
}

do_start() {
	local dir=$1 owner=$2 n try t0 t1 t2 t3 node1
	rabbit_need_server
	mkdir -p "$dir" || die "cannot create $dir"
	dir=$(cd "$dir" && pwd)
	[ -f "$dir/n1/env" ] &&
	    die "$dir holds a cluster already (cluster.sh stop $dir first)"
	# From here on, nodes never outlive the owner (or an interrupt).
	[ -n "$owner" ] && watch_owner "$0" "$dir" "$owner"
	trap 'stop_nodes "$dir"; exit 130' INT TERM
	t0=$(date +%s)
	# One cookie for all three, before any of them could make its own.
	rm -f "$dir/.erlang.cookie"
	(umask 077; od -An -N16 -tx1 /dev/urandom | tr -dc 0-9a-f |
	    tr a-f A-F > "$dir/.erlang.cookie")
	chmod 400 "$dir/.erlang.cookie"
	for try in 1 2; do
		launch_nodes "$dir" && { t1=$(date +%s); break; }
		stop_nodes "$dir"
		if [ "$try" = 2 ] || [ -n "${CLUSTER_PORTS:-}" ]; then
			trap - INT TERM
			unwatch "$dir"
			die "FATAL: the cluster could not start (see the nodes" \
			    "named above and their logs in $dir/n*/log/;" \
			    "cluster.sh stop $dir removes them)"
		fi
		echo "cluster.sh: trying again on other ports" >&2
	done
	node1=$(node_name "$dir" 1)
	for n in $NODES; do
		[ "$n" = 1 ] && continue
		{
			timeout 60 bash "$0" ctl "$dir" "$n" stop_app &&
			timeout 120 bash "$0" ctl "$dir" "$n" join_cluster "$node1" &&
			timeout 120 bash "$0" ctl "$dir" "$n" start_app
		} > "$dir/n$n/join.out" 2>&1 ||
		    fail "$dir" "$n" "could not join $node1" "$dir/n$n/join.out"
	done
	t2=$(date +%s)
	for n in $(seq 1 300); do
		[ "$(running_nodes "$dir" 1 | wc -l)" = 3 ] && break
		[ "$n" = 300 ] && {
			node_ctl "$dir/n1" cluster_status > "$dir/n1/status.out" 2>&1
			fail "$dir" 1 "does not see 3 running nodes after 60 s" \
			    "$dir/n1/status.out"
		}
		sleep 0.2
	done
	for n in $NODES; do
		echo "amqp://guest:guest@127.0.0.1:$(sed -n \
		    's/^AMQP_PORT=//p' "$dir/n$n/env")/"
	done > "$dir/urls.tmp" && mv "$dir/urls.tmp" "$dir/urls"
	trap - INT TERM
	t3=$(date +%s)
	echo "cluster.sh: 3 nodes running in $((t3 - t0)) s (boot $((t1 - t0))" \
	    "s, joins $((t2 - t1)) s, until 3 run $((t3 - t2)) s)" >&2
	do_urls "$dir"
}

do_urls() {
	[ -s "$1/urls" ] ||
	    die "no cluster in $1 (not started, did not form, or stopped)"
	cat "$1/urls"
}

do_conf_list() {
	local u sep="" out="["
	for u in $(do_urls "$1") ; do
		out="$out$sep\"$u\""
		sep=", "
	done
	[ "$out" = "[" ] && exit 1
	echo "$out]"
}

do_command() {
	local cmd=$1 dir=$2 n; shift 2
	case $cmd in
	urls)	do_urls "$dir" ;;
	conf-list) do_conf_list "$dir" ;;
	ctl|running)
		n=${1:-}
		case $n in
		1|2|3) shift ;;
		*) die "$cmd: the node is 1, 2 or 3, not '$n'" ;;
		esac
		if [ "$cmd" = ctl ]; then
			node_ctl "$dir/n$n" "$@"
		else
			running_nodes "$dir" "$n"
		fi ;;
	*)	die "unknown command: $cmd" ;;
	esac
}

rabbit_main "cluster.sh start|stop|urls|conf-list|ctl|running DIR [--owner PID | N [ARGS]]" "$@"
