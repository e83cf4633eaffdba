#!/bin/bash
# IKE tunnel setup cost: haiked vs stock strongSwan charon, same run, same
# load (tests/bench/ike_loadgen: IKEv2 PSK initiators on libike, one CHILD
# SA each). Issue 3 "Benchmark". Run as root; builds its own lab.
#
#   tests/bench/ike.sh [BUILD_DIR]        (default build/bench, Release)
#
# Lab: two namespaces on a veth, 203.0.113.0/24, no route out. The
# responder (haiked with the `record` data plane, or charon with
# kernel-libipsec: userspace ESP, so its CHILD SAs really get installed)
# lives on 203.0.113.1 pinned to core 1 (taskset); the load generator on
# 203.0.113.10.. (IKE_BENCH_SOURCES source addresses x 64 source ports
# each) pinned to core 0. Both responders run with DoS protection /
# COOKIEs / half-open limits out of the way and logging at errors only.
#
# Per responder: a warm-up; the bulk run: IKE_BENCH_COUNT tunnels with
# IKE_BENCH_CONC in flight (establish phase), then all of them deleted;
# the churn run: each tunnel deleted as soon as it is up (the responder
# never holds more than IKE_BENCH_CONC SAs). The responder's CPU
# (utime+stime of /proc/PID/stat, all threads) and RSS are sampled by the
# load generator at each phase boundary. Prints IKE_SA/s and responder
# CPU ms per SA for both, and the ratios haiked/charon (target <= 1/3).
# A run where not every tunnel got its CHILD SA is marked INVALID. Then a
# fresh haiked gets IKE_BENCH_TUNNELS tunnels kept up: RSS growth /
# tunnels is the memory per IKE SA + CHILD SA, checked against `hactl
# status`, `hactl gateway list` and `hactl tunnel summary`.
#
# Environment (defaults): IKE_BENCH_COUNT (3000), IKE_BENCH_CONC (100),
# IKE_BENCH_PROPOSAL (aes128-sha256-ecp256), IKE_BENCH_ESP (aes128-sha256),
# IKE_BENCH_TUNNELS (10000; 0 skips), IKE_BENCH_SOURCES (4),
# IKE_BENCH_NICE (19: the machine is shared), IKE_BENCH_ONLY (haiked|charon),
# IKE_BENCH_PERF (set: `perf record -g` each responder during its measured
# run and print its top symbols), IKE_BENCH_KEEP_DIR (keep the work dir
# with logs, JSON and profiles).
set -euo pipefail

. "$(dirname "$0")/bench_lib.sh"
count=${IKE_BENCH_COUNT:-3000}
conc=${IKE_BENCH_CONC:-100}
proposal=${IKE_BENCH_PROPOSAL:-aes128-sha256-ecp256}
esp=${IKE_BENCH_ESP:-aes128-sha256}
tunnels=${IKE_BENCH_TUNNELS:-10000}
sources=${IKE_BENCH_SOURCES:-4}
nicelvl=${IKE_BENCH_NICE:-19}
only=${IKE_BENCH_ONLY:-}
charon_bin=/usr/lib/ipsec/charon
py=/usr/bin/python3

lab_init ike.sh hkbench "${IKE_BENCH_KEEP_DIR:-}"
lab_build "$nicelvl"
lab_up "$sources"

# ---- responders -------------------------------------------------------------
# Starts "$@" in the gateway namespace on core 1; sets $rpid (the command
# execs through ip/taskset/nice, so the PID is the responder's).
start_responder() {
    lab_responder "$@"
    rpid=$lab_pid
}

# start_haiked LOG: a fresh haiked (its stderr, sanitizer reports included, in LOG).
start_haiked() {
    local log=$1
    lab_haiked_conf error
    start_responder "$log" "$haiked" --foreground --config "$work/haiked/haiked.conf"
    for _ in $(seq 100); do
        [ -S "$work/haiked/ctl.sock" ] && "$hactl" --socket "$work/haiked/ctl.sock" status \
            >/dev/null 2>&1 && return 0
        [ -d "/proc/$rpid" ] || break
        sleep 0.1
    done
    echo "ike.sh: haiked did not start:" >&2
    tail -n 20 "$log" >&2
    exit 1
}

charon_conf() {
    local d=$work/charon
    mkdir -p "$d/run"
    cat >"$d/strongswan.conf" <<EOF
charon {
    load = openssl random nonce aes sha1 sha2 hmac kdf pem pkcs1 pkcs8 x509 pubkey gcm drbg kernel-libipsec kernel-netlink socket-default vici updown
    dos_protection = no
    init_limit_half_open = 0
    init_limit_job_load = 0
    block_threshold = 10000000
    cookie_threshold = 10000000
    ikesa_table_size = 32768
    ikesa_table_segments = 16
    install_routes = no
    install_virtual_ip = no
    filelog {
        main {
            path = $d/charon.log
            default = -1
            ike = 0
            cfg = 0
        }
    }
    syslog { daemon { default = -1 } }
    plugins { vici { socket = unix://$d/vici.sock } }
}
EOF
    cat >"$d/swanctl.conf" <<EOF
connections {
    bench {
        version = 2
        local_addrs = 203.0.113.1
        proposals = $proposal
        unique = never
        dpd_delay = 0
        local { auth = psk }
        remote { auth = psk }
        children {
            bench {
                local_ts = 192.0.2.0/25
                remote_ts = 10.0.0.0/8
                esp_proposals = $esp
            }
        }
    }
}
secrets { ike-bench { secret = "$psk" } }
EOF
    chmod 600 "$d/swanctl.conf"
}

start_charon() {
    local d=$work/charon
    charon_conf
    # Private /run: charon's pid file path is compiled in.
    STRONGSWAN_CONF=$d/strongswan.conf start_responder "$d/stdout.log" \
        sh -c "mount --bind '$d/run' /run && exec $charon_bin"
    for _ in $(seq 100); do
        STRONGSWAN_CONF=$d/strongswan.conf swanctl --stats --uri "unix://$d/vici.sock" \
            >/dev/null 2>&1 && break
        [ -d "/proc/$rpid" ] || { cat "$d/stdout.log" >&2; exit 1; }
        sleep 0.1
    done
    STRONGSWAN_CONF=$d/strongswan.conf swanctl --load-all --file "$d/swanctl.conf" \
        --uri "unix://$d/vici.sock" >"$d/load.log" 2>&1 || { cat "$d/load.log" >&2; exit 1; }
}

# stop_checked LOG: stops the responder, then reports sanitizer findings
# (an ASan/UBSan build dir) or errors it logged.
stop_checked() {
    lab_stop_pid "$rpid"
    if grep -qE 'Sanitizer|runtime error' "$1"; then
        echo "  ** sanitizer report in $1:" && grep -m 5 -E 'Sanitizer|runtime error' "$1"
    fi
    local n
    n=$(grep -c . "$1" || true)
    [ "$n" -eq 0 ] || echo "  ($n log lines at level error in $1, first: $(head -n 1 "$1"))"
}

# run_loadgen OUT COUNT [ARGS...]: the load generator on core 0 against
# the responder $rpid; its JSON lands in OUT.
run_loadgen() {
    local out=$1 n=$2
    shift 2
    (lab_loadgen "$nicelvl" "$n" --peer-pid "$rpid" --json "$@") >"$out" || true
}

# summarize NAME FILE COUNT: one responder's numbers from a load generator JSON.
summarize() {
    "$py" - "$@" <<'EOF'
import json, sys
name, path, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(path))
ok = r["ike_established"] == want and r["child_established"] == want
print(f"{name}: {r['ike_established']}/{want} IKE SAs, {r['child_established']} CHILD SAs, "
      f"{r['failed']} failed, {r['deleted']} deleted, {r['retransmits']} retransmits"
      + ("" if ok else "  ** INVALID: not every tunnel came up **"))
for phase, what in (("establish", "IKE_SA/s"), ("delete", "SA/s    "), ("churn", "tunnel/s")):
    p = r.get(phase)
    if p:
        print(f"  {phase:9s} {p['per_s']:8.1f} {what}  responder CPU "
              f"{p.get('peer_cpu_ms_per_sa', 0):.3f} ms/SA  (load generator "
              f"{p['loadgen_cpu_ms_per_sa']:.3f})")
EOF
}

# measure NAME: warm-up, the bulk run (COUNT up, then all deleted), then
# the churn run (each tunnel deleted once up: at most CONC SAs exist, so
# the responder's per-SA cost without its table sizes in it). JSON in
# $work/NAME.json and $work/NAME-churn.json.
measure() {
    local name=$1
    run_loadgen "$work/$name-warmup.json" 200
    local perf_pid=""
    if [ -n "${IKE_BENCH_PERF:-}" ]; then
        perf record -g -p "$rpid" -o "$work/$name.perf" >/dev/null 2>&1 &
        perf_pid=$!
        lab_track "$perf_pid"
        sleep 0.5
    fi
    run_loadgen "$work/$name.json" "$count"
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        perf report -i "$work/$name.perf" --no-children --sort dso --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n 8 >"$work/$name.perf.txt" || true
        perf report -i "$work/$name.perf" --no-children --sort dso,sym --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n 12 >>"$work/$name.perf.txt" || true
        echo "  $name profile of the bulk run (perf self time: by library, then by symbol):"
        sed 's/^/    /' "$work/$name.perf.txt"
    fi
    summarize "$name" "$work/$name.json" "$count"
    run_loadgen "$work/$name-churn.json" "$count" --churn
    summarize "$name (churn)" "$work/$name-churn.json" "$count"
}

echo "ike bench: $(date -u +%FT%TZ), $(nproc) cores, load$(uptime | sed 's/.*load/ /')"
echo "proposal $proposal / esp $esp, $count tunnels, $conc in flight," \
    "$sources source addresses x 64 ports, nice $nicelvl"

if [ "$only" != charon ]; then
    start_haiked "$work/haiked/haiked.log"
    measure haiked
    stop_checked "$work/haiked/haiked.log"
fi
if [ "$only" != haiked ]; then
    start_charon
    measure charon
    stop_checked "$work/charon/stdout.log"
fi
if [ -z "$only" ]; then
    "$py" - "$work" <<'EOF'
import json, sys
w = sys.argv[1]
def ratio(label, phase, hfile, cfile):
    h = json.load(open(f"{w}/{hfile}")).get(phase, {})
    c = json.load(open(f"{w}/{cfile}")).get(phase, {})
    hc, cc = h.get("peer_cpu_ms_per_sa", 0), c.get("peer_cpu_ms_per_sa", 0)
    if hc and cc:
        r = hc / cc
        print(f"ratio haiked/charon CPU per SA, {label}: {r:.3f} (target <= 0.333: "
              f"{'met' if r <= 1 / 3 else 'NOT met'}); rate {h['per_s'] / c['per_s']:.2f}x")
ratio("bulk establish", "establish", "haiked.json", "charon.json")
ratio("churn (setup + delete)", "churn", "haiked-churn.json", "charon-churn.json")
EOF
fi

# ---- haiked memory at IKE_BENCH_TUNNELS tunnels -------------------------------
if [ "$tunnels" -gt 0 ] && [ "$only" != charon ]; then
    start_haiked "$work/haiked/haiked-10k.log"
    run_loadgen "$work/rss.json" "$tunnels" --keep
    ctl() { "$hactl" --socket "$work/haiked/ctl.sock" --json "$@" 2>&1 || true; }
    ctl tunnel summary >"$work/summary.json"
    ctl status >"$work/status.json"
    ctl gateway list bench >"$work/gateway.json"
    "$py" - "$work/rss.json" "$tunnels" "$work/summary.json" "$work/status.json" \
        "$work/gateway.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); e = r["establish"]
up = r["child_established"]
delta = e["peer_rss_kb_after"] - e["peer_rss_kb_before"]
print(f"haiked at {n} tunnels: {r['ike_established']} IKE SAs / {up} CHILD SAs up "
      f"({r['failed']} failed), RSS {e['peer_rss_kb_before']} -> {e['peer_rss_kb_after']} kB: "
      f"{delta * 1024 / max(up, 1):.0f} bytes per IKE SA + CHILD SA")
def load(path):
    try:
        return json.load(open(path))
    except ValueError:
        print(f"{path}: not JSON:", open(path).read()[:300])
        return None
st = load(sys.argv[4])
if st is not None:
    ike, child = int(st.get("ike_sas", 0)), int(st.get("child_sas", 0))
    agree = ike == r["ike_established"] and child == up
    print(f"hactl status: {ike} IKE SAs, {child} CHILD SAs "
          f"({'agrees' if agree else 'DISAGREES'} with the load generator)")
g = load(sys.argv[5])
if g is not None:
    gws = g.get("gateways", [])
    ike = sum(1 for gw in gws for sa in gw.get("ike_sas", []) if sa.get("state") == "established")
    child = sum(len(gw.get("child_sas", [])) for gw in gws)
    agree = ike == r["ike_established"] and child == up
    print(f"hactl gateway list bench: {ike} established IKE SAs, {child} CHILD SAs "
          f"({'agrees' if agree else 'DISAGREES'})")
s = load(sys.argv[3])
if s is not None:
    tun = s.get("tunnels", [])
    sel = sum(int(t.get("selectors_up", 0)) for t in tun)
    print(f"hactl tunnel summary: {len(tun)} line(s), selectors up {sel}"
          + ("" if len(tun) == up else
             " (a dial-up gateway is one line, not one per peer instance)"))
EOF
    stop_checked "$work/haiked/haiked-10k.log"
fi
