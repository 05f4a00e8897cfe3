#!/usr/bin/env bash
# topology_test.sh: `evbusctl declare|bind|unbind` checked from the broker
# side (wire spec 2): names, types, flags and arguments of every exchange,
# queue and binding, for all four exchange types and the config options
# that change them; evbus's retry queues; routing per exchange type; a
# conflicting redeclaration refused with an explanation; bad bind input.
#
# rabbitmqctl takes seconds per call here, so the broker's view is read
# in a few snapshots (JSON, one object per line) and grepped.
#
# The helpers run through check(), which shellcheck cannot follow.
# shellcheck disable=SC2317
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

WIRE=$EVBUS_BUILDDIR/tests/integration/wire
P="t$$"			# make_conf's exchange prefix
EV_ORDER='{"aggregate_id":"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5","aggregate_type":"Order","event_type":"OrderCreated"}'
EV_CUSTOMER='{"aggregate_id":"7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5","aggregate_type":"Customer","event_type":"Registered"}'

# Delete everything this test declared, also when it fails.
cleanup() {
	local names
	[ -f "$T_DIR/snap-q.json" ] || {
		snapshot_raw list_queues q name
		snapshot_raw list_exchanges ex name
	} 2>/dev/null
	names=$(cat "$T_DIR"/snap-*.json 2>/dev/null |
	    grep -o "name\":\"$P\\.[^\"]*\"" | sed 's/^name":"//; s/"$//' |
	    sort -u)
	# shellcheck disable=SC2086
	[ -n "$names" ] && "$WIRE" --delete $names >/dev/null 2>&1
	t_cleanup
}
trap cleanup EXIT

# ctl CONF ARGS...: run evbusctl, output in $T_DIR/out, status in $RC.
ctl() {
	local conf=$1; shift
	"$EVBUSCTL" -f "$conf" "$@" > "$T_DIR/out" 2>&1
	RC=$?
	OUT=$(cat "$T_DIR/out")
}

# A snapshot of the broker's entities, one JSON object per line.
snapshot_raw() {
	local what=$1 file=$T_DIR/snap-$2.json; shift 2
	rmqctl "$what" --formatter json "$@" | sed -n 's/^[[,]\{0,1\}\({.*}\)$/\1/p' > "$file"
}
snapshot() {
	local what=$1 file=$T_DIR/snap-$2.json
	snapshot_raw "$@"
	# The absence checks below mean nothing without a snapshot.
	check "rabbitmqctl $what: got the broker's view" grep -q "\"$P\\." "$file"
}

# has SNAP LINE: the snapshot holds exactly this object.
has() { grep -qxF -- "$2" "$T_DIR/snap-$1.json"; }
# hasnt SNAP NAME: no object named NAME (name or destination).
hasnt() {
	[ -s "$T_DIR/snap-$1.json" ] &&
	    ! grep -qF -- "\"name\":\"$2\"," "$T_DIR/snap-$1.json"
}

ex() {	# NAME TYPE DURABLE AUTO_DELETE
	echo "{\"name\":\"$1\",\"type\":\"$2\",\"durable\":$3,\"auto_delete\":$4,\"arguments\":[]}"
}
q() {	# NAME DURABLE AUTO_DELETE ARGS-JSON
	echo "{\"name\":\"$1\",\"durable\":$2,\"auto_delete\":$3,\"arguments\":[$4]}"
}
dlx_args() {	# the main queue's arguments with enable_dlq, exactly
	echo "[\"x-dead-letter-exchange\",\"longstr\",\"$1_dlq\"],[\"x-dead-letter-routing-key\",\"longstr\",\"$1.$2\"]"
}
retry_args() {	# a retry queue's: dead-letter via "" back into the queue
	echo "[\"x-dead-letter-exchange\",\"longstr\",\"\"],[\"x-dead-letter-routing-key\",\"longstr\",\"$1\"]"
}
b() {	# SOURCE DEST KEY
	echo "{\"source_name\":\"$1\",\"destination_name\":\"$2\",\"routing_key\":\"$3\",\"arguments\":[]}"
}
# bindings_from SNAP X: every binding whose source is X, sorted.
bindings_from() {
	grep -F -- "{\"source_name\":\"$2\"," "$T_DIR/snap-$1.json" | sort
}
# retry_queues SNAP QUEUE: the delays of QUEUE's retry queues, sorted.
retry_queues() {
	grep -o "\"name\":\"$2\\.retry\\.[0-9]*\"" "$T_DIR/snap-$1.json" |
	    sed 's/.*\.retry\.//; s/"$//' | sort -n | tr '\n' ' '
}
count() { "$WIRE" --count "$1" 2>/dev/null; }
count_is() { [ "$(count "$1")" = "$2" ]; }

# ---------------------------------------------------------------------
# Declare: every exchange type with the defaults, and the options.

for t in topic direct fanout headers; do
	c=$(make_conf "ty_$t" <<EOF
exchange_type = "$t";
EOF
)
	ctl "$c" declare
	check "declare $t exits 0" [ "$RC" = 0 ]
	[ "$RC" = 0 ] || echo "# $OUT"
done
ctl "$T_DIR/ty_topic.conf" declare
check "declare again (idempotent) exits 0" [ "$RC" = 0 ]

C_NODLQ=$(make_conf nodlq <<'EOF'
enable_dlq = false;
EOF
)
C_DLQARGS=$(make_conf dlqargs <<'EOF'
dlq_message_ttl = 60000;
dlq_max_length = 100;
EOF
)
C_FLAGS=$(make_conf flags <<'EOF'
durable = false;
auto_delete = true;
EOF
)
C_PATTERNS=$(make_conf patterns <<'EOF'
routing_key_pattern = [ "Order.*", "Payment.#", "Customer.Registered" ];
EOF
)
C_RETRY5=$(make_conf retry5 <<'EOF'
max_retries = 5;
retry_base_delay = 0.5;
retry_max_delay = 2.0;
EOF
)
C_RETRY0=$(make_conf retry0 <<'EOF'
max_retries = 0;
EOF
)
C_UPPER=$(make_conf upper <<'EOF'
exchange_type = "FANOUT";
consumer_group = "g1";
EOF
)
for c in "$C_NODLQ" "$C_DLQARGS" "$C_FLAGS" "$C_PATTERNS" "$C_RETRY5" \
    "$C_RETRY0" "$C_UPPER"; do
	ctl "$c" declare
	check "declare $(basename "$c" .conf) exits 0" [ "$RC" = 0 ]
	[ "$RC" = 0 ] || echo "# $OUT"
done

# ---------------------------------------------------------------------
# Routing per type, with the default bindings and with patterns.

# topic: two groups on one exchange, "Order.*" and "Customer.*".
C_RT_A=$(make_conf rt_topic <<'EOF'
exchange_type = "topic";
consumer_group = "orders";
routing_key_pattern = "Order.*";
EOF
)
C_RT_B=$T_DIR/rt_topic_b.conf
sed 's/"orders"/"customers"/; s/"Order\.\*"/"Customer.*"/' "$C_RT_A" > "$C_RT_B"
chmod 600 "$C_RT_B"
ctl "$C_RT_A" declare
r1=$RC
ctl "$C_RT_B" declare
check "declare two topic groups on one exchange" [ "$r1$RC" = 00 ]
ctl "$C_RT_A" publish "$EV_ORDER"
check "topic: publish Order.OrderCreated exits 0" [ "$RC" = 0 ]
check "topic: \"Order.*\" got Order.OrderCreated" count_is "$P.rt_topic.orders" 1
check "topic: \"Customer.*\" did not" count_is "$P.rt_topic.customers" 0
ctl "$C_RT_A" publish "$EV_CUSTOMER"
check "topic: \"Customer.*\" got Customer.Registered" count_is "$P.rt_topic.customers" 1
check "topic: \"Order.*\" did not" count_is "$P.rt_topic.orders" 1
ctl "$T_DIR/ty_topic.conf" publish "$EV_ORDER"
check "topic: default binding \"#\" gets everything" count_is "$P.ty_topic.default" 1

# direct: the default key is the queue name, which no event carries.
C_D=$T_DIR/ty_direct.conf
QD=$P.ty_direct.default
ctl "$C_D" publish "$EV_ORDER"
check "direct, default binding: publish is returned (exit 1)" [ "$RC" = 1 ]
check "direct, default binding: says \"published 0 of 1\"" grep -q "published 0 of 1" "$T_DIR/out"
check "direct, default binding: queue got nothing" count_is "$QD" 0
ctl "$C_D" bind --event-type Order.OrderCreated
check "direct: bind --event-type Order.OrderCreated exits 0" [ "$RC" = 0 ]
ctl "$C_D" publish "$EV_ORDER"
check "direct, bound: publish exits 0" [ "$RC" = 0 ]
check "direct, bound: queue got it" count_is "$QD" 1
ctl "$C_D" publish "$EV_CUSTOMER"
check "direct, bound: another event type is still returned" [ "$RC" = 1 ]
check "direct, bound: and not queued" count_is "$QD" 1
ctl "$C_D" bind "Customer.Registered" "Payment.#"
check "direct: bind two plain routing keys exits 0" [ "$RC" = 0 ]

# fanout and headers (no binding arguments): everything.
for t in fanout headers; do
	ctl "$T_DIR/ty_$t.conf" publish "$EV_ORDER"
	r1=$RC
	ctl "$T_DIR/ty_$t.conf" publish "$EV_CUSTOMER"
	check "$t: both publishes exit 0" [ "$r1$RC" = 00 ]
	check "$t: queue got both event types" count_is "$P.ty_$t.default" 2
done
ctl "$C_UPPER" publish "$EV_CUSTOMER"
check "exchange_type FANOUT (any case): routed as fanout" count_is "$P.upper.g1" 1

# ---------------------------------------------------------------------
# Bad input to bind.

ctl "$C_D" bind --event-type bad
check "bind --event-type bad: usage error (exit 64)" [ "$RC" = 64 ]
check "bind --event-type bad: says what an event type is" grep -q "not an Aggregate.EventType" "$T_DIR/out"
for bad in .OrderCreated Order. 'Or der.Created' 'Order/x.Created'; do
	ctl "$C_D" bind --event-type "$bad"
	check "bind --event-type '$bad' refused (exit 64)" [ "$RC" = 64 ]
done
ctl "$C_D" bind
check "bind without a key: usage error (exit 64)" [ "$RC" = 64 ]

# ---------------------------------------------------------------------
# Conflicting redeclarations: refused with the entity and what to check.

conflict() {	# what conf expect-entity expect-setting
	local what=$1 conf=$2 entity=$3 setting=$4
	ctl "$conf" declare
	check "$what: refused with exit 1, not a crash (exit $RC)" [ "$RC" = 1 ]
	check "$what: 406 PRECONDITION_FAILED reported" grep -q "406 PRECONDITION_FAILED" "$T_DIR/out"
	check "$what: names $entity" grep -qF -- "$entity" "$T_DIR/out"
	check "$what: says to check $setting" grep -qF -- "check $setting" "$T_DIR/out"
	grep -q "406" "$T_DIR/out" || echo "# $OUT"
}
C_X=$T_DIR/ty_topic_nondurable.conf
{ cat "$T_DIR/ty_topic.conf"; echo "durable = false;"; } > "$C_X"; chmod 600 "$C_X"
# With enable_dlq the DLQ exchange is the first entity declared.
conflict "redeclare durable -> non-durable" "$C_X" \
    "exchange '$P.ty_topic_dlq'" "exchange_type, durable and auto_delete"
C_X=$T_DIR/ty_topic_nodlq.conf
{ cat "$T_DIR/ty_topic.conf"; echo "enable_dlq = false;"; } > "$C_X"; chmod 600 "$C_X"
conflict "redeclare enable_dlq true -> false" "$C_X" \
    "queue '$P.ty_topic.default'" "durable, auto_delete, enable_dlq"
check "enable_dlq conflict: names the argument" grep -q "x-dead-letter-exchange" "$T_DIR/out"
C_X=$T_DIR/ty_topic_direct.conf
sed 's/"topic"/"direct"/' "$T_DIR/ty_topic.conf" > "$C_X"; chmod 600 "$C_X"
conflict "redeclare topic -> direct" "$C_X" \
    "exchange '$P.ty_topic'" "exchange_type"

# ---------------------------------------------------------------------
# The broker's view.

snapshot list_exchanges ex name type durable auto_delete arguments
snapshot list_queues q name durable auto_delete arguments
snapshot list_bindings b source_name destination_name routing_key arguments

for t in topic direct fanout headers; do
	X=$P.ty_$t
	check "$t: exchange $X is $t, durable, not auto-delete, no arguments" has ex "$(ex "$X" "$t" true false)"
	check "$t: DLQ exchange ${X}_dlq is direct" has ex "$(ex "${X}_dlq" direct true false)"
	check "$t: queue $X.default with exactly the two dead-letter arguments" has q "$(q "$X.default" true false "$(dlx_args "$X" default)")"
	check "$t: DLQ queue $X.default.dlq without arguments" has q "$(q "$X.default.dlq" true false "")"
	check "$t: DLQ binding ${X}_dlq -> $X.default.dlq key $X.default" has b "$(b "${X}_dlq" "$X.default.dlq" "$X.default")"
	check "$t: retry queues 1000 2000 4000 (max_retries 3, defaults)" [ "$(retry_queues q "$X.default")" = "1000 2000 4000 " ]
	for ms in 1000 2000 4000; do
		check "$t: retry queue $X.default.retry.$ms dead-letters via \"\" to $X.default" has q "$(q "$X.default.retry.$ms" true false "$(retry_args "$X.default")")"
	done
done
for t in topic fanout headers; do
	case $t in topic) k='#' ;; *) k='' ;; esac
	X=$P.ty_$t
	check "$t: exactly one binding, key \"$k\", no arguments" [ "$(bindings_from b "$X")" = "$(b "$X" "$X.default" "$k")" ]
done
X=$P.ty_direct
want=$(for k in "$X.default" Order.OrderCreated Customer.Registered 'Payment.#'; do b "$X" "$X.default" "$k"; done | sort)
check "direct: binding key = queue name, plus the bound keys" [ "$(bindings_from b "$X")" = "$want" ]
X=$P.upper
check "exchange_type \"FANOUT\" declared as fanout" has ex "$(ex "$X" fanout true false)"

X=$P.nodlq
check "enable_dlq = false: main queue has no arguments at all" has q "$(q "$X.default" true false "")"
check "enable_dlq = false: no DLQ exchange" hasnt ex "${X}_dlq"
check "enable_dlq = false: no DLQ queue" hasnt q "$X.default.dlq"
check "enable_dlq = false: the retry queues are still there" [ "$(retry_queues q "$X.default")" = "1000 2000 4000 " ]

X=$P.dlqargs
check "dlq_message_ttl/dlq_max_length: main queue args unchanged" has q "$(q "$X.default" true false "$(dlx_args "$X" default)")"
check "dlq_message_ttl/dlq_max_length: DLQ queue has exactly x-message-ttl 60000 and x-max-length 100 (integers)" \
    grep -qxE "\\{\"name\":\"$X\\.default\\.dlq\",\"durable\":true,\"auto_delete\":false,\"arguments\":\\[\\[\"x-message-ttl\",\"(long|signedint|short|byte)\",60000\\],\\[\"x-max-length\",\"(long|signedint|short|byte)\",100\\]\\]\\}" "$T_DIR/snap-q.json"

X=$P.flags
check "durable false, auto_delete true: main exchange" has ex "$(ex "$X" topic false true)"
check "durable false, auto_delete true: DLQ exchange" has ex "$(ex "${X}_dlq" direct false true)"
check "durable false, auto_delete true: main queue" has q "$(q "$X.default" false true "$(dlx_args "$X" default)")"
check "durable false, auto_delete true: DLQ queue" has q "$(q "$X.default.dlq" false true "")"
check "durable false: retry queues not durable, never auto-delete" has q "$(q "$X.default.retry.1000" false false "$(retry_args "$X.default")")"

X=$P.patterns
want=$(for k in Order.\* Payment.\# Customer.Registered; do b "$X" "$X.default" "$k"; done | sort)
check "routing_key_pattern list: one binding per key, no \"#\"" [ "$(bindings_from b "$X")" = "$want" ]

check "max_retries 5, base 0.5 s, max 2 s: retry queues 500 1000 2000" [ "$(retry_queues q "$P.retry5.default")" = "500 1000 2000 " ]
check "max_retries 5: retry queue args" has q "$(q "$P.retry5.default.retry.500" true false "$(retry_args "$P.retry5.default")")"
no_retry_queues() {
	has q "$(q "$1" true false "$(dlx_args "${1%.default}" default)")" &&
	    [ -z "$(retry_queues q "$1")" ]
}
check "max_retries 0: no retry queues" no_retry_queues "$P.retry0.default"

# The refused redeclarations changed nothing.
check "after the refused redeclarations: $P.ty_topic still topic, durable" has ex "$(ex "$P.ty_topic" topic true false)"
check "after the refused redeclarations: DLQ exchange still durable" has ex "$(ex "$P.ty_topic_dlq" direct true false)"
check "after the refused redeclarations: queue args unchanged" has q "$(q "$P.ty_topic.default" true false "$(dlx_args "$P.ty_topic" default)")"
check "after the refused redeclarations: $P.nodlq.default still without arguments" has q "$(q "$P.nodlq.default" true false "")"

# Declared in order (wire spec 2.1), the DLQ entities come before the
# queue that refuses, so this one goes after the snapshot.
C_X=$T_DIR/nodlq_dlq.conf
sed '/enable_dlq/d' "$C_NODLQ" > "$C_X"; chmod 600 "$C_X"
conflict "redeclare enable_dlq false -> true" "$C_X" \
    "queue '$P.nodlq.default'" "durable, auto_delete, enable_dlq"

# ---------------------------------------------------------------------
# Unbind.

ctl "$C_D" unbind --event-type Order.OrderCreated
check "unbind --event-type Order.OrderCreated exits 0" [ "$RC" = 0 ]
ctl "$C_D" unbind "Payment.#"
check "unbind Payment.# exits 0" [ "$RC" = 0 ]
ctl "$C_D" publish "$EV_ORDER"
check "direct, unbound: publish returned again (exit 1)" [ "$RC" = 1 ]
check "direct, unbound: queue did not get it" count_is "$QD" 1
snapshot list_bindings b2 source_name destination_name routing_key arguments
X=$P.ty_direct
want=$(for k in "$X.default" Customer.Registered; do b "$X" "$X.default" "$k"; done | sort)
check "unbind removed exactly those bindings" [ "$(bindings_from b2 "$X")" = "$want" ]

finish
