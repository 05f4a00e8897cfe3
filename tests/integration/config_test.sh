#!/bin/bash
# config_test.sh: evbusd's command line and its config test mode (-n),
# run against the shipped sample and against configs broken on purpose,
# and evbusctl loading the same files.  Needs no broker.  Run by
# automake's harness with EVBUS_SRCDIR and EVBUS_BUILDDIR set (absolute
# paths); exits 0 when every check passed.
set -u

: "${EVBUS_SRCDIR:?EVBUS_SRCDIR must be set}"
: "${EVBUS_BUILDDIR:?EVBUS_BUILDDIR must be set}"

EVBUSD=$EVBUS_BUILDDIR/evbusd
EVBUSCTL=$EVBUS_BUILDDIR/evbusctl
SAMPLE=$EVBUS_SRCDIR/etc/evbusd.conf
EX_CONFIG=78
EX_USAGE=64

# The caller's password must not change what evbusd sees.
unset EVBUS_PASSWORD

tmp=$(mktemp -d "${TMPDIR:-/tmp}/evbus-config-test.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
umask 022

passed=0
failed=0

pass() { echo "ok - $*"; passed=$((passed + 1)); }
fail() { echo "not ok - $*"; failed=$((failed + 1)); }

# run CMD...: run it with a time limit; sets rc, out and err.
run() {
	timeout 30 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# check DESC COND...: pass when the command COND... succeeds, else fail
# and show what evbusd printed.
check() {
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc"
		echo "#   exit status: $rc"
		[ -n "$out" ] && echo "$out" | sed 's/^/#   stdout: /'
		[ -n "$err" ] && echo "$err" | sed 's/^/#   stderr: /'
	fi
	return 0
}

has() { grep -qF -- "$2" <<<"$1"; }
lacks() { ! grep -qF -- "$2" <<<"$1"; }
nlines() { [ -z "$1" ] && echo 0 || wc -l <<<"$1"; }

# refused DESC N FILE: evbusd -n refuses FILE with exactly N errors;
# leaves rc, out and err for checks of the messages.
refused() {
	run "$EVBUSD" -n -f "$3"
	check "$1: evbusd -n exits $EX_CONFIG" [ "$rc" -eq "$EX_CONFIG" ]
	check "$1: evbusd -n: $2 error(s)" [ "$(nlines "$err")" -eq "$2" ]
	check "$1: evbusd -n: no \"configuration OK\"" \
		lacks "$out" "configuration OK"
}

for f in "$EVBUSD" "$EVBUSCTL"; do
	if [ ! -x "$f" ]; then
		fail "$f is not built"
		echo "$passed passed, $failed failed"
		exit 1
	fi
done

# 1. The shipped sample is accepted as is.
run "$EVBUSD" -n -f "$SAMPLE"
check "sample etc/evbusd.conf: exit 0" [ "$rc" -eq 0 ]
check "sample etc/evbusd.conf: prints \"configuration OK\"" \
	[ "$out" = "configuration OK" ]
check "sample etc/evbusd.conf: nothing on stderr" [ -z "$err" ]

# 2. The sample written from the key table passes too, and matches the
#    shipped one except for the paths configure chooses.
run "$EVBUSD" --sample-config
check "--sample-config: exit 0" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/generated.conf"
run "$EVBUSD" --config-test --config "$tmp/generated.conf"
check "--sample-config output passes -n" [ "$rc" -eq 0 ]
pathkeys='^#(plugin_dir|status_socket|pid_file) = '
if diff <(grep -Ev "$pathkeys" "$tmp/generated.conf") \
    <(grep -Ev "$pathkeys" "$SAMPLE") >"$tmp/diff"; then
	pass "etc/evbusd.conf is what evbusd -S writes"
else
	fail "etc/evbusd.conf is what evbusd -S writes (regenerate it)"
	sed 's/^/#   /' "$tmp/diff" | head -20
fi

# 3. Three errors on known lines: all reported, each with file:line.
broken=$tmp/broken.conf
cat >"$broken" <<'EOF'
# broken on purpose: errors on lines 2, 4 and 6
prefetch_count = 0;
exchange_name = "orders";
bogus_key = 1;

durable = "yes";
workers = 4;
EOF
run "$EVBUSD" -n -f "$broken"
check "three errors: exit $EX_CONFIG" [ "$rc" -eq "$EX_CONFIG" ]
check "three errors: line 2 out of range" \
	has "$err" "$broken:2: prefetch_count: 0 is out of range (1..65535)"
check "three errors: line 4 unknown key" \
	has "$err" "$broken:4: unknown key \"bogus_key\""
check "three errors: line 6 wrong type" \
	has "$err" "$broken:6: durable: expected a boolean"
check "three errors: exactly three lines on stderr" \
	[ "$(nlines "$err")" -eq 3 ]
check "three errors: no \"configuration OK\"" lacks "$out" "configuration OK"

# 4. A syntax error names its line.
cat >"$tmp/syntax.conf" <<'EOF'
workers = 2;

prefetch_count = ;
EOF
run "$EVBUSD" -n -f "$tmp/syntax.conf"
check "syntax error: exit $EX_CONFIG" [ "$rc" -eq "$EX_CONFIG" ]
check "syntax error: file and line 3" \
	has "$err" "$tmp/syntax.conf:3: syntax error"

# 5. A password in a group-readable file is refused, never printed.
secret=$tmp/secret.conf
echo 'rabbitmq_url = "amqp://app:TopSecret1@localhost:5672/prod";' >"$secret"
chmod 640 "$secret"
run "$EVBUSD" -n -f "$secret"
check "password, mode 0640: exit $EX_CONFIG" [ "$rc" -eq "$EX_CONFIG" ]
check "password, mode 0640: names file, mode and fix" \
	has "$err" "$secret:1: rabbitmq_url holds a password but $secret is readable by its group (mode 0640); run chmod 600 $secret, or remove the password from the URL and set EVBUS_PASSWORD instead"
check "password, mode 0640: password not shown" lacks "$err$out" "TopSecret1"
chmod 600 "$secret"
run "$EVBUSD" -n -v -f "$secret"
check "password, mode 0600: accepted" [ "$rc" -eq 0 ]
check "password, mode 0600: password not shown by -v" \
	lacks "$err$out" "TopSecret1"

# 6. EVBUS_PASSWORD supplies the password; the file may then be 0644.
echo 'rabbitmq_url = "amqp://app@localhost/prod";' >"$tmp/envpw.conf"
chmod 644 "$tmp/envpw.conf"
EVBUS_PASSWORD=FromEnv2 run "$EVBUSD" -n -v -f "$tmp/envpw.conf"
check "EVBUS_PASSWORD: accepted" [ "$rc" -eq 0 ]
check "EVBUS_PASSWORD: used" has "$out" "(with password)"
check "EVBUS_PASSWORD: not shown" lacks "$err$out" "FromEnv2"

# 7. A missing file is a config error, not a crash.
run "$EVBUSD" -n -f "$tmp/missing.conf"
check "missing file: exit $EX_CONFIG" [ "$rc" -eq "$EX_CONFIG" ]
check "missing file: says so" \
	has "$err" "$tmp/missing.conf: cannot open: No such file or directory"

# 8. --help lists every option; --version names the libraries.
run "$EVBUSD" --help
check "--help: exit 0" [ "$rc" -eq 0 ]
for opt in -f --config -n --config-test -d --foreground -v --verbose \
    -S --sample-config -h --help -V --version; do
	check "--help: lists $opt" has "$out" "$opt"
done
run "$EVBUSD" -h
check "-h: exit 0" [ "$rc" -eq 0 ]
run "$EVBUSD" --version
check "--version: exit 0" [ "$rc" -eq 0 ]
check "--version: first line is \"evbusd <version>\"" \
	grep -qE '^evbusd [0-9]+\.[0-9]+' <<<"$out"
for lib in librabbitmq json-c libconfig; do
	check "--version: names $lib" has "$out" "$lib "
done

# 9. A bad option is a usage error.
run "$EVBUSD" --no-such-option
check "bad option: exit $EX_USAGE" [ "$rc" -eq "$EX_USAGE" ]
check "bad option: usage on stderr" has "$err" "usage: evbusd"

# 10. TLS files with a plaintext amqp:// URL are refused at the line of
#     the first TLS key, whether the URL comes before or after them, by
#     evbusd -n and by evbusctl (which loads the same file).
tlsmsg='are set but rabbitmq_url'
cat >"$tmp/tls-url-first.conf" <<'EOF'
rabbitmq_url = "amqp://mq.example.com/";
workers = 1;
ca_file = "/etc/evbus/ca.pem";
EOF
cat >"$tmp/tls-url-last.conf" <<'EOF'
cert_file = "/etc/evbus/client.pem";
key_file = "/etc/evbus/client.key";
rabbitmq_url = "amqp://mq.example.com/";
EOF
cat >"$tmp/tls-url-default.conf" <<'EOF'
workers = 1;

ca_file = "/etc/evbus/ca.pem";
EOF
for c in \
    "tls-url-first.conf:3: TLS files (ca_file) $tlsmsg (line 1) is amqp://" \
    "tls-url-last.conf:1: TLS files (cert_file, key_file) $tlsmsg (line 3) is amqp://" \
    "tls-url-default.conf:3: TLS files (ca_file) $tlsmsg is amqp://"; do
	f=${c%%:*}
	refused "$f" 1 "$tmp/$f"
	check "$f: evbusd -n names file:line of the TLS key" \
		has "$err" "$tmp/$c"
	run "$EVBUSCTL" -f "$tmp/$f" status --socket "$tmp/none.sock"
	check "$f: evbusctl exits $EX_CONFIG" [ "$rc" -eq "$EX_CONFIG" ]
	check "$f: evbusctl names file:line of the TLS key" \
		has "$err" "$tmp/$c"
done
# The same files with amqps:// pass, in either order, with EVBUS_PASSWORD.
sed 's|amqp://|amqps://app@|' "$tmp/tls-url-first.conf" >"$tmp/tls-ok1.conf"
sed 's|amqp://|amqps://app@|' "$tmp/tls-url-last.conf" >"$tmp/tls-ok2.conf"
for f in tls-ok1.conf tls-ok2.conf; do
	EVBUS_PASSWORD=FromEnv3 run "$EVBUSD" -n -v -f "$tmp/$f"
	check "$f: amqps:// with TLS files: accepted" [ "$rc" -eq 0 ]
	check "$f: amqps:// with TLS files: password from EVBUS_PASSWORD" \
		has "$out" "amqps://app@mq.example.com:5671/ (with password)"
	check "$f: password not shown" lacks "$err$out" "FromEnv3"
done

# 11. user and group must exist on this host: evbusd -n and the real
#     start refuse them with file:line; evbusctl, which needs only the
#     connection settings, does not care.
nouser=evbus-no-such-user-$$
nogroup=evbus-no-such-group-$$
cat >"$tmp/accounts.conf" <<EOF
workers = 1;
user = "$nouser";
group = "$nogroup";
EOF
acc=$tmp/accounts.conf
refused "unknown user and group" 2 "$acc"
check "unknown user: file:line" \
	has "$err" "$acc:2: user: \"$nouser\": no such user on this host"
check "unknown group: file:line" \
	has "$err" "$acc:3: group: \"$nogroup\": no such group on this host"
run "$EVBUSD" -d -f "$acc"
check "unknown user and group: evbusd start exits $EX_CONFIG" \
	[ "$rc" -eq "$EX_CONFIG" ]
check "unknown user: evbusd start names file:line" \
	has "$err" "$acc:2: user: \"$nouser\": no such user"
run "$EVBUSD" --single-worker -f "$acc"
check "unknown user: evbusd --single-worker exits $EX_CONFIG" \
	[ "$rc" -eq "$EX_CONFIG" ]
check "unknown user: evbusd --single-worker names file:line" \
	has "$err" "$acc:2: user: \"$nouser\": no such user"
run "$EVBUSCTL" -f "$acc" status --socket "$tmp/none.sock"
check "unknown user: evbusctl loads the config (fails on the socket only)" \
	has "$err" "evbusd is not running"
check "unknown user: evbusctl does not refuse the config" \
	lacks "$err" "is not valid"
printf 'user = "root";\ngroup = "root";\n' >"$tmp/root.conf"
run "$EVBUSD" -n -v -f "$tmp/root.conf"
check "existing user and group: accepted" [ "$rc" -eq 0 ]
check "existing user: -v shows its uid" \
	has "$out" "workers run as user root (uid 0)"
check "existing group: -v shows its gid" \
	has "$out" "workers run as group root (gid 0)"

# 12. The directories of status_socket and pid_file must exist, where the
#     file sets them (the default is systemd's RuntimeDirectory=, made
#     only at start): -n used to say OK, and then every start failed.
cat >"$tmp/rundirs.conf" <<EOF
status_socket = "$tmp/no-such-dir/evbusd.sock";
workers = 1;
pid_file = "$tmp/no-such-dir/evbusd.pid";
EOF
rd=$tmp/rundirs.conf
nodir="the directory $tmp/no-such-dir does not exist"
refused "missing run directories" 2 "$rd"
check "missing status_socket directory: file:line" \
	has "$err" "$rd:1: status_socket: $nodir"
check "missing pid_file directory: file:line" \
	has "$err" "$rd:3: pid_file: $nodir"
# A start that fails on a missing directory exits "configuration broken"
# (78, RestartPreventExitStatus=), not 1, which systemd restarts forever.
mkdir -p "$tmp/emptyplugins"
chmod 755 "$tmp/emptyplugins"
cat >"$tmp/startdir.conf" <<EOF
plugin_dir = "$tmp/emptyplugins";
status_socket = "$tmp/no-such-dir/evbusd.sock";
EOF
run "$EVBUSD" -d -f "$tmp/startdir.conf"
check "start with a missing status_socket directory exits $EX_CONFIG" \
	[ "$rc" -eq "$EX_CONFIG" ]
check "and says the directory may be missing" \
	has "$err" "does its directory exist?"
mkdir "$tmp/no-such-dir"
run "$EVBUSD" -n -f "$rd"
check "run directories created: accepted" [ "$rc" -eq 0 ]
: >"$tmp/plainfile"
echo "pid_file = \"$tmp/plainfile/evbusd.pid\";" >"$tmp/notdir.conf"
refused "pid_file under a regular file" 1 "$tmp/notdir.conf"
check "pid_file under a regular file: file:line" \
	has "$err" "$tmp/notdir.conf:1: pid_file: the directory $tmp/plainfile is not a directory"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
