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

DEMO_NAME=demo-ha
# shellcheck source=scripts/demo-common.sh
. "$(dirname "$0")/demo-common.sh"

demo_require_root "namespaces, veth, bridges, mounts"
demo_deps_and_build
demo_require_built daemon/haiked cli/hactl
demo_labkit demo_ha
