#!/bin/bash
# The main job: haiked <-> stock strongSwan in a two-namespace lab.
#
#   sudo ./scripts/demo.sh            # from a fresh clone, as root
#
# Installs the Debian packages (scripts/install-deps.sh), builds (cmake preset
# "default", or $BUILD_DIR), creates two network namespaces joined by a veth
# ("moon": haiked on 203.0.113.1, LAN 192.0.2.0/25; "sun": charon with
# kernel-libipsec on 203.0.113.2, LAN 192.0.2.128/25), lets haiked initiate an
# IKEv2 tunnel (PSK, aes256gcm16-prfsha512-ecp521), shows both views (haiked's
# log, `hactl tunnel summary` / `gateway list`, `swanctl --list-sas`), pings
# LAN <-> LAN through haiked's userspace ESP (TUN hk-sun) and shows the
# per-SA counters on both sides, then
# stops haiked (which deletes its SA: charon's view goes empty) and tears the
# lab down. Idempotent: leftovers of an interrupted run are removed first; the
# trap tears down whatever was created, however the script ends.
#
# Environment: BUILD_DIR (default build/default), DEMO_KEEP=1 (leave the lab
# running until Enter is pressed), DEMO_SKIP_DEPS=1, DEMO_SKIP_BUILD=1.
set -euo pipefail

DEMO_NAME=demo
# shellcheck source=scripts/demo-common.sh
. "$(dirname "$0")/demo-common.sh"
WORK=/tmp/haiked-demo
NS_MOON=hkdemo-moon
NS_SUN=hkdemo-sun
PSK="demo-psk-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
CHARON=/usr/lib/ipsec/charon

demo_require_root "namespaces, veth, mounts"

# ---- teardown (also of a previous, interrupted run) ---------------------------
stop_pidfile() { # SIGTERM the process recorded in $1 if it is still what we started
    local f=$1 name=$2 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && grep -q "$name" "/proc/$pid/comm"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
        [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

teardown() {
    stop_pidfile "$WORK/haiked.pid" haiked
    stop_pidfile "$WORK/charon.pid" charon
    for ns in $NS_MOON $NS_SUN; do
        ip netns list | grep -qw "$ns" && ip netns delete "$ns"
    done
    rm -rf "$WORK"
}
trap teardown EXIT
trap 'exit 130' INT TERM
teardown

# ---- dependencies and build ---------------------------------------------------
demo_deps_and_build
HAIKED=$BUILD_DIR/daemon/haiked
HACTL=$BUILD_DIR/cli/hactl
[ -x "$HAIKED" ] || die "$HAIKED not built"

# ---- the lab ---------------------------------------------------------------------
say "lab: namespaces $NS_MOON (haiked) and $NS_SUN (strongSwan)"
mkdir -p "$WORK/sun/run" "$WORK/moon"
chmod 700 "$WORK"
ip netns add $NS_MOON
ip netns add $NS_SUN
ip link add wan0 netns $NS_MOON type veth peer name wan0 netns $NS_SUN
for ns in $NS_MOON $NS_SUN; do
    ip -n $ns link set lo up
    ip -n $ns link set wan0 up
done
ip -n $NS_MOON addr add 203.0.113.1/24 dev wan0
ip -n $NS_SUN addr add 203.0.113.2/24 dev wan0
# A gateway needs an address inside its own selector (LAB.md); no dummy
# interfaces on this kernel: loopback it is.
ip -n $NS_MOON addr add 192.0.2.1/32 dev lo
ip -n $NS_SUN addr add 192.0.2.129/32 dev lo
ip netns exec $NS_MOON ping -c1 -W2 203.0.113.2 >/dev/null && echo "WAN link up"

# ---- strongSwan (charon + kernel-libipsec), responder -----------------------------
cat >"$WORK/sun/strongswan.conf" <<EOF
charon {
    load = openssl random nonce aes sha1 sha2 hmac kdf pem pkcs1 pkcs8 x509 pubkey gcm drbg kernel-libipsec kernel-netlink socket-default vici updown
    plugins { vici { socket = unix://$WORK/sun/vici } }
    filelog { main { path = $WORK/sun/charon.log; time_format = %H:%M:%S; ike_name = yes; default = 1; ike = 2 } }
    syslog { daemon { default = -1 } }
}
EOF
cat >"$WORK/sun/swanctl.conf" <<EOF
connections {
    moon {
        version = 2
        local_addrs = 203.0.113.2
        remote_addrs = 203.0.113.1
        proposals = aes256gcm16-prfsha512-ecp521
        local {
            auth = psk
            id = sun.demo.example
        }
        remote {
            auth = psk
            id = moon.demo.example
        }
        children {
            net {
                local_ts = 192.0.2.128/25
                remote_ts = 192.0.2.0/25
                esp_proposals = aes256gcm16-ecp521
                start_action = none
            }
        }
    }
}
secrets {
    ike-moon {
        id-1 = moon.demo.example
        id-2 = sun.demo.example
        secret = "$PSK"
    }
}
EOF
chmod 600 "$WORK/sun/swanctl.conf"
say "starting charon in $NS_SUN"
STRONGSWAN_CONF=$WORK/sun/strongswan.conf ip netns exec $NS_SUN \
    sh -c 'mount --bind "$0" /run && exec "$1"' "$WORK/sun/run" "$CHARON" \
    >"$WORK/sun/charon.out" 2>&1 &
echo $! >"$WORK/charon.pid"
# swanctl's plugin-loading chatter goes to a file; real errors still fail the script.
swan() { STRONGSWAN_CONF=$WORK/sun/strongswan.conf swanctl "$@" --uri "unix://$WORK/sun/vici" \
    2>>"$WORK/sun/swanctl.err"; }
for _ in $(seq 100); do swan --stats >/dev/null 2>&1 && break; sleep 0.1; done
swan --load-all --file "$WORK/sun/swanctl.conf" >"$WORK/sun/load.out" ||
    { cat "$WORK/sun/load.out" "$WORK/sun/swanctl.err"; die "swanctl --load-all failed"; }
grep -q "successfully loaded 1 connections" "$WORK/sun/load.out" ||
    { cat "$WORK/sun/load.out"; die "charon did not take the connection"; }
echo "charon ready (vici unix://$WORK/sun/vici)"

# ---- haiked, initiator --------------------------------------------------------------
cat >"$WORK/moon/haiked.conf" <<EOF
global = {
    control-socket = "$WORK/moon/haiked.sock";
    secrets-file = "secrets.conf";
    dataplane = "userspace";   # ESP in haiked over the TUN hk-sun
    log = { target = "stderr"; level = "info"; };
};
gateways = (
    {
        name = "sun";
        local-gw = "203.0.113.1";
        remote-gw = "203.0.113.2";
        proposal = "aes256gcm16-prfsha512-ecp521";
        local-id = "moon.demo.example";
        remote-id = "sun.demo.example";
        auto-negotiate = true;
        selectors = (
            { name = "net"; local-subnet = "192.0.2.0/25"; remote-subnet = "192.0.2.128/25";
              proposal = "aes256gcm16-ecp521"; add-route = true; }
        );
    }
);
EOF
( umask 077; printf 'secrets = ( { gateway = "sun"; psk = "%s"; } );\n' "$PSK" \
    >"$WORK/moon/secrets.conf" )
"$HAIKED" --check-config "$WORK/moon/haiked.conf"
say "starting haiked in $NS_MOON"
ip netns exec $NS_MOON "$HAIKED" --config "$WORK/moon/haiked.conf" --foreground \
    >"$WORK/moon/haiked.log" 2>&1 &
echo $! >"$WORK/haiked.pid"
for _ in $(seq 100); do grep -q "CHILD SA net installed" "$WORK/moon/haiked.log" && break; sleep 0.1; done
grep -q "CHILD SA net installed" "$WORK/moon/haiked.log" || {
    cat "$WORK/moon/haiked.log"; die "the tunnel did not come up"; }

# ---- both views ------------------------------------------------------------------------
say "haiked's log"
grep -E "started|IKE_SA_INIT done|NAT detected|sent IKE msg|IKE SA established|CHILD SA" \
    "$WORK/moon/haiked.log" | sed 's/^/  /'
if [ -x "$HACTL" ]; then
    say "hactl tunnel summary"
    "$HACTL" --socket "$WORK/moon/haiked.sock" tunnel summary
    say "hactl gateway list sun"
    "$HACTL" --socket "$WORK/moon/haiked.sock" gateway list sun
    say "hactl --json gateway list sun (the same for scripts; the lab asserts on it)"
    "$HACTL" --socket "$WORK/moon/haiked.sock" --json gateway list sun | /usr/bin/python3 -c '
import json, sys
g = json.load(sys.stdin)["gateways"][0]
for s in g["ike_sas"]:
    print("  IKE SA %s/%s %s %s" % (s["spi_i"], s["spi_r"], s["state"], s.get("proposal", "-")))
for c in g["child_sas"]:
    print("  CHILD SA %s spi in %s out %s" % (c["name"], c["spi_in"], c["spi_out"]))'
fi
say "strongSwan's view: swanctl --list-sas"
swan --list-sas

say "ping LAN <-> LAN through the tunnel (192.0.2.1 -> 192.0.2.129, haiked's ESP over hk-sun)"
ip -n $NS_MOON route get 192.0.2.129 | sed 's/^/  /'
ip netns exec $NS_MOON ping -n -c 10 -i 0.2 -I 192.0.2.1 192.0.2.129 | tail -2 | sed 's/^/  /'
ip netns exec $NS_SUN ping -n -c 10 -i 0.2 -I 192.0.2.129 192.0.2.1 | tail -2 | sed 's/^/  /'
if [ -x "$HACTL" ]; then
    say "counters: haiked (hactl tunnel show sun) and the TUN (ip -s link show hk-sun)"
    "$HACTL" --socket "$WORK/moon/haiked.sock" tunnel show sun
    ip -n $NS_MOON -s link show hk-sun | sed 's/^/  /'
fi
say "counters: strongSwan (swanctl --list-sas: bytes/packets in and out)"
swan --list-sas | grep -E "in .*bytes|out .*bytes" | sed 's/^ */  /'

if [ -n "${DEMO_KEEP:-}" ]; then
    say "lab running: ip netns exec $NS_MOON ... / $HACTL --socket $WORK/moon/haiked.sock ...; Enter ends it"
    read -r _
fi

say "stopping haiked: it deletes its IKE SA (INFORMATIONAL Delete)"
stop_pidfile "$WORK/haiked.pid" haiked
grep -E "shutting down|deleting IKE SA|down:|exiting" "$WORK/moon/haiked.log" | sed 's/^/  /'
echo "  strongSwan SAs left: $(swan --list-sas --raw | grep -c 'list-sa event {.*state=ESTABLISHED' || true)"
say "done: tearing the lab down"
