#!/bin/sh
# ESP data-plane throughput (issue 4 "Benchmark"): iperf3 TCP LAN <-> LAN
# through haiked's userspace ESP and through strongSwan's kernel-libipsec,
# same run, GCM and CBC suites. Run as root; builds its own namespace lab
# (203.0.113.0/24 WAN, 192.0.2.0/25 <-> 192.0.2.128/25 LANs).
#
#   tests/bench/esp.sh [BUILD_DIR]     (default: build/bench, Release)
#
# Environment: ESP_BENCH_SECONDS (5), ESP_BENCH_PAIRS ("haiked-charon
# charon-charon haiked-haiked"), ESP_BENCH_SUITES ("gcm cbc"),
# BENCH_NICE (19: the machine is shared).
# Output: "esp PAIR SUITE MBITS" and "cpu PAIR SUITE CPU-SECONDS-PER-GB"
# (both daemons and both iperf3 ends)
# lines, then haiked-haiked / charon-charon ratios per suite (throughput,
# and CPU efficiency: charon's CPU per GB over haiked's, which a loaded
# machine disturbs much less than throughput).
#
# The anchor must be a stock charon. Until 2026-12-02 it ran with labkit's
# fixture log levels (ike/chd/enc/net 4, flush_line): kernel-libipsec moves
# every ESP packet through charon's IKE socket, so net 4 hex-dumped each
# datagram into the log (~130 MB per 5 s run), the responder's 4500 socket
# overflowed (udp rcvbuf errors = tcp retransmits) and charon<->charon gave
# 28-35 Mbit/s, making the ratio ~20-30x. esp_iperf.py now starts charon with
# strongSwan's default levels (1, nothing per packet) and warns if a charon
# log still grows past 1 MiB. Everything else was checked and is as a stock
# operator would have it: ipsec0 MTU 1400 (MSS 1360; the ESP-in-UDP datagram
# stays <= 1500, no fragments), openssl loaded first (AES-NI), no pinning,
# the same nice for every process of both pairs, identical iperf3 options.
# Left as is: the 4500 socket's receive buffer (strongSwan 5.9.8 has no
# option for it; net.core.rmem_default is host-wide and read-only inside a
# namespace), so charon still loses ~3-5 % of datagrams on a loaded machine.
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
            if (v["haiked-haiked " x] != "")
                printf "ratio haiked-haiked/charon-charon %s %.2f\n", x, v["haiked-haiked " x] / v["charon-charon " x]
            if (c["haiked-haiked " x] > 0)
                printf "efficiency haiked-haiked/charon-charon %s %.2f\n", x, c["charon-charon " x] / c["haiked-haiked " x]
            if (v["haiked-charon " x] != "")
                printf "ratio haiked-charon/charon-charon %s %.2f\n", x, v["haiked-charon " x] / v["charon-charon " x] } }'
