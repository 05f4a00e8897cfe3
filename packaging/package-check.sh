#!/usr/bin/env bash
# package-check.sh [OUTDIR]: build the Debian packages and check them,
# without installing anything on this machine (run by .ci/run).
#
#  1. dpkg-buildpackage -us -uc -b on a copy of the committed tree (git
#     archive HEAD, plus the working tree's debian/ when run by hand),
#     with DEB_BUILD_OPTIONS=nocheck: CI has run the tests already.
#  2. dpkg-deb -c: the paths (evbusd in /usr/sbin, evbusctl in /usr/bin,
#     the unit, the config as a conffile of mode 0640, plugins in
#     /usr/lib/evbus without .la files and no test plugin, man pages,
#     header, pkg-config file, example handler).
#  3. lintian: fails on any error (E:); warnings are shown.
#  4. A throwaway root: dpkg-deb -x into a temporary directory (never
#     dpkg -i: the CI machine's own system is not touched; no maintainer
#     script runs), then the extracted evbusd -n on the extracted
#     configuration, evbusd -V, evbusctl --version, and the example handler
#     built from the extracted header and pkg-config file and loaded by the
#     extracted evbusd -n.
#  5. mandoc -Tlint on the extracted man pages.
#  6. systemd-analyze verify on the extracted unit (see there why a copy).
#
# The packages are left in OUTDIR (default: a temporary directory, removed).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/evbus-pkg.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${1:-$work/out}
mkdir -p "$out"

fails=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

echo "== package: build (dpkg-buildpackage -b, nocheck)"
src=$work/evbus
mkdir -p "$src"
git -C "$top" archive HEAD | tar -x -C "$src"
# By hand, an uncommitted debian/ is what is being tried out.
if [ -d "$top/debian" ]; then
	rm -rf "$src/debian"
	cp -a "$top/debian" "$src/debian"
	rm -rf "$src/debian/tmp" "$src/debian/evbus" "$src/debian/evbus-dev" \
	    "$src/debian/.debhelper"
fi
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
	tail -n 60 "$work/build.log"
	echo "package-check: dpkg-buildpackage failed" >&2
	exit 1
fi
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
deb=$(ls "$out"/evbus_*.deb)
dev=$(ls "$out"/evbus-dev_*.deb)
ok "built $(basename "$deb") and $(basename "$dev")"

echo "== package: contents (dpkg-deb -c)"
dpkg-deb -c "$deb" >"$work/evbus.list"
dpkg-deb -c "$dev" >"$work/dev.list"
has() { grep -q " \./$2\$" "$work/$1.list"; }
for p in usr/sbin/evbusd usr/bin/evbusctl etc/evbus/evbusd.conf \
    lib/systemd/system/evbusd.service \
    usr/lib/evbus/available/jsonl.so usr/lib/evbus/available/inventory.so \
    usr/lib/evbus/available/fulfillment.so usr/lib/evbus/available/shipping.so \
    usr/share/man/man8/evbusd.8.gz usr/share/man/man8/evbusctl.8.gz \
    usr/share/man/man5/evbusd.conf.5.gz usr/share/doc/evbus/README.Debian; do
	check "evbus has /$p" has evbus "$p"
done
check "evbus has the plugin_dir /usr/lib/evbus/" has evbus usr/lib/evbus/
for p in usr/include/evbus/handler.h usr/share/pkgconfig/evbus-handler.pc \
    usr/share/man/man3/evbus-handler.3.gz \
    usr/share/doc/evbus-dev/examples/example_handler.c; do
	check "evbus-dev has /$p" has dev "$p"
done
check "no .la file in either package" \
    test -z "$(grep '\.la$' "$work/evbus.list" "$work/dev.list")"
check "no test plugin (chaos, tests/plugins, example.so)" \
    test -z "$(grep -E '/(chaos|good_a|good_b|wild|bad_[a-z]+|no_symbol|undefined_sym|init_fail|dup_name|no_handle|noop|example)\.so$' \
    "$work/evbus.list" "$work/dev.list")"
check "plugin_dir itself ships no plugin" \
    test -z "$(grep -E ' \./usr/lib/evbus/[^/]+\.so$' "$work/evbus.list")"
check "evbusd.conf is mode 0640 in the package" \
    grep -q '^-rw-r----- .* \./etc/evbus/evbusd.conf$' "$work/evbus.list"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$work/conffiles"
check "DEBIAN/conffiles lists /etc/evbus/evbusd.conf" \
    grep -qx /etc/evbus/evbusd.conf "$work/conffiles"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst >"$work/postinst"
check "postinst creates the evbus account and sets root:evbus 0640" \
    grep -q 'dpkg-statoverride --update --add root evbus 0640' "$work/postinst"
check "the unit is enabled on install (dh_installsystemd)" \
    grep -q 'deb-systemd-helper enable' "$work/postinst"
check "the unit is not started on install" \
    test -z "$(grep -E 'deb-systemd-invoke (start|restart)' "$work/postinst")"

echo "== package: lintian"
lintian --fail-on error "$out"/evbus_*.changes >"$work/lintian.out" 2>&1 &&
    lintian_rc=0 || lintian_rc=$?
grep -v '^running with root privileges' "$work/lintian.out" || true
check "lintian reports no errors" test "$lintian_rc" -eq 0

echo "== package: throwaway root (dpkg-deb -x, nothing installed here)"
root=$work/root
mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
dpkg-deb -x "$dev" "$root"
evbusd=$root/usr/sbin/evbusd
evbusctl=$root/usr/bin/evbusctl
check "the extracted evbusd -V runs" "$evbusd" -V
check "the extracted evbusctl --version runs" "$evbusctl" --version
check "the packaged evbusd.conf is the sample of the packaged evbusd" \
    diff <(sed -e 's/^user = /#user = /' -e 's/^group = /#group = /' \
    "$root/etc/evbus/evbusd.conf") <("$evbusd" -S)
check "the packaged evbusd.conf drops to user and group evbus" \
    grep -q '^user = "evbus";$' "$root/etc/evbus/evbusd.conf"
# The packaged configuration as is, except what belongs to the installed
# system: the evbus account (made by postinst, not here) and the run and
# plugin directories (now inside the throwaway root).
rt=$work/run
mkdir -p "$rt" "$work/plugins"
conf=$work/evbusd.conf
{
	sed -e '/^user = /d' -e '/^group = /d' "$root/etc/evbus/evbusd.conf"
	echo "plugin_dir = \"$root/usr/lib/evbus\";"
	echo "status_socket = \"$rt/evbusd.sock\";"
	echo "pid_file = \"$rt/evbusd.pid\";"
} >"$conf"
if out=$("$evbusd" -n -f "$conf" 2>&1); then
	ok "extracted evbusd -n on the packaged configuration: $out"
else
	bad "extracted evbusd -n on the packaged configuration: $out"
fi
# Every bundled handler loads, with jsonl given its path.
sed -i "s|^plugin_dir = .*|plugin_dir = \"$work/plugins\";|" "$conf"
ln -s "$root"/usr/lib/evbus/available/*.so "$work/plugins/"
echo "handlers = { jsonl = { path = \"$work/events.jsonl\"; }; };" >>"$conf"
if out=$("$evbusd" -n -f "$conf" 2>&1) &&
    grep -q 'configuration OK' <<<"$out"; then
	ok "extracted evbusd -n loads the 4 bundled handlers"
else
	bad "extracted evbusd -n with the bundled handlers: $out"
fi
# The SDK from the extracted evbus-dev, as a handler author uses it.
cflags=$(PKG_CONFIG_PATH=$root/usr/share/pkgconfig \
    PKG_CONFIG_SYSROOT_DIR=$root pkg-config --cflags evbus-handler)
plugindir=$(PKG_CONFIG_PATH=$root/usr/share/pkgconfig \
    pkg-config --variable=plugindir evbus-handler)
check "pkg-config plugindir ($plugindir) is evbusd's plugin_dir" \
    grep -qx "#plugin_dir = \"$plugindir\";" <("$evbusd" -S)
rm -f "$work"/plugins/*.so
# shellcheck disable=SC2086
check "the packaged example handler builds with -Wall -Wextra -Werror" \
    cc -Wall -Wextra -Werror -O2 -shared -fPIC $cflags \
    -o "$work/plugins/example.so" \
    "$root/usr/share/doc/evbus-dev/examples/example_handler.c"
if out=$("$evbusd" -n -v -f "$conf" 2>&1) &&
    grep -q 'plugins: 1 plugin(s) OK' <<<"$out"; then
	ok "extracted evbusd -n loads the example handler"
else
	bad "extracted evbusd -n with the example handler: $out"
fi

echo "== package: mandoc -Tlint"
# Errors and warnings must be none.  Of the style notes only "referenced
# manual not found" is expected, for our own pages: mandoc looks them up
# in this machine's manual database, where an uninstalled package is not;
# each such reference is checked against the package instead.
for m in $(find "$root/usr/share/man" -name '*.gz' | sort); do
	name=${m#"$root"/usr/share/man/}
	mandoc -Tlint -W style "$m" >"$work/lint" 2>&1 || true
	grep -v 'mandoc.db lacks\|referenced manual not found: Xr evbus' \
	    "$work/lint" >"$work/lint.other" || true
	if [ -s "$work/lint.other" ]; then
		bad "mandoc -Tlint $name"
		cat "$work/lint.other"
	else
		ok "mandoc -Tlint $name"
	fi
	for xr in $(sed -n 's/.*referenced manual not found: Xr \([^ ]*\) \([0-9]\).*/\1.\2/p' \
	    "$work/lint"); do
		check "$name: $xr is in the package" \
		    test -f "$root/usr/share/man/man${xr##*.}/$xr.gz"
	done
done

echo "== package: systemd-analyze verify"
# systemd-analyze verify checks that ExecStart's binary exists and that
# the man: pages of Documentation= open with man(1).  With --root= it
# also wants the whole of systemd's own units inside the root
# (sysinit.target, /bin/kill), so on Debian 12 (systemd 252) it verifies
# a copy of the extracted unit whose evbusd path points into the
# throwaway root, with MANPATH naming the extracted man pages.
mkdir -p "$work/unit"
sed -e "s|/usr/sbin/evbusd|$root/usr/sbin/evbusd|g" \
    "$root/lib/systemd/system/evbusd.service" >"$work/unit/evbusd.service"
if out=$(MANPATH=$root/usr/share/man:/usr/share/man \
    systemd-analyze verify "$work/unit/evbusd.service" 2>&1); then
	ok "systemd-analyze verify evbusd.service"
else
	bad "systemd-analyze verify evbusd.service"
	echo "$out"
fi

echo "package-check: $fails failed"
[ "$fails" -eq 0 ]
