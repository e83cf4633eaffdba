#!/bin/bash
# Costs that grow with the number of tunnels on one dial-up gateway:
#
# 1. hactl on the full gateway: `tunnel summary` (one entry per peer),
#    each the median of DS_REPS calls, against `gateway list bench` of the
#    same haiked (the anchor: every IKE and CHILD SA in one pass, a larger
#    answer than the summary's) and `status` (hactl's fixed cost). A linear
#    summary keeps summary / gateway list flat from 1,000 to 10,000
#    tunnels; a quadratic one grows it ~10x.
# 2. INITIAL_CONTACT: haiked's CPU per SA establishing the tunnels when
#    every IKE_AUTH carries INITIAL_CONTACT (ike_loadgen --initial-contact;
#    every tunnel has its own ID, so nothing is dropped but haiked looks
#    for older SAs with that ID), against the same establishment without
#    it in the same run (the anchor). Looking by index: ratio ~1 at any N.
#
# Every tunnel is its own peer (its own source address:port) unless
# DS_PORTS is set: 10,000 tunnels from 4 addresses x 2,500 ports.
# Run as root; the lab of ike.sh / gw_shutdown.sh (bench_lib.sh lab_*).
#
#   tests/bench/dialup_scale.sh [BUILD_DIR] [HAIKED_BINARY [HACTL_BINARY]]
#   DS_BEFORE_HAIKED=/tmp/old/haiked DS_BEFORE_HACTL=/tmp/old/hactl tests/bench/dialup_scale.sh
#
# HAIKED_BINARY / HACTL_BINARY (default BUILD_DIR's) measure another
# build with the same load generator; DS_BEFORE_HAIKED (+ DS_BEFORE_HACTL)
# measures a saved older build in the same run, after each N, and prints
# before -> after. Environment (defaults): DS_TUNNELS
# ("1000 10000"), DS_REPS (5), DS_CONC (100), DS_SOURCES (4), DS_PORTS
# (tunnels / sources, at most 4096), DS_NICE (19, haiked), DS_LG_NICE (0),
# DS_KEEP_DIR (keep logs).
set -euo pipefail

. "$(dirname "$0")/bench_lib.sh"
counts=${DS_TUNNELS:-1000 10000}
reps=${DS_REPS:-5}
conc=${DS_CONC:-100}
sources=${DS_SOURCES:-4}
nicelvl=${DS_NICE:-19}
lg_nice=${DS_LG_NICE:-0}
proposal=aes128-sha256-ecp256
esp=aes128-sha256

lab_init dialup_scale.sh hkdsc "${DS_KEEP_DIR:-}"
lab_build "$nicelvl"
haiked=${2:-$haiked}
hactl=${3:-$hactl}
lab_up "$sources"
lab_haiked_conf error
ulimit -n 65536 2>/dev/null || true # the load generator's sockets
echo "haiked: $haiked"

ctl() { "$hactl" --socket "$work/haiked/ctl.sock" --json "$@" 2>/dev/null; }

# start_haiked: a fresh haiked (no SAs); $hpid.
start_haiked() {
    rm -f "$work/haiked/ctl.sock"
    lab_responder "$work/haiked.log" "$haiked" --foreground --config "$work/haiked/haiked.conf"
    hpid=""
    for _ in $(seq 100); do
        hpid=$lab_pid # ip, taskset and nice exec: haiked itself
        [ -n "$hpid" ] && [ -S "$work/haiked/ctl.sock" ] && ctl status >/dev/null && return 0
        sleep 0.1
    done
    echo "dialup_scale.sh: haiked did not start" >&2
    cat "$work/haiked.log" >&2
    exit 1
}

stop_haiked() {
    lab_stop_pid "$lab_pid"
    wait "$lab_pid" 2>/dev/null || true
}

# establish N OUT [ARGS...]: N tunnels kept up (the load generator exits
# when all are; haiked keeps the SAs: no DPD), its JSON in OUT.
establish() {
    local n=$1 out=$2 ports
    shift 2
    ports=${DS_PORTS:-$(( (n + sources - 1) / sources ))}
    [ "$ports" -le 4096 ] || ports=4096
    (lab_loadgen "$lg_nice" "$n" --ports "$ports" --keep --peer-pid "$hpid" --json "$@") \
        >"$out" 2>"$work/lg.err" || { echo "dialup_scale.sh: load generator failed" >&2;
                                       cat "$out" "$work/lg.err" >&2; exit 1; }
}

# median_ms CMD...: the median wall time of $reps hactl calls, ms.
median_ms() {
    local t=()
    for _ in $(seq "$reps"); do
        local c0
        c0=$(date +%s%N)
        ctl "$@" >/dev/null || { echo "dialup_scale.sh: hactl $* failed" >&2; exit 1; }
        t+=($(( ($(date +%s%N) - c0) / 1000 )))
    done
    printf '%s\n' "${t[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'
}

# measure LABEL HAIKED HACTL N: both establishments and the hactl views,
# one line in $results.
measure() {
    local label=$1 n=$4 peers st su gl drops
    haiked=$2 hactl=$3
    # Without INITIAL_CONTACT (the anchor), then the hactl views.
    start_haiked
    establish "$n" "$work/lg-$label-$n.json"
    peers=$(ctl tunnel summary | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tunnels"]))')
    st=$(median_ms status)
    su=$(median_ms tunnel summary)
    gl=$(median_ms gateway list bench)
    stop_haiked
    # With INITIAL_CONTACT in every IKE_AUTH.
    start_haiked
    establish "$n" "$work/lg-ic-$label-$n.json" --initial-contact
    drops=$(ctl gateway list bench | /usr/bin/python3 -c \
        'import json,sys; print(json.load(sys.stdin)["gateways"][0]["stats"].get("initial_contact_drops", 0))')
    stop_haiked
    echo "$label $n $peers $st $su $gl $drops $work/lg-$label-$n.json $work/lg-ic-$label-$n.json" \
        >>"$results"
}

results=$work/results.txt
: >"$results"
new_haiked=$haiked new_hactl=$hactl
for n in $counts; do
    measure this "$new_haiked" "$new_hactl" "$n"
    if [ -n "${DS_BEFORE_HAIKED:-}" ]; then
        measure before "$DS_BEFORE_HAIKED" "${DS_BEFORE_HACTL:-$new_hactl}" "$n"
    fi
done

/usr/bin/python3 - "$results" <<'EOF'
import json, sys
rows = {}
for l in open(sys.argv[1]):
    label, n, peers, st, su, gl, drops, lg, lgic = l.split()
    off = json.load(open(lg))["establish"]
    on = json.load(open(lgic))["establish"]
    rows[(label, int(n))] = dict(peers=int(peers), st=float(st), su=float(su), gl=float(gl),
                                 drops=int(drops), off=off, on=on)
for label in ("this", "before"):
    ns = sorted(n for (l, n) in rows if l == label)
    if not ns:
        continue
    print(f"== {label} build")
    for n in ns:
        r = rows[(label, n)]
        a, b = r["off"]["peer_cpu_ms_per_sa"], r["on"]["peer_cpu_ms_per_sa"]
        r["ic"] = b / a if a else float("nan")
        print(f"{n} tunnels, {r['peers']} summary entries (peers):")
        print(f"  hactl tunnel summary {r['su']:.1f} ms, gateway list {r['gl']:.1f} ms (anchor: "
              f"every IKE + CHILD SA, one pass), status {r['st']:.1f} ms; "
              f"summary / gateway list {r['su'] / r['gl']:.2f}")
        print(f"  establish: haiked CPU {a:.3f} ms/SA without INITIAL_CONTACT (anchor), "
              f"{b:.3f} with: {r['ic']:.2f}x; {r['off']['per_s']:.0f} / {r['on']['per_s']:.0f} "
              f"SA/s; INITIAL_CONTACT drops {r['drops']}")
    if len(ns) > 1:
        lo, hi = rows[(label, ns[0])], rows[(label, ns[-1])]
        print(f"  {ns[-1]} vs {ns[0]} tunnels ({ns[-1] / ns[0]:.0f}x): tunnel summary "
              f"{hi['su'] / lo['su']:.1f}x the time, gateway list {hi['gl'] / lo['gl']:.1f}x; "
              f"summary / gateway list {(hi['su'] / hi['gl']) / (lo['su'] / lo['gl']):.2f}x, "
              f"INITIAL_CONTACT ratio {hi['ic'] / lo['ic']:.2f}x")
for n in sorted(n for (l, n) in rows if l == "this"):
    if ("before", n) in rows:
        t, b = rows[("this", n)], rows[("before", n)]
        print(f"this vs before at {n} tunnels: tunnel summary {b['su']:.1f} -> {t['su']:.1f} ms "
              f"(summary / gateway list {b['su'] / b['gl']:.2f} -> {t['su'] / t['gl']:.2f}); "
              f"INITIAL_CONTACT CPU ratio {b['ic']:.2f}x -> {t['ic']:.2f}x")
EOF
grep -m 3 -E "Sanitizer|runtime error" "$work/haiked.log" || true
