#!/usr/bin/env bash
# poison_test.sh: messages that crash workers, against evbusd's real pool
# and the real broker.  Each poison message runs exactly max_crashes times
# and lands in the DLQ exactly once, even when the next prefetched
# messages crash the worker too (its DLQ copy's ack must not wait in the
# coalesced batch, and a redelivered message must not run before the
# supervisor counted its earlier crash); every other message is handled.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"

X=t$$.p
P=$(plugin_dir pp chaos jsonl) || { not_ok "plugins not built"; finish; }
C=$(conf p "$X" gp <<EOF
plugin_dir = "$P";
workers = 3;
prefetch_count = 10;
max_crashes = 2;
status_socket = "$T_DIR/p.sock";
pid_file = "$T_DIR/p.pid";
handlers = {
	chaos = { path = "$T_DIR/p.chaos"; fsync = true; };
	jsonl = { path = "$T_DIR/p.jsonl"; };
};
EOF
)
"$EVBUSD" -d -f "$C" 2> >(stamp >> "$T_DIR/p.log") &
T_PIDS="$T_PIDS $!"
check "3 workers consuming" wait_for 30 ready p 3

# Five poison messages in a row, so that a worker that dead-letters one
# is killed by the next, then 30 that succeed.
bodies=()
for i in 1 2 3 4 5; do
	bodies+=(--body "$(ev "$(uid "$i")" OrderCreated '"chaos":"segv"')")
done
for i in $(seq 101 130); do
	bodies+=(--body "$(ev "$(uid "$i")" OrderCreated)")
done
check "publish 5 segfaulting and 30 good messages" pub "$X" "${bodies[@]}"

all_good() {
	jl "$T_DIR/p.jsonl" \
	    "all(n('00000000-0000-4000-8000-%012d' % i) >= 1 for i in range(101, 131))"
}
check "the 30 good messages were all handled" wait_for 90 all_good
check "the 5 poison messages reached the DLQ" \
    wait_for 90 qis "$X.gp.dlq" "5 0"
# A duplicate copy would follow a late crash: give it time to show.
sleep 3
"$AMQPGET" "$URL" "$X.gp.dlq" > "$T_DIR/p.dlq"
for i in 1 2 3 4 5; do
	id=$(uid "$i")
	n=$(grep -c "\"message_id\":\"$id\"" "$T_DIR/p.dlq")
	check "poison $id: exactly one DLQ copy (got $n)" [ "$n" = 1 ]
	check "poison $id: DLQ copy says SIGSEGV" \
	    msg "$T_DIR/p.dlq" "$id" "h['x-dlq-error-type'] == 'SIGSEGV'"
	check "poison $id: ran exactly max_crashes = 2 times" \
	    jl "$T_DIR/p.chaos" "sum(1 for x in C if x['event_id'] == '$id') == 2"
done
check "log: each crash counted with its message" \
    logged p "killed by signal 11 \\(SIGSEGV\\) while handling message" 10
check "the queue is empty, nothing left unacked" \
    wait_for 20 qis "$X.gp" "0 3"

finish
