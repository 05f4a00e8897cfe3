#!/usr/bin/env bash
# deps.sh: install what evbus needs to build, test and run on Debian 12.
# Idempotent: installs only missing packages.  Needs root (or sudo).
set -eu

PKGS="build-essential autoconf automake libtool pkg-config
	librabbitmq-dev libconfig-dev libjson-c-dev libssl-dev libbsd-dev
	libcunit1-dev libsystemd-dev rabbitmq-server amqp-tools openssl socat procps
	iproute2 python3 clang libclang-rt-14-dev llvm"

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
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian's package may start a system broker (node rabbit); ours run on
# their own node names and ports, so it does not get in the way.
