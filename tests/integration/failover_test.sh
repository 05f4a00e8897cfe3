#!/usr/bin/env bash
# failover_test.sh: a list of broker addresses and quorum queues, on the
# single test broker: the first address is a port nothing listens on, so
# worker 0 (which starts at node 0) and evbusctl must fail over to the
# second; status names the node each worker is on; queue_type = "quorum"
# declares the group queue, the DLQ and the retry queues as quorum queues
# with at-least-once dead-lettering and a delivery limit above
# max_crashes, and retries and dead-lettering work through them.  (The
# 3-node cluster tests stop real nodes: cluster_test.sh.)
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker
. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"

# A loopback port nothing listens on: connection refused at once.
DEAD=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DEADURL=$(printf '%s' "$URL" | sed -E "s#@([^/:]+):[0-9]+#@\\1:$DEAD#")
LIVE=$(printf '%s' "$URL" | sed -E 's#^amqp://([^@]*@)?([^/]+).*#\2#')
check "the dead address differs from the live one" [ "$DEADURL" != "$URL" ]

X=t$$.fo
P=$(plugin_dir fo jsonl chaos) || { not_ok "plugins not built"; finish; }
C=$T_DIR/fo.conf
cat > "$C" <<EOF
rabbitmq_url = [ "$DEADURL", "$URL" ];
exchange_name = "$X";
consumer_group = "g";
consumer_name = "fo";
queue_type = "quorum";
workers = 2;
max_crashes = 3;
max_retries = 2;
retry_base_delay = 0.2;
retry_max_delay = 0.5;
heartbeat = 10;
reconnect_delay = 0.5;
plugin_dir = "$P";
status_socket = "$T_DIR/fo.sock";
pid_file = "$T_DIR/fo.pid";
handlers = {
	jsonl = { path = "$T_DIR/fo.jsonl"; };
	chaos = { path = "$T_DIR/fo.chaos"; };
};
EOF
chmod 600 "$C"
ctl() { "$EVBUSCTL" -f "$C" "$@"; }
# on_live: every worker row names the live node, none the dead one.
on_live() {
	ctl workers --json | "$PY" -c '
import json, sys
ws = json.load(sys.stdin)
ok = len(ws) == 2 and all((w["node"] or "").startswith(sys.argv[1] + "/")
                           for w in ws)
if not ok:
    print("#   nodes:", [w["node"] for w in ws])
sys.exit(0 if ok else 1)' "$LIVE"
}
handled() { jl "$T_DIR/fo.jsonl" "len(set(x['event_id'] for x in L)) >= $1"; }

check "evbusd -n accepts a list of URLs and queue_type quorum" \
    "$EVBUSD" -n -f "$C"
"$EVBUSD" -d -f "$C" 2> >(stamp >> "$T_DIR/fo.log") &
T_PIDS="$T_PIDS $!"
check "both workers consume (worker 0 failed over from the dead node)" \
    wait_for 40 ready fo 2
check "status: both on the live node $LIVE" on_live
check "evbusctl workers shows a NODE column" sh -c \
    "'$EVBUSCTL' -f '$C' workers | head -n1 | grep -q NODE"
check "the log names no password" sh -c "! grep -q ':[^@/]*@' '$T_DIR/fo.log'"

q=$(rmqctl list_queues -q name type arguments 2>/dev/null)
has_q() { printf '%s\n' "$q" | grep -F "$1	" | grep -q -- "$2"; }
check "group queue: quorum" has_q "$X.g" "quorum"
check "group queue: x-delivery-limit 20 (a backstop above max_crashes 3)" \
    has_q "$X.g" '"x-delivery-limit",20'
check "group queue: at-least-once dead-lettering" \
    has_q "$X.g" '"x-dead-letter-strategy","at-least-once"'
check "group queue: dead-letters to the DLQ exchange" \
    has_q "$X.g" "\"x-dead-letter-exchange\",\"${X}_dlq\""
check "DLQ: quorum" has_q "$X.g.dlq" "quorum"
check "retry queue: quorum, dead-letters back to the group" \
    has_q "$X.g.retry.200" "\"x-dead-letter-routing-key\",\"$X.g\""

# evbusctl fails over the same way.
check "publish 30 events" pub "$X" --body "$(ev "$(uid 100)" OrderCreated)" \
    --count 30
"$PY" -c '
import json, uuid
for i in range(20):
    print(json.dumps({"event_id": str(uuid.uuid4()), "event_type": "OrderCreated",
                      "aggregate_type": "Order", "aggregate_id": str(uuid.uuid4())}))' \
    > "$T_DIR/twenty.jsonl"
check "evbusctl publish (first node dead) publishes 20 events" \
    ctl publish -i "$T_DIR/twenty.jsonl"
check "all 50 handled" wait_for 30 handled 50
# Retries and dead-lettering through quorum queues.
check "publish one event failing once and one failing for good" pub "$X" \
    --body "$(ev "$(uid 1)" OrderCreated '"chaos":"retry_once"')" \
    --body "$(ev "$(uid 2)" OrderCreated '"chaos":"fail"')"
check "the retried one succeeded on its retry" wait_for 30 jl \
    "$T_DIR/fo.chaos" "sum(1 for x in C if x['event_id'] == '$(uid 1)' and x['outcome'] == 'ok') == 1"
check "the failing one is in the quorum DLQ" wait_for 30 qis "$X.g.dlq" "1 0"

finish
