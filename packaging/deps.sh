#!/usr/bin/env bash
# deps.sh: install what evbus needs to build, test and run on Debian 12.
# Idempotent: installs only missing packages.  Needs root (or sudo).
set -eu

PKGS="build-essential autoconf automake libtool pkg-config
	librabbitmq-dev libconfig-dev libjson-c-dev libssl-dev libbsd-dev
	libcunit1-dev rabbitmq-server amqp-tools openssl socat procps
	iproute2 python3 clang libclang-rt-14-dev llvm
	prometheus python3-prometheus-client
	debhelper dh-autoreconf dpkg-dev fakeroot lintian mandoc systemd man-db"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
others=""
prom=0
for p in $missing; do
	if [ "$p" = prometheus ]; then prom=1; else others="$others $p"; fi
done
# shellcheck disable=SC2086
[ -n "$others" ] &&
    $SUDO apt-get install -y -qq --no-install-recommends $others >/dev/null
# Only promtool of the prometheus package is used (make check runs it on
# evbusd's metrics), but its maintainer script would start a Prometheus
# server on *:9090.  A policy-rc.d that refuses (exit 101, the Debian
# convention containers use) keeps it from starting while it installs;
# an existing policy-rc.d is left alone.  Nor is it started at boot.
if [ $prom = 1 ]; then
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\n# deps.sh: no service starts\nexit 101\n' |
		    $SUDO tee "$policy" >/dev/null
		$SUDO chmod 755 "$policy"
	fi
	$SUDO apt-get install -y -qq --no-install-recommends prometheus \
	    >/dev/null || { [ -n "$policy" ] && $SUDO rm -f "$policy"; exit 1; }
	[ -n "$policy" ] && $SUDO rm -f "$policy"
	if [ -d /run/systemd/system ]; then
		$SUDO systemctl disable --now prometheus.service \
		    >/dev/null 2>&1 || true
	fi
fi
# Debian's package may start a system broker (node rabbit); ours run on
# their own node names and ports, so it does not get in the way.
