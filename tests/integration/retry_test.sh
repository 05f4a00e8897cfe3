#!/usr/bin/env bash
# retry_test.sh: retries with backoff through the broker's retry queues and
# the dead-letter queue, against the real broker and real workers: the
# attempt counts and DLQ headers of wire spec 5, permanent failures,
# several failing handlers, the delays, other messages flowing while one
# waits, max_retries = 0, enable_dlq = false, two consumer groups on one
# exchange (only the failing group retries), and counts carried in by
# eventsource-py messages (x-retry-count as b, l or a numeric string).
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"

TSRE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\+00:00$'

# attempts NAME ID: the epoch times at which chaos saw event ID, from the
# log of worker NAME, one per line.
attempt_times() {
	grep -F "handler chaos: event $2" "$T_DIR/$1.log" |
	    grep -E ': (ok|retry|fail) \(retry_count' | cut -d' ' -f1
}

# --- the workers ------------------------------------------------------------

X=t$$.r
PA=$(plugin_dir pa chaos jsonl) || { not_ok "plugins not built"; finish; }
# Group ga: handlers fail as the events ask.
CA=$(conf a "$X" ga <<EOF2
plugin_dir = "$PA";
max_retries = 3;
retry_base_delay = 0.2;
retry_max_delay = 1.0;
handlers = {
	jsonl = { path = "$T_DIR/a.jsonl"; };
	chaos = { path = "$T_DIR/a.chaos"; };
};
EOF2
)
# Group gb on the same exchange: its handlers always succeed.
CB=$(conf b "$X" gb <<EOF2
plugin_dir = "$PA";
max_retries = 3;
retry_base_delay = 0.2;
retry_max_delay = 1.0;
handlers = {
	jsonl = { path = "$T_DIR/b.jsonl"; };
	chaos = { mode = "ok"; path = "$T_DIR/b.chaos"; };
};
EOF2
)
# max_retries = 0, and jsonl cannot write (/dev/full): every event fails.
XC=t$$.c
CC=$(conf c "$XC" gc <<EOF2
plugin_dir = "$PA";
max_retries = 0;
handlers = {
	jsonl = { path = "/dev/full"; };
	chaos = { path = "$T_DIR/c.chaos"; };
};
EOF2
)
# No DLQ: exhausted messages are dropped.
XD=t$$.d
CD=$(conf d "$XD" gd <<EOF2
plugin_dir = "$PA";
enable_dlq = false;
max_retries = 1;
retry_base_delay = 0.2;
handlers = {
	jsonl = { path = "$T_DIR/d.jsonl"; };
	chaos = { path = "$T_DIR/d.chaos"; };
};
EOF2
)
# A long delay, to see the retry copy waiting and the queue flowing; a
# short heartbeat, to see the publisher connection survive an idle spell.
XE=t$$.e
CE=$(conf e "$XE" ge 2 <<EOF2
plugin_dir = "$PA";
max_retries = 1;
retry_base_delay = 4.0;
retry_max_delay = 4.0;
retry_jitter = 0.0;
handlers = {
	jsonl = { path = "$T_DIR/e.jsonl"; };
	chaos = { path = "$T_DIR/e.chaos"; };
};
EOF2
)
for w in a b c d e; do
	eval "start $w \"\$C$(echo $w | tr a-e A-E)\""
done
for w in a b c d e; do
	if ! wait_for 30 ready $w; then
		not_ok "worker $w consumes"
		show_log $w
		finish
	fi
done
ok "five workers consume"
E_READY=$EPOCHREALTIME

ALWAYS=$(uid 1) ONCE=$(uid 2) FAIL=$(uid 3) PY2=$(uid 4) STR1=$(uid 5)
RK=Order.OrderCreated

# --- group ga: counts, headers, delays ----------------------------------------

check "publish: always failing, failing once, failing permanently" pub "$X" \
    --body "$(ev "$ALWAYS" OrderCreated '"chaos":"retry"')" \
    --body "$(ev "$ONCE" OrderCreated '"chaos":"retry_once"')" \
    --body "$(ev "$FAIL" OrderCreated '"chaos":"fail"')"
# eventsource-py's own retry copy (wire spec 5.4): no timestamp, the count
# as pamqp writes an int it got back from the broker as 'l'.
check "publish a Python retry copy with x-retry-count = l:2" pub "$X" \
    --body "$(ev "$PY2" OrderCreated '"chaos":"retry"')" --no-timestamp \
    --header x-retry-count=l:2 \
    --header x-last-retry-at=S:2025-03-14T15:09:27.102938+00:00
check "publish x-retry-count as the numeric string \"1\"" pub "$X" \
    --body "$(ev "$STR1" OrderCreated '"chaos":"retry"')" \
    --header x-retry-count=S:1

check "DLQ of ga gets the four exhausted or failed messages" \
    wait_for 30 qis "$X.ga.dlq" "4 0"
check "failing once: succeeded on its retry" wait_for 10 jl "$T_DIR/a.chaos" \
    "[x['outcome'] for x in C if x['event_id'] == '$ONCE'] == ['retry', 'ok']"
# Anything still in flight would show up here.
sleep 1.5
"$AMQPGET" "$URL" "$X.ga.dlq" > "$T_DIR/a.dlq"
check "exactly four DLQ messages, one per message" \
    [ "$(wc -l < "$T_DIR/a.dlq")" -eq 4 ]

check "always failing: max_retries + 1 = 4 attempts, counts 0..3" \
    jl "$T_DIR/a.chaos" "[x['retry_count'] for x in C if x['event_id'] == '$ALWAYS'] == [0, 1, 2, 3]"
check "always failing: every handler ran on every attempt (jsonl too)" \
    jl "$T_DIR/a.jsonl" "[x['retry_count'] for x in L if x['event_id'] == '$ALWAYS'] == [0, 1, 2, 3]"
BODY_ALWAYS=$(ev "$ALWAYS" OrderCreated '"chaos":"retry"')
export BODY_ALWAYS
check "always failing: DLQ copy has wire spec 5.5 headers" msg "$T_DIR/a.dlq" "$ALWAYS" "
h['x-dlq-reason'] == 'chaos: asked to retry' and
h['x-dlq-error-type'] == 'ChaosRetry' and
h['x-dlq-retry-count'] == 3 and k['x-dlq-retry-count'] in 'bsIl' and
re.match(r'$TSRE', h['x-dlq-timestamp']) is not None and
h['x-original-routing-key'] == '$RK' and
h['x-retry-count'] == 3 and k['x-retry-count'] in 'bsIl' and
re.match(r'$TSRE', h['x-last-retry-at']) is not None"
check "always failing: DLQ copy keeps body, properties and Python's headers" \
    msg "$T_DIR/a.dlq" "$ALWAYS" "
body == __import__('os').environ['BODY_ALWAYS'] and
m['routing_key'] == '$X.ga' and m['exchange'] == '${X}_dlq' and
m['properties'].get('content_type') == 'application/json' and
m['properties'].get('content_encoding') == 'utf-8' and
m['properties'].get('delivery_mode') == 2 and
'timestamp' not in m['properties'] and
h['event_type'] == 'OrderCreated' and h['aggregate_type'] == 'Order' and
h['aggregate_version'] == 3 and k['aggregate_version'] == 'b' and
h['correlation_id'] == '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9'"
check "always failing: logged as sent to the DLQ after 3 retries" \
    logged a "message $ALWAYS: sent to DLQ $X.ga.dlq after 3 retries"

check "failing permanently: one attempt" jl "$T_DIR/a.chaos" \
    "[x['outcome'] for x in C if x['event_id'] == '$FAIL'] == ['fail']"
check "failing permanently: DLQ at once with count 0 and the handler's error" \
    msg "$T_DIR/a.dlq" "$FAIL" "
h['x-dlq-retry-count'] == 0 and h['x-dlq-error-type'] == 'ChaosError' and
h['x-dlq-reason'] == 'chaos: asked to fail' and h['x-retry-count'] == 0 and
h['x-original-routing-key'] == '$RK' and 'x-last-retry-at' not in h"

check "failing once: two attempts, nothing in the DLQ" "$PY" - "$T_DIR/a.dlq" "$ONCE" <<'PY'
import json, sys
ids = [json.loads(l)['properties'].get('message_id') for l in open(sys.argv[1])]
sys.exit(0 if sys.argv[2] not in ids else 1)
PY

check "Python retry copy (l:2): attempts with counts 2 and 3" jl "$T_DIR/a.chaos" \
    "[x['retry_count'] for x in C if x['event_id'] == '$PY2'] == [2, 3]"
check "Python retry copy: DLQ count 3, its x-last-retry-at replaced" \
    msg "$T_DIR/a.dlq" "$PY2" "
h['x-dlq-retry-count'] == 3 and h['x-retry-count'] == 3 and
h['x-last-retry-at'] != '2025-03-14T15:09:27.102938+00:00' and
re.match(r'$TSRE', h['x-last-retry-at']) is not None"
check "numeric string count \"1\": attempts 1, 2, 3, DLQ count 3" jl "$T_DIR/a.chaos" \
    "[x['retry_count'] for x in C if x['event_id'] == '$STR1'] == [1, 2, 3]"
check "numeric string count: DLQ copy says 3" msg "$T_DIR/a.dlq" "$STR1" \
    "h['x-dlq-retry-count'] == 3 and h['x-retry-count'] == 3"

# Delays 0.2, 0.4, 0.8 s (jitter 10 %): loose bounds, the machine is shared.
attempt_times a "$ALWAYS" > "$T_DIR/always.times"
check "delays between attempts grow: about 0.2, 0.4, 0.8 s" "$PY" - "$T_DIR/always.times" <<'PY'
import sys
t = [float(x) for x in open(sys.argv[1]).read().split()]
g = [b - a for a, b in zip(t, t[1:])]
ok = (len(g) == 3 and 0.15 <= g[0] <= 3.0 and 0.3 <= g[1] <= 3.5 and
      0.6 <= g[2] <= 4.0 and g[2] > g[0])
print('#   gaps between attempts: %s' % ', '.join('%.3f' % x for x in g))
sys.exit(0 if ok else 1)
PY
check "retry queues per delay tier exist for ga" qis "$X.ga.retry.800" "0 0"
check "the group's queue and retry queues are empty" eval \
    'qis "$X.ga" "0 1" && qis "$X.ga.retry.200" "0 0" && qis "$X.ga.retry.400" "0 0"'

# --- group gb on the same exchange never sees ga's retries ----------------

check "other group: exactly one delivery per event, no retry copies" \
    jl "$T_DIR/b.jsonl" "sorted(x['event_id'] for x in L) == sorted(['$ALWAYS', '$ONCE', '$FAIL', '$PY2', '$STR1'])"
check "other group: counts as published (0, or the Python copy's)" \
    jl "$T_DIR/b.jsonl" "sorted(x['retry_count'] for x in L) == [0, 0, 0, 1, 2]"
check "other group: nothing dead-lettered, nothing waiting" eval \
    'qis "$X.gb.dlq" "0 0" && qis "$X.gb.retry.200" "0 0" && qis "$X.gb" "0 1"'

# --- max_retries = 0, two failing handlers ----------------------------------

C1=$(uid 11) C2=$(uid 12)
check "publish: one handler failing, two handlers failing" pub "$XC" \
    --body "$(ev "$C1" OrderCreated)" --body "$(ev "$C2" OrderCreated '"chaos":"retry"')"
check "max_retries = 0: both dead-lettered" wait_for 20 qis "$XC.gc.dlq" "2 0"
"$AMQPGET" "$URL" "$XC.gc.dlq" > "$T_DIR/c.dlq"
check "max_retries = 0: one attempt each" jl "$T_DIR/c.chaos" \
    "[x['event_id'] for x in C] == ['$C1', '$C2']"
check "max_retries = 0: DLQ on first failure, count 0, the handler's error" \
    msg "$T_DIR/c.dlq" "$C1" "
h['x-dlq-retry-count'] == 0 and h['x-dlq-error-type'] == 'IOError' and
'/dev/full' in h['x-dlq-reason']"
check "two handlers failing: HandlerDispatchError naming both" \
    msg "$T_DIR/c.dlq" "$C2" "
h['x-dlq-error-type'] == 'HandlerDispatchError' and
h['x-dlq-reason'] == '2 handler(s) failed during dispatch: chaos, jsonl' and
h['x-dlq-retry-count'] == 0"

# --- enable_dlq = false ----------------------------------------------------------

D1=$(uid 21) D2=$(uid 22)
check "publish a failing message with the DLQ disabled" pub "$XD" \
    --body "$(ev "$D1" OrderCreated '"chaos":"retry"')"
check "DLQ disabled: retried, then dropped loudly" wait_for 20 \
    logged d "message $D1: .*DROPPED: enable_dlq is off"
check "DLQ disabled: max_retries + 1 = 2 attempts" jl "$T_DIR/d.chaos" \
    "[x['retry_count'] for x in C if x['event_id'] == '$D1'] == [0, 1]"
check "DLQ disabled: the message was acked" qis "$XD.gd" "0 1"
check "DLQ disabled: no DLQ queue was declared or fed" \
    eval '! qcount "$XD.gd.dlq"'
check "DLQ disabled: no DLQ exchange exists" eval \
    '! rmqctl list_exchanges name | grep -qxF "${XD}_dlq"'
check "publish a good message afterwards" pub "$XD" --body "$(ev "$D2" OrderCreated)"
check "DLQ disabled: worker still consuming" wait_for 20 jl "$T_DIR/d.jsonl" "n('$D2') == 1"

# --- a long delay: the retry copy waits in the broker, others flow by ------

F=$(uid 31) G=$(uid 32)
# The broker drops a connection that stays silent for 2-3 heartbeats (2 s
# here): the worker must keep its idle publisher connection alive, or the
# retry below fails and the message comes back redelivered.
E_IDLE=$("$PY" -c "print(max(0.0, $E_READY + 8 - $EPOCHREALTIME))")
sleep "$E_IDLE"
check "publish a failing message and then a good one" pub "$XE" \
    --body "$(ev "$F" OrderCreated '"chaos":"retry"')" --body "$(ev "$G" OrderCreated)"
check "the retry copy waits in the 4000 ms retry queue" \
    wait_for 10 qis "$XE.ge.retry.4000" "1 0"
"$AMQPGET" "$URL" "$XE.ge.retry.4000" --peek > "$T_DIR/e.retry"
check "the good message is handled while the failing one waits" wait_for 20 \
    jl "$T_DIR/e.jsonl" "n('$G') == 1 and n('$F') == 1"
BODY_F=$(ev "$F" OrderCreated '"chaos":"retry"')
export BODY_F
check "retry copy: wire spec 5.4 properties and headers" msg "$T_DIR/e.retry" "$F" "
body == __import__('os').environ['BODY_F'] and
h['x-retry-count'] == 1 and k['x-retry-count'] == 'b' and
re.match(r'$TSRE', h['x-last-retry-at']) is not None and
h['x-original-routing-key'] == '$RK' and
h['event_type'] == 'OrderCreated' and
m['properties'].get('expiration') == '4000' and
m['properties'].get('content_type') == 'application/json' and
m['properties'].get('content_encoding') == 'utf-8' and
m['properties'].get('delivery_mode') == 2 and
m['properties'].get('priority') == 0 and 'timestamp' not in m['properties'] and
m['exchange'] == '' and m['routing_key'] == '$XE.ge.retry.4000'"
check "the retry comes back and is dead-lettered after max_retries = 1" \
    wait_for 20 qis "$XE.ge.dlq" "1 0"
attempt_times e "$F" > "$T_DIR/f.times"
attempt_times e "$G" > "$T_DIR/g.times"
check "the good message was handled long before the retry" "$PY" - "$T_DIR/f.times" "$T_DIR/g.times" <<'PY'
import sys
f = [float(x) for x in open(sys.argv[1]).read().split()]
g = [float(x) for x in open(sys.argv[2]).read().split()]
ok = len(f) == 2 and len(g) == 1 and f[1] - f[0] >= 3.5 and g[0] - f[0] < 2.0
print('#   failing message at +0 and +%.3f s, good one at +%.3f s' %
      (f[1] - f[0] if len(f) == 2 else -1, g[0] - f[0] if f and g else -1))
sys.exit(0 if ok else 1)
PY

for w in a b c d e; do
	eval "check \"worker $w still running\" kill -0 \"\$PID_$w\""
done
check "no worker lost a connection" eval '! grep -l "connection lost" "$T_DIR"/?.log'
check "idle publisher connection kept alive: retry sent at the first try" \
    jl "$T_DIR/e.chaos" "[(x['retry_count'], x['redelivered']) for x in C if x['event_id'] == '$F'] == [(0, False), (1, False)]"
if [ "$T_FAIL" -gt 0 ]; then
	for w in a c d e; do echo "# log of worker $w:"; show_log $w 30; done
fi
finish
