#!/usr/bin/env bash
# run.sh: evbus's benchmark suite (`make bench`).  Starts its own throwaway
# RabbitMQ and measures, side by side in one run so the ratios hold on a
# noisy machine:
#   - consume throughput: a minimal rabbitmq-c consumer (the ceiling for one
#     connection) vs evbusd with a no-op handler, 1/2/4 workers x prefetch
#     1/10/100;
#   - latency from publish to handled at a moderate fixed rate;
#   - publishing: confirmed pipelined vs unconfirmed (publish_bench);
#   - restart time: SIGKILL of a worker to its replacement consuming;
#   - memory: RSS of the supervisor and of each worker.
# Every figure is the median of BENCH_RUNS runs (default 3).
# Environment: BENCH_N (messages per run, 20000), BENCH_SIZE (bytes, 512),
# BENCH_RUNS, BENCH_RATE (latency run, msgs/s, 1000).
set -u
: "${EVBUS_SRCDIR:?run through make bench}"
: "${EVBUS_BUILDDIR:?run through make bench}"
B=$EVBUS_BUILDDIR
N=${BENCH_N:-20000}
SIZE=${BENCH_SIZE:-512}
RUNS=${BENCH_RUNS:-3}
RATE=${BENCH_RATE:-1000}
CB=$B/tests/bench/consume_bench
T=$(mktemp -d /tmp/evbus-bench.XXXXXX)
EVBUSD_PID=""

cleanup() {
	[ -n "$EVBUSD_PID" ] && kill -KILL "$EVBUSD_PID" 2>/dev/null
	pkill -KILL -f "evbusd -d -f $T/" 2>/dev/null
	bash "$EVBUS_SRCDIR/tests/broker.sh" stop "$T/broker" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

echo "starting a throwaway broker..." >&2
URL=$(bash "$EVBUS_SRCDIR/tests/broker.sh" start "$T/broker" --owner $$) || exit 1
rmq() { bash "$EVBUS_SRCDIR/tests/broker.sh" ctl "$T/broker" "$@"; }

mkdir -p "$T/plugins"
chmod 755 "$T/plugins"
cp "$B/tests/bench/.libs/noop.so" "$T/plugins/" || exit 1

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }

# rate FILES...: messages/s from the "first/last/count" lines.
rate_of() {
	awk '/^first/ { if (!f || $2 < f) f = $2 }
	     /^last/ { if ($2 > l) l = $2 }
	     /^count/ { n += $2 }
	     END { if (l > f) printf "%.0f\n", n / ((l - f) / 1e6); else print 0 }' "$@"
}

conf() {	# conf WORKERS PREFETCH
	cat > "$T/evbusd.conf" <<EOF
rabbitmq_url = "$URL";
exchange_name = "bench";
consumer_group = "g";
consumer_name = "bench";
workers = $1;
prefetch_count = $2;
plugin_dir = "$T/plugins";
status_socket = "$T/evbusd.sock";
pid_file = "$T/evbusd.pid";
heartbeat = 30;
handlers = { noop = { out = "$T/noop"; }; };
EOF
	chmod 600 "$T/evbusd.conf"
}

queue_len() { rmq list_queues name messages | awk '$1 == "bench.g" { print $2 }'; }

wait_empty() {
	local i
	for i in $(seq 1 1200); do
		[ "$(queue_len)" = 0 ] && return 0
		sleep 0.1
	done
	echo "queue did not drain" >&2
	return 1
}

start_evbusd() {
	"$B/evbusd" -d -f "$T/evbusd.conf" > "$T/evbusd.log" 2>&1 &
	EVBUSD_PID=$!
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
	EVBUSD_PID=""
}

conf 1 10
"$B/evbusctl" -f "$T/evbusd.conf" declare >/dev/null || exit 1

baseline_run() {	# PREFETCH -> msgs/s
	"$CB" preload "$URL" bench.g "$N" "$SIZE" || return 1
	"$CB" baseline "$URL" bench.g "$N" "$1" > "$T/base.out" || return 1
	rate_of "$T/base.out"
}

evbus_run() {	# WORKERS PREFETCH -> msgs/s
	conf "$1" "$2"
	rm -f "$T"/noop.*
	"$CB" preload "$URL" bench.g "$N" "$SIZE" || return 1
	start_evbusd || return 1
	wait_empty
	stop_evbusd
	rate_of "$T"/noop.*
}

printf '\nevbus benchmark: %s messages of %s bytes, median of %s runs\n' \
    "$N" "$SIZE" "$RUNS"
printf 'machine: %s, %s cores, %s\n\n' "$(uname -m)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

printf '%-34s %12s %10s\n' "consume (no-op handler)" "msgs/s" "vs base"
declare -A BASE
for p in 1 10 100; do
	BASE[$p]=$(for r in $(seq 1 "$RUNS"); do baseline_run "$p"; done | median)
	printf '%-34s %12s %10s\n' "baseline rabbitmq-c, prefetch $p" \
	    "${BASE[$p]}" "1.00"
done
for w in 1 2 4; do
	for p in 1 10 100; do
		v=$(for r in $(seq 1 "$RUNS"); do evbus_run "$w" "$p"; done | median)
		printf '%-34s %12s %10s\n' "evbusd $w worker(s), prefetch $p" "$v" \
		    "$(awk -v a="$v" -v b="${BASE[$p]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
	done
done

# Latency at a moderate fixed rate.
pct() {	# pct FILE P
	awk '/^lat/ { print $2 }' "$1" | sort -n | awk -v p="$2" \
	    '{ v[NR] = $1 } END { if (NR) { i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 } }'
}
LN=$((RATE * 5))
printf '\n%-34s %10s %10s %10s\n' "latency publish->handled ($RATE/s)" \
    "p50 ms" "p90 ms" "p99 ms"
"$CB" latency "$URL" bench.g "$LN" 10 > "$T/lat.base" &
lp=$!
sleep 0.5
"$CB" rate "$URL" bench.g "$LN" "$RATE"
wait "$lp"
printf '%-34s %10s %10s %10s\n' "baseline rabbitmq-c, prefetch 10" \
    "$(pct "$T/lat.base" 50)" "$(pct "$T/lat.base" 90)" "$(pct "$T/lat.base" 99)"
conf 2 10
rm -f "$T"/noop.*
start_evbusd
"$CB" rate "$URL" bench.g "$LN" "$RATE"
wait_empty
stop_evbusd
cat "$T"/noop.* > "$T/lat.evbus"
printf '%-34s %10s %10s %10s\n' "evbusd 2 workers, prefetch 10" \
    "$(pct "$T/lat.evbus" 50)" "$(pct "$T/lat.evbus" 90)" "$(pct "$T/lat.evbus" 99)"

# Restart time and memory.
conf 2 10
start_evbusd
restart_once() {
	local old new i t0 t1 js
	js=$("$B/evbusctl" -f "$T/evbusd.conf" workers --json)
	old=$(printf '%s' "$js" | python3 -c 'import json,sys; print([w["pid"] for w in json.load(sys.stdin) if w["index"] == 0][0])')
	t0=$(date +%s%N)
	kill -KILL "$old"
	for i in $(seq 1 2000); do
		js=$("$B/evbusctl" -f "$T/evbusd.conf" workers --json 2>/dev/null)
		new=$(printf '%s' "$js" | python3 -c 'import json,sys; w=[w for w in json.load(sys.stdin) if w["index"] == 0 and w["state"] == "consuming"]; print(w[0]["pid"] if w else "")' 2>/dev/null)
		if [ -n "$new" ] && [ "$new" != "$old" ]; then
			t1=$(date +%s%N)
			echo $(( (t1 - t0) / 1000000 ))
			return
		fi
		sleep 0.01
	done
	echo "-1"
}
sleep 1
rt=$(for r in $(seq 1 "$RUNS"); do restart_once; sleep 12; done | median)
printf '\n%-34s %10s ms\n' "restart (SIGKILL -> consuming)" "$rt"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
printf '%-34s %10s KiB\n' "RSS supervisor" "$(rss "$EVBUSD_PID")"
for pid in $(pgrep -P "$EVBUSD_PID" -f "evbusd: worker"); do
	printf '%-34s %10s KiB\n' "RSS worker (pid $pid)" "$(rss "$pid")"
done
stop_evbusd

# Publishing.
if [ -x "$B/tests/bench/publish_bench" ]; then
	printf '\npublishing (publish_bench)\n'
	"$B/tests/bench/publish_bench" "$URL" "$N" "$SIZE"
fi
