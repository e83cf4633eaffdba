# Sourced by the tests/bench/*.sh scripts (POSIX sh). Sets up what each of
# them needs, from the script's arguments and environment:
#   repo build secs tmp (removed on exit)   and   bench_prepare PROGRAM,
# which sets $bin to $BENCH_BIN or builds PROGRAM in $build (configured as
# Release if missing) and prints the libike line; and the IKE lab of
# ike.sh and gw_shutdown.sh (lab_* below).
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build/bench}
secs=${BENCH_SECONDS:-2}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# speed ARGS...: the machine-readable result lines of `openssl speed`.
speed() {
    openssl speed -mr -seconds "$secs" "$@" 2>/dev/null | grep '^+F' || true
}

bench_prepare() {
    bin=${BENCH_BIN:-}
    if [ -z "$bin" ]; then
        if ! { [ -f "$build/CMakeCache.txt" ] ||
            cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release; } >"$tmp/build.log" 2>&1 ||
            ! cmake --build "$build" --target "$1" -j2 >>"$tmp/build.log" 2>&1; then
            cat "$tmp/build.log" >&2
            exit 1
        fi
        bin="$build/tests/bench/$1"
    fi
    echo "libike: $bin (${secs}s per measurement)"
}

# ---- the IKE lab ------------------------------------------------------------
# Two namespaces on a veth, 203.0.113.0/24, no route out: the gateway
# ($ns_gw, 203.0.113.1, 192.0.2.1 on lo inside its local selector) and the
# load generator ($ns_lg, $lab_sources addresses from 203.0.113.10, listed
# in $local_list). Every process a script starts in it is tracked
# (lab_track) and stopped on exit, the namespaces deleted, $work (= $tmp)
# removed unless kept.

# lab_init SCRIPT NS_PREFIX KEEP: run as root or exit; names the namespaces
# NS_PREFIX-gw-PID / -lg-PID; a non-empty KEEP keeps $work (and says so).
lab_init() {
    [ "$(id -u)" -eq 0 ] || { echo "$1: run as root (namespaces)" >&2; exit 1; }
    ns_gw=$2-gw-$$
    ns_lg=$2-lg-$$
    lab_keep=$3
    work=$tmp
    lab_pids=""
    trap lab_cleanup EXIT
    trap 'exit 130' INT TERM
}

lab_track() {
    lab_pids="$lab_pids $1"
}

# lab_stop_pid PID: TERM, up to 5 s, then KILL.
lab_stop_pid() {
    [ -d "/proc/$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do [ -d "/proc/$1" ] || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

lab_cleanup() {
    for lab_pid in $lab_pids; do lab_stop_pid "$lab_pid"; done
    for lab_ns in $ns_gw $ns_lg; do
        ip netns list | grep -qw "$lab_ns" && ip netns delete "$lab_ns"
    done
    if [ -n "$lab_keep" ]; then echo "work dir: $work"; else rm -rf "$work"; fi
}

# lab_build NICE: ike_loadgen, haiked and hactl built in $build (configured
# as Release if missing) at nice NICE; sets $loadgen $haiked $hactl.
lab_build() {
    if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$work/build.log" 2>&1 ||
            { cat "$work/build.log" >&2; exit 1; }
    fi
    nice -n "$1" cmake --build "$build" --target ike_loadgen haiked hactl -j2 \
        >>"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
    loadgen=$build/tests/bench/ike_loadgen
    haiked=$build/daemon/haiked
    hactl=$build/cli/hactl
}

# lab_up SOURCES: the namespaces, the veth and SOURCES load generator
# addresses (checked with a ping); a fresh random PSK in $psk and $work/psk.
lab_up() {
    ip netns add "$ns_gw"
    ip netns add "$ns_lg"
    ip link add bgw0 netns "$ns_gw" type veth peer name blg0 netns "$ns_lg"
    ip -n "$ns_gw" addr add 203.0.113.1/24 dev bgw0
    ip -n "$ns_gw" addr add 192.0.2.1/32 dev lo # inside its local selector
    local_list=""
    for i in $(seq 1 "$1"); do
        a=203.0.113.$((9 + i))
        ip -n "$ns_lg" addr add "$a/24" dev blg0
        local_list=${local_list:+$local_list,}$a
    done
    for lab_ns in $ns_gw $ns_lg; do ip -n "$lab_ns" link set lo up; done
    ip -n "$ns_gw" link set bgw0 up
    ip -n "$ns_lg" link set blg0 up
    ip netns exec "$ns_lg" ping -c 1 -W 2 203.0.113.1 >/dev/null

    psk=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '%s\n' "$psk" >"$work/psk")
}

# lab_haiked_conf LEVEL: $work/haiked/haiked.conf (+ secrets.conf, 0600):
# one dial-up gateway "bench" on 203.0.113.1 with $proposal / $esp, no DPD,
# the record data plane, DoS limits out of the way, log LEVEL on stderr.
lab_haiked_conf() {
    mkdir -p "$work/haiked"
    cat >"$work/haiked/haiked.conf" <<EOF
global = {
    control-socket = "$work/haiked/ctl.sock";
    secrets-file = "$work/haiked/secrets.conf";
    dataplane = "record";
    log = { target = "stderr"; level = "$1"; };
    ike = {
        cookie-threshold = 10000000;
        half-open-max = 10000000;
        half-open-per-peer = 10000000;
    };
};
gateways = (
    {
        name = "bench";
        local-gw = "203.0.113.1";
        remote-gw = "any";
        proposal = "$proposal";
        dpd = "disable";
        selectors = (
            { name = "bench"; local-subnet = "192.0.2.0/25"; remote-subnet = "10.0.0.0/8";
              proposal = "$esp"; }
        );
    }
);
EOF
    (umask 077 && printf 'secrets = ( { gateway = "bench"; psk = "%s"; } );\n' "$psk" \
        >"$work/haiked/secrets.conf")
}

# lab_responder LOG CMD...: CMD in the background in $ns_gw on core 1 at
# nice $nicelvl, stdout and stderr in LOG; $lab_pid is CMD's PID (ip,
# taskset and nice exec), tracked.
lab_responder() {
    lab_log=$1
    shift
    ip netns exec "$ns_gw" taskset -c 1 nice -n "$nicelvl" "$@" >"$lab_log" 2>&1 &
    lab_pid=$!
    lab_track "$lab_pid"
}

# lab_loadgen NICE COUNT ARGS...: execs ike_loadgen in $ns_lg on core 0 at
# nice NICE: COUNT tunnels to 203.0.113.1 from $local_list x 64 ports, $conc
# in flight, $proposal / $esp, the lab's PSK, then ARGS. It replaces the
# shell it runs in: call it as `(lab_loadgen ...)` or `lab_loadgen ... &`
# (then $! is the load generator's PID).
lab_loadgen() {
    lab_nice=$1 lab_count=$2
    shift 2
    exec ip netns exec "$ns_lg" taskset -c 0 nice -n "$lab_nice" "$loadgen" \
        --remote 203.0.113.1 --local "$local_list" --ports 64 --count "$lab_count" \
        --concurrency "$conc" --proposal "$proposal" --esp "$esp" --psk-file "$work/psk" "$@"
}
