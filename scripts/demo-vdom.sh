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

DEMO_NAME=demo-vdom
# shellcheck source=scripts/demo-common.sh
. "$(dirname "$0")/demo-common.sh"

demo_require_root "namespaces, veth, bridges, mounts"
demo_deps_and_build
demo_require_built daemon/haiked cli/hactl
demo_labkit demo_vdom
