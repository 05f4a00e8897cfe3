#!/usr/bin/env bash
# cluster_test.sh: the 3-node test cluster (tests/cluster.sh) is a real
# cluster, what the failover tests stand on:
#   - urls, conf-list and EVBUS_CLUSTER_URLS name the same 3 nodes;
#   - every node sees the same 3 running nodes (cluster_status);
#   - a queue declared through node 1 holds what is published through
#     node 2 and is seen through node 3;
#   - node 1 stopped (rabbitmqctl stop_app): its classic queue is reported
#     unavailable ("home node ... is down or inaccessible") through node 3,
#     while a quorum queue declared through node 1 (its leader there) keeps
#     its messages and takes and gives more through nodes 2 and 3;
#   - node 1 started again (start_app): 3 nodes run again and the classic
#     queue is back with its messages.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_cluster

AMQPGET=$EVBUS_BUILDDIR/tests/integration/amqpget
PYPUB=$EVBUS_BUILDDIR/tests/integration/pypub
CL() { bash "$EVBUS_SRCDIR/tests/cluster.sh" "$@"; }
read -r U1 U2 U3 EXTRA <<< "$EVBUS_CLUSTER_URLS"
QC=t$$.cluster.classic
QQ=t$$.cluster.quorum
STOPPED=""

cl_cleanup() {
	[ -n "$STOPPED" ] && clctl "$STOPPED" start_app >/dev/null 2>&1
	clctl 1 delete_queue "$QC" >/dev/null 2>&1
	clctl 1 delete_queue "$QQ" >/dev/null 2>&1
	t_cleanup
}
trap cl_cleanup EXIT

# sees N COUNT: node N sees COUNT running nodes.
sees() { [ "$(CL running "$EVBUS_CLUSTER_DIR" "$1" | wc -l)" = "$2" ]; }
# count URL QUEUE EXPECTED: "ready consumers" through URL is EXPECTED.
count() { [ "$("$AMQPGET" "$1" "$2" --count 2>/dev/null)" = "$3" ]; }
# publish URL QUEUE N: N events, confirmed and routed, through the
# default exchange.
publish() { "$PYPUB" "$1" "" "$2" --count "$3" >/dev/null 2>&1; }

echo "# the cluster's addresses"
check "EVBUS_CLUSTER_URLS holds 3 amqp:// URLs" \
    eval '[ -n "$U3" ] && [ -z "$EXTRA" ] && [ "${U1#amqp://}" != "$U1" ]'
check "cluster.sh urls prints them, one a line" \
    [ "$(CL urls "$EVBUS_CLUSTER_DIR")" = "$(printf '%s\n' "$U1" "$U2" "$U3")" ]
check "cluster.sh conf-list prints them as a libconfig list" \
    [ "$(CL conf-list "$EVBUS_CLUSTER_DIR")" = "[\"$U1\", \"$U2\", \"$U3\"]" ]
ports=$(printf '%s\n' "$U1" "$U2" "$U3" | sed 's#.*:\([0-9]*\)/$#\1#' | sort -u)
loop=$(printf '%s\n' "$U1" "$U2" "$U3" | grep -c '@127\.0\.0\.1:[0-9]*/$')
check "3 nodes, 3 ports, all on 127.0.0.1" \
    eval '[ "$(echo "$ports" | wc -l)" = 3 ] && [ "$loop" = 3 ]'

echo "# one cluster"
names1=$(CL running "$EVBUS_CLUSTER_DIR" 1)
check "node 1 sees 3 running nodes" sees 1 3
for n in 2 3; do
	check "node $n sees the same 3 as node 1" \
	    [ "$(CL running "$EVBUS_CLUSTER_DIR" $n)" = "$names1" ]
done
check "cluster.sh ctl refuses node 4" \
    eval '! CL ctl "$EVBUS_CLUSTER_DIR" 4 status >/dev/null 2>&1'
check "a classic queue declared through node 1" \
    [ "$("$AMQPGET" "$U1" "$QC" --declare classic)" = "0 0" ]
check "5 events published through node 2" publish "$U2" "$QC" 5
check "node 3 sees the queue and its 5 messages" count "$U3" "$QC" "5 0"
check "a quorum queue declared through node 1" \
    [ "$("$AMQPGET" "$U1" "$QQ" --declare quorum)" = "0 0" ]
check "5 events published to it through node 1" publish "$U1" "$QQ" 5
check "node 3 lists it as a quorum queue" \
    eval 'clctl 3 list_queues name type | grep -q "^$QQ[[:space:]]*quorum"'
check "node 2 sees its 5 messages" count "$U2" "$QQ" "5 0"

echo "# node 1 stopped"
check "node 1 stops (stop_app)" clctl 1 stop_app
STOPPED=1
check "nodes 2 and 3 see 2 running nodes" \
    wait_for 30 eval 'sees 2 2 && sees 3 2'
check "node 1 refuses connections" \
    eval '! "$AMQPGET" "$U1" "$QQ" --count >/dev/null 2>&1'
err=$("$AMQPGET" "$U3" "$QC" --count 2>&1 >/dev/null)
rc=$?
check "its classic queue is unavailable through node 3" \
    eval '[ $rc = 1 ] && echo "$err" | grep -q "404 NOT_FOUND.*down or inaccessible"'
echo "#   node 3 said: $err"
check "the quorum queue keeps its 5 messages (through node 3)" \
    wait_for 30 count "$U3" "$QQ" "5 0"
check "it takes 5 more through node 2" wait_for 30 publish "$U2" "$QQ" 5
check "node 3 sees 10" count "$U3" "$QQ" "10 0"
check "node 2 gives all 10" \
    [ "$("$AMQPGET" "$U2" "$QQ" --max 20 | grep -c '"body"')" = 10 ]

echo "# node 1 started again"
check "node 1 starts (start_app)" clctl 1 start_app
STOPPED=""
check "every node sees 3 running nodes again" \
    wait_for 60 eval 'sees 1 3 && sees 2 3 && sees 3 3'
check "the classic queue is back with its 5 messages (through node 3)" \
    wait_for 30 count "$U3" "$QC" "5 0"
check "the quorum queue is there through node 1, empty" \
    wait_for 30 count "$U1" "$QQ" "0 0"
finish
