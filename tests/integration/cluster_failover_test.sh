#!/usr/bin/env bash
# cluster_failover_test.sh: evbusd and evbusctl on the real 3-node test
# cluster (tests/cluster.sh) while a node stops and starts again, every
# event counted:
#   - quorum queues, 3 workers spread over the 3 nodes, under load: the
#     node of worker 0 stops (rabbitmqctl stop_app); its worker fails over,
#     every event is handled at least once, none is lost; when the node
#     is back, the workers spread over the nodes again;
#   - evbusctl publish of 10,000 events while the node it publishes to
#     stops: every event reported published is delivered, every one
#     reported failed is named;
#   - classic queues: while the queue's node is down, health says the
#     queue is not accessible and the log says why, no silent loop.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_cluster
CL() { bash "$EVBUS_SRCDIR/tests/cluster.sh" "$@"; }
mapfile -t NODE_URL < <(CL urls "$EVBUS_CLUSTER_DIR")
URL=${NODE_URL[1]}
. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"

check "the cluster has 3 URLs" [ "${#NODE_URL[@]}" = 3 ]
LIST=$(CL conf-list "$EVBUS_CLUSTER_DIR")
hostport() { printf '%s' "$1" | sed -E 's#^amqp://([^@]*@)?([^/]+).*#\2#'; }
HP1=$(hostport "${NODE_URL[0]}")
STOPPED=""
cl_cleanup() {
	[ -n "$STOPPED" ] && CL ctl "$EVBUS_CLUSTER_DIR" "$STOPPED" start_app \
	    >/dev/null 2>&1
	t_cleanup
}
trap cl_cleanup EXIT

# clconf NAME GROUP QUEUE_TYPE WORKERS: a config for the cluster.
clconf() {
	local f=$T_DIR/$1.conf
	cat > "$f" <<EOF
rabbitmq_url = $LIST;
exchange_name = "t$$.cl";
consumer_group = "$2";
consumer_name = "$1";
queue_type = "$3";
workers = $4;
heartbeat = 5;
reconnect_delay = 0.5;
reconnect_max_delay = 2.0;
connect_timeout = 3.0;
plugin_dir = "$P";
status_socket = "$T_DIR/$1.sock";
pid_file = "$T_DIR/$1.pid";
handlers = { jsonl = { path = "$T_DIR/$1.jsonl"; }; };
EOF
	chmod 600 "$f"
	echo "$f"
}
P=$(plugin_dir cl jsonl) || { not_ok "plugins not built"; finish; }

# nodes_of NAME: the nodes of its workers, sorted, one line.
nodes_of() {
	"$EVBUSCTL" -f "$T_DIR/$1.conf" workers --json 2>/dev/null |
	    "$PY" -c 'import json,sys; print(" ".join(sorted((w["node"] or "-").split("/")[0] for w in json.load(sys.stdin) if w["state"] == "consuming")))'
}
spread() { [ "$(nodes_of "$1" | tr ' ' '\n' | sort -u | wc -l)" = 3 ]; }
off_node() { ! nodes_of "$1" | grep -qF "$2"; }
three_consuming() { [ "$(nodes_of "$1" | wc -w)" = 3 ]; }
handled_ids() { jl "$T_DIR/$1.jsonl" "set(x['event_id'] for x in L) >= set(open('$2').read().split())"; }

# --- quorum queues, a worker's node stops under load -----------------------
QC=$(clconf q gq quorum 3)
"$EVBUSD" -d -f "$QC" 2> >(stamp >> "$T_DIR/q.log") &
T_PIDS="$T_PIDS $!"
check "quorum: 3 workers consuming" wait_for 60 three_consuming q
check "quorum: the workers are spread over the 3 nodes" spread q
"$PY" - "$T_DIR/load.jsonl" 3000 <<'PY'
import json, sys, uuid
with open(sys.argv[1], "w") as f, open(sys.argv[1] + ".ids", "w") as g:
    for i in range(int(sys.argv[2])):
        e = {"event_id": str(uuid.uuid4()), "event_type": "OrderCreated",
             "aggregate_type": "Order", "aggregate_id": str(uuid.uuid4()),
             "n": i}
        f.write(json.dumps(e) + "\n")
        g.write(e["event_id"] + "\n")
PY
# Publish to node 2 (it stays up), while node 1 stops under the workers.
PUBC=$T_DIR/pub.conf
sed -e "s#^rabbitmq_url = .*#rabbitmq_url = \"${NODE_URL[1]}\";#" "$QC" > "$PUBC"
chmod 600 "$PUBC"
"$EVBUSCTL" -f "$PUBC" publish --window 100 -i "$T_DIR/load.jsonl" \
    > "$T_DIR/load.out" 2>&1 &
PUBPID=$!
sleep 1
STOPPED=1
check "node 1 stopped (stop_app) under load" \
    CL ctl "$EVBUS_CLUSTER_DIR" 1 stop_app
wait "$PUBPID"
check "all 3000 events were published (confirmed)" \
    grep -q "published 3000 of 3000" "$T_DIR/load.out"
check "every event handled at least once, none lost" \
    wait_for 120 handled_ids q "$T_DIR/load.jsonl.ids"
check "no worker is on the stopped node" off_node q "$HP1"
check "the 3 workers consume on the other nodes" wait_for 30 three_consuming q
check "log: the worker on node 1 lost it and reconnected elsewhere" \
    logged q "connection lost: .*reconnecting \\(next node first\\)"
check "node 1 started again" CL ctl "$EVBUS_CLUSTER_DIR" 1 start_app
STOPPED=""
check "the workers spread over the 3 nodes again" wait_for 60 spread q
check "log: a worker moved back to its node" \
    logged q "is reachable again: moving back to it"

# --- evbusctl publish while its node stops ---------------------------------
"$PY" - "$T_DIR/ten.jsonl" 10000 <<'PY'
import json, sys, uuid
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"event_id": str(uuid.uuid4()),
                            "event_type": "OrderShipped",
                            "aggregate_type": "Order",
                            "aggregate_id": str(uuid.uuid4()), "n": i}) + "\n")
PY
# Through the list: evbusctl publishes to node 1, which stops meanwhile.
"$EVBUSCTL" -f "$QC" publish --window 100 -i "$T_DIR/ten.jsonl" \
    > "$T_DIR/ten.out" 2> "$T_DIR/ten.err" &
PUBPID=$!
sleep 0.5
STOPPED=1
CL ctl "$EVBUS_CLUSTER_DIR" 1 stop_app >/dev/null 2>&1
wait "$PUBPID"
CL ctl "$EVBUS_CLUSTER_DIR" 1 start_app >/dev/null 2>&1
STOPPED=""
# published ids = all minus the ones named as not published.
"$PY" - "$T_DIR/ten.jsonl" "$T_DIR/ten.err" "$T_DIR/ten.pub" <<'PY'
import json, re, sys
ids = [json.loads(l)["event_id"] for l in open(sys.argv[1])]
failed = set(re.findall(r"event (\S+) not published", open(sys.argv[2]).read()))
with open(sys.argv[3], "w") as f:
    f.write("\n".join(i for i in ids if i not in failed) + "\n")
print("# %d published, %d named as failed" % (len(ids) - len(failed), len(failed)))
PY
check "publish: the counts add up (published + failed = 10000)" "$PY" - \
    "$T_DIR/ten.out" "$T_DIR/ten.pub" <<'PY'
import re, sys
m = re.search(r"published (\d+) of (\d+) events \((\d+) failed", open(sys.argv[1]).read())
pub = sum(1 for l in open(sys.argv[2]) if l.strip())
sys.exit(0 if m and int(m.group(1)) + int(m.group(3)) == 10000
         and int(m.group(1)) == pub else 1)
PY
check "every event reported published is handled" \
    wait_for 180 handled_ids q "$T_DIR/ten.pub"

# --- classic queues: the queue's node is down -------------------------------
CC=$(clconf c gc classic 1)
# Declared through node 1: the classic queue lives there.
sed -i -e "s#^rabbitmq_url = .*#rabbitmq_url = [\"${NODE_URL[0]}\", \"${NODE_URL[1]}\"];#" "$CC"
"$EVBUSD" -d -f "$CC" 2> >(stamp >> "$T_DIR/c.log") &
T_PIDS="$T_PIDS $!"
check "classic: 1 worker consuming on node 1" \
    wait_for 60 sh -c "[ \"\$('$EVBUSCTL' -f '$CC' workers --json | grep -o '\"state\":\"consuming\"' | wc -l)\" = 1 ]"
STOPPED=1
check "classic: node 1 stopped" CL ctl "$EVBUS_CLUSTER_DIR" 1 stop_app
unhealthy_queue() {
	! "$EVBUSCTL" -f "$CC" health --json > "$T_DIR/c.health" 2>/dev/null &&
	    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["queue_status"].startswith("error") else 1)' "$T_DIR/c.health"
}
check "classic: health fails and says the queue is not accessible" \
    wait_for 60 unhealthy_queue
check "classic: the log says why the worker cannot consume" \
    wait_for 30 logged c "basic.consume on 't$$.cl.gc'|queue.declare 't$$.cl.gc'|home node|down|not_found|NOT_FOUND"
CL ctl "$EVBUS_CLUSTER_DIR" 1 start_app >/dev/null 2>&1
STOPPED=""
check "classic: consuming again once the node is back" \
    wait_for 90 sh -c "[ \"\$('$EVBUSCTL' -f '$CC' workers --json | grep -o '\"state\":\"consuming\"' | wc -l)\" = 1 ]"

finish
