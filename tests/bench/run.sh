#!/usr/bin/env bash
# run.sh: evbus's benchmark suite (`make bench`).  Starts its own throwaway
# RabbitMQ and measures, side by side in one run so the ratios hold on a
# noisy machine:
#   consume   throughput: a minimal rabbitmq-c consumer (the ceiling for one
#             connection) vs evbusd with a no-op handler, 1/2/4 workers x
#             prefetch 1/10/100, in interleaved rounds;
#   wait      evbusd with a handler that waits 1 ms per event (what the pool
#             is for), 1/2/4/8 workers;
#   python    for comparison, where Debian's python3-aio-pika and
#             python3-celery are installed: a bare aio-pika consumer and a
#             Celery prefork pool on the same events;
#   latency   publish to handled at a moderate fixed rate;
#   restart   SIGKILL of a worker to its replacement consuming, and memory
#             (RSS of the supervisor and of each worker);
#   publish   confirmed pipelined vs unconfirmed (publish_bench);
#   cluster   on a 3-node cluster (tests/cluster.sh): consume and publish
#             with confirms, quorum vs classic queues;
#   ordered   ordered partitions (ordering = "aggregate", 16 partitions) vs
#             unordered, with the no-op and the 1 ms handler, 1/2/4/8
#             workers, on events of BENCH_AGGS aggregates interleaved;
#   cost      CPU per message (user+sys of every process, from their own
#             accounting) of the bare consumer acking each message or in
#             batches vs evbusd (no-op and jsonl handlers), RSS and PSS
#             with the bundled handlers loaded (and of the bare consumer
#             on the same events), and heap allocations per message
#             (malloc_count.so).
# Every figure is the median of BENCH_RUNS runs (default 3).
# Environment: BENCH_ONLY (sections to run, e.g. "consume latency"; all by
# default: consume wait python latency restart cluster publish ordered
# cost), BENCH_N (messages per run, 20000; BENCH_COST_N, 50000, in the
# cost section; BENCH_COST_OTHER, another build directory whose evbusd
# the cost section also measures, e.g. before a change; BENCH_COST_PARTS,
# which of its parts run: "cpu mem alloc" by default; BENCH_MEM_SMAPS, a
# directory where the memory part copies each process's steady
# /proc/PID/smaps), BENCH_SIZE
# (bytes, 512), BENCH_RUNS,
# BENCH_RATE (latency run, msgs/s, 1000), BENCH_WAIT_N (messages per "wait"
# and ordered 1 ms run, 3000), BENCH_AGGS (aggregates of the ordered
# section, 1024), BENCH_PYTHON (/usr/bin/python3).
set -u
: "${EVBUS_SRCDIR:?run through make bench}"
: "${EVBUS_BUILDDIR:?run through make bench}"
B=$EVBUS_BUILDDIR
N=${BENCH_N:-20000}
SIZE=${BENCH_SIZE:-512}
RUNS=${BENCH_RUNS:-3}
RATE=${BENCH_RATE:-1000}
PY=${BENCH_PYTHON:-/usr/bin/python3}
CB=$B/tests/bench/consume_bench
T=$(mktemp -d /tmp/evbus-bench.XXXXXX)
EVBUSD_PID=""

cleanup() {
	# Runs start evbusd inside $(...), so their pids are in files.
	local f pid
	for f in "$T"/evbusd.run.*; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		pkill -KILL -P "$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	done
	bash "$EVBUS_SRCDIR/tests/broker.sh" stop "$T/broker" >/dev/null 2>&1
	[ -d "$T/cluster" ] && bash "$EVBUS_SRCDIR/tests/cluster.sh" stop \
	    "$T/cluster" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

echo "starting a throwaway broker..." >&2
URL=$(bash "$EVBUS_SRCDIR/tests/broker.sh" start "$T/broker" --owner $$) || exit 1

mkdir -p "$T/plugins"
chmod 755 "$T/plugins"
cp "$B/tests/bench/.libs/noop.so" "$T/plugins/" || exit 1

want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
cost_part() { [[ " ${BENCH_COST_PARTS:-cpu mem alloc} " == *" $1 "* ]]; }

# median: of the numbers on stdin; a failed run ("NA") does not count, and
# no number at all prints n/a.
median() {
	awk '$1 ~ /^[0-9.]+$/' | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'
}

# rate FILES...: messages/s from the "first/last/count" lines.
rate_of() {
	awk '/^first/ { if (!f || $2 < f) f = $2 }
	     /^last/ { if ($2 > l) l = $2 }
	     /^count/ { n += $2 }
	     END { if (l > f) printf "%.0f\n", n / ((l - f) / 1e6); else print 0 }' "$@"
}

# conf WORKERS PREFETCH [WAIT_US [DONE_AT]]; CONF_URL (a libconfig value),
# CONF_X (exchange) and CONF_QT (queue type) change the broker and queue;
# CONF_ORD=P turns on ordered partitions, P of them; CONF_PLUGINS is
# another plugin directory, CONF_HANDLERS the other handlers' settings;
# CONF_NOOP_OUT, when set (even to ""), replaces the no-op handler's
# out = "$T/noop" (its first/last/latency records).
conf() {
	cat > "$T/evbusd.conf" <<EOF
rabbitmq_url = ${CONF_URL:-\"$URL\"};
exchange_name = "${CONF_X:-bench}";
queue_type = "${CONF_QT:-classic}";
consumer_group = "g";
consumer_name = "bench";
workers = $1;
prefetch_count = $2;
plugin_dir = "${CONF_PLUGINS:-$T/plugins}";
status_socket = "$T/evbusd.sock";
pid_file = "$T/evbusd.pid";
heartbeat = 30;
${CONF_ORD:+ordering = \"aggregate\"; partitions = $CONF_ORD;}
handlers = { noop = { ${CONF_NOOP_OUT-out = \"$T/noop\";} wait_us = ${3:-0};
    counter = "$T/count"; done = "$T/done"; done_at = ${4:-0}; };
    ${CONF_HANDLERS:-} };
EOF
	chmod 600 "$T/evbusd.conf"
}

# The noop handlers count events in a shared file and the one that reaches
# done_at writes to a FIFO, so a run's end is known without polling evbusd
# or the broker while it runs (polling evbusctl status every 50 ms cost
# evbusd ~15% at prefetch 1 on two cores; rabbitmqctl far more).
arm() {
	rm -f "$T/done" "$T/count"
	mkfifo "$T/done" || return 1
	head -c 8 /dev/zero > "$T/count"
	exec 3<> "$T/done"	# read-write: opening does not block
}
wait_done() {	# wait_done N
	local i line
	for i in $(seq 1 300); do
		if read -r -t 1 -u 3 line; then
			exec 3<&-
			return 0
		fi
		if ! kill -0 "$EVBUSD_PID" 2>/dev/null; then
			exec 3<&-
			echo "evbusd exited before handling $1 messages;" \
			    "see its log:" >&2
			tail -n 5 "$T/evbusd.log" >&2
			return 1
		fi
	done
	exec 3<&-
	echo "evbusd did not handle $1 messages in 300 s" >&2
	return 1
}

start_evbusd() {	# start_evbusd [nowait]
	"$B/evbusd" -d -f "$T/evbusd.conf" > "$T/evbusd.log" 2>&1 3<&- &
	EVBUSD_PID=$!
	echo "$EVBUSD_PID" > "$T/evbusd.run.$EVBUSD_PID"
	[ "${1:-}" = nowait ] && return 0
	local i
	for i in $(seq 1 200); do
		"$B/evbusctl" -f "$T/evbusd.conf" health >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "evbusd did not become healthy" >&2
	return 1
}

stop_evbusd() {
	kill -TERM "$EVBUSD_PID" 2>/dev/null
	wait "$EVBUSD_PID" 2>/dev/null
	rm -f "$T/evbusd.run.$EVBUSD_PID"
	EVBUSD_PID=""
}

conf 1 10
"$B/evbusctl" -f "$T/evbusd.conf" declare >/dev/null || exit 1

baseline_run() {	# PREFETCH -> msgs/s
	"$CB" preload "$URL" bench.g "$N" "$SIZE" || return 1
	"$CB" baseline "$URL" bench.g "$N" "$1" > "$T/base.out" || return 1
	rate_of "$T/base.out"
}

# evbus_run WORKERS PREFETCH [WAIT_US [N]] -> msgs/s; PRE_URL preloads,
# or PRE_FILE (N events, JSON lines) is published by evbusctl through the
# exchange, so its routing and its partitions apply.
evbus_run() {
	local n=${4:-$N}
	conf "$1" "$2" "${3:-0}" "$n"
	rm -f "$T"/noop.*
	if [ -n "${PRE_FILE:-}" ]; then
		"$B/evbusctl" -f "$T/evbusd.conf" publish --no-declare \
		    --window 1000 -i "$PRE_FILE" > /dev/null || return 1
	else
		"$CB" preload "${PRE_URL:-$URL}" "${CONF_X:-bench}.g" "$n" \
		    "$SIZE" || return 1
	fi
	arm || return 1
	start_evbusd nowait
	if ! wait_done "$n"; then
		stop_evbusd
		return 1
	fi
	stop_evbusd
	rate_of "$T"/noop.*
}

printf '\nevbus benchmark: %s messages of %s bytes, median of %s runs\n' \
    "$N" "$SIZE" "$RUNS"
printf 'machine: %s, %s cores, %s\n\n' "$(uname -m)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# Rounds are interleaved: each one measures the baseline and then every
# evbusd pool at that prefetch, so drift (other load on the machine, the
# broker's own state) hits both sides alike.  "vs base" is the median of
# the per-round ratios.
rec() {	# rec KEY ROUND VALUE BASE: a line of $T/rates; a failed run is NA
	echo "$1 $2 ${3:-NA} ${4:-NA}" >> "$T/rates"
}
row() {	# row LABEL KEY: median msgs/s and ratio of KEY's lines in $T/rates
	local v r
	v=$(awk -v k="$2" '$1 == k { print $3 }' "$T/rates" | median)
	r=$(awk -v k="$2" '$1 == k && $3 ~ /^[0-9.]+$/ && $4 > 0 {
	    printf "%.2f\n", $3 / $4 }' "$T/rates" | median)
	printf '%-34s %12s %10s\n' "$1" "$v" "$r"
}
if want consume; then
	printf '%-34s %12s %10s\n' "consume (no-op handler)" "msgs/s" "vs base"
	for p in 1 10 100; do
		: > "$T/rates"
		for r in $(seq 1 "$RUNS"); do
			b=$(baseline_run "$p")
			rec base "$r" "$b" "$b"
			for w in 1 2 4; do
				rec "w$w" "$r" "$(evbus_run "$w" "$p")" "$b"
			done
		done
		row "baseline rabbitmq-c, prefetch $p" base
		for w in 1 2 4; do
			row "evbusd $w worker(s), prefetch $p" "w$w"
		done
	done
fi

# What the pool is for: handlers that wait (a database, an HTTP call).
if want wait; then
	WN=${BENCH_WAIT_N:-3000}
	printf '\n%-34s %12s %10s\n' "handler waiting 1 ms per event" \
	    "msgs/s" "vs 1 wkr"
	: > "$T/rates"
	for r in $(seq 1 "$RUNS"); do
		one=$(evbus_run 1 10 1000 "$WN")
		rec w1 "$r" "$one" "$one"
		for w in 2 4 8; do
			rec "w$w" "$r" "$(evbus_run "$w" 10 1000 "$WN")" "$one"
		done
	done
	for w in 1 2 4 8; do
		row "evbusd $w worker(s), prefetch 10" "w$w"
	done
fi

# Python consumers on the same events, where Debian's packages are there.
# Celery needs its own queue (it declares it without our DLQ arguments) and
# its own task messages, which carry the same event as their argument.
aiopika_run() {	# PREFETCH -> msgs/s
	"$CB" preload "$URL" bench.g "$N" "$SIZE" || return 1
	"$PY" "$EVBUS_SRCDIR/tests/bench/aiopika_bench.py" "$URL" bench.g \
	    "$N" "$1" > "$T/aiopika.out" || return 1
	rate_of "$T/aiopika.out"
}
celery_run() {	# CONCURRENCY PREFETCH -> msgs/s
	local cy=$EVBUS_SRCDIR/tests/bench/celery_bench.py
	mkdir -p "$T/celery"
	"$PY" "$cy" preload "$URL" bench.celery "$N" "$SIZE" || return 1
	"$PY" "$cy" run "$URL" bench.celery "$N" "$1" "$2" "$T/celery/out" \
	    2>> "$T/celery.log" || return 1
	rate_of "$T"/celery/out.*
}
if want python; then
	printf '\n%-34s %12s %10s\n' "python, same events" "msgs/s" "vs base"
	if "$PY" -c 'import aio_pika' 2>/dev/null; then
		for p in 10 100; do
			: > "$T/rates"
			for r in $(seq 1 "$RUNS"); do
				b=$(baseline_run "$p")
				rec a "$r" "$(aiopika_run "$p")" "$b"
			done
			row "aio-pika bare consumer, prefetch $p" a
		done
	else
		echo "aio-pika: not installed (apt-get install python3-aio-pika)"
	fi
	if "$PY" -c 'import celery' 2>/dev/null; then
		for c in 2 4; do
			: > "$T/rates"
			for r in $(seq 1 "$RUNS"); do
				b=$(baseline_run 100)
				rec c "$r" "$(celery_run "$c" 100)" "$b"
			done
			row "Celery prefork $c procs, prefetch 100" c
		done
	else
		echo "Celery: not installed (apt-get install python3-celery)"
	fi
fi

# Latency at a moderate fixed rate: p50/p90/p99 of each run, then the
# median of the runs.
pct() {	# pct FILE P
	awk '/^lat/ { print $2 }' "$1" | sort -n | awk -v p="$2" \
	    '{ v[NR] = $1 } END { if (NR) { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.2f\n", v[i] / 1000 } else print "NA" }'
}
lat_row() {	# lat_row LABEL KEY
	printf '%-34s %10s %10s %10s\n' "$1" \
	    "$(awk -v k="$2" '$1 == k { print $2 }' "$T/lat" | median)" \
	    "$(awk -v k="$2" '$1 == k { print $3 }' "$T/lat" | median)" \
	    "$(awk -v k="$2" '$1 == k { print $4 }' "$T/lat" | median)"
}
if want latency; then
	LN=$((RATE * 5))
	printf '\n%-34s %10s %10s %10s\n' "latency publish->handled ($RATE/s)" \
	    "p50 ms" "p90 ms" "p99 ms"
	: > "$T/lat"
	for r in $(seq 1 "$RUNS"); do
		"$CB" latency "$URL" bench.g "$LN" 10 > "$T/lat.base" &
		lp=$!
		sleep 0.5
		"$CB" rate "$URL" bench.g "$LN" "$RATE"
		wait "$lp"
		echo "base $(pct "$T/lat.base" 50) $(pct "$T/lat.base" 90)" \
		    "$(pct "$T/lat.base" 99)" >> "$T/lat"
		conf 2 10 0 "$LN"
		rm -f "$T"/noop.*
		arm
		start_evbusd
		"$CB" rate "$URL" bench.g "$LN" "$RATE"
		wait_done "$LN"
		stop_evbusd
		cat "$T"/noop.* > "$T/lat.evbus"
		echo "evbus $(pct "$T/lat.evbus" 50) $(pct "$T/lat.evbus" 90)" \
		    "$(pct "$T/lat.evbus" 99)" >> "$T/lat"
	done
	lat_row "baseline rabbitmq-c, prefetch 10" base
	lat_row "evbusd 2 workers, prefetch 10" evbus
fi

# Restart time and memory.
worker0() {	# "PID STATE" of worker 0
	"$B/evbusctl" -f "$T/evbusd.conf" workers 2>/dev/null |
	    awk '$1 == "0" { print $2, $3 }'
}
restart_once() {
	local old new i t0 t1
	old=$(worker0 | awk '$2 == "consuming" { print $1 }')
	[ -n "$old" ] || { echo "NA"; return; }
	t0=$(date +%s%N)
	kill -KILL "$old"
	for i in $(seq 1 5000); do
		new=$(worker0 | awk '$2 == "consuming" { print $1 }')
		if [ -n "$new" ] && [ "$new" != "$old" ]; then
			t1=$(date +%s%N)
			echo $(( (t1 - t0) / 1000000 ))
			return
		fi
		sleep 0.005
	done
	echo "restart: worker 0 was not replaced in time" >&2
	echo "NA"
}
# RSS counts the shared libraries and the shared scoreboard in every
# process; PSS splits the shared pages among the processes that map them.
rss() {
	awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 }
	    END { printf "%7d / %-6d", r, p }' "/proc/$1/smaps_rollup"
}
if want restart; then
	conf 2 10
	start_evbusd
	# A worker that ran 10 s is replaced at once; a younger one backs off.
	sleep 11
	rt=$(for r in $(seq 1 "$RUNS"); do restart_once; sleep 11; done |
	    median)
	printf '\n%-34s %10s ms\n' "restart (SIGKILL -> consuming)" "$rt"
	printf '%-34s %s KiB\n' "RSS / PSS supervisor" "$(rss "$EVBUSD_PID")"
	for pid in $(pgrep -P "$EVBUSD_PID" -f "evbusd: worker"); do
		printf '%-34s %s KiB\n' "RSS / PSS worker (pid $pid)" \
		    "$(rss "$pid")"
	done
	stop_evbusd
fi

# Quorum vs classic queues on a real 3-node cluster (tests/cluster.sh):
# evbusd with 3 workers spread over the nodes, and evbusctl publishing with
# confirms (window 100), side by side in interleaved rounds.
pub_rate() {	# pub_rate -> msgs/s of evbusctl publish of $T/events.jsonl
	local t0 t1
	t0=$(date +%s%N)
	"$B/evbusctl" -f "$T/evbusd.conf" publish --window 100 \
	    -i "$T/events.jsonl" > /dev/null 2>&1 || { echo NA; return; }
	t1=$(date +%s%N)
	echo $(( N * 1000000000 / (t1 - t0) ))
}
if want cluster; then
	echo "starting a 3-node cluster..." >&2
	if bash "$EVBUS_SRCDIR/tests/cluster.sh" start "$T/cluster" \
	    --owner $$ > "$T/cluster.urls"; then
		NODE1=$(head -n 1 "$T/cluster.urls")
		CLIST=$(bash "$EVBUS_SRCDIR/tests/cluster.sh" conf-list \
		    "$T/cluster")
		"$PY" - "$T/events.jsonl" "$N" <<'PY'
import json, sys, uuid
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"event_id": str(uuid.uuid4()),
                            "event_type": "OrderCreated",
                            "aggregate_type": "Order",
                            "aggregate_id": str(uuid.uuid4()),
                            "n": i}) + "\n")
PY
		for qt in classic quorum; do
			CONF_URL=$CLIST CONF_X=bench$qt CONF_QT=$qt conf 3 100
			"$B/evbusctl" -f "$T/evbusd.conf" declare >/dev/null
		done
		: > "$T/rates"
		for r in $(seq 1 "$RUNS"); do
			c=$(CONF_URL=$CLIST CONF_X=benchclassic CONF_QT=classic \
			    PRE_URL=$NODE1 evbus_run 3 100)
			rec cc "$r" "$c" "$c"
			rec cq "$r" "$(CONF_URL=$CLIST CONF_X=benchquorum \
			    CONF_QT=quorum PRE_URL=$NODE1 evbus_run 3 100)" "$c"
			for qt in classic quorum; do
				CONF_URL=$CLIST CONF_X=bench$qt CONF_QT=$qt \
				    conf 3 100
				v=$(pub_rate)
				[ "$qt" = classic ] && pc=$v
				rec "p$qt" "$r" "$v" "$pc"
				bash "$EVBUS_SRCDIR/tests/cluster.sh" ctl \
				    "$T/cluster" 1 purge_queue "bench$qt.g" \
				    >/dev/null 2>&1
			done
		done
		printf '\n%-34s %12s %10s\n' "3-node cluster" "msgs/s" \
		    "vs classic"
		row "consume 3 workers p100, classic" cc
		row "consume 3 workers p100, quorum" cq
		row "evbusctl publish w100, classic" pclassic
		row "evbusctl publish w100, quorum" pquorum
	else
		echo "cluster: the 3-node cluster did not form; section skipped"
	fi
fi

# Publishing.
if want publish && [ -x "$B/tests/bench/publish_bench" ]; then
	printf '\npublishing (publish_bench)\n'
	"$B/tests/bench/publish_bench" "$URL" "$N" "$SIZE"
fi

# Ordered partitions (issue 15) vs unordered, side by side in interleaved
# rounds: the same events, BENCH_AGGS aggregates with random UUIDs and
# their versions interleaved (so the consistent-hash exchange spreads them
# over the partitions), published by evbusctl through each mode's own
# exchange.  "ord/unord" is the median of the per-round ratios, "1->4" of
# the per-round ratios of 4 workers to 1 (the goal: 3.5x ordered), and
# "events/busiest's" the most 4 workers could gain over 1 with the load
# each run gave its busiest worker (a partition has one consumer).
agg_events() {	# agg_events N FILE
	awk -v n="$1" -v a="${BENCH_AGGS:-1024}" -v size="$SIZE" \
	    -v seed="$RANDOM$$" '
	function hex(k,   s, i) {
		for (i = 0; i < k; i++)
			s = s sprintf("%x", int(rand() * 16))
		return s
	}
	function uuid() {
		return hex(8) "-" hex(4) "-4" hex(3) "-" \
		    substr("89ab", int(rand() * 4) + 1, 1) hex(3) "-" hex(12)
	}
	BEGIN {
		srand(seed)
		for (i = 0; i < a; i++)
			id[i] = uuid()
		for (i = 0; i < (size > 400 ? size - 400 : 1); i++)
			pad = pad "x"
		for (i = 0; i < n; i++)
			printf "{\"event_id\":\"%s\",\"event_type\":" \
			    "\"BenchEvent\",\"aggregate_type\":\"Bench\"," \
			    "\"aggregate_id\":\"%s\",\"aggregate_version\":" \
			    "%d,\"pad\":\"%s\"}\n", uuid(), id[i % a],
			    int(i / a) + 1, pad
	}' > "$2"
}
OPARTS=16
ord_run() {	# ord_run u|o WORKERS WAIT_US N -> msgs/s
	local v q
	if [ "$1" = o ]; then
		v=$(CONF_X=bencho CONF_ORD=$OPARTS PRE_FILE=$T/agg.$4.jsonl \
		    evbus_run "$2" 10 "$3" "$4")
	else
		v=$(CONF_X=benchu PRE_FILE=$T/agg.$4.jsonl \
		    evbus_run "$2" 10 "$3" "$4")
	fi
	if [[ ! "$v" =~ ^[0-9]+$ ]]; then
		# What a failed run left must not count in the next one.
		for q in benchu.g $(seq -f "bencho.g.p%g" 0 $((OPARTS - 1))); do
			bash "$EVBUS_SRCDIR/tests/broker.sh" ctl "$T/broker" \
			    purge_queue "$q" > /dev/null 2>&1
		done
		echo "ordered: a run ($1, $2 workers) failed; evbusd's log" \
		    "ends:" >&2
		tail -n 5 "$T/evbusd.log" >&2
		v=NA
	else
		# The most one worker could gain: all events / the busiest's.
		echo "$1$2.$3 $(awk '/^count/ { t += $2; if ($2 > m) m = $2 }
		    END { if (m) printf "%.2f\n", t / m }' "$T"/noop.*)" \
		    >> "$T/even"
	fi
	echo "$v"
}
orow() {	# orow LABEL KEY: unordered and ordered msgs/s, their ratio
	printf '%-34s %10s %10s %10s\n' "$1" \
	    "$(awk -v k="u$2" '$1 == k { print $3 }' "$T/rates" | median)" \
	    "$(awk -v k="o$2" '$1 == k { print $3 }' "$T/rates" | median)" \
	    "$(awk -v k="o$2" '$1 == k && $3 ~ /^[0-9.]+$/ && $4 > 0 {
	        printf "%.2f\n", $3 / $4 }' "$T/rates" | median)"
}
scale_of() {	# scale_of u|o: median per-round ratio of 4 workers to 1
	awk -v k="$1" '$3 !~ /^[0-9.]+$/ { next }
	    $1 == k "w4" { w4[$2] = $3 } $1 == k "w1" { w1[$2] = $3 }
	    END { for (r in w4) if (w1[r] > 0)
	        printf "%.2f\n", w4[r] / w1[r] }' "$T/rates" | median | as_x
}
as_x() { sed 's/^[0-9.]*$/&x/'; }	# a figure becomes "<figure>x"
# ord_spread N X: how the hash spreads the N events over the partitions
# (the fullest bounds what more workers can gain), on exchange X, whose
# queues keep them: the placement depends on aggregate_id alone.
ord_spread() {
	CONF_X=$2 CONF_ORD=$OPARTS conf 1 10
	"$B/evbusctl" -f "$T/evbusd.conf" declare > /dev/null &&
	    "$B/evbusctl" -f "$T/evbusd.conf" publish --no-declare \
	    --window 1000 -i "$T/agg.$1.jsonl" > /dev/null ||
	    { echo "n/a"; return; }
	bash "$EVBUS_SRCDIR/tests/broker.sh" ctl "$T/broker" list_queues -q \
	    name messages | awk -v q="$2.g.p" '
	    index($1, q) == 1 && substr($1, length(q) + 1) ~ /^[0-9]+$/ {
	    if (!n++ || $2 < lo) lo = $2; if ($2 > hi) hi = $2; t += $2 }
	    END { printf "min %d, max %d (even %d)\n", lo, hi, n ? t / n : 0 }'
}
ord_declare() {
	CONF_X=benchu conf 1 10
	"$B/evbusctl" -f "$T/evbusd.conf" declare > /dev/null || return 1
	CONF_X=bencho CONF_ORD=$OPARTS conf 1 10
	"$B/evbusctl" -f "$T/evbusd.conf" declare > /dev/null
}
if want ordered && ! ord_declare; then
	printf '\nordered: evbusctl declare failed; section skipped\n'
elif want ordered; then
	WN=${BENCH_WAIT_N:-3000}
	agg_events "$N" "$T/agg.$N.jsonl"
	agg_events "$WN" "$T/agg.$WN.jsonl"
	spreadn=$(ord_spread "$N" benchs1)
	spreadw=$(ord_spread "$WN" benchs2)
	: > "$T/rates"
	: > "$T/even"
	for r in $(seq 1 "$RUNS"); do
		for h in n w; do
			if [ "$h" = n ]; then us=0 n=$N; else us=1000 n=$WN; fi
			for w in 1 2 4 8; do
				u=$(ord_run u "$w" "$us" "$n")
				rec "u$h$w" "$r" "$u" "$u"
				o=$(ord_run o "$w" "$us" "$n")
				rec "o$h$w" "$r" "$o" "$u"
			done
		done
	done
	printf '\n%-34s %10s %10s %10s\n' "$OPARTS partitions, prefetch 10" \
	    "unordered" "ordered" "ord/unord"
	for h in n w; do
		l="1 ms handler"
		[ "$h" = n ] && l="no-op handler"
		for w in 1 2 4 8; do
			orow "$l, $w worker(s)" "$h$w"
		done
	done
	printf '%-34s %10s %10s %10s\n' "1 ms handler, 1->4 workers" \
	    "$(scale_of u)" "$(scale_of o)" "(goal 3.5x)"
	printf '%-34s %10s %10s\n' "1 ms, 4 workers: events/busiest's" \
	    "$(awk '$1 == "u4.1000" { print $2 }' "$T/even" | median | as_x)" \
	    "$(awk '$1 == "o4.1000" { print $2 }' "$T/even" | median | as_x)"
	printf '%-34s %s\n' "events per partition, of $N" "$spreadn" \
	    "events per partition, of $WN" "$spreadw"
fi

# What a message costs evbus where the broker is not the limit (issue 18):
# CPU seconds, user+sys from the processes' own accounting, of the same
# preloaded events.  Each run is a subshell whose `times` after `wait`
# counts everything it reaped: evbusd's supervisor and, through it, every
# worker, the probe and the plugin check (or the bare consumer); the fixed
# cost of starting and stopping is in it, and measured alone as "start +
# stop" (a run on an empty queue) so "net" can take it out.  "vs multi" is
# the median of the per-round ratios to the bare consumer that acks with
# multiple=true every prefetch/2 at the same prefetch.
cpu_of() {	# cpu_of TIMESFILE -> children's user+sys in seconds
	awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) {
	    split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
	    printf "%.4f\n", t }' "$1"
}
cost_base() {	# cost_base PREFETCH ACK_EVERY -> us of CPU per message
	"$CB" preload "$URL" bench.g "$CN" "$SIZE" || { echo NA; return; }
	( "$CB" baseline "$URL" bench.g "$CN" "$1" "$2" > "$T/base.out" ||
	    exit 1; times > "$T/times" ) 3<&- || { echo NA; return; }
	awk -v n="$CN" '{ printf "%.3f\n", $1 * 1e6 / n }' <(cpu_of "$T/times")
}
# start_timed: start_evbusd nowait, in a subshell that reports the CPU of
# everything evbusd reaped in $T/times once evbusd exits.
start_timed() {
	local i
	rm -f "$T/times" "$T/evbusd.inner"
	( "${EVBUSD_BIN:-$B/evbusd}" -d -f "$T/evbusd.conf" \
	    > "$T/evbusd.log" 2>&1 &
	  echo $! > "$T/evbusd.inner"; wait $!; times > "$T/times.tmp"
	  mv "$T/times.tmp" "$T/times" ) 3<&- &
	TIMED_SUB=$!
	for i in $(seq 1 200); do
		[ -s "$T/evbusd.inner" ] && break
		sleep 0.01
	done
	EVBUSD_PID=$(cat "$T/evbusd.inner")
	echo "$EVBUSD_PID" > "$T/evbusd.run.$EVBUSD_PID"
}
stop_timed() {	# sets CPU_S: CPU seconds, or NA (not in a $(...): wait)
	kill -TERM "$EVBUSD_PID" 2>/dev/null
	wait "$TIMED_SUB" 2>/dev/null
	rm -f "$T/evbusd.run.$EVBUSD_PID"
	EVBUSD_PID=""
	CPU_S=NA
	[ -s "$T/times" ] && CPU_S=$(cpu_of "$T/times")
}
# wait_consuming WORKERS: until each worker's log line says it consumes
# (no status socket polling: that would cost evbusd CPU).
wait_consuming() {
	local i
	for i in $(seq 1 400); do
		[ "$(grep -c 'consuming from' "$T/evbusd.log" 2>/dev/null)" \
		    -ge "$1" ] && return 0
		sleep 0.025
	done
	echo "evbusd did not start consuming; its log ends:" >&2
	tail -n 5 "$T/evbusd.log" >&2
	return 1
}
cost_evbus() {	# cost_evbus WORKERS PREFETCH -> us of CPU per message
	conf "$1" "$2" 0 "$CN"
	rm -f "$T"/noop.*
	"$CB" preload "$URL" bench.g "$CN" "$SIZE" || { echo NA; return; }
	arm || { echo NA; return; }
	start_timed
	if ! wait_done "$CN"; then
		stop_timed
		echo NA
		return
	fi
	stop_timed
	awk -v s="$CPU_S" -v n="$CN" 'BEGIN { if (s ~ /^[0-9.]+$/)
	    printf "%.3f\n", s * 1e6 / n; else print "NA" }'
}
cost_idle() {	# cost_idle WORKERS PREFETCH -> ms of CPU to start and stop
	conf "$1" "$2"
	start_timed
	wait_consuming "$1" || { stop_timed; echo NA; return; }
	stop_timed
	awk -v s="$CPU_S" 'BEGIN { if (s ~ /^[0-9.]+$/) printf "%.1f\n", s * 1e3;
	    else print "NA" }'
}
crow() {	# crow LABEL KEY [IDLEKEY]: median us/msg, ratio, net us/msg
	local v r net=""
	v=$(awk -v k="$2" '$1 == k { print $3 }' "$T/rates" | median)
	r=$(awk -v k="$2" '$1 == k && $3 ~ /^[0-9.]+$/ && $4 > 0 {
	    printf "%.2f\n", $3 / $4 }' "$T/rates" | median)
	if [ -n "${3:-}" ]; then
		# Per round: (CPU - that round's start+stop) / messages.
		net=$(awk -v k="$2" -v i="$3" -v n="$CN" '
		    $3 !~ /^[0-9.]+$/ { next }
		    $1 == k { c[$2] = $3 } $1 == i { s[$2] = $3 }
		    END { for (r in c) if (r in s)
		        printf "%.3f\n", c[r] - s[r] * 1e3 / n }' \
		    "$T/rates" | median)
	fi
	printf '%-40s %9s %9s %9s\n' "$1" "$v" "$r" "$net"
}
# smaps NAME PID: "Rss Pss" in KiB, or nothing once the process is gone.
smaps() {
	awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { if (r) print r, p }' \
	    "/proc/$1/smaps_rollup" 2>/dev/null
}
# mem_row LABEL PID SAMPLES: a row of peak and steady RSS and PSS of PID
# from its samples (lines "Rss Pss"), its VmHWM and its smaps now.
mem_row() {
	printf '%-40s %s\n' "$1" "$(smaps "$2" | awk -v f="$3" -v h="$(awk \
	    '/^VmHWM:/ { print $2 }' "/proc/$2/status" 2>/dev/null)" '
	    { sr = $1; sp = $2 }
	    END { while ((getline l < f) > 0) { split(l, a, " ")
	        if (a[1] > pr) pr = a[1]; if (a[2] > pp) pp = a[2] }
	        if (h > pr) pr = h
	        printf "%6d %6d %6d %6d", pr, sr, pp, sp }')"
}
# mem_run LABEL PLUGINDIR HANDLERS: 2 workers, prefetch 100, the preloaded
# events; peak RSS and PSS sampled every 100 ms while they are handled
# (and the kernel's own peak RSS, VmHWM), steady 1 s after the last one.
# The no-op handler runs without "out": these rows are evbusd's memory,
# not the bench handler's latency records (8 bytes per event, about 200
# KiB per worker over 50,000 events, which nothing here reads); it still
# counts the events and says when the last one is handled.
mem_run() {
	local pid pids i
	CONF_NOOP_OUT= CONF_PLUGINS=$2 CONF_HANDLERS=$3 conf 2 100 0 "$CN"
	rm -f "$T"/noop.* "$T/mem."*
	"$CB" preload "$URL" bench.g "$CN" "$SIZE" || return 1
	arm || return 1
	start_evbusd nowait
	wait_consuming 2 || { stop_evbusd; return 1; }
	pids="$EVBUSD_PID $(pgrep -P "$EVBUSD_PID" -f 'evbusd: worker')"
	for i in $(seq 1 3000); do
		read -r -t 0.1 -u 3 _ && break
		for pid in $pids; do
			smaps "$pid" >> "$T/mem.$pid"
		done
		kill -0 "$EVBUSD_PID" 2>/dev/null || break
	done
	exec 3<&-
	sleep 1
	for pid in $pids; do
		i=worker
		[ "$pid" = "$EVBUSD_PID" ] && i=supervisor
		# BENCH_MEM_SMAPS=DIR keeps each process's steady smaps.
		[ -n "${BENCH_MEM_SMAPS:-}" ] && cp "/proc/$pid/smaps" \
		    "$BENCH_MEM_SMAPS/${1//[^a-z0-9]/_}.$i.$pid" 2>/dev/null
		mem_row "$1, $i" "$pid" "$T/mem.$pid"
	done
	stop_evbusd
}
# mem_base: the bare rabbitmq-c consumer (ack multi 50, prefetch 100) on
# the same preloaded events, as the yardstick for the rows above.  Asked
# for one event more than there are, it stays connected once the queue
# is empty: steady is sampled once its CPU time has not moved for 0.5 s.
mem_base() {
	local pid i cpu last=-1 same=0
	"$CB" preload "$URL" bench.g "$CN" "$SIZE" || return 1
	rm -f "$T/mem.base"
	"$CB" baseline "$URL" bench.g $((CN + 1)) 100 50 > /dev/null 3<&- &
	pid=$!
	for i in $(seq 1 3000); do
		sleep 0.1
		smaps "$pid" >> "$T/mem.base"
		cpu=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" \
		    2>/dev/null) || break
		if [ "$cpu" = "$last" ] && [ "$cpu" -gt 0 ]; then
			same=$((same + 1))
			[ "$same" -ge 5 ] && break
		else
			same=0
		fi
		last=$cpu
	done
	sleep 1
	mem_row "bare rabbitmq-c consumer" "$pid" "$T/mem.base"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
# Allocations: evbusd under malloc_count.so (every process counts in its
# own file, $T/mc/<pid>).  Two runs of 1 worker: on an empty queue until it
# consumes (its count at start), then on the preloaded events until the
# last is handled; (end - start) / messages, for the worker and the
# supervisor (its children, the probe and the plugin check, count apart).
mc_counts() {	# mc_counts PID -> malloc+calloc+realloc, then each
	od -An -t u8 -w24 "$T/mc/$1" 2>/dev/null |
	    awk '{ print $1 + $2 + $3, $1, $2, $3 }'
}
alloc_run() {	# alloc_run PREFETCH -> "worker-start worker-end sup-start sup-end"
	local w a b sa sb
	rm -rf "$T/mc"
	mkdir -p "$T/mc"
	conf 1 "$1"
	LD_PRELOAD=$MC MALLOC_COUNT_DIR=$T/mc start_timed
	wait_consuming 1 || { stop_timed; echo NA; return; }
	sleep 0.5
	w=$(pgrep -P "$EVBUSD_PID" -f 'evbusd: worker')
	a=$(mc_counts "$w" | cut -d' ' -f1)
	sa=$(mc_counts "$EVBUSD_PID" | cut -d' ' -f1)
	stop_timed
	rm -rf "$T/mc"
	mkdir -p "$T/mc"
	conf 1 "$1" 0 "$CN"
	rm -f "$T"/noop.*
	"$CB" preload "$URL" bench.g "$CN" "$SIZE" || { echo NA; return; }
	arm || { echo NA; return; }
	LD_PRELOAD=$MC MALLOC_COUNT_DIR=$T/mc start_timed
	wait_done "$CN" || { stop_timed; echo NA; return; }
	w=$(pgrep -P "$EVBUSD_PID" -f 'evbusd: worker')
	b=$(mc_counts "$w" | cut -d' ' -f1)
	sb=$(mc_counts "$EVBUSD_PID" | cut -d' ' -f1)
	echo "$(mc_counts "$w")" > "$T/mc.kinds"
	stop_timed
	echo "$a $b $sa $sb"
	[ -n "$a" ] && [ -n "$b" ] && [ -n "$sa" ] && [ -n "$sb" ] ||
	    echo "allocations: a count is missing (worker $a $b," 	    "supervisor $sa $sb)" >&2
}
if want cost; then
	CN=${BENCH_COST_N:-50000}
	MC=$B/tests/bench/.libs/malloc_count.so
	mkdir -p "$T/plugins-jsonl" "$T/plugins-all"
	chmod 755 "$T/plugins-jsonl" "$T/plugins-all"
	cp "$B/tests/bench/.libs/noop.so" "$T/plugins-jsonl/"
	cp "$B/tests/bench/.libs/noop.so" "$T/plugins-all/"
	cp "$B/handlers/.libs/jsonl.so" "$T/plugins-jsonl/"
	for h in inventory fulfillment shipping jsonl; do
		cp "$B/handlers/.libs/$h.so" "$T/plugins-all/"
	done
	JSONL_CONF="jsonl = { path = \"$T/events.jsonl\"; };"
	ALL_CONF="$JSONL_CONF inventory = { warehouse = \"main\"; };
	    fulfillment = { site = \"dc-1\"; };
	    shipping = { carrier = \"postal\"; };"
	: > "$T/rates"
	if cost_part cpu; then
		for r in $(seq 1 "$RUNS"); do
			for p in 10 100; do
				m=$(cost_base "$p" $((p / 2)))
				rec "bm$p" "$r" "$m" "$m"
				rec "be$p" "$r" "$(cost_base "$p" 1)" "$m"
				for w in 1 2; do
					rec "w$w.$p" "$r" \
					    "$(cost_evbus "$w" "$p")" "$m"
					rec "i$w.$p" "$r" \
					    "$(cost_idle "$w" "$p")" NA
				done
				[ -n "${BENCH_COST_OTHER:-}" ] || continue
				rec "o$p" "$r" \
				    "$(EVBUSD_BIN=$BENCH_COST_OTHER/evbusd \
				    cost_evbus 1 "$p")" "$m"
				rec "io$p" "$r" \
				    "$(EVBUSD_BIN=$BENCH_COST_OTHER/evbusd \
				    cost_idle 1 "$p")" NA
			done
			rm -f "$T/events.jsonl"
			rec j "$r" "$(CONF_PLUGINS=$T/plugins-jsonl \
			    CONF_HANDLERS=$JSONL_CONF cost_evbus 1 100)" "$m"
			rec ij "$r" "$(CONF_PLUGINS=$T/plugins-jsonl \
			    CONF_HANDLERS=$JSONL_CONF cost_idle 1 100)" NA
		done
		printf '\n%-40s %9s %9s %9s\n' \
		    "CPU per message, $CN msgs of $SIZE B" \
		    "us/msg" "vs multi" "net"
		for p in 10 100; do
			crow "bare rabbitmq-c, ack each, prefetch $p" "be$p"
			crow "bare rabbitmq-c, ack multi $((p / 2)), pf $p" \
			    "bm$p"
		done
		for p in 10 100; do
			for w in 1 2; do
				crow "evbusd no-op, $w worker(s), prefetch $p" \
				    "w$w.$p" "i$w.$p"
			done
		done
		crow "evbusd jsonl, 1 worker, prefetch 100" j ij
		if [ -n "${BENCH_COST_OTHER:-}" ]; then
			echo "other build: $BENCH_COST_OTHER"
			for p in 10 100; do
				crow "other evbusd no-op, 1 wkr, prefetch $p" \
				    "o$p" "io$p"
			done
		fi
		for p in 10 100; do
			for w in 1 2; do
				printf '%-40s %9s ms\n' \
				    "evbusd start + stop, $w wkr(s), pf $p" \
				    "$(awk -v k="i$w.$p" '$1 == k { print $3 }' \
				    "$T/rates" | median)"
			done
		done
	fi

	if cost_part mem; then
		printf '\n%-40s %6s %6s %6s %6s\n' \
		    "memory, 2 workers, prefetch 100" \
		    "RSS pk" "steady" "PSS pk" "steady"
		mem_base
		mem_run "no-op alone" "$T/plugins" ""
		mem_run "no-op + 4 bundled" "$T/plugins-all" "$ALL_CONF"
		echo "(KiB; peaks sampled every 100 ms, RSS peak at least VmHWM)"
	fi

	if cost_part alloc && [ -f "$MC" ]; then
		printf '\n%-40s %9s %9s\n' "heap allocations per message" \
		    "worker" "superv."
		for bin in "$B" ${BENCH_COST_OTHER:+"$BENCH_COST_OTHER"}; do
		for p in 10 100; do
			: > "$T/allocs"
			for r in $(seq 1 "$RUNS"); do
				EVBUSD_BIN=$bin/evbusd alloc_run "$p" \
				    >> "$T/allocs"
			done
			l="evbusd no-op, 1 worker, prefetch $p"
			[ "$bin" = "$B" ] || l="other $l"
			printf '%-40s %9s %9s\n' "$l" \
			    "$(awk -v n="$CN" 'NF == 4 {
			        printf "%.2f\n", ($2 - $1) / n }' "$T/allocs" |
			        median)" \
			    "$(awk -v n="$CN" 'NF == 4 {
			        printf "%.4f\n", ($4 - $3) / n }' "$T/allocs" |
			        median)"
		done
		done
		echo "(malloc+calloc+realloc; in the worker of the last run," \
		    "malloc calloc realloc: $(cat "$T/mc.kinds" 2>/dev/null))"
	fi
fi
