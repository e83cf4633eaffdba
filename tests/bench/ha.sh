#!/bin/sh
# HA benchmarks (issue 5 "Benchmarks", tests/bench/ha_bench.py): acknowledged
# sync messages/s next to the raw CPG rate in the same run; the failover
# outage / takeover time over repeated kill -9 of the master's haiked;
# IKE_SA/s with HA on vs off (ike_loadgen, same run); bulk-sync time of the
# standby for HA_BENCH_TUNNELS IKE+CHILD SAs.
# Run as root; builds its own namespace lab (corosync knet with crypto,
# token 300, strongSwan peer) and tears it down.
#
#   tests/bench/ha.sh [BUILD_DIR]     (default: build/bench, Release)
#
# Environment: HA_BENCH_PARTS ("sync failover ikerate bulk"), HA_BENCH_N
# (20000), HA_BENCH_KILLS (20), HA_BENCH_INTERVAL (0.01 s between pings),
# HA_BENCH_TUNNELS (10000),
# BENCH_NICE (19: the machine is shared).
# HA_BENCH_TOTEM, HA_BENCH_PERF: see ha_bench.py.
# Output: "ha KEY VALUE" lines (targets: sync_vs_raw_pct >= 50,
# ha_on_vs_off_pct >= 90, bulk_sync_ms <= 2000 for 10,000; next to the raw
# ratio, node_capacity_on_vs_off_pct: CPU per SA of the master node alone).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build/bench}
if [ ! -x "$build/daemon/haiked" ] || [ ! -x "$build/tests/hasync/hasync_probe" ] ||
    [ ! -x "$build/tests/bench/ike_loadgen" ]; then
    { [ -f "$build/CMakeCache.txt" ] || cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release; } \
        >/dev/null && cmake --build "$build" --target haiked hactl hasync_probe ike_loadgen -j2 >/dev/null
fi
HAIKED_BUILD_DIR=$build exec nice -n "${BENCH_NICE:-19}" /usr/bin/python3 "$here/ha_bench.py"
