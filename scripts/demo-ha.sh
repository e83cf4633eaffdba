#!/bin/bash
# The cluster demo: two haiked nodes + corosync + a stock strongSwan peer.
#
#   sudo ./scripts/demo-ha.sh            # from a fresh clone, as root
#
# Installs the Debian packages (scripts/install-deps.sh), builds (cmake preset
# "default", or $BUILD_DIR), then runs tests/lab/labkit/demo_ha.py, which uses
# the lab kit of the cluster tests (tests/lab/labkit/cluster.py):
#   - namespaces: nodes a and b (WAN leg on a bridge with strongSwan, LAN leg
#     on a bridge with a LAN host, sync link 198.51.100.1 <-> .2 carrying
#     corosync knet with crypto aes256/sha256 and token 300), strongSwan
#     (kernel-libipsec) on 203.0.113.2 with its own LAN host;
#   - the same haiked.conf on both nodes but the priority (a 200, b 100);
#     the master adds the VIPs 203.0.113.10 (WAN) and 192.0.2.1 (the LAN
#     host's gateway) and brings the tunnel up through the WAN VIP;
#   - `hactl status` on both nodes, strongSwan's view, a ping every 50 ms from
#     the LAN host to the remote LAN host, kill -9 of the master's haiked,
#     the loss the traffic saw, `hactl status` again, and the killed node
#     rejoining as standby (bulk sync).
# The lab (namespaces, processes by PID, /dev/shm qb-* files of the
# corosyncs) is torn down however the demo ends.
#
# Environment: BUILD_DIR (default build/default), DEMO_SKIP_DEPS=1,
# DEMO_SKIP_BUILD=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/default}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo-ha: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (namespaces, veth, bridges, mounts)"

if [ -z "${DEMO_SKIP_DEPS:-}" ]; then
    say "Debian packages (scripts/install-deps.sh)"
    "$ROOT/scripts/install-deps.sh"
fi
if [ -z "${DEMO_SKIP_BUILD:-}" ]; then
    say "build ($BUILD_DIR)"
    if [ "$BUILD_DIR" = "$ROOT/build/default" ]; then
        (cd "$ROOT" && cmake --preset default >/dev/null && cmake --build --preset default -j"$(nproc)")
    else
        cmake -S "$ROOT" -B "$BUILD_DIR" >/dev/null && cmake --build "$BUILD_DIR" -j"$(nproc)"
    fi
fi
[ -x "$BUILD_DIR/daemon/haiked" ] || die "$BUILD_DIR/daemon/haiked not built"
[ -x "$BUILD_DIR/cli/hactl" ] || die "$BUILD_DIR/cli/hactl not built"

# The Debian python3 (the lab kit is stdlib only); the python3 on PATH may differ.
cd "$ROOT/tests/lab"
HAIKED_BUILD_DIR=$BUILD_DIR exec /usr/bin/python3 -m labkit.demo_ha
