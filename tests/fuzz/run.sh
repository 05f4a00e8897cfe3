#!/usr/bin/env bash
# run.sh: build the libFuzzer targets and run each for a while.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# TARGETs are event, url and config (default: all), each run SECONDS
# (default 20) on a copy of its seed corpus, tests/fuzz/corpus/TARGET.
# The targets are built with clang (-fsanitize=fuzzer,address,undefined)
# straight from the sources in shared/, with the include paths and
# pkg-config flags of Makefile.am; config.h comes from $BUILDDIR (a
# configured build directory) when set, else a minimal one is written.
# Exit status 1 when a target crashed, leaked, tripped a sanitizer or
# could not be built; the input that did it is kept (the path is printed).
#
# Environment: BUILDDIR (see above), FUZZ_WORK (where to build and keep
# corpora and crashes; default a new directory under ${TMPDIR:-/tmp}),
# CC (default clang).  Debian 12 needs: clang libclang-rt-14-dev (and
# llvm, for llvm-symbolizer: reports with file and line).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-20}
case $secs in
''|*[!0-9]*) echo "usage: $0 [SECONDS] [event|url|config...]" >&2; exit 2 ;;
esac
[ $# -gt 0 ] && shift
targets=${*:-event url config}
CC=${CC:-clang}

work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/evbus-fuzz.XXXXXX")}
mkdir -p "$work/crashes" || exit 1

fail() { echo "fuzz: $*" >&2; echo "fuzz: 0 passed, 1 failed"; exit 1; }

command -v "$CC" >/dev/null ||
    fail "$CC not found (apt-get install clang libclang-rt-14-dev)"
command -v pkg-config >/dev/null || fail "pkg-config not found"

# config.h: the build's, or just what shared/ needs from it.
if [ -n "${BUILDDIR:-}" ] && [ -f "$BUILDDIR/config.h" ]; then
	confinc=$BUILDDIR
else
	confinc=$work/include
	mkdir -p "$confinc"
	cat > "$confinc/config.h" <<'EOF'
/* Minimal config.h for the fuzz targets (tests/fuzz/run.sh). */
#define PACKAGE "evbus"
#define PACKAGE_NAME "evbus"
#define PACKAGE_VERSION "0.0-fuzz"
#define PACKAGE_STRING "evbus 0.0-fuzz"
#define VERSION "0.0-fuzz"
#ifndef _GNU_SOURCE
# define _GNU_SOURCE 1
#endif
EOF
fi

pkgs="libbsd-overlay json-c libconfig"
pcflags=$(pkg-config --cflags $pkgs) || fail "pkg-config: $pkgs missing"
pclibs=$(pkg-config --libs $pkgs) || fail "pkg-config: $pkgs missing"
# As Makefile.am's AM_CPPFLAGS and configure.ac's WARN_CFLAGS (less
# -Wno-format-truncation, which clang does not know).
cppflags=(-I"$top/shared" -I"$confinc" -DSYSCONFDIR='"/usr/local/etc"'
	-DPKGLIBDIR='"/usr/local/lib/evbus"' -DLOCALSTATEDIR='"/usr/local/var"'
	-DRUNSTATEDIR='"/var/run"')
WARN="-Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
	-Wshadow -Wwrite-strings -Wpointer-arith -Wno-unused-parameter -Werror"
SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -g -O1"

# The shared/ sources each target needs.
sources() {
	case $1 in
	event)	echo "shared/event.c shared/pyjson_parse.c shared/pyjson_write.c
		    shared/uuid.c shared/isotime.c" ;;
	url)	echo "shared/url.c" ;;
	# (fuzz_config.c has its own fatal(): no log.c)
	config)	echo "shared/conf.c shared/suggest.c shared/url.c shared/retry.c
		    shared/pyjson_write.c
		    shared/conf_table.c shared/conf_check.c
		    shared/xmalloc.c" ;;
	esac
}

# Input size limits: configs and events are small texts, URLs smaller.
maxlen() {
	case $1 in
	url)	echo 1024 ;;
	*)	echo 16384 ;;
	esac
}

# Leaks that are not ours: libconfig 1.5's parser drops the string of a
# token the grammar rejects (a syntax error right after a string), which
# its scanner allocated.  A config evbus forgot to destroy would still
# show, by its settings.
cat > "$work/lsan.supp" <<'EOF'
leak:strbuf_append
leak:libconfig_yylex
EOF

passed=0 failed=0
for t in $targets; do
	src=$(sources "$t")
	if [ -z "$src" ] || [ ! -f "$here/fuzz_$t.c" ]; then
		echo "fuzz: unknown target $t" >&2
		failed=$((failed + 1))
		continue
	fi
	echo "== fuzz_$t: build"
	# shellcheck disable=SC2086
	if ! (cd "$top" && $CC -std=gnu11 $SAN $WARN "${cppflags[@]}" \
	    $pcflags "$here/fuzz_$t.c" $src $pclibs -lm -o "$work/fuzz_$t"); then
		echo "fuzz_$t: build failed"
		failed=$((failed + 1))
		continue
	fi
	rm -rf "$work/corpus-$t" "$work/crashes/$t-"*
	mkdir -p "$work/corpus-$t"
	cp "$here/corpus/$t"/* "$work/corpus-$t/" 2>/dev/null
	echo "== fuzz_$t: ${secs}s on $(ls "$work/corpus-$t" | wc -l) seeds"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$work/lsan.supp:print_suppressions=0} \
	    "$work/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -max_len="$(maxlen "$t")" -print_final_stats=1 \
	    -artifact_prefix="$work/crashes/$t-" "$work/corpus-$t" \
	    > "$work/fuzz_$t.log" 2>&1 < /dev/null
	rc=$?
	grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units)' \
	    "$work/fuzz_$t.log" | tail -n 2
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz_$t: ok"
	else
		failed=$((failed + 1))
		echo "fuzz_$t: FAILED (exit $rc); the report:"
		grep -vE '^#[0-9]+ ' "$work/fuzz_$t.log" | tail -n 60
		for a in "$work/crashes/$t-"*; do
			[ -e "$a" ] && echo "fuzz_$t: reproducer $a" \
			    "(replay: $work/fuzz_$t $a)"
		done
	fi
done

[ -z "${FUZZ_WORK:-}" ] && [ "$failed" -eq 0 ] && rm -rf "$work"
[ "$failed" -gt 0 ] && echo "fuzz: kept $work"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
