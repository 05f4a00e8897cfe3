# lib.sh: shared helpers for the shell integration tests (sourced).
#
# Provides: ok/not_ok/check/finish for TAP-like output ending in the line
# "N passed, M failed"; a per-test temp dir removed on exit; helpers to
# run rabbitmqctl against the test broker and to wait for conditions with
# a deadline, so a hung test fails instead of hanging the run.
set -u

: "${EVBUS_SRCDIR:?EVBUS_SRCDIR must be set (run through make check)}"
: "${EVBUS_BUILDDIR:?EVBUS_BUILDDIR must be set (run through make check)}"

EVBUSD=$EVBUS_BUILDDIR/evbusd
EVBUSCTL=$EVBUS_BUILDDIR/evbusctl
T_PASS=0
T_FAIL=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/evbus-test.XXXXXX")
T_PIDS=""

t_cleanup() {
	local p
	for p in $T_PIDS; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in $T_PIDS; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# check "description" command...: passes when the command succeeds.
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ]
	exit $?
}

# The test broker must be there: integration tests never skip.
need_broker() {
	if [ -z "${EVBUS_TEST_URL:-}" ] || [ "$EVBUS_TEST_URL" = none ]; then
		not_ok "EVBUS_TEST_URL is not set: the test broker did not start"
		finish
	fi
}

# rabbitmqctl against the test broker.
rmqctl() {
	bash "$EVBUS_SRCDIR/tests/broker.sh" ctl "$EVBUS_BROKER_DIR" "$@"
}

# The test cluster (tests/cluster.sh, 3 nodes) must be there too: cluster
# tests never skip.  EVBUS_CLUSTER_URLS holds its nodes' URLs, node 1
# first, space-separated; EVBUS_CLUSTER_DIR its directory.
need_cluster() {
	if [ -z "${EVBUS_CLUSTER_URLS:-}" ] || [ -z "${EVBUS_CLUSTER_DIR:-}" ]
	then
		not_ok "EVBUS_CLUSTER_URLS is not set: the test cluster did" \
		    "not form (or this test is not in CLUSTER_SH, Makefile.am)"
		finish
	fi
}

# clctl N ARGS...: rabbitmqctl against node N (1..3) of the test cluster.
clctl() {
	bash "$EVBUS_SRCDIR/tests/cluster.sh" ctl "$EVBUS_CLUSTER_DIR" "$@"
}

# wait_for SECONDS command...: poll until the command succeeds.
wait_for() {
	local limit=$1 end; shift
	end=$(( $(date +%s) + limit ))
	while [ "$(date +%s)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# A config file for this test: unique exchange and group names so tests
# sharing one broker never see each other's messages.  Extra lines from
# stdin are appended.
T_SEQ=0
make_conf() {
	local name=$1 f extra
	T_SEQ=$((T_SEQ + 1))
	f=$T_DIR/$name.conf
	extra=$(cat)
	{
		echo "rabbitmq_url = \"$EVBUS_TEST_URL\";"
		# Lines from stdin may set their own exchange_name.
		case $extra in
		*exchange_name*) ;;
		*) echo "exchange_name = \"t$$.$name\";" ;;
		esac
		case $extra in
		*heartbeat*) ;;
		*) echo "heartbeat = 10;" ;;
		esac
		printf '%s\n' "$extra"
	} > "$f"
	chmod 600 "$f"
	echo "$f"
}
