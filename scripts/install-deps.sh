#!/bin/sh
# Installs every Debian package the build, the tests and the lab need.
# Idempotent: packages already present are left alone; apt-get update runs
# only when something is missing.
set -eu

PKGS="build-essential cmake pkg-config ninja-build clang llvm libclang-rt-14-dev
libssl-dev openssl
libnl-3-dev libnl-xfrm-3-dev libnl-route-3-dev
corosync libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libcfg-dev
libcorosync-common-dev
libprotobuf-c-dev protobuf-c-compiler
libevent-dev libconfig-dev libcmocka-dev libsystemd-dev
python3 python3-pytest
debhelper dpkg-dev fakeroot lintian man-db bash-completion strace
tshark tcpdump iproute2 iputils-ping iperf3 nftables procps psmisc
strongswan-charon strongswan-swanctl libcharon-extra-plugins
libstrongswan-standard-plugins
user-mode-linux kmod"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run as root)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# The strongswan packages enable a host charon-systemd/strongswan service on
# some setups; the lab starts its own charon per namespace, never the host's.
echo "install-deps: installed:$missing"
