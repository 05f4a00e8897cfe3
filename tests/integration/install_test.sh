#!/bin/bash
# install_test.sh: `make install` into a DESTDIR, as a user or a package
# build does, and the handler SDK it installs.  Needs no broker.
#
# Checks: the configuration is installed when absent and never
# overwritten (an edited one is kept, the new sample goes beside it); the
# bundled plugins go to <pkglibdir>/available without .la files, and
# plugin_dir itself stays empty; the man pages and the pkg-config file are
# installed; the example handler builds warning-free (-Wall -Wextra
# -Werror) with nothing but the installed header and
# `pkg-config --cflags evbus-handler`, its plugindir is evbusd's default
# plugin_dir, and the built plugin passes `evbusd -n`.
. "$EVBUS_SRCDIR/tests/integration/lib.sh"

root=$T_DIR/root
conf_rel=$(sed -n 's/^sysconfdir = //p' "$EVBUS_BUILDDIR/Makefile")

# make install from inside make check: a make of its own, not a job of
# the make running the tests.
do_install() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    timeout 300 make -s -C "$EVBUS_BUILDDIR" install DESTDIR="$root" \
	    >"$T_DIR/install.out" 2>&1
}

check "make install DESTDIR=..." do_install
# The paths as evbusd sees them: its sample prints its defaults.
plugin_dir=$("$EVBUSD" -S | sed -n 's/^#plugin_dir = "\(.*\)";$/\1/p')
etc=$(find "$root" -type d -path '*/etc/evbus' | head -n1)
check "plugin_dir default found in evbusd -S ($plugin_dir)" \
    test -n "$plugin_dir"
check "evbusd.conf installed into $conf_rel/evbus" \
    test -f "$etc/evbusd.conf"
check "the installed evbusd.conf is evbusd -S" \
    cmp -s "$etc/evbusd.conf" <("$EVBUSD" -S)
check "no evbusd.conf.sample on a first install" \
    test ! -e "$etc/evbusd.conf.sample"

echo '# edited by the site' >>"$etc/evbusd.conf"
check "make install again" do_install
check "an existing evbusd.conf is kept" \
    grep -q '^# edited by the site' "$etc/evbusd.conf"
check "the new sample goes to evbusd.conf.sample" \
    test -f "$etc/evbusd.conf.sample"
check "make install says it kept the configuration" \
    grep -q 'exists and was kept' "$T_DIR/install.out"

pd=$root$plugin_dir
check "bundled plugins in plugin_dir/available" \
    test -f "$pd/available/jsonl.so" -a -f "$pd/available/inventory.so"
check "no .la files installed" \
    test -z "$(find "$root" -name '*.la')"
check "plugin_dir itself holds no plugin" \
    test -z "$(find "$pd" -maxdepth 1 -name '*.so')"
check "no test plugin installed (chaos, tests/plugins)" \
    test -z "$(find "$root" -name 'chaos.so' -o -name 'good_a.so' \
    -o -name 'example.so')"
for m in man8/evbusd.8 man8/evbusctl.8 man5/evbusd.conf.5 \
    man3/evbus-handler.3; do
	check "man page $m installed" \
	    test -n "$(find "$root" -path "*/man/$m")"
done
check "example handler installed with the docs" \
    test -n "$(find "$root" -path '*/examples/example_handler.c')"

# The SDK as a handler author uses it, against the installed tree.
pc=$(find "$root" -name evbus-handler.pc | head -n1)
check "evbus-handler.pc installed into libdir/pkgconfig" \
    test -n "$pc" -a "$(basename "$(dirname "$pc")")" = pkgconfig
export PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$root
cflags=$(echo $(pkg-config --cflags evbus-handler))
check "pkg-config --cflags names the installed header ($cflags)" \
    test -f "${cflags#-I}/evbus/handler.h"
plugindir=$(PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=plugindir \
    evbus-handler)
check "plugindir ($plugindir) is evbusd's default plugin_dir" \
    test "$plugindir" = "$plugin_dir"
ex=$(find "$root" -path '*/examples/example_handler.c' | head -n1)
mkdir -p "$T_DIR/plugins"
# shellcheck disable=SC2086
check "the example builds with -Wall -Wextra -Werror and pkg-config" \
    cc -Wall -Wextra -Werror -O2 -shared -fPIC $cflags \
    -o "$T_DIR/plugins/example.so" "$ex"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cat >"$T_DIR/evbusd.conf" <<EOF
plugin_dir = "$T_DIR/plugins";
status_socket = "$T_DIR/evbusd.sock";
pid_file = "$T_DIR/evbusd.pid";
handlers = { example = { greeting = "hi"; }; };
EOF
out=$(timeout 30 "$EVBUSD" -n -v -f "$T_DIR/evbusd.conf" 2>&1)
check "evbusd -n loads the example plugin" \
    grep -q 'plugins: 1 plugin(s) OK' <<<"$out"
echo "$out" | sed 's/^/# /'
finish
