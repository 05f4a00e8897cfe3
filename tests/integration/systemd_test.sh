#!/usr/bin/env bash
# systemd_test.sh: what evbusd tells systemd, read from a real notify
# socket as systemd would (a unix datagram socket named by $NOTIFY_SOCKET):
# READY=1 only once every worker consumes, STATUS= lines with the pool's
# state, WATCHDOG=1 at half of $WATCHDOG_USEC from the supervisor's loop,
# RELOADING=1 then READY=1 around a SIGHUP reload (a refused one too),
# STOPPING=1 on SIGTERM; log lines with "<N>" priority prefixes exactly
# when stderr is the stream $JOURNAL_STREAM names; and in daemon mode
# without syslog (its socket hidden in a private mount namespace), a
# warning on stderr and the log kept there instead of lost.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker

PY=/usr/bin/python3
PLUGINS=$T_DIR/plugins
mkdir -p "$PLUGINS" && chmod 0755 "$PLUGINS"
cp "$EVBUS_BUILDDIR/handlers/.libs/chaos.so" "$PLUGINS/" && chmod 0755 "$PLUGINS/chaos.so"

conf() {	# conf NAME [WORKERS]
	make_conf "$1" <<EOF
consumer_group = "g";
workers = ${2:-2};
plugin_dir = "$PLUGINS";
status_socket = "$T_DIR/$1.sock";
pid_file = "$T_DIR/$1.pid";
EOF
}

# The notify socket: every datagram one line in $T_DIR/notify.log,
# stamped with the seconds since the listener started.  A name starting
# with "@" is an abstract socket, as systemd writes it in $NOTIFY_SOCKET.
cat > "$T_DIR/listen.py" <<'EOF'
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
t0 = time.monotonic()
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode()
        f.write("%.3f %s\n" % (time.monotonic() - t0, msg.replace("\n", " | ")))
EOF
NS=$T_DIR/notify.sock
NLOG=$T_DIR/notify.log
: > "$NLOG"
"$PY" "$T_DIR/listen.py" "$NS" "$NLOG" &
T_PIDS="$T_PIDS $!"
wait_for 5 test -S "$NS"

C=$(conf n 2)
NOTIFY_SOCKET=$NS WATCHDOG_USEC=1000000 "$EVBUSD" -d -f "$C" > "$T_DIR/n.log" 2>&1 &
EP=$!
T_PIDS="$T_PIDS $EP"

check "READY=1 arrives" wait_for 20 grep -q 'READY=1' "$NLOG"
# When READY=1 came, both workers consumed: the same datagram says so.
check "READY=1 comes with 2 of 2 workers consuming" \
    grep -q 'READY=1 | STATUS=2 of 2 workers consuming' "$NLOG"
check "a STATUS= before READY=1 says it is starting" \
    grep -q '^[0-9.]* STATUS=starting' "$NLOG"
check "the log names the watchdog interval" wait_for 5 grep -q 'systemd watchdog: WatchdogSec=1.0s, fed every 0.5s' "$T_DIR/n.log"
sleep 3
# WATCHDOG=1 at least every 0.5 s + one loop turn (200 ms).
gaps=$(awk '/WATCHDOG=1/ { if (p != "") { g = $1 - p; if (g > m) m = g } p = $1; n++ }
    END { printf "%d %.3f", n, m }' "$NLOG")
n=${gaps% *}; maxgap=${gaps#* }
check "WATCHDOG=1 keeps coming ($n so far)" [ "$n" -ge 5 ]
check "no gap between WATCHDOG=1 above 0.8 s (max $maxgap)" \
    awk -v m="$maxgap" 'BEGIN { exit !(m <= 0.8) }'

# Reload: RELOADING=1, then READY=1 once the new workers consume.
before=$(wc -l < "$NLOG")
kill -HUP "$EP"
check "SIGHUP: RELOADING=1" wait_for 10 eval "tail -n +$((before + 1)) '$NLOG' | grep -q 'RELOADING=1'"
check "then READY=1 again" wait_for 20 eval "tail -n +$((before + 1)) '$NLOG' | grep -q 'READY=1'"
rl=$(tail -n +$((before + 1)) "$NLOG" | grep -n 'RELOADING=1' | head -1 | cut -d: -f1)
rd=$(tail -n +$((before + 1)) "$NLOG" | grep -n 'READY=1' | head -1 | cut -d: -f1)
check "RELOADING=1 came before READY=1" [ -n "$rl" ] && [ -n "$rd" ] && [ "$rl" -lt "$rd" ]

# A refused reload (bad config) still ends with READY=1.
cp "$C" "$C.good"
echo 'prefetch_count = 0;' >> "$C"
before=$(wc -l < "$NLOG")
kill -HUP "$EP"
check "refused reload: RELOADING=1 then READY=1" wait_for 10 eval \
    "tail -n +$((before + 1)) '$NLOG' | tr '\n' ' ' | grep -q 'RELOADING=1.*READY=1'"
cp "$C.good" "$C"

before=$(wc -l < "$NLOG")
kill -TERM "$EP"
check "SIGTERM: STOPPING=1" wait_for 10 eval "tail -n +$((before + 1)) '$NLOG' | grep -q 'STOPPING=1'"
wait "$EP"
check "evbusd stopped with status 0" [ $? = 0 ]

# Without NOTIFY_SOCKET nothing is sent and nothing breaks.
C2=$(conf quiet 1)
before=$(wc -l < "$NLOG")
timeout --preserve-status -s TERM 6 "$EVBUSD" -d -f "$C2" > "$T_DIR/quiet.log" 2>&1
check "without NOTIFY_SOCKET: evbusd runs and stops cleanly" [ $? = 0 ]
check "without NOTIFY_SOCKET: nothing reached the socket" [ "$(wc -l < "$NLOG")" = "$before" ]

# An abstract socket ("@name"), and a $WATCHDOG_PID naming another
# process: the datagrams arrive, the watchdog is not this one's.
AS=@evbus-notify-$$-$RANDOM
ALOG=$T_DIR/abstract.log
: > "$ALOG"
"$PY" "$T_DIR/listen.py" "$AS" "$ALOG" &
T_PIDS="$T_PIDS $!"
wait_for 5 grep -q " $AS\$" /proc/net/unix
NOTIFY_SOCKET=$AS WATCHDOG_USEC=1000000 WATCHDOG_PID=1 \
    "$EVBUSD" -d -f "$C2" > "$T_DIR/abstract.evbusd.log" 2>&1 &
EP=$!
T_PIDS="$T_PIDS $EP"
check "abstract socket: READY=1 arrives" wait_for 20 grep -q 'READY=1' "$ALOG"
kill -TERM "$EP"
wait "$EP"
check "abstract socket: evbusd stopped with status 0" [ $? = 0 ]
check "abstract socket: STOPPING=1 arrives" wait_for 5 grep -q 'STOPPING=1' "$ALOG"
check "WATCHDOG_PID of another process: no WATCHDOG=1" \
    eval "! grep -q WATCHDOG=1 '$ALOG'"
check "WATCHDOG_PID of another process: no watchdog in the log" \
    eval "! grep -q 'systemd watchdog' '$T_DIR/abstract.evbusd.log'"

# Journal priorities: "<N>" only when stderr is the stream named.
C3=$(conf j 1)
J=$T_DIR/j.log
: > "$J"
ino=$(stat -c '%d:%i' "$J")
( JOURNAL_STREAM=$ino exec timeout -s TERM 5 "$EVBUSD" -d -f "$C3" 2>>"$J" )
check "stderr is the journal: info lines carry <6>" grep -q '^<6>evbusd: ' "$J"
check "stderr is the journal: worker lines carry a priority too" grep -q '^<6>worker\[0\]: consuming' "$J"
: > "$T_DIR/j2.log"
( JOURNAL_STREAM=1:1 exec timeout -s TERM 5 "$EVBUSD" -d -f "$C3" 2>>"$T_DIR/j2.log" )
check "another stream: no <N> prefixes" eval "! grep -q '^<[0-9]>' '$T_DIR/j2.log'"
check "another stream: the plain lines are there" grep -q '^evbusd: ' "$T_DIR/j2.log"
# An error goes out as <3>: a worker whose plugin dir vanished.
C4=$(conf e 1)
sed -i "s|^plugin_dir = .*|plugin_dir = \"$T_DIR/none\";|" "$C4"
: > "$T_DIR/e.log"
ino=$(stat -c '%d:%i' "$T_DIR/e.log")
( JOURNAL_STREAM=$ino exec timeout -s TERM 5 "$EVBUSD" -d -f "$C4" 2>>"$T_DIR/e.log" )
check "errors carry <3> (journalctl -p err finds them)" grep -q '^<3>' "$T_DIR/e.log"

# Daemon mode without syslog: its socket hidden in a private mount
# namespace (or absent), the warning goes to stderr and so does the log.
C5=$(conf d 1)
if [ -e /dev/log ]; then
	hide='mount --bind /dev/null /dev/log &&'
else
	hide=''
fi
unshare -m --propagation private sh -c "$hide exec '$EVBUSD' -f '$C5'" > "$T_DIR/d.log" 2>&1
check "daemon mode: evbusd detached (exit 0)" [ $? = 0 ]
check "daemon mode: a pid file" wait_for 10 test -s "$T_DIR/d.pid"
DP=$(cat "$T_DIR/d.pid" 2>/dev/null)
[ -n "$DP" ] && T_PIDS="$T_PIDS $DP"
check "no syslog: said so on stderr" grep -q 'syslog is not available' "$T_DIR/d.log"
check "no syslog: the log goes on on stderr after detaching" \
    wait_for 15 grep -q 'worker\[0\]: consuming' "$T_DIR/d.log"
[ -n "$DP" ] && kill -TERM "$DP"
check "daemon mode: stops on SIGTERM" wait_for 15 eval "! kill -0 $DP 2>/dev/null"

finish
