#!/usr/bin/env bash
# plugin_deploy_test.sh: what happens to plugin_dir after a configuration
# was accepted never reaches a running worker.  A loaded plugin is
# overwritten in place (cp over it, as a deployment does) under load: no
# worker crashes, no message gets a crash counted against it, and events
# go on being handled by the plugin that was checked; the next reload
# loads the new file.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
need_broker
. "$EVBUS_SRCDIR/tests/integration/worker_lib.sh"

X=t$$.pd
P=$(plugin_dir pd jsonl) || { not_ok "plugins not built"; finish; }
C=$(conf pd "$X" gd <<EOF
plugin_dir = "$P";
workers = 2;
max_crashes = 1;
status_socket = "$T_DIR/pd.sock";
pid_file = "$T_DIR/pd.pid";
handlers = {
	jsonl = { path = "$T_DIR/pd.jsonl"; };
	chaos = { path = "$T_DIR/pd.chaos"; mode = "ok"; };
};
EOF
)
ctl() { "$EVBUSCTL" -f "$C" "$@"; }
st() { ctl status --json | "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
pids() { ctl workers --json | "$PY" -c 'import json,sys; print(" ".join(sorted(str(w["pid"]) for w in json.load(sys.stdin))))'; }
handled() { jl "$T_DIR/pd.jsonl" "len(set(x['event_id'] for x in L)) == $1"; }
# new_pool PIDS: two workers, both consuming, neither of them one of PIDS
# (the reload has replaced and retired every old worker).
new_pool() {
	ctl workers --json | "$PY" -c '
import json, sys
ws, old = json.load(sys.stdin), sys.argv[1].split()
sys.exit(0 if len(ws) == 2 and all(w["state"] == "consuming" and
         str(w["pid"]) not in old for w in ws) else 1)' "$1"
}
# pubn SEED N: N events with fresh ids (the first from SEED).
pubn() { pub "$X" --body "$(ev "$(uid "$1")" OrderCreated)" --count "$2"; }

"$EVBUSD" -d -f "$C" 2> >(stamp >> "$T_DIR/pd.log") &
T_PIDS="$T_PIDS $!"
check "2 workers consuming" wait_for 30 ready pd 2
check "publish 20 events" pubn 1 20
check "the jsonl plugin handled them" wait_for 30 handled 20
before=$(pids)

# A deployment that overwrites the loaded file in place, under load.
pubn 2 200 &
PUBPID=$!
sleep 0.2
cp "$EVBUS_BUILDDIR/handlers/.libs/chaos.so" "$P/jsonl.so"
wait "$PUBPID"
check "publish 20 more after the overwrite" pubn 3 20
check "all 240 handled by the plugin that was loaded" wait_for 60 handled 240
check "no worker crashed (crashes 0, restarts 0)" \
    [ "$(st '(d["crashes"], d["restarts"])')" = "(0, 0)" ]
check "the same two workers still run" [ "$(pids)" = "$before" ]
check "no crash in the log" sh -c "! grep -q 'killed by signal' '$T_DIR/pd.log'"
check "nothing was dead-lettered" qis "$X.gd.dlq" "0 0"

# The next reload checks and loads the new file.
ctl reload > /dev/null
check "after reload the new plugin (chaos, in jsonl.so) is loaded" \
    wait_for 30 logged pd "plugin jsonl.so: handler chaos" 2
check "and 2 new workers consume, the old ones gone" wait_for 30 new_pool "$before"
check "publish 5 events after the reload" pubn 4 5
check "the new plugin handles them" \
    wait_for 30 jl "$T_DIR/pd.chaos" "len(set(x['event_id'] for x in C)) == 5"
finish
