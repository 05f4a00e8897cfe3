#!/usr/bin/env bash
# ctl_json_test.sh: evbusctl's conventions (issue 17), against the real
# broker and a real evbusd:
# - `help`, `help COMMAND`, `COMMAND --help` and `-h` for every command
#   and dlq subcommand exit 0 and name the command's options; the
#   overview documents the exit statuses; a mistyped command or dlq
#   subcommand exits 64 with a "did you mean";
# - --json (after the command) and -j (before it) on every command: one
#   line, valid JSON, valid against docs/schemas/<command>.json (checked by
#   the small stdlib-only validator below: python3-jsonschema is not a
#   build dependency), and every schema is exercised;
# - the bash completion: commands, dlq subcommands, each command's options
#   (the same as its help lists) and the DLQ's message ids;
# - colour only on a terminal, never with NO_COLOR, --no-color or
#   TERM=dumb.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"
. "$EVBUS_SRCDIR/tests/integration/status_lib.sh"
need_broker

SCHEMAS=$EVBUS_SRCDIR/docs/schemas
PYPUB=$EVBUS_BUILDDIR/tests/integration/pypub
PLUGINS=$T_DIR/plugins
SOCK=$T_DIR/cj.sock
LOG=$T_DIR/evbusd.log
PY=$T_DIR/cj.py
mkdir -p "$PLUGINS"
cp "$EVBUS_BUILDDIR/handlers/.libs/jsonl.so" "$PLUGINS/" || {
	not_ok "plugin jsonl.so not built"; finish; }

cat > "$PY" <<'EOF'
import json, os, pty, re, subprocess, sys

# A JSON Schema validator for the subset docs/schemas uses: type, enum,
# const, properties, required, additionalProperties, items, minItems,
# minimum, maximum, anyOf, $ref to #/$defs.  A boolean is not a number.
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}
KNOWN = {"$schema", "$id", "title", "description", "$defs", "type", "enum",
         "const", "properties", "required", "additionalProperties", "items",
         "minItems", "minimum", "maximum", "anyOf", "$ref"}

def same(a, b):
    return type(a) is type(b) and a == b

def check(v, s, root, path, errs):
    unknown = set(s) - KNOWN
    if unknown:
        errs.append("%s: schema uses %s, which this validator does not know"
                    % (path, sorted(unknown)))
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[1]
        check(v, root["$defs"][name], root, path, errs)
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(TYPES[t](v) for t in ts):
            errs.append("%s: %r is not %s" % (path, v, "/".join(ts)))
            return
    if "enum" in s and not any(same(v, e) for e in s["enum"]):
        errs.append("%s: %r not one of %r" % (path, v, s["enum"]))
    if "const" in s and not same(v, s["const"]):
        errs.append("%s: %r is not %r" % (path, v, s["const"]))
    if "anyOf" in s:
        if all(sub_errs(v, x, root, path) for x in s["anyOf"]):
            errs.append("%s: %r matches none of anyOf" % (path, v))
    if TYPES["number"](v):
        if "minimum" in s and v < s["minimum"]:
            errs.append("%s: %r < %r" % (path, v, s["minimum"]))
        if "maximum" in s and v > s["maximum"]:
            errs.append("%s: %r > %r" % (path, v, s["maximum"]))
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                errs.append("%s: key %s missing" % (path, k))
        for k, x in v.items():
            if k in props:
                check(x, props[k], root, path + "." + k, errs)
            elif s.get("additionalProperties") is False:
                errs.append("%s: key %s not in the schema" % (path, k))
            elif isinstance(s.get("additionalProperties"), dict):
                check(x, s["additionalProperties"], root, path + "." + k, errs)
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0):
            errs.append("%s: fewer than %d items" % (path, s["minItems"]))
        if "items" in s:
            for i, x in enumerate(v):
                check(x, s["items"], root, "%s[%d]" % (path, i), errs)

def sub_errs(v, s, root, path):
    e = []
    check(v, s, root, path, e)
    return e

def validate(schema_file, out_file, want=None):
    """want: a python expression over d that must hold as well."""
    raw = open(out_file).read()
    lines = raw.splitlines()
    if len(lines) != 1 or not raw.endswith("\n"):
        print("not one line: %d lines" % len(lines))
        print(raw[:2000])
        return 1
    try:
        d = json.loads(raw)
    except ValueError as e:
        print("not JSON: %s" % e)
        print(raw[:2000])
        return 1
    root = json.load(open(schema_file))
    errs = sub_errs(d, root, root, "$")
    if want is not None and not eval(want):
        errs.append("does not hold: %s" % want)
    if errs:
        print(errs[0])
        for e in errs[1:20]:
            print(e)
        print(raw[:2000])
        return 1
    print(os.path.basename(schema_file))
    return 0

def selftest():
    """The validator refuses what it must: a validator that accepts
    everything would make every schema check pass."""
    root = {"type": "object", "required": ["a", "b"],
            "properties": {"a": {"type": "integer", "minimum": 0},
                           "b": {"type": "boolean"},
                           "c": {"enum": ["x"]},
                           "d": {"$ref": "#/$defs/n"}},
            "additionalProperties": False,
            "$defs": {"n": {"type": ["string", "null"]}}}
    bad = [{"a": 1}, {"a": True, "b": True}, {"a": -1, "b": True},
           {"a": 1, "b": 1}, {"a": 1, "b": True, "c": "y"},
           {"a": 1, "b": True, "e": 0}, {"a": 1, "b": True, "d": 3}, []]
    good = [{"a": 1, "b": False}, {"a": 0, "b": True, "c": "x", "d": None}]
    n = sum(1 for v in bad if not sub_errs(v, root, root, "$"))
    n += sum(1 for v in good if sub_errs(v, root, root, "$"))
    print("%d wrong verdicts of %d" % (n, len(bad) + len(good)))
    return 1 if n else 0

def commands(help_file):
    """The commands the overview lists."""
    text = open(help_file).read()
    block = text.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    print(" ".join(l.split()[0] for l in block.splitlines() if l.strip()))

def tty(out_file, *argv):
    """Run argv on a pseudo-terminal; its output into out_file."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], list(argv))
    buf = b""
    while True:
        try:
            b = os.read(fd, 65536)
        except OSError:
            break
        if not b:
            break
        buf += b
    _, st = os.waitpid(pid, 0)
    open(out_file, "wb").write(buf)
    return os.waitstatus_to_exitcode(st) if hasattr(os, "waitstatus_to_exitcode") else st >> 8

if __name__ == "__main__":
    r = globals()[sys.argv[1]](*sys.argv[2:])
    sys.exit(r if isinstance(r, int) else 0)
EOF

X="t$$.cj"
CONF=$(make_conf cj <<EOF
exchange_name = "$X";
consumer_name = "cj$$";
consumer_group = "g";
workers = 2;
max_retries = 0;
plugin_dir = "$PLUGINS";
status_socket = "$SOCK";
pid_file = "$T_DIR/cj.pid";
shutdown_timeout = 5.0;
handlers = { jsonl = { path = "$T_DIR/cj.jsonl"; }; };
EOF
)
QUEUE=$X.g
ctl() { "$EVBUSCTL" -f "$CONF" "$@"; }

# ---------------------------------------------------------------------
section "help: the overview, every command, every dlq subcommand"
"$EVBUSCTL" help > "$T_DIR/help.out" 2>&1
check "evbusctl help exits 0" [ $? = 0 ]
"$EVBUSCTL" --help > "$T_DIR/help2.out" 2>&1
check "evbusctl --help says the same" cmp -s "$T_DIR/help.out" "$T_DIR/help2.out"
for code in 0 1 64 65 66 69 78; do
	check "the overview documents exit status $code" \
	    grep -Eq "^  $code +[a-z]" "$T_DIR/help.out"
done
for opt in --config --url --json --no-color --verbose --help --version; do
	check "the overview names the global option $opt" \
	    grep -q -- "$opt" "$T_DIR/help.out"
done
CMDS=$("$PYTHON" "$PY" commands "$T_DIR/help.out")
# Every command of evbusctl, with the options its parser takes.
declare -A OPTS=(
	[status]="--json --socket" [health]="--json --broker --socket"
	[queue]="--json --broker --socket" [workers]="--json --socket"
	[metrics]="--json --prometheus --socket" [scale]="--json --socket"
	[reload]="--json --socket" [stop]="--json --socket"
	[publish]="--json --input --ordered --best-effort --window --no-declare --traceparent --tracestate"
	[declare]="--json" [bind]="--json --event-type"
	[unbind]="--json --event-type" [dlq]="--json" [version]="--json"
	[help]=""
	["dlq count"]="--json" ["dlq list"]="--json --limit --body"
	["dlq replay"]="--json --all --filter --to-group"
	["dlq purge"]="--json --yes"
)
check "the overview lists every command ($CMDS)" \
    [ "$(echo $CMDS | tr ' ' '\n' | sort | tr '\n' ' ')" = \
      "bind declare dlq health help metrics publish queue reload scale status stop unbind version workers " ]
for c in "${!OPTS[@]}"; do
	# shellcheck disable=SC2086
	"$EVBUSCTL" help $c > "$T_DIR/h1" 2>&1; r1=$?
	# shellcheck disable=SC2086
	"$EVBUSCTL" $c --help > "$T_DIR/h2" 2>&1; r2=$?
	# shellcheck disable=SC2086
	"$EVBUSCTL" $c -h > "$T_DIR/h3" 2>&1; r3=$?
	check "help $c, $c --help, $c -h: exit 0 ($r1 $r2 $r3)" \
	    [ $r1 = 0 -a $r2 = 0 -a $r3 = 0 ]
	check "$c --help and -h say what help $c says" \
	    sh -c "cmp -s '$T_DIR/h1' '$T_DIR/h2' && cmp -s '$T_DIR/h1' '$T_DIR/h3'"
	check "help $c: usage and a description" \
	    sh -c "head -1 '$T_DIR/h1' | grep -q '^usage: evbusctl $c' && [ \$(wc -l < '$T_DIR/h1') -ge 4 ]"
	missing=
	for o in ${OPTS[$c]}; do
		grep -q -- "$o" "$T_DIR/h1" || missing="$missing $o"
	done
	check "help $c names its options (${OPTS[$c]:-none})${missing:+, not:$missing}" \
	    [ -z "$missing" ]
done
check "help dlq lists the subcommands" \
    sh -c "\"$EVBUSCTL\" help dlq | grep -A4 '^subcommands:' | grep -c -E '^  (count|list|replay|purge) ' | grep -qx 4"
check "help status says how the counters add up" \
    sh -c "\"$EVBUSCTL\" help status | tr '\n' ' ' | grep -q 'received = ok + skipped'"
check "help with an option list in the help of an option-less command" \
    sh -c "\"$EVBUSCTL\" dlq list --json --help | head -1 | grep -q '^usage: evbusctl dlq list'"

section "a mistyped command: exit 64 and a suggestion"
typo() {
	local want=$1 hint=$2; shift 2
	"$EVBUSCTL" "$@" > "$T_DIR/t.out" 2> "$T_DIR/t.err"
	local rc=$?
	local said=no
	if [ -z "$hint" ]; then
		grep -q "did you mean" "$T_DIR/t.err" || said=yes
	else
		grep -q "did you mean '$hint'" "$T_DIR/t.err" && said=yes
	fi
	if [ $rc = "$want" ] && [ ! -s "$T_DIR/t.out" ] && [ $said = yes ]; then
		ok "evbusctl $*: exit $want${hint:+, did you mean '$hint'}"
	else
		not_ok "evbusctl $*: exit $want${hint:+, did you mean '$hint'} (got $rc: $(cat "$T_DIR/t.err"))"
	fi
}
typo 64 status stauts
typo 64 status stats
typo 64 workers wokrers
typo 64 publish pubilsh
typo 64 dlq dql
typo 64 "dlq list" -f "$CONF" dlq lsit
typo 64 "dlq replay" -f "$CONF" dlq replya
typo 64 status help stauts
typo 64 "" frobnicate
typo 64 "" -f "$CONF" dlq frobnicate

# ---------------------------------------------------------------------
section "the validator"
checkpy "it refuses what it must" selftest

section "--json of the broker commands (no evbusd)"
# validate SCHEMA "description" [python condition over d] -- evbusctl args
# The output of the command is in $T_DIR/out.json.
USED=" "
validate() {
	local schema=$1 what=$2 want=$3 rc
	shift 4
	ctl "$@" > "$T_DIR/out.json" 2> "$T_DIR/out.err"
	rc=$?
	USED="$USED$schema "
	checkpy "$what (exit $rc)" validate "$SCHEMAS/$schema.json" \
	    "$T_DIR/out.json" ${want:+"$want"}
}
validate version "version --json" 'd["version"] != ""' -- version --json
validate declare "declare --json" \
    'd["exchange"] == "'"$X"'" and d["queue"] == "'"$QUEUE"'" and d["ordered"] is False and d["dlq"] == "'"$QUEUE"'.dlq"' \
    -- declare --json
validate bind "bind --json, two keys" \
    '[k["key"] for k in d["keys"]] == ["a.b", "Order.OrderShipped"] and d["ok"] is True and d["destination_type"] == "queue"' \
    -- bind --json a.b Order.OrderShipped
validate unbind "-j unbind --event-type" \
    'd["keys"] == [{"key": "Order.OrderShipped", "ok": True, "error": None}] and d["command"] == "unbind"' \
    -- -j unbind --event-type Order.OrderShipped
validate publish "publish --json" \
    'd == {"total": 1, "published": 1, "failed": 0, "chunks": 1}' \
    -- publish --json "{\"event_type\": \"OrderCreated\", \"aggregate_type\": \"Order\", \"aggregate_id\": \"$(cat /proc/sys/kernel/random/uuid)\"}"
validate queue "queue --json --broker" \
    'd["source"] == "broker" and d["message_count"] == 1' -- queue --json --broker
validate health "health -j --broker" \
    'd["healthy"] is True and d["details"]["source"] == "broker" and d["details"]["dlq_enabled"] is True' \
    -- health -j --broker

# Three messages in the DLQ as eventsource-py dead-letters them.
ids=$("$PYPUB" "$EVBUS_TEST_URL" "${X}_dlq" "$QUEUE" --count 3 --print-ids \
    --header 'x-dlq-reason=S:boom' --header 'x-dlq-error-type=S:ValueError' \
    --header 'x-dlq-retry-count=b:3' \
    --header 'x-original-routing-key=S:Order.OrderCreated')
first=$(echo "$ids" | head -1)
validate dlq-count "dlq count --json" 'd["count"] == 3' -- dlq count --json
validate dlq-list "dlq list --json --body" \
    'len(d) == 3 and d[0]["dlq_retry_count"] == 3 and all("body" in m for m in d)' \
    -- dlq list --json --body
validate dlq-list "dlq list -j --limit 1" 'len(d) == 1 and "body" not in d[0]' \
    -- dlq list -j --limit 1
# ---------------------------------------------------------------------
section "bash completion"
COMPLETION=$EVBUS_SRCDIR/packaging/evbusctl.bash-completion
# comp WORDS...: the sorted completions of the last word (may be "").
comp() {
	bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _evbusctl
	    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
	    "$COMPLETION" "$EVBUSCTL" "$@"
}
expect_comp() {
	local want=$1 got; shift
	got=$(comp "$@")
	check "complete 'evbusctl $*': $want${got:+ }(got: $got)" [ "$got" = "$want " ]
}
check "the completion loads and registers itself" \
    bash -c ". '$COMPLETION' && complete -p evbusctl | grep -q _evbusctl"
check "'evbusctl <TAB>' offers every command of the overview" \
    [ "$(comp "")" = "$(echo $CMDS | tr ' ' '\n' | sort | tr '\n' ' ')" ]
expect_comp "status stop" st
expect_comp "count list purge replay" dlq ""
expect_comp "list" -f "$CONF" dlq l
expect_comp "--help --json --socket" status --
expect_comp "--json" status --j
expect_comp "--broker" -j health --b
expect_comp "--limit" dlq list --l
expect_comp "declare dlq" help d
expect_comp "count list purge replay" help dlq ""
expect_comp "$(echo "$ids" | sort | tr '\n' ' ' | sed 's/ $//')" -f "$CONF" dlq replay ""
expect_comp "$first" -f "$CONF" dlq replay --to-group "$first"
expect_comp "event_type=" dlq replay --all --filter ""
# The options offered are those `evbusctl help COMMAND` lists.
for c in "${!OPTS[@]}"; do
	[ "$c" = help ] && continue
	# shellcheck disable=SC2086
	want=$("$EVBUSCTL" help $c | sed -n '/^options:/,/^$/p' |
	    grep -oE -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
	want=$(echo $want --help | tr ' ' '\n' | sort -u | tr '\n' ' ')
	# shellcheck disable=SC2086
	check "completion offers the options help $c lists ($want)" \
	    [ "$(comp $c --)" = "$want" ]
done

validate dlq-replay "dlq replay --json ID (and an unknown id)" \
    'd["replayed"] == 1 and d["not_found"] == ["no-such-id"] and d["left"] == 2' \
    -- dlq replay --json --to-group "$first" no-such-id
validate dlq-purge "dlq purge --json --yes" 'd["purged"] == 2' \
    -- dlq purge --json --yes

# ---------------------------------------------------------------------
section "--json of the status socket commands (evbusd running)"
"$EVBUSD" -d -f "$CONF" >> "$LOG" 2>&1 &
SVPID=$!
T_PIDS="$T_PIDS $SVPID"
consuming() { [ "$(ctl workers --json 2>/dev/null | grep -o '"state":"consuming"' | wc -l)" = "$1" ]; }
check "evbusd: 2 workers consuming" wait_for 30 consuming 2
check "the published event and the replayed one are handled" \
    wait_for 20 sh -c "[ \"\$(wc -l < '$T_DIR/cj.jsonl' 2>/dev/null)\" -ge 2 ]"
validate status "status --json" \
    'd["workers"] == 2 and d["is_consuming"] is True and "jsonl" in d["handlers"]' \
    -- status --json
validate workers "workers --json" \
    '[w["index"] for w in d] == [0, 1] and all(w["is_connected"] is True for w in d)' \
    -- workers --json
validate health "health --json (evbusd)" \
    'd["healthy"] is True and d["details"]["source"] == "evbusd"' -- health --json
validate queue "-j queue (evbusd)" 'd["source"] == "evbusd"' -- -j queue
validate metrics "metrics --json" \
    'len(d["families"]) > 3 and any(s["labels"].get("le") == "+Inf" for f in d["families"] for s in f["samples"]) and all(f["samples"] for f in d["families"])' \
    -- metrics --json
validate scale "scale --json 3" \
    'd == {"ok": True, "command": "scale", "workers": 3}' -- scale --json 3
check "scaled to 3 workers" wait_for 20 consuming 3
validate scale "scale -1 --json" 'd["workers"] == 2' -- scale -1 --json
check "scaled back to 2 workers" wait_for 20 consuming 2
validate reload "reload --json" 'd == {"ok": True, "command": "reload"}' \
    -- reload --json
check "consuming again after the reload" wait_for 40 consuming 2
validate stop "stop --json" 'd == {"ok": True, "command": "stop"}' -- stop --json
if wait_for 30 sh -c "! kill -0 $SVPID 2>/dev/null"; then
	ok "evbusd stopped"
else
	not_ok "evbusd stopped after stop --json"
fi

missing=
for f in "$SCHEMAS"/*.json; do
	n=$(basename "$f" .json)
	case $USED in *" $n "*) ;; *) missing="$missing $n" ;; esac
done
check "every schema in docs/schemas was checked${missing:+ (not:$missing)}" [ -z "$missing" ]

# ---------------------------------------------------------------------
section "colour: only on a terminal, never with NO_COLOR, --no-color, TERM=dumb"
ESC=$(printf '\033')
hc() { ctl health --broker "$@"; }
hc > "$T_DIR/pipe.out" 2>&1
check "into a pipe: no escape" sh -c "! grep -q '$ESC' '$T_DIR/pipe.out'"
TERM=xterm "$PYTHON" "$PY" tty "$T_DIR/tty.out" "$EVBUSCTL" -f "$CONF" health --broker
check "on a terminal: healthy in colour" grep -q "healthy: *${ESC}\[32myes" "$T_DIR/tty.out"
TERM=xterm NO_COLOR=1 "$PYTHON" "$PY" tty "$T_DIR/tty.out" "$EVBUSCTL" -f "$CONF" health --broker
check "on a terminal, NO_COLOR=1: no escape" sh -c "grep -q 'healthy: *yes' '$T_DIR/tty.out' && ! grep -q '$ESC' '$T_DIR/tty.out'"
TERM=xterm NO_COLOR= "$PYTHON" "$PY" tty "$T_DIR/tty.out" "$EVBUSCTL" -f "$CONF" health --broker
check "on a terminal, NO_COLOR empty: colour (no-color.org)" grep -q "$ESC" "$T_DIR/tty.out"
TERM=xterm "$PYTHON" "$PY" tty "$T_DIR/tty.out" "$EVBUSCTL" -f "$CONF" health --broker --no-color
check "on a terminal, --no-color: no escape" sh -c "! grep -q '$ESC' '$T_DIR/tty.out'"
TERM=dumb "$PYTHON" "$PY" tty "$T_DIR/tty.out" "$EVBUSCTL" -f "$CONF" health --broker
check "on a terminal, TERM=dumb: no escape" sh -c "! grep -q '$ESC' '$T_DIR/tty.out'"
TERM=xterm "$PYTHON" "$PY" tty "$T_DIR/tty.out" "$EVBUSCTL" -f "$CONF" health --broker --json
check "on a terminal, --json: no escape" sh -c "! grep -q '$ESC' '$T_DIR/tty.out'"

finish
