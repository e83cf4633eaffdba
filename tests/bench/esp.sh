#!/bin/sh
# ESP data-plane throughput (issue 4 "Benchmark"): iperf3 TCP LAN <-> LAN
# through haiked's userspace ESP and through strongSwan's kernel-libipsec,
# same run, GCM and CBC suites. Run as root; builds its own namespace lab
# (203.0.113.0/24 WAN, 192.0.2.0/25 <-> 192.0.2.128/25 LANs).
#
#   tests/bench/esp.sh [BUILD_DIR]     (default: build/bench, Release)
#
# Environment: ESP_BENCH_SECONDS (5), ESP_BENCH_PAIRS ("haiked-charon
# charon-charon haiked-haiked haiked-haiked-natt"; the last with
# nattraversal "forced": ESP-in-UDP on 4500 as with every strongSwan peer),
# ESP_BENCH_SUITES ("gcm cbc"),
# BENCH_NICE (19: the machine is shared).
# Output: "esp PAIR SUITE MBITS" and "cpu PAIR SUITE CPU-SECONDS-PER-GB"
# (both daemons and both iperf3 ends)
# lines, then haiked-haiked(-natt) / charon-charon ratios per suite (throughput,
# and CPU efficiency: charon's CPU per GB over haiked's, which a loaded
# machine disturbs much less than throughput).
#
# The anchor must be a stock charon. Until 2026-12-02 it ran with labkit's
# fixture log levels (ike/chd/enc/net 4, flush_line): kernel-libipsec moves
# every ESP packet through charon's IKE socket, so net 4 hex-dumped each
# datagram into the log (~130 MB per 5 s run) and charon<->charon gave
# 28-35 Mbit/s (haiked<->charon ~45), a same-run ratio of ~20-30x.
# esp_iperf.py now starts charon with strongSwan's default levels (1: nothing
# per packet) and warns when a charon log still grows past 1 MiB.
# Checked and left as a stock operator has it: ipsec0 MTU 1400 (MSS 1360,
# the ESP-in-UDP datagram stays under 1500: no fragments), openssl loaded
# first (AES-NI), no pinning, one nice for every process of every pair,
# identical iperf3 options. Measured without effect on charon's rate (so not
# applied): threads = 32 (4 or 8 starve vici), nice -10, iperf3 ends in LAN
# namespaces behind the gateways instead of on them, and a 4 MiB receive
# buffer on the 4500 socket (removes the ~5 % datagram drops and TCP
# retransmits, not one Mbit/s; strongSwan 5.9.8 has no option for it anyway).
# charon<->charon is CPU bound on its per-packet thread hand-offs (~6 context
# switches per packet, 35 % of its profile in finish_task_switch), so on this
# VM it reaches 250-340 Mbit/s GCM, not LAB.md's 475.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build/bench}
if [ ! -x "$build/daemon/haiked" ]; then
    { [ -f "$build/CMakeCache.txt" ] || cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release; } \
        >/dev/null && cmake --build "$build" --target haiked hactl -j2 >/dev/null
fi
out=$(HAIKED_BUILD_DIR=$build nice -n "${BENCH_NICE:-19}" /usr/bin/python3 "$here/esp_iperf.py")
echo "$out"
echo "$out" | awk '$1 == "cpu" { c[$2 " " $3] = $4 }
    $1 == "esp" { v[$2 " " $3] = $4; s[$3] = 1 }
    END { for (x in s) if (v["charon-charon " x] > 0) {
            split("haiked-haiked haiked-haiked-natt", hh, " ")
            for (k = 1; k <= 2; k++) {
                if (v[hh[k] " " x] != "")
                    printf "ratio %s/charon-charon %s %.2f\n", hh[k], x, v[hh[k] " " x] / v["charon-charon " x]
                if (c[hh[k] " " x] > 0)
                    printf "efficiency %s/charon-charon %s %.2f\n", hh[k], x, c["charon-charon " x] / c[hh[k] " " x] }
            if (v["haiked-charon " x] != "")
                printf "ratio haiked-charon/charon-charon %s %.2f\n", x, v["haiked-charon " x] / v["charon-charon " x] } }'
