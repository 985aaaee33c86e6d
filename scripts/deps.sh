#!/bin/sh
# Installs the Debian packages convbox needs to build and test, once.
# Runs apt-get update only when something is missing.
set -eu
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev clang-format \
libpython3.11-dev python3.11 libseccomp-dev libjansson-dev libcmocka-dev \
libcurl4-openssl-dev bandit util-linux procps"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
