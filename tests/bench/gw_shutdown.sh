#!/bin/bash
# Shutdown cost of haiked holding many tunnels on one dial-up gateway:
# time from SIGTERM to exit, and haiked's CPU in that time. Every tunnel
# gets a Delete; the load generator (tests/bench/ike_loadgen --keep
# --hold) answers them, so the run measures the daemon's per-SA teardown
# work, not the 3 s wait for silent peers. Run as root; builds its lab
# like ike.sh (two namespaces on a veth, 203.0.113.0/24, no route out,
# removed by a trap with every process it started: the lab_* functions of
# bench_lib.sh).
#
#   tests/bench/gw_shutdown.sh [BUILD_DIR] [HAIKED_BINARY]
#
# HAIKED_BINARY (default BUILD_DIR/daemon/haiked) lets a saved binary of
# an older tree be measured with the same load generator.
# Environment (defaults): GWSD_TUNNELS (2000), GWSD_CONC (100),
# GWSD_BULK (set: instead, the load generator deletes every tunnel itself
# and haiked's CPU per SA of that phase is printed),
# GWSD_NICE (19, haiked: the machine is shared), GWSD_LG_NICE (0, the load
# generator), GWSD_SOURCES (4), GWSD_LOG (warn: the "did not answer" line), GWSD_KEEP_DIR (keep logs).
set -euo pipefail

. "$(dirname "$0")/bench_lib.sh"
tunnels=${GWSD_TUNNELS:-2000}
conc=${GWSD_CONC:-100}
nicelvl=${GWSD_NICE:-19}
sources=${GWSD_SOURCES:-4}
# The load generator must answer every Delete within the daemon's 3 s
# shutdown wait: at nice 19 on a busy core it did not.
lg_nice=${GWSD_LG_NICE:-0}
proposal=aes128-sha256-ecp256
esp=aes128-sha256

lab_init gw_shutdown.sh hkgwsd "${GWSD_KEEP_DIR:-}"
lab_build "$nicelvl"
haiked=${2:-$haiked}
lab_up "$sources"
lab_haiked_conf "${GWSD_LOG:-warn}"

# haiked under GNU time (its CPU over its whole life); hpid = haiked itself.
lab_responder "$work/haiked.log" /usr/bin/time -f '%U %S' -o "$work/time.txt" "$haiked" \
    --foreground --config "$work/haiked/haiked.conf"
tpid=$lab_pid
ctl() { "$hactl" --socket "$work/haiked/ctl.sock" --json "$@" 2>/dev/null; }
hpid=""
for _ in $(seq 100); do
    hpid=$(pgrep -P "$tpid" -x haiked || true)
    [ -n "$hpid" ] && [ -S "$work/haiked/ctl.sock" ] && ctl status >/dev/null && break
    sleep 0.1
done
[ -n "$hpid" ] || { echo "gw_shutdown.sh: haiked did not start" >&2; cat "$work/haiked.log" >&2; exit 1; }
lab_track "$hpid"

if [ -n "${GWSD_BULK:-}" ]; then
    # The peers' side of a mass teardown: all up, then the load generator
    # deletes every one (haiked answers): haiked's CPU per SA per phase.
    (lab_loadgen "$lg_nice" "$tunnels" --peer-pid "$hpid" --json) >"$work/bulk.json" \
        2>"$work/lg.err" || true
    /usr/bin/python3 - "$work/bulk.json" "$tunnels" <<'EOF2'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"bulk {sys.argv[2]}: {r['ike_established']} up, {r['deleted']} deleted by the peers")
for phase in ("establish", "delete"):
    p = r.get(phase)
    if p:
        print(f"  {phase:9s} {p['per_s']:8.1f} SA/s  haiked CPU "
              f"{p.get('peer_cpu_ms_per_sa', 0):.3f} ms/SA")
EOF2
    exit 0
fi

# Tunnels up and held (the load generator answers the Deletes).
lab_loadgen "$lg_nice" "$tunnels" --keep --hold 600 --json >"$work/lg.json" 2>"$work/lg.err" &
lab_track "$!"
n=0
for _ in $(seq 1200); do
    n=$(ctl status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("ike_sas",0))' \
        2>/dev/null || echo 0)
    [ "$n" -ge "$tunnels" ] && break
    sleep 0.5
done
[ "$n" -ge "$tunnels" ] || { echo "gw_shutdown.sh: only $n/$tunnels tunnels up" >&2; exit 1; }
sleep 3 # the last CHILD SAs and the load generator's own bookkeeping

# hactl on the full gateway (what an operator runs; its cost is not the
# daemon's teardown, but it walks the same SAs).
for cmd in "status" "tunnel summary" "gateway list bench"; do
    c0=$(date +%s%N)
    # shellcheck disable=SC2086
    ctl $cmd >/dev/null || echo "gw_shutdown.sh: hactl $cmd failed" >&2
    echo "hactl $cmd at $n tunnels: $(( ($(date +%s%N) - c0) / 1000000 )) ms"
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
before=$(cpu_ticks "$hpid")
t0=$(date +%s%N)
kill -TERM "$hpid"
while [ -d "/proc/$hpid" ] && ! grep -q '^Z' <(awk '{print $3}' "/proc/$hpid/stat" 2>/dev/null); do
    sleep 0.005
done
wait "$tpid" 2>/dev/null || true
t1=$(date +%s%N)
read -r u s <"$work/time.txt"
/usr/bin/python3 - "$tunnels" "$t0" "$t1" "$u" "$s" "$before" "$hz" <<'EOF'
import sys
n, t0, t1, u, s, before, hz = sys.argv[1:]
wall = (int(t1) - int(t0)) / 1e6
cpu = (float(u) + float(s)) * 1000 - int(before) * 1000 / int(hz)
print(f"haiked with {n} tunnels on one dial-up gateway: SIGTERM -> exit {wall:.0f} ms wall, "
      f"{cpu:.0f} ms CPU")
EOF
grep -m 3 -E "Sanitizer|runtime error|did not answer" "$work/haiked.log" || true
# Deletes whose answers the kernel dropped (haiked's receive buffer full):
# those SAs wait out the 3 s and are freed unanswered.
echo "UDP receive buffer drops in haiked's namespace: $(ip netns exec "$ns_gw" \
    awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' \
    /proc/net/snmp)"
