#!/usr/bin/env bash
# worker_test.sh: one evbusd worker against the real broker: every field of
# an eventsource-py message round trip, dispatch to several handlers in
# order, an event type nobody wants, malformed input of every kind going
# to the DLQ with a reason while the worker carries on, the W3C trace
# context, and a graceful stop with a slow message in flight.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"

# --- worker W: inventory (OrderCreated) + chaos and jsonl (wildcards) -----

X=t$$.w
Q=$X.grp
PW=$(plugin_dir pw chaos inventory jsonl) || { not_ok "plugins not built"; finish; }
JW=$T_DIR/w.jsonl
# chaos records each attempt into the same file as jsonl, so the file
# shows the order in which the wildcard handlers ran.
CW=$(conf w "$X" grp <<EOF
plugin_dir = "$PW";
max_retries = 0;
handlers = {
	jsonl = { path = "$JW"; };
	chaos = { path = "$JW"; };
};
EOF
)
start w "$CW"
if ! wait_for 30 ready w; then
	not_ok "worker started and consumes"
	show_log w
	finish
fi
ok "worker started and consumes"

# 1. The wire spec 3.5 example, exactly as eventsource-py publishes it.
SPEC_ID=3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b
SPEC_BODY='{"event_id":"3f2a9c1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b","event_type":"OrderCreated","event_version":1,"occurred_at":"2025-03-14T15:09:26.535897Z","aggregate_id":"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5","aggregate_type":"Order","aggregate_version":3,"tenant_id":"11111111-2222-4333-8444-555555555555","actor_id":null,"correlation_id":"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9","causation_id":null,"metadata":{"source":"api"},"order_number":"ORD-001","total_amount":99.5}'
check "publish the wire spec example" "$PYPUB" "$URL" "$X" Order.OrderCreated \
    --body "$SPEC_BODY"
check "spec example handled once" wait_for 20 jl "$JW" "n('$SPEC_ID') == 1"
export SPEC_BODY
check "jsonl line: every envelope field and the raw body unchanged" jl "$JW" "
[(x['event_type'], x['retry_count'], x['redelivered'], x['traceparent'],
  x['consumer'], x['worker']) for x in L if x['event_id'] == '$SPEC_ID'] ==
    [('OrderCreated', 0, False, None, 'wt-w-0', 0)] and
[l for l in raw if '\"outcome\"' not in l and '$SPEC_ID' in l][0].endswith(
    '\"body\":' + __import__('os').environ['SPEC_BODY'] + '}')"
check "handler sees the fields (aggregate, version, payload, decimals)" \
    logged w "handler inventory: event $SPEC_ID: .*reserving stock for order ORD-001 \(aggregate 7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5 v3, total 99.50\)"

# 1b. An event bigger than a frame (300 KiB: three body frames at the
# broker's 128 KiB frame_max) is gathered whole: handled once, the fields
# read, the raw body unchanged.
ID_BIG=$(uid 6)
"$PY" -c 'import sys; sys.stdout.write(sys.argv[1][:-1] +
    ",\"order_number\":\"ORD-BIG\",\"total_amount\":12.5,\"pad\":\"" +
    "p" * 300000 + "\"}")' "$(ev "$ID_BIG" OrderCreated)" > "$T_DIR/big.json"
check "publish a 300 KiB event" pub "$X" --body-file "$T_DIR/big.json"
check "300 KiB event handled once" wait_for 20 jl "$JW" "n('$ID_BIG') == 1"
check "300 KiB event: the handler read its fields" logged w \
    "handler inventory: event $ID_BIG: .*reserving stock for order ORD-BIG"
check "300 KiB event: the raw body reached the handler unchanged" jl "$JW" \
    "[l for l in raw if '\"outcome\"' not in l and '$ID_BIG' in l][0].endswith(
    '\"body\":' + open('$T_DIR/big.json').read() + '}')"

# 2. Dispatch order: subscriber (inventory) first, then the wildcards in
# load order (chaos, then jsonl); an event type inventory does not want
# reaches only the wildcards.
ID_SHIP=$(uid 2)
check "publish OrderShipped" pub "$X" --body "$(ev "$ID_SHIP" OrderShipped)"
check "OrderShipped handled" wait_for 20 jl "$JW" "n('$ID_SHIP') == 1"
check "every handler ran, subscribers before wildcards" "$PY" - "$T_DIR/w.log" "$JW" "$SPEC_ID" "$ID_SHIP" <<'EOF'
import json, sys
log, jw, spec, ship = sys.argv[1:5]
lines = open(log).read().splitlines()
def first(pat):
    for i, l in enumerate(lines):
        if pat in l:
            return i
    return None
inv = first('handler inventory: event %s:' % spec)
cha = first('handler chaos: event %s:' % spec)
recs = [json.loads(l) for l in open(jw)]
order = [('chaos' if 'outcome' in r else 'jsonl') for r in recs if r['event_id'] == spec]
ship_inv = first('handler inventory: event %s:' % ship)
ship_order = [('chaos' if 'outcome' in r else 'jsonl') for r in recs if r['event_id'] == ship]
ok = (inv is not None and cha is not None and inv < cha and
      order == ['chaos', 'jsonl'] and ship_inv is None and
      ship_order == ['chaos', 'jsonl'])
if not ok:
    print('#   inventory at %s, chaos at %s, file order %s; OrderShipped: inventory at %s, file order %s'
          % (inv, cha, order, ship_inv, ship_order))
sys.exit(0 if ok else 1)
EOF

# 3. W3C trace context from the headers.
ID_TR=$(uid 3)
TRACE=0af7651916cd43dd8448eb211c80319c
TP=00-$TRACE-b7ad6b7169203331-01
check "publish with traceparent and tracestate" pub "$X" \
    --body "$(ev "$ID_TR" OrderCreated)" --header "traceparent=S:$TP" \
    --header "tracestate=S:congo=t61rcWkgMzE"
check "traced event handled" wait_for 20 jl "$JW" "n('$ID_TR') == 1"
check "traceparent reaches the handler (jsonl line)" jl "$JW" \
    "[x['traceparent'] for x in L if x['event_id'] == '$ID_TR'] == ['$TP']"
check "trace id in the worker's log lines for that message" \
    logged w "event $ID_TR trace $TRACE: "
check "no trace id on messages without traceparent" \
    logged w "handler chaos: event $SPEC_ID: "

# 4. No header table at all: dispatch falls back to the body's event_type.
ID_NOH=$(uid 4)
check "publish without headers" pub "$X" --body "$(ev "$ID_NOH" OrderCreated)" \
    --no-headers
check "message without headers handled by its body's event_type" \
    wait_for 20 jl "$JW" "n('$ID_NOH') == 1 and [x['event_type'] for x in L if x['event_id'] == '$ID_NOH'] == ['OrderCreated']"

# An empty event_type header names no type either.
ID_EMPTY=$(uid 10)
check "publish with an empty event_type header" pub "$X" \
    --body "$(ev "$ID_EMPTY" OrderCreated)" --header event_type=S:
check "empty event_type header: dispatched by the body's event_type" \
    wait_for 20 jl "$JW" "[x['event_type'] for x in L if x['event_id'] == '$ID_EMPTY'] == ['OrderCreated']"
check "empty event_type header: subscribed handler ran too" \
    logged w "handler inventory: event $ID_EMPTY: "

# 5. Malformed input: each goes to the DLQ with a reason, and the worker
# carries on.  Each case: message id, expected x-dlq-error-type, a text
# the reason must contain, then the pypub options.
printf '{"event_id":"%s","event_type":"OrderCreated","aggregate_id":"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5","aggregate_type":"Order","order_number":"caf\xc3\xa9 \xff\xfe"}' \
    "$(uid 105)" > "$T_DIR/badutf8.json"
BADUTF8_HEX=$(od -An -v -tx1 "$T_DIR/badutf8.json" | tr -d ' \n')
CASES=$T_DIR/cases
: > "$CASES"
# add_case ID TYPE REASON_TEXT pypub-options...
add_case() {
	local id=$1 type=$2 why=$3; shift 3
	printf '%s\t%s\t%s\n' "$id" "$type" "$why" >> "$CASES"
	if pub "$X" --message-id "$id" "$@"; then
		ok "publish malformed case $id"
	else
		not_ok "publish malformed case $id"
	fi
}
HDRS=(--header event_type=S:OrderCreated --header aggregate_type=S:Order)
add_case bad-json MalformedMessage "invalid JSON" "${HDRS[@]}" \
    --body '{"event_id":"'"$(uid 101)"'","event_type":"OrderCreated",'
add_case no-aggregate-id InvalidEvent aggregate_id \
    --body '{"event_id":"'"$(uid 102)"'","event_type":"OrderCreated","aggregate_type":"Order"}'
add_case bad-aggregate-type InvalidEvent aggregate_type \
    --body "$(ev "$(uid 103)" OrderCreated | sed 's/"aggregate_type":"Order"/"aggregate_type":"Bad Type"/')"
add_case version-0 InvalidEvent event_version \
    --body "$(ev "$(uid 104)" OrderCreated | sed 's/"event_version":1/"event_version":0/')"
add_case bad-utf8 MalformedMessage "UTF-8" --body-file "$T_DIR/badutf8.json"
add_case event-type-bytes InvalidHeader event_type \
    --body "$(ev "$(uid 106)" OrderCreated)" --header event_type=x:OrderCreated
add_case event-type-int InvalidHeader event_type \
    --body "$(ev "$(uid 107)" OrderCreated)" --header event_type=I:7
add_case retry-count-float InvalidHeader x-retry-count \
    --body "$(ev "$(uid 108)" OrderCreated)" --header x-retry-count=d:1.5
add_case retry-count-negative InvalidHeader x-retry-count \
    --body "$(ev "$(uid 109)" OrderCreated)" --header x-retry-count=b:-1
add_case not-an-object MalformedMessage "not a JSON object" "${HDRS[@]}" \
    --body '[1,2,3]'
add_case nan MalformedMessage "invalid JSON" \
    --body "$(ev "$(uid 111)" OrderCreated '"total_amount":NaN')"
# json-c alone lets these through even in strict mode; Python refuses them.
add_case lax-number MalformedMessage "invalid JSON" \
    --body "$(ev "$(uid 112)" OrderCreated '"total_amount":1.')"
add_case raw-control-char MalformedMessage "invalid JSON" \
    --body "$(ev "$(uid 113)" OrderCreated "$(printf '"note":"a\tb"')")"
add_case trailing-garbage MalformedMessage "invalid JSON" \
    --body "$(ev "$(uid 114)" OrderCreated) x"
add_case leading-zero MalformedMessage "leading zeros are not allowed" \
    --body "$(ev "$(uid 115)" OrderCreated '"total_amount":012')"
NCASES=$(wc -l < "$CASES")

ID_AFTER=$(uid 5)
check "publish a good message after the bad ones" pub "$X" \
    --body "$(ev "$ID_AFTER" OrderCreated)"
check "good message after the bad ones handled" wait_for 30 jl "$JW" "n('$ID_AFTER') == 1"
check "worker survived every malformed message" kill -0 "$PID_w"
check "DLQ holds exactly one copy of each malformed message" \
    wait_for 20 qis "$Q.dlq" "$NCASES 0"
"$AMQPGET" "$URL" "$Q.dlq" > "$T_DIR/dlq.out"
check "main queue is empty" qis "$Q" "0 1"
check "no malformed message reached a handler" jl "$JW" \
    "not any(x['event_id'].startswith('00000000-0000-4000-8000-0000000001') for x in A)"
while IFS=$'\t' read -r id type why; do
	check "DLQ copy $id: $type, reason names '$why', count 0, body unchanged" \
	    msg "$T_DIR/dlq.out" "$id" "
h['x-dlq-error-type'] == '$type' and '$why' in h['x-dlq-reason'] and
h['x-dlq-retry-count'] == 0 and k['x-dlq-retry-count'] in 'bsIl' and
re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00', h['x-dlq-timestamp']) is not None and
'x-original-routing-key' in h and m['routing_key'] == '$Q' and
m['exchange'] == '${X}_dlq' and m['properties']['delivery_mode'] == 2"
	check "worker logged why $id is malformed" logged w "message $id: malformed \($type\)"
done < "$CASES"
check "DLQ copy of the bad UTF-8 body is byte for byte the original" \
    msg "$T_DIR/dlq.out" bad-utf8 "m['body'] is None and m['body_hex'] == '$BADUTF8_HEX'"
check "DLQ copy of bad JSON keeps the body and the original routing key" \
    msg "$T_DIR/dlq.out" bad-json "body == '{\"event_id\":\"$(uid 101)\",\"event_type\":\"OrderCreated\",' and h['x-original-routing-key'] == '.'"
check "DLQ copy keeps the original headers (wrong type and all)" \
    msg "$T_DIR/dlq.out" retry-count-float "k['x-retry-count'] == 'd' and h['x-retry-count'] == 1.5 and h['event_type'] == 'OrderCreated' and h['x-original-routing-key'] == 'Order.OrderCreated'"

# pypub itself: what it puts on the wire for the spec example is wire spec
# 3.5 to the letter (sent straight into the DLQ, where nothing consumes).
check "pypub: publish the spec example into the DLQ" "$PYPUB" "$URL" \
    "${X}_dlq" "$Q"
"$AMQPGET" "$URL" "$Q.dlq" --max 1 > "$T_DIR/spec.out"
check "pypub: properties and headers exactly as eventsource-py's (3.5)" \
    msg "$T_DIR/spec.out" "$SPEC_ID" "
body == __import__('os').environ['SPEC_BODY'] and
m['properties'] == {'content_type': 'application/json',
    'content_encoding': 'utf-8', 'delivery_mode': 2, 'priority': 0,
    'message_id': '$SPEC_ID', 'timestamp': 1741964966} and
list(m['headers']) == sorted(m['headers']) and
{n: (k[n], h[n]) for n in h} == {
    'aggregate_id': ('S', '7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5'),
    'aggregate_type': ('S', 'Order'), 'aggregate_version': ('b', 3),
    'correlation_id': ('S', '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9'),
    'event_type': ('S', 'OrderCreated'),
    'tenant_id': ('S', '11111111-2222-4333-8444-555555555555'),
    'x-retry-count': ('b', 0)}"

# --- worker U (under the supervisor): an event type nobody wants ----------

XU=t$$.u
PU=$(plugin_dir pu inventory)
CU=$(conf u "$XU" grp <<EOF
plugin_dir = "$PU";
workers = 1;
status_socket = "$T_DIR/u.sock";
pid_file = "$T_DIR/u.pid";
EOF
)
"$EVBUSD" -d -f "$CU" 2> >(stamp >> "$T_DIR/u.log") &
PID_u=$!
T_PIDS="$T_PIDS $PID_u"
ustat() {
	"$EVBUSCTL" -f "$CU" status --json --socket "$T_DIR/u.sock" 2>/dev/null |
	    "$PY" -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if $1 else 1)"
}
if wait_for 30 ready u; then
	ok "supervised worker consumes"
	check "publish an event type no handler wants" pub "$XU" \
	    --body "$(ev "$(uid 6)" NobodyWantsThis)"
	check "unwanted event counted (skipped, consumed)" wait_for 20 \
	    ustat "s['skipped'] == 1 and s['events_consumed'] == 1 and s['handler_errors'] == 0"
	check "unwanted event counted as processed (spec 4.4: no handlers is success)" \
	    ustat "s['events_processed_success'] == 1 and s['messages_sent_to_dlq'] == 0"
	check "unwanted event acked: queue empty" wait_for 10 qis "$XU.grp" "0 1"
	check "unwanted event not dead-lettered" qis "$XU.grp.dlq" "0 0"
	check "handler for other types did not run" \
	    ustat "s['handlers']['inventory']['calls'] == 0"
else
	not_ok "supervised worker consumes"
	show_log u
fi
kill -TERM "$PID_u" 2>/dev/null
wait "$PID_u"

# --- worker S: graceful stop with a slow message in flight ----------------

XS=t$$.s
PS=$(plugin_dir ps chaos jsonl)
JS=$T_DIR/s.jsonl
CS=$(conf s "$XS" grp <<EOF
plugin_dir = "$PS";
shutdown_timeout = 30.0;
handlers = {
	jsonl = { path = "$JS"; };
	chaos = { path = "$JS"; };
};
EOF
)
start s "$CS"
check "worker S consumes" wait_for 30 ready s
SLOW=$(uid 7)
check "publish a slow message and two more" pub "$XS" \
    --body "$(ev "$SLOW" OrderCreated '"sleep_ms":4000')" \
    --body "$(ev "$(uid 8)" OrderCreated)" --body "$(ev "$(uid 9)" OrderCreated)"
check "slow message is in its handler" wait_for 20 jl "$JS" \
    "[x['event_id'] for x in C] == ['$SLOW']"
T0=$EPOCHREALTIME
kill -TERM "$PID_s"
wait "$PID_s"
RC=$?
check "SIGTERM: worker exits 0" [ "$RC" -eq 0 ]
# From the log's timestamps: the handler began, SIGTERM came while it
# slept its 4 s, and the worker stopped only after it was done.
check "SIGTERM came while the handler ran; the worker waited for it" \
    "$PY" - "$T_DIR/s.log" "$SLOW" "$T0" <<'PY'
import sys
log, slow, t0 = sys.argv[1], sys.argv[2], float(sys.argv[3])
began = [float(l.split()[0]) for l in open(log)
         if 'handler chaos: event %s:' % slow in l]
stopped = [float(l.split()[0]) for l in open(log) if l.rstrip().endswith(': stopped')]
ok = (len(began) == 1 and len(stopped) == 1 and began[0] < t0 < began[0] + 4 and
      stopped[0] - began[0] >= 3.9)
print('#   handler began at +0, SIGTERM at +%.3f s, stopped at +%.3f s' %
      (t0 - began[0], stopped[0] - began[0]) if began and stopped else
      '#   began %s, stopped %s' % (began, stopped))
sys.exit(0 if ok else 1)
PY
check "slow message finished (every handler ran)" jl "$JS" \
    "n('$SLOW') == 1 and len(L) == 1"
check "worker logged its stop" logged s "stopped"
check "the two waiting messages stay in the queue, none unacked" \
    wait_for 10 qis "$XS.grp" "2 0"
start s "$CS"
check "restarted worker S consumes" wait_for 30 ready s 2
check "restart: waiting messages handled" wait_for 20 jl "$JS" \
    "n('$(uid 8)') == 1 and n('$(uid 9)') == 1"
check "restart: slow message was acked, not redelivered" jl "$JS" \
    "n('$SLOW') == 1 and len(C) == 3"

check "worker W still consuming at the end" kill -0 "$PID_w"
if [ "$T_FAIL" -gt 0 ]; then
	echo "# log of worker W:"; show_log w 60
	echo "# log of worker S:"; show_log s 30
fi
finish
