#!/usr/bin/env bash
# ordered_topology_test.sh: ordering = "aggregate" seen from the broker
# (issue 15): `evbusctl declare` makes the partition exchange (type
# x-consistent-hash hashing the aggregate_id header), binds it from the
# main exchange with the group's keys, and declares the partition queues
# with single active consumer, dead-lettering to the DLQ and bound with
# weight 1; no group queue and no retry queue; bind/unbind act on the
# partition exchange; queue/health --broker sum the partitions; events of
# one aggregate all land in one partition, different aggregates spread; a
# broker without rabbitmq_consistent_hash_exchange gets the command to run;
# what a change of ordering leaves behind is reported.
#
# shellcheck disable=SC2317
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

WIRE=$EVBUS_BUILDDIR/tests/integration/wire
X="t$$.ord"
Q="$X.g"
RMQ_BIN=${RMQ_BIN:-/usr/lib/rabbitmq/bin}

plugin() {	# plugin enable|disable: the hash exchange plugin, live
	(
		# shellcheck disable=SC1091
		. "$EVBUS_BROKER_DIR/env"
		export HOME RABBITMQ_NODENAME RABBITMQ_CONF_ENV_FILE \
		    RABBITMQ_ENABLED_PLUGINS_FILE RABBITMQ_CONFIG_FILE
		"$RMQ_BIN/rabbitmq-plugins" -q -n "$RABBITMQ_NODENAME" "$1" \
		    rabbitmq_consistent_hash_exchange
	) > "$T_DIR/plugin.out" 2>&1
}

cleanup() {
	local names
	plugin enable
	names=$(rmqctl list_queues name 2>/dev/null | grep -F "$X." || true)
	# shellcheck disable=SC2086
	[ -n "$names" ] && "$WIRE" --delete $names "$Q.partitions" "$X" \
	    "$X.np.g.partitions" "${X}_dlq" >/dev/null 2>&1
	t_cleanup
}
trap cleanup EXIT

ctl() {	# ctl CONF ARGS...: output in $OUT, status in $RC
	local conf=$1; shift
	OUT=$("$EVBUSCTL" -f "$conf" "$@" 2>&1)
	RC=$?
}

PLUGINS=$T_DIR/plugins
mkdir -p "$PLUGINS" && chmod 0755 "$PLUGINS"
C=$(make_conf ord <<EOF
exchange_name = "$X";
consumer_group = "g";
ordering = "aggregate";
partitions = 4;
plugin_dir = "$PLUGINS";
routing_key_pattern = [ "Order.*", "Payment.#" ];
EOF
)

ctl "$C" declare
check "declare exits 0" [ "$RC" = 0 ]
check "declare names the partition exchange and queues" \
    grep -qF "partition exchange $Q.partitions, partition queues $Q.p0 .. p3" <<<"$OUT"

rmqctl list_exchanges name type arguments > "$T_DIR/ex" 2>&1
check "the partition exchange is x-consistent-hash on aggregate_id" \
    grep -qE "^$Q\\.partitions[[:space:]]+x-consistent-hash[[:space:]]+.*hash-header.*aggregate_id" "$T_DIR/ex"

rmqctl list_queues name arguments > "$T_DIR/q" 2>&1
for p in 0 1 2 3; do
	check "partition queue $Q.p$p: single active consumer, DLX" \
	    grep -qE "^$Q\\.p$p[[:space:]].*x-single-active-consumer\",true.*x-dead-letter-exchange\",\"${X}_dlq\".*x-dead-letter-routing-key\",\"$Q\"" "$T_DIR/q"
done
check "no partition beyond partitions - 1" bash -c "! grep -q '^$Q\\.p4[[:space:]]' '$T_DIR/q'"
check "no group queue $Q in ordered mode" bash -c "! grep -qE '^$Q[[:space:]]' '$T_DIR/q'"
check "no retry queue in ordered mode" bash -c "! grep -qF '$Q.retry.' '$T_DIR/q'"
check "the DLQ is there" grep -qE "^$Q\\.dlq[[:space:]]" "$T_DIR/q"

rmqctl list_bindings source_name destination_name destination_kind routing_key > "$T_DIR/b" 2>&1
for k in 'Order.*' 'Payment.#'; do
	check "main exchange -> partition exchange with key $k" \
	    grep -qP "^\\Q$X\\E\\t\\Q$Q.partitions\\E\\texchange\\t\\Q$k\\E$" "$T_DIR/b"
done
for p in 0 1 2 3; do
	check "partition exchange -> $Q.p$p with weight 1" \
	    grep -qP "^\\Q$Q.partitions\\E\\t\\Q$Q.p$p\\E\\tqueue\\t1$" "$T_DIR/b"
done

ctl "$C" bind "Customer.#"
check "bind exits 0 and names the partition exchange" \
    eval '[ "$RC" = 0 ] && grep -qF "bound partition exchange $Q.partitions to exchange $X" <<<"$OUT"'
ctl "$C" unbind "Payment.#"
check "unbind exits 0" [ "$RC" = 0 ]
rmqctl list_bindings source_name destination_name routing_key > "$T_DIR/b2" 2>&1
check "bind/unbind changed the partition exchange's bindings" \
    eval "grep -qP '^\\Q$X\\E\\t\\Q$Q.partitions\\E\\tCustomer\\.#$' '$T_DIR/b2' && ! grep -qP '^\\Q$X\\E\\t\\Q$Q.partitions\\E\\tPayment\\.#$' '$T_DIR/b2'"

# Routing: 4 events of each of 40 aggregates (evbusctl publish sets the
# aggregate_id header as eventsource-py does).  Each aggregate's events
# share one partition, and the aggregates spread over the partitions.
ev() {	# ev AGG VERSION
	printf '{"event_id":"%s","event_type":"OrderCreated","event_version":1,"occurred_at":"2025-03-14T15:09:26.535897Z","aggregate_id":"%s","aggregate_type":"Order","aggregate_version":%d,"tenant_id":null,"actor_id":null,"correlation_id":"%s","causation_id":null,"metadata":{}}' \
	    "$(cat /proc/sys/kernel/random/uuid)" "$1" "$2" \
	    "$(cat /proc/sys/kernel/random/uuid)"
}
for a in $(seq 1 40); do
	agg=$(printf '7d9e1f20-3a4b-4c5d-8e6f-%012d' "$a")
	for v in 1 2 3 4; do ev "$agg" "$v"; echo; done
done > "$T_DIR/events.jsonl"
ctl "$C" publish -i "$T_DIR/events.jsonl"
check "160 events published (exit $RC)" [ "$RC" = 0 ]
rmqctl list_queues name messages > "$T_DIR/depth" 2>&1
total=$(awk -v q="$Q.p" 'index($1, q) == 1 { s += $2 } END { print s + 0 }' "$T_DIR/depth")
check "all 160 events are in the partitions (got $total)" [ "$total" = 160 ]
used=$(awk -v q="$Q.p" 'index($1, q) == 1 && $2 > 0 { n++ } END { print n + 0 }' "$T_DIR/depth")
check "the aggregates spread over more than one partition ($used used)" [ "$used" -ge 2 ]
bad=$(awk -v q="$Q.p" 'index($1, q) == 1 && $2 % 4 != 0' "$T_DIR/depth")
check "each partition holds whole aggregates (4 events each)" [ -z "$bad" ]

ctl "$C" queue --broker --json
check "queue --broker sums the partitions" \
    eval 'grep -q "\"message_count\":160" <<<"$OUT" && grep -q "\"ordering\":\"aggregate\"" <<<"$OUT" && grep -q "\"partitions\":4" <<<"$OUT" && grep -q "\"partitions_without_consumer\":4" <<<"$OUT"'
ctl "$C" health --broker
check "health --broker: healthy, ordered, 4 partitions" \
    eval '[ "$RC" = 0 ] && grep -q "ordering: *aggregate, 4 partitions" <<<"$OUT"'

# What a change of ordering leaves behind: evbusd -1 with ordering =
# "none" on the same group says the partitions are still bound.
C_NONE=$T_DIR/none.conf
sed 's/ordering = "aggregate";/ordering = "none";/' "$C" > "$C_NONE"
chmod 600 "$C_NONE"
timeout 5 "$EVBUSD" --single-worker -f "$C_NONE" > "$T_DIR/none.log" 2>&1
check "ordering = none warns about the partition queues left bound" \
    grep -qF "partition queue $Q.p0 (of ordering = \"aggregate\") still exists" "$T_DIR/none.log"
C_BACK=$T_DIR/back.conf
sed 's/partitions = 4;/partitions = 2;/' "$C" > "$C_BACK"
chmod 600 "$C_BACK"
timeout 5 "$EVBUSD" --single-worker -f "$C_BACK" > "$T_DIR/back.log" 2>&1
check "ordered again, fewer partitions: the group queue and $Q.p2 are reported" \
    grep -qF "queue $Q (of ordering = \"none\") still exists" "$T_DIR/back.log"
"$WIRE" --delete "$Q" >/dev/null 2>&1
timeout 5 "$EVBUSD" --single-worker -f "$C_BACK" > "$T_DIR/back2.log" 2>&1
check "partitions = 2 with $Q.p2 still there: reported with its depth" \
    grep -qF "partition queue $Q.p2 exists (from a larger partitions setting?)" "$T_DIR/back2.log"

# A broker without the plugin: the command to run, not a bare 503.
plugin disable
check "the plugin could be disabled for this check" [ $? = 0 ]
C2=$(make_conf ord2 <<EOF
exchange_name = "$X.np";
consumer_group = "g";
ordering = "aggregate";
plugin_dir = "$PLUGINS";
EOF
)
ctl "$C2" declare
check "declare without the plugin fails (exit $RC)" [ "$RC" != 0 ]
check "and says which plugin to enable and how" \
    grep -qF 'run `rabbitmq-plugins enable rabbitmq_consistent_hash_exchange` on every node' <<<"$OUT"
timeout 4 "$EVBUSD" --single-worker -f "$C2" > "$T_DIR/np.log" 2>&1
check "evbusd says the same" \
    grep -qF "needs the broker plugin rabbitmq_consistent_hash_exchange" "$T_DIR/np.log"
plugin enable
check "the plugin is enabled again" [ $? = 0 ]
ctl "$C2" declare
check "with the plugin back, declare works" [ "$RC" = 0 ]
"$WIRE" --delete "$X.np.g.p0" "$X.np.g.p1" >/dev/null 2>&1

finish
