#!/usr/bin/env bash
# publish_test.sh: `evbusctl publish` against the real broker: input forms
# (argument, JSON lines from a file or stdin, a JSON array), defaults
# filled in, invalid input refused as a whole, --best-effort, the --json
# result and its chunk count, ordering, a 10,000-event batch with
# confirms, trace continuation, and the errors for an unreachable broker
# and a wrong password.  What arrived is read raw with the wire helper
# (tests/integration/wire --dump), never trusted from evbusctl's output.
#
# all() below evaluates its arguments, so single-quoted "$vars" are meant.
# shellcheck disable=SC2016,SC2034,SC2317
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

WIRE=$EVBUS_BUILDDIR/tests/integration/wire
P="t$$"
AGG=7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5
UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01

cleanup() {
	local names=""
	for c in "$T_DIR"/*.conf; do
		[ -f "$c" ] || continue
		n=$(sed -n 's/^exchange_name = "\(.*\)";$/\1/p' "$c")
		names="$names $n ${n}_dlq $n.default $n.default.dlq"
		names="$names $n.default.retry.1000 $n.default.retry.2000"
		names="$names $n.default.retry.4000"
	done
	# shellcheck disable=SC2086
	[ -n "$names" ] && "$WIRE" --delete $names >/dev/null 2>&1
	t_cleanup
}
trap cleanup EXIT

# ctl CONF ARGS...: evbusctl; stdout in $T_DIR/out, stderr in $T_DIR/err,
# exit status in $RC.
ctl() {
	local conf=$1; shift
	"$EVBUSCTL" -f "$conf" "$@" > "$T_DIR/out" 2> "$T_DIR/err"
	RC=$?
}
# ev N [TYPE]: an event without event_id/occurred_at/correlation_id.
ev() {
	printf '{"aggregate_id":"%s","aggregate_type":"Order","event_type":"%s","seq":%d}' \
	    "$AGG" "${2:-OrderCreated}" "$1"
}
# events FIRST LAST: one event per line.
events() {
	local i
	for ((i = $1; i <= $2; i++)); do ev "$i"; echo; done
}
# dump QUEUE [what]: what is in the queue (consumed), one per line.
dump() { "$WIRE" --dump "$1" "${2:-body}" > "$T_DIR/dump" 2>&1; }
# seqs: the "seq" of every dumped body, space-separated.
seqs() { sed -n 's/.*"seq":\([0-9]*\).*/\1/p' "$T_DIR/dump" | tr '\n' ' '; }
count_is() { [ "$("$WIRE" --count "$1" 2>/dev/null)" = "$2" ]; }
out_is() { [ "$(cat "$T_DIR/out")" = "$1" ]; }
err_has() { grep -qF -- "$1" "$T_DIR/err"; }
out_has() { grep -qF -- "$1" "$T_DIR/out"; }
show() { sed 's/^/# /' "$T_DIR/out" "$T_DIR/err" | head -20; }
# all 'cmd' 'cmd'...: every command (a string, evaluated) succeeds.
all() {
	local c
	for c in "$@"; do eval "$c" || return 1; done
}

C=$(make_conf pub <<'EOF'
publish_chunk_size = 10;
EOF
)
Q=$P.pub.default
ctl "$C" declare
check "declare the test topology" [ "$RC" = 0 ]

# ---------------------------------------------------------------------
# One event as an argument, with the defaults filled in.

before=$(date +%s)
ctl "$C" publish "$(ev 1)"
check "one event as an argument: exit 0" [ "$RC" = 0 ]
check "one event: \"published 1 of 1 events\"" out_has "published 1 of 1 events"
[ "$RC" = 0 ] || show
dump "$Q"
body=$(cat "$T_DIR/dump")
check "one event: exactly one message arrived" [ "$(wc -l < "$T_DIR/dump")" = 1 ]
check "filled in: event_id is a fresh lowercase UUID4" grep -qE "^\\{\"event_id\":\"$UUID_RE\"," "$T_DIR/dump"
check "filled in: correlation_id is a fresh UUID4" grep -qE "\"correlation_id\":\"$UUID_RE\"" "$T_DIR/dump"
eid=$(sed -n 's/^{"event_id":"\([^"]*\)".*/\1/p' "$T_DIR/dump")
cid=$(sed -n 's/.*"correlation_id":"\([^"]*\)".*/\1/p' "$T_DIR/dump")
check "filled in: correlation_id differs from event_id" all '[ -n "$eid" ]' '[ "$eid" != "$cid" ]'
occ=$(sed -n 's/.*"occurred_at":"\([^"]*\)".*/\1/p' "$T_DIR/dump")
check "filled in: occurred_at \"$occ\" in the Z format" grep -qE '"occurred_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?Z"' "$T_DIR/dump"
occ_s=$(date -u -d "$occ" +%s 2>/dev/null || echo 0)
after=$(date +%s)
check "filled in: occurred_at is now (publish time)" all '[ "$occ_s" -ge $((before - 1)) ]' '[ "$occ_s" -le $((after + 1)) ]'
check "filled in: versions 1, metadata {}, nullables null, payload kept" \
    grep -qF '"event_type":"OrderCreated","event_version":1,' "$T_DIR/dump"
check "filled in: the rest of the body as pydantic writes it" \
    grep -qF "\"aggregate_id\":\"$AGG\",\"aggregate_type\":\"Order\",\"aggregate_version\":1,\"tenant_id\":null,\"actor_id\":null,\"correlation_id\":\"$cid\",\"causation_id\":null,\"metadata\":{},\"seq\":1}" "$T_DIR/dump"
# The filled-in ids are also on the headers and properties.
ctl "$C" publish "$(ev 2)"
dump "$Q" header:correlation_id
hcid=$(cat "$T_DIR/dump")
check "filled-in correlation_id travels as the correlation_id header" grep -qxE "$UUID_RE" "$T_DIR/dump"
ctl "$C" publish "$body"
dump "$Q"
check "republishing a received body gives the same bytes" [ "$(cat "$T_DIR/dump")" = "$body" ]
[ -n "$hcid" ] || echo "# no correlation_id header"

# ---------------------------------------------------------------------
# Input forms.

# JSON lines, with blank lines and leading whitespace around them.
{ echo; echo "  "; events 1 3; echo; } > "$T_DIR/three.jsonl"
ctl "$C" publish -i "$T_DIR/three.jsonl"
check "JSON lines from a file (-i FILE): exit 0" [ "$RC" = 0 ]
check "JSON lines from a file: \"published 3 of 3 events\"" out_has "published 3 of 3 events"
[ "$RC" = 0 ] || show
dump "$Q"
check "JSON lines from a file: the 3 events arrived in order" [ "$(seqs)" = "1 2 3 " ]

events 4 6 | "$EVBUSCTL" -f "$C" publish -i - > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "JSON lines from stdin (-i -): exit 0" [ "$RC" = 0 ]
check "JSON lines from stdin: \"published 3 of 3 events\"" out_has "published 3 of 3 events"
dump "$Q"
check "JSON lines from stdin: the 3 events arrived in order" [ "$(seqs)" = "4 5 6 " ]

ctl "$C" publish "[$(ev 7),$(ev 8),$(ev 9),$(ev 10)]"
check "a JSON array: exit 0, \"published 4 of 4 events\"" out_has "published 4 of 4 events"
dump "$Q"
check "a JSON array: the 4 events arrived in order" [ "$(seqs)" = "7 8 9 10 " ]

printf '{\n  "aggregate_id": "%s",\n  "aggregate_type": "Order",\n  "event_type": "OrderCreated",\n  "seq": 11\n}\n' "$AGG" > "$T_DIR/pretty.json"
ctl "$C" publish -i "$T_DIR/pretty.json"
check "one object over several lines: published 1 of 1" out_has "published 1 of 1 events"
dump "$Q"
check "one object over several lines: compact body arrived" [ "$(seqs)" = "11 " ]

# ---------------------------------------------------------------------
# Invalid input: the whole batch is refused, nothing is published.

{ events 1 2; ev 3 | sed 's/"aggregate_id":"[^"]*"/"aggregate_id":"not-a-uuid"/'; echo; events 4 5; } > "$T_DIR/bad.jsonl"
ctl "$C" publish -i "$T_DIR/bad.jsonl"
check "an invalid event in a batch: exit 65" [ "$RC" = 65 ]
check "invalid event: names the line and the field" err_has "bad.jsonl: line 3: aggregate_id: not a UUID"
check "invalid event: says nothing was published" err_has "nothing published"
check "invalid event: no result line on stdout" [ ! -s "$T_DIR/out" ]
[ "$RC" = 65 ] || show
check "invalid event: the queue stays empty" count_is "$Q" 0

ctl "$C" publish "[$(ev 1),{\"aggregate_type\":\"Order\",\"event_type\":\"X\"}]"
check "an invalid item in an array: exit 65" [ "$RC" = 65 ]
check "invalid item: names the item and the field" err_has "argument: item 2: aggregate_id: field required"
{ events 1 1; echo '{"aggregate_id": oops}'; } > "$T_DIR/badjson.jsonl"
ctl "$C" publish -i "$T_DIR/badjson.jsonl"
check "a line of invalid JSON: exit 65, names line 2" all '[ "$RC" = 65 ]' 'err_has "line 2: invalid JSON"'
check "after all refusals: the queue is still empty" count_is "$Q" 0
printf '  \n' > "$T_DIR/empty"
ctl "$C" publish -i "$T_DIR/empty"
check "empty input: exit 65, \"no events\"" all '[ "$RC" = 65 ]' 'err_has "no events"'
ctl "$C" publish
check "no event and no -i: usage error (exit 64)" [ "$RC" = 64 ]
ctl "$C" publish -i "$T_DIR/no-such-file"
check "a missing input file: exit 66" [ "$RC" = 66 ]

# --best-effort: the valid ones go out, the invalid one is counted failed.
"$EVBUSCTL" -j -f "$C" publish --best-effort -i "$T_DIR/bad.jsonl" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "--best-effort: exit 1 (one failed)" [ "$RC" = 1 ]
check "--best-effort: result counts the invalid one as failed" out_is '{"total":5,"published":4,"failed":1,"chunks":1}'
check "--best-effort: still names the bad line" err_has "line 3: aggregate_id"
[ "$RC" = 1 ] || show
dump "$Q"
check "--best-effort: exactly the 4 valid events arrived, in order" [ "$(seqs)" = "1 2 4 5 " ]

# ---------------------------------------------------------------------
# The --json result and chunks (publish_chunk_size = 10 here).

events 1 55 > "$T_DIR/55.jsonl"
"$EVBUSCTL" -j -f "$C" publish -i "$T_DIR/55.jsonl" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "--json, 55 events pipelined: exit 0" [ "$RC" = 0 ]
check "--json: exactly total/published/failed/chunks, chunks = ceil(55/10) = 6" out_is '{"total":55,"published":55,"failed":0,"chunks":6}'
[ "$RC" = 0 ] || show
dump "$Q"
check "--json, pipelined: the 55 events arrived in order" [ "$(seqs)" = "$(seq 1 55 | tr '\n' ' ')" ]
events 1 50 > "$T_DIR/50.jsonl"
"$EVBUSCTL" -j -f "$C" publish -i "$T_DIR/50.jsonl" > "$T_DIR/out" 2>&1
check "--json, 50 events: chunks = 50/10 = 5" out_is '{"total":50,"published":50,"failed":0,"chunks":5}'
"$WIRE" --dump "$Q" > /dev/null
"$EVBUSCTL" -j -f "$C" publish "$(ev 1)" > "$T_DIR/out" 2>&1
check "--json, one event: 1 chunk" out_is '{"total":1,"published":1,"failed":0,"chunks":1}'
"$WIRE" --dump "$Q" > /dev/null

# --ordered: one publish and confirm at a time, reported as 1 chunk.
events 1 200 > "$T_DIR/200.jsonl"
"$EVBUSCTL" -j -f "$C" publish --ordered -i "$T_DIR/200.jsonl" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "--ordered, 200 events: exit 0" [ "$RC" = 0 ]
check "--ordered: chunks is 1" out_is '{"total":200,"published":200,"failed":0,"chunks":1}'
dump "$Q"
check "--ordered: the 200 events arrived in order" [ "$(seqs)" = "$(seq 1 200 | tr '\n' ' ')" ]

# Unroutable (an exchange without a queue): failed, not published.
CU=$(make_conf unrouted < /dev/null)
"$EVBUSCTL" -j -f "$CU" publish -i "$T_DIR/three.jsonl" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "unroutable batch: exit 1, all counted failed" all '[ "$RC" = 1 ]' 'out_is "{\"total\":3,\"published\":0,\"failed\":3,\"chunks\":1}"'
check "unroutable batch: each event named as returned" [ "$(grep -c 'not published: returned unroutable: 312 NO_ROUTE' "$T_DIR/err")" = 3 ]

# ---------------------------------------------------------------------
# 10,000 events with confirms: every one arrives.

CB=$(make_conf big < /dev/null)
QB=$P.big.default
ctl "$CB" declare
events 1 10000 > "$T_DIR/10k.jsonl"
"$EVBUSCTL" -j -f "$CB" publish -i "$T_DIR/10k.jsonl" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "10,000 events: exit 0" [ "$RC" = 0 ]
check "10,000 events: all confirmed, 100 chunks" out_is '{"total":10000,"published":10000,"failed":0,"chunks":100}'
[ "$RC" = 0 ] || show
queue_has() { rmqctl list_queues name messages | grep -qxF "$1	$2"; }
check "10,000 events: the broker holds 10000 messages (rabbitmqctl)" wait_for 60 queue_has "$QB" 10000
dump "$QB"
check "10,000 events: all read back, in order" [ "$(seqs)" = "$(seq 1 10000 | tr '\n' ' ')" ]

# ---------------------------------------------------------------------
# Trace context.

ctl "$C" publish --traceparent "$TP" --tracestate "congo=t61rcWkgMzE" "$(ev 1)"
check "--traceparent: exit 0" [ "$RC" = 0 ]
"$WIRE" --dump "$Q" header:traceparent > "$T_DIR/tp" 2>&1
tp=$(cat "$T_DIR/tp")
check "--traceparent: received traceparent \"$tp\" has the same trace id" [ "${tp:0:36}" = "${TP:0:36}" ]
check "--traceparent: with a new span id" all '[ "${#tp}" = 55 ]' '[ "${tp:36:16}" != "${TP:36:16}" ]'
ctl "$C" publish --traceparent "$TP" --tracestate "congo=t61rcWkgMzE" "$(ev 2)"
dump "$Q" header:tracestate
check "--tracestate: passed through" [ "$(cat "$T_DIR/dump")" = "congo=t61rcWkgMzE" ]
ctl "$C" publish "$(ev 3)"
dump "$Q" header:traceparent
tp=$(cat "$T_DIR/dump")
check "no --traceparent: a new trace (\"$tp\")" all '[ "${#tp}" = 55 ]' '[ "${tp:3:32}" != "${TP:3:32}" ]'
ctl "$C" publish --traceparent "00-xyz" "$(ev 1)"
check "an invalid --traceparent: usage error (exit 64)" all '[ "$RC" = 64 ]' 'err_has "not a W3C traceparent"'
check "nothing left over in the queue" count_is "$Q" 0

# ---------------------------------------------------------------------
# Broker errors: exit 69, clear, and no password in the output.

closed=""
for _ in $(seq 1 50); do
	p=$(( 20000 + RANDOM % 30000 ))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then closed=$p; break; fi
done
"$EVBUSCTL" -f "$C" --url "amqp://guest:Sup3rS3cretPw@127.0.0.1:$closed/" publish "$(ev 1)" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "unreachable broker (closed port $closed): exit 69" [ "$RC" = 69 ]
check "unreachable broker: says where and what" all 'err_has "connect to 127.0.0.1:$closed"' 'err_has "connection refused"'
check "unreachable broker: the password is not shown" all '! grep -q "Sup3rS3cretPw" "$T_DIR/out" "$T_DIR/err"'
[ "$RC" = 69 ] || show

# shellcheck disable=SC2001
badurl=$(echo "$EVBUS_TEST_URL" | sed 's|^\(amqps\{0,1\}://[^:/@]*\):[^@]*@|\1:Wr0ngPassw0rd@|')
"$EVBUSCTL" -f "$C" --url "$badurl" publish "$(ev 1)" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "wrong password: exit 69" [ "$RC" = 69 ]
check "wrong password: says ACCESS_REFUSED, login refused" all 'err_has "ACCESS_REFUSED"' 'grep -qi "login.*refused" "$T_DIR/err"'
check "wrong password: the password is not shown" all '! grep -q "Wr0ngPassw0rd" "$T_DIR/out" "$T_DIR/err"'
[ "$RC" = 69 ] || show
# The same through EVBUS_PASSWORD.
EVBUS_PASSWORD=Wr0ngPassw0rd "$EVBUSCTL" -f "$C" --url "${badurl/:Wr0ngPassw0rd@/@}" publish "$(ev 1)" > "$T_DIR/out" 2> "$T_DIR/err"
RC=$?
check "wrong password from EVBUS_PASSWORD: exit 69, ACCESS_REFUSED, not shown" all '[ "$RC" = 69 ]' 'err_has "ACCESS_REFUSED"' '! grep -q "Wr0ngPassw0rd" "$T_DIR/err"'

finish
