# status_lib.sh: helpers for the integration tests that drive evbusd
# through its status socket (sourced after lib.sh).
#
# Provides: section (a timed heading), PYTHON (the python3 to run), py (run
# the test's own python helpers, $PY, with arguments), jv (jq-like: a
# python expression over a JSON file), checkpy (a python check as a test),
# and PY_ASK, the python source of ask(path, req): one status socket
# request and its whole answer, for the head of a test's $PY.

section() { echo "# [${SECONDS}s] $*"; }
# The system python3 when there is one: wrappers such as pyenv's shims
# cost a large fraction of a second per call, and tests make hundreds.
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
py() { "$PYTHON" "$PY" "$@"; }
# jq-like: jv FILE EXPR (python expression over d)
jv() {
	"$PYTHON" -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("<not JSON: %s>" % e)
    sys.exit(1)
print(eval(sys.argv[2]))' "$1" "$2"
}
# checkpy "description" FUNC ARGS...: a python check; its first output
# line joins the description, the rest is shown when it fails.
checkpy() {
	local what=$1 rc; shift
	py "$@" > "$T_DIR/py.out" 2>&1
	rc=$?
	what="$what$(head -1 "$T_DIR/py.out" | sed 's/^/: /')"
	if [ $rc = 0 ]; then ok "$what"; else
		not_ok "$what"; sed -n '2,20s/^/#   /p' "$T_DIR/py.out"; fi
}
PY_ASK='import socket

def ask(path, req, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall((req + "\n").encode())
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode()
'
