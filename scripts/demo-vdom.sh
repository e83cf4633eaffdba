#!/bin/bash
# The VDOM partitioning demo: the placement that broke the FortiGate of the
# field report (../shared/seeds/000_049842e86171de80.txt), working.
#
#   sudo ./scripts/demo-vdom.sh          # from a fresh clone, as root
#
# Installs the Debian packages (scripts/install-deps.sh), builds (cmake preset
# "default", or $BUILD_DIR), then runs tests/lab/labkit/demo_vdom.py, which uses
# the lab kit of the VDOM tests (tests/lab/labkit/cluster_vdom.py):
#   - two nodes a and b, each with VDOM root (vcluster 1, the node's network
#     namespace) and VDOM FWEXT (vcluster 2, a namespace of its own, declared
#     in haiked.conf `vdoms`), corosync knet with crypto on the sync link;
#   - a strongSwan peer per VDOM (sun -> FWEXT, moon -> root), a LAN host per
#     VDOM pinging through its tunnel every 50 ms;
#   - both vclusters start on node a; `hactl failover --vcluster 2` moves
#     FWEXT to node b while root stays on a; `hactl status` on both nodes;
#   - strongSwan rekeys FWEXT's CHILD and IKE SA, node b rekeys them on its
#     own; the loss of both pings and the number of IKE_SA_INITs are printed.
# The lab is torn down however the demo ends. Exit status 0 when FWEXT lost at
# most one ping (the move), root none, and nothing was renegotiated.
#
# Environment: BUILD_DIR (default build/default), DEMO_SKIP_DEPS=1,
# DEMO_SKIP_BUILD=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/default}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo-vdom: $*" >&2; exit 1; }

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
HAIKED_BUILD_DIR=$BUILD_DIR exec /usr/bin/python3 -m labkit.demo_vdom
