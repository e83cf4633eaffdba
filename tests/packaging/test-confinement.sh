#!/bin/sh
# Runs an installed haiked the way haiked.service confines it, without
# systemd as PID 1 (this machine has none, so systemd-run cannot apply the
# unit): the capability bounding set and ambient set are read from the
# installed unit and applied with setpriv; ProtectSystem=strict,
# ReadWritePaths/RuntimeDirectory=/run/haiked, ProtectHome, PrivateTmp and
# ProtectKernelTunables are rebuilt as a private mount namespace (read-only
# bind remounts, tmpfs). In a private network namespace it then checks that
# haiked:
#   - sends READY=1 through $NOTIFY_SOCKET (Type=notify),
#   - binds UDP 500 and 4500 on its gateway address, opens the control socket
#     (hactl status answers),
#   - holds exactly the unit's capabilities and no_new_privs,
#   - uses only the socket families the unit allows (RestrictAddressFamilies),
#   - reloads on SIGHUP (a new gateway appears, its 500/4500 are bound),
#   - exits 0 on SIGTERM.
#   - (HA node) after kill -9, `haiked --cleanup` (ExecStopPost=) under the
#     same confinement removes the VIP the dead daemon left.
#   - makes only system calls the unit's SystemCallFilter allows (strace -f
#     from haiked's execve on, compared with systemd-analyze syscall-filter).
# Then an HA node under the unit plus the HA drop-in (haiked-ha.service.conf,
# merged as systemd merges drop-ins): a one-node corosync in the namespace,
# haiked with an `ha` section; it must join the CPG group (hactl --json
# status: mode cluster, in the group), add its VIP on eth0 and announce it
# with a gratuitous ARP (captured on the veth peer), with the same checks of
# capabilities, socket families and system calls.
# The socket families and namespace switches are also checked from the trace
# (every socket() and setns() haiked made, short-lived ones included), which
# is what RestrictAddressFamilies and RestrictNamespaces would refuse.
# Not reproduced here (needs systemd): the seccomp filters themselves,
# MemoryDenyWriteExecute, DevicePolicy, ProtectClock/Hostname/KernelModules/Logs.
#
# Last, VDOMs in a named network namespace under the unit plus both drop-ins
# (haiked-vdom.service.conf: CAP_SYS_ADMIN, RestrictNamespaces=net): the
# VDOM's gateway bound in its namespace, its vcluster's VIP added there and
# announced, every setns() of type CLONE_NEWNET.
#
#   test-confinement.sh UNIT WORKDIR [HA_DROPIN [VDOM_DROPIN]]
#                                   (root; haiked and hactl on PATH)
# The drop-ins default to the packaged examples.
set -eu

UNIT=$1
WORK=$2
HA_DROPIN=${3:-/usr/share/doc/haiked/examples/haiked-ha.service.conf}
VDOM_DROPIN=${4:-/usr/share/doc/haiked/examples/haiked-vdom.service.conf}
NS=hkpkg$$
NSP=hkpkgp$$            # the HA cases' LAN peer (captures the gratuitous ARPs)
VNS=hkpkgv$$            # the VDOM's named namespace (/run/netns)
HAIKED=$(command -v haiked)
HACTL=$(command -v hactl)
PY=/usr/bin/python3

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

cleanup() {
    if [ -n "${HPID:-}" ] && kill -0 "$HPID" 2>/dev/null; then
        kill -TERM "$HPID" 2>/dev/null || true
        sleep 1
        kill -KILL "$HPID" 2>/dev/null || true
    fi
    if [ -n "${CPID:-}" ] && kill -0 "$CPID" 2>/dev/null; then
        kill -TERM "$CPID" 2>/dev/null || true
        wait "$CPID" 2>/dev/null || true
    fi
    [ -n "${CPID:-}" ] && rm -f /dev/shm/qb-*-"$CPID"-* /dev/shm/qb-"$CPID"-* 2>/dev/null
    for p in ${APID:-}; do kill -TERM "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    ip netns del "$VNS" 2>/dev/null || true
    ip netns del "$NSP" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The unit's settings as systemd merges the unit and its drop-ins: each
# assignment adds its words, an empty one resets the list (systemd.exec(5)
# for CapabilityBoundingSet, AmbientCapabilities, RestrictAddressFamilies,
# RestrictNamespaces). Allow-lists only: a "~" deny-list is refused here.
unit_words() {
    key=$1; shift
    awk -v k="$key" 'index($0, k "=") == 1 {
        v = substr($0, length(k) + 2)
        if (v ~ /^~/) { print "DENYLIST"; exit }
        if (v == "") l = ""; else l = l " " v
    } END { sub(/^ +/, "", l); print l }' "$@"
}
# load_unit FILE...: caps, mask_hex, families, namespaces, filter, setpriv_caps.
load_unit() {
    caps=$(unit_words CapabilityBoundingSet "$@")
    amb=$(unit_words AmbientCapabilities "$@")
    [ -n "$caps" ] || fail "no CapabilityBoundingSet in $*"
    [ "$caps" = "$amb" ] || fail "AmbientCapabilities ($amb) differs from the bounding set ($caps)"
    grep -q '^NoNewPrivileges=yes' "$UNIT" || fail "unit lacks NoNewPrivileges=yes"
    grep -q '^ProtectSystem=strict' "$UNIT" || fail "unit lacks ProtectSystem=strict"
    setpriv_caps=$(for c in $caps; do printf ',+%s' "$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"; done)
    # Expected CapEff/CapBnd mask, from the capability numbers in linux/capability.h.
    mask=0
    for c in $caps; do
        n=$(awk -v c="$c" '$1 == "#define" && $2 == c {print $3}' /usr/include/linux/capability.h)
        [ -n "$n" ] || fail "unknown capability $c"
        mask=$((mask | (1 << n)))
    done
    mask_hex=$(printf '%016x' "$mask")
    families=$(unit_words RestrictAddressFamilies "$@")
    case $families in ""|DENYLIST) fail "RestrictAddressFamilies is not an allow-list in $*" ;; esac
    # RestrictNamespaces: "yes" = none allowed, a list = those types.
    namespaces=$(unit_words RestrictNamespaces "$@" | sed 's/.*\byes\b//; s/^ *//')
    filter=$(cat "$@" | sed -n 's/^SystemCallFilter=//p' | tr '\n' '|')
    [ -n "$filter" ] || fail "no SystemCallFilter in $*"
    ok "unit $*: caps [$caps] (mask $mask_hex), families [$families], namespaces [${namespaces:-none}]"
}

rm -rf "$WORK"
mkdir -p "$WORK/trace"
chmod 0755 "$WORK"
# One passive (dial-up) gateway on 127.0.0.1; the reload adds one on 127.0.0.2.
gw() {
    printf '    { name = "%s"; local-gw = "%s"; remote-gw = "any";\n' "$1" "$2"
    printf '      proposal = "aes256gcm16-prfsha512-ecp521";\n'
    printf '      selectors = ( { name = "lan"; local-subnet = "192.0.2.0/25";\n'
    printf '                      remote-subnet = "192.0.2.128/25";\n'
    printf '                      proposal = "aes256gcm16"; } ); }'
}
conf() {
    printf 'global = { secrets-file = "secrets.conf"; dataplane = "userspace";\n'
    printf '           log = { target = "stderr"; level = "info"; }; };\n'
    printf 'gateways = (\n'
    gw one 127.0.0.1
    [ "$1" = 1 ] || { printf ',\n'; gw two 127.0.0.2; }
    printf '\n);\n'
}
# The HA node: gateway "one", one vcluster with a VIP on eth0.
VIP=203.0.113.10
conf_ha() {
    conf 1
    printf 'ha = { group = "haiked"; allow-plaintext-sync = false;\n'
    printf '       vclusters = ( { id = 1; priority = 200; vdoms = [ "root" ];\n'
    printf '           vips = ( { vdom = "root"; interface = "eth0"; address = "%s/24"; } ); } ); };\n' "$VIP"
}
conf 1 >"$WORK/haiked.conf"
PSK=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
(umask 077; printf 'secrets = ( { gateway = "one"; psk = "0x%s"; },\n%s\n' "$PSK" \
    "            { gateway = \"two\"; psk = \"0x$PSK\"; } );" >"$WORK/secrets.conf")
"$HAIKED" --check-config "$WORK/haiked.conf" >/dev/null || {
    "$HAIKED" --check-config "$WORK/haiked.conf"; fail "test config refused"; }

ip netns add "$NS"
ip -n "$NS" link set lo up

# start_haiked NAME: haiked with $WORK/NAME.conf, confined as load_unit said,
# in $NS; sets HPID (haiked) and SHPID (the shell around it), trace/NAME.
# Inside the network namespace, in a private mount namespace: a fresh /run
# holding /run/haiked (RuntimeDirectory), then haiked in a second mount
# namespace where everything but /dev, /proc, /run/haiked is read-only.
start_haiked() {
    name=$1
cat >"$WORK/inner.sh" <<EOS
set -eu
mount --make-rprivate /
# /run/netns (the VDOMs' named namespaces) stays visible, read-only below.
mkdir -p /run/netns "$WORK/netns"
mount --rbind /run/netns "$WORK/netns"
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0700 /run/haiked
# The work dir may live under /tmp or /root (a clone there), which PrivateTmp
# and ProtectHome hide below: reach it through /run/hktest instead.
mkdir /run/hktest
mount --rbind "$WORK" /run/hktest
mkdir /run/netns
mount --rbind /run/hktest/netns /run/netns
exec unshare --mount sh -c '
    set -eu
    mount --bind /run/haiked /run/haiked
    mount --bind /run/hktest/trace /run/hktest/trace             # strace output only
    mount -t tmpfs -o mode=1777 tmpfs /tmp                        # PrivateTmp
    for d in /home /root /run/user; do                            # ProtectHome
        [ -d "\$d" ] && mount -t tmpfs -o mode=0000 tmpfs "\$d"
    done
    mount --bind /proc/sys /proc/sys                              # ProtectKernelTunables
    mount -o remount,bind,ro /proc/sys
    # ProtectSystem=strict: every other mount read-only, deepest first.
    awk "{print \\\$2}" /proc/self/mounts | sort -r | while read -r m; do
        case \$m in /proc|/proc/*|/dev|/dev/*|/run/haiked|/tmp|/home|/root|/run/user|/run/hktest/trace) continue ;; esac
        mount -o remount,bind,ro "\$m" 2>/dev/null || true
    done
    touch /etc/.haiked-rw-probe 2>/dev/null && { echo "ProtectSystem emulation failed: /etc writable" >&2; exit 99; }
    touch /run/.haiked-rw-probe 2>/dev/null && { echo "ProtectSystem emulation failed: /run writable" >&2; exit 99; }
    exec strace -f -qq -o /run/hktest/trace/$name -- setpriv --bounding-set=-all$setpriv_caps --inh-caps=-all$setpriv_caps \
        --ambient-caps=-all$setpriv_caps --no-new-privs -- \
        "$HAIKED" --foreground --config /run/hktest/$name.conf
'
EOS

    # READY=1 arrives on an abstract datagram socket (per network namespace).
    NOTIFY=@haiked-pkgtest-$$-$name
    rm -f "$WORK/notify.txt"
    ip netns exec "$NS" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
open(sys.argv[2], "w").close()
s.settimeout(15)
try:
    msg = s.recv(4096).decode()
except socket.timeout:
    msg = "TIMEOUT"
open(sys.argv[2], "w").write(msg)
' "$NOTIFY" "$WORK/notify.txt" &
    NPID=$!
    i=0; while [ ! -e "$WORK/notify.txt" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

    # haiked runs in the namespace's private mounts; the test looks in through
    # nsenter (same mounts, same network namespace).
    NOTIFY_SOCKET=$NOTIFY ip netns exec "$NS" sh "$WORK/inner.sh" >"$WORK/$name.log" 2>&1 &
    SHPID=$!
    wait "$NPID" || true
    grep -q 'READY=1' "$WORK/notify.txt" || {
        cat "$WORK/$name.log" >&2; fail "no READY=1 from haiked (got: $(cat "$WORK/notify.txt"))"; }
    ok "sd_notify: $(tr '\n' ' ' <"$WORK/notify.txt")"

    # ip netns exec, sh, unshare and sh -c exec into strace, whose child
    # (setpriv, exec'd into haiked) is haiked.
    HPID=$(pgrep -P "$SHPID" -x haiked) || fail "no haiked process under strace ($SHPID)"
    [ "$(cat /proc/"$HPID"/comm)" = haiked ] || fail "PID $HPID is $(cat /proc/"$HPID"/comm), not haiked"
}
in_ns() { nsenter -t "$HPID" -m -n -- "$@"; }

# cleanup_confined NAME: `haiked --cleanup` with $WORK/NAME.conf confined as
# haiked was by the last start_haiked (ExecStopPost= runs with the unit's
# settings), traced to trace/NAME-cleanup; output in $WORK/NAME-cleanup.log.
cleanup_confined() {
    sed -e "s|--foreground --config /run/hktest/$1.conf|--cleanup --config /run/hktest/$1.conf|" \
        -e "s|/run/hktest/trace/$1 |/run/hktest/trace/$1-cleanup |" \
        "$WORK/inner.sh" >"$WORK/inner-cleanup.sh"
    grep -q -- "trace/$1-cleanup .*--cleanup --config" "$WORK/inner-cleanup.sh" ||
        fail "cannot derive the cleanup's command from $WORK/inner.sh"
    ip netns exec "$NS" sh "$WORK/inner-cleanup.sh" >"$WORK/$1-cleanup.log" 2>&1
}

check_caps() {
    st=/proc/$HPID/status
    eff=$(awk '/^CapEff:/ {print $2}' "$st"); bnd=$(awk '/^CapBnd:/ {print $2}' "$st")
    amb_now=$(awk '/^CapAmb:/ {print $2}' "$st"); nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$st")
    [ "$eff" = "$mask_hex" ] || fail "CapEff $eff, expected $mask_hex"
    [ "$bnd" = "$mask_hex" ] || fail "CapBnd $bnd, expected $mask_hex"
    [ "$amb_now" = "$mask_hex" ] || fail "CapAmb $amb_now, expected $mask_hex"
    [ "$nnp" = 1 ] || fail "NoNewPrivs is $nnp"
    ok "haiked PID $HPID: CapEff=CapBnd=CapAmb=$eff, NoNewPrivs=1"
}

bound() { in_ns ss -Hnlup | grep "pid=$HPID," | awk '{print $4}' | sort | tr '\n' ' '; }
check_bound() {
    b=$(bound)
    for want in 127.0.0.1:500 127.0.0.1:4500; do
        case " $b " in *" $want "*) ;; *) fail "not bound to $want (bound: $b)" ;; esac
    done
    ok "UDP sockets: $b"
    in_ns test -S /run/haiked/haiked.sock || fail "no control socket /run/haiked/haiked.sock"
    [ "$(in_ns stat -c %a /run/haiked)" = 700 ] || fail "/run/haiked is not 0700"
}

# Every socket haiked holds belongs to a family the unit allows.
check_held_sockets() {
    inodes=$(ls -l /proc/"$HPID"/fd | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p')
    [ -n "$inodes" ] || fail "haiked holds no sockets"
    for ino in $inodes; do
        fam=""
        for f in unix:AF_UNIX udp:AF_INET raw:AF_INET tcp:AF_INET udp6:AF_INET6 raw6:AF_INET6 \
                 tcp6:AF_INET6 netlink:AF_NETLINK packet:AF_PACKET; do
            if in_ns awk -v i="$ino" -v t="${f%%:*}" \
                't == "unix" || t == "netlink" || t == "packet" {if ($0 ~ "(^| )" i "( |$)") f = 1; next}
                 $10 == i {f = 1} END {exit !f}' "/proc/net/${f%%:*}"; then
                fam=${f#*:}; break
            fi
        done
        [ -n "$fam" ] || fail "socket inode $ino is of a family outside [$families]"
        case " $families " in *" $fam "*) ;; *) fail "socket $ino is $fam, not in [$families]" ;; esac
    done
    ok "$(echo "$inodes" | wc -w) sockets held, all in [$families]"
}

# stop_haiked NAME: SIGTERM, exit 0, no PSK in the log.
stop_haiked() {
    kill -TERM "$HPID"
    rc=0; wait "$SHPID" || rc=$?
    HPID=""
    [ "$rc" -eq 0 ] || { cat "$WORK/$1.log" >&2; fail "haiked exited $rc after SIGTERM"; }
    ok "SIGTERM: exit 0"
    grep -q -i "$(echo "$PSK" | cut -c1-16)" "$WORK/$1.log" && fail "the log shows the PSK"
    return 0
}

# check_trace NAME: SystemCallFilter: every system call haiked made (after
# its execve, so not setpriv's capset/prctl, which systemd does before the
# filter applies) is in the unit's filter; every socket() it opened is of an
# allowed family (RestrictAddressFamilies: the call would fail), every
# setns() of an allowed type (RestrictNamespaces), no unshare/clone of a
# new namespace.
check_trace() {
"$PY" - "$WORK/trace/$1" "$HAIKED" "$filter" "$families" "$namespaces" <<'EOPY' || fail "the unit would refuse haiked ($1)"
import re, subprocess, sys
trace, haiked, lines = sys.argv[1], sys.argv[2], [l for l in sys.argv[3].split("|") if l]
families, namespaces = set(sys.argv[4].split()), set(sys.argv[5].split())
NS_FLAGS = {"CLONE_NEWNET": "net", "CLONE_NEWNS": "mnt", "CLONE_NEWUSER": "user",
            "CLONE_NEWPID": "pid", "CLONE_NEWUTS": "uts", "CLONE_NEWIPC": "ipc",
            "CLONE_NEWCGROUP": "cgroup", "CLONE_NEWTIME": "time"}

def expand(name):
    """A syscall group of systemd, nested groups expanded."""
    if not name.startswith("@"):
        return {name}
    txt = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                         text=True, check=True).stdout
    out = set()
    for w in (l.strip() for l in txt.splitlines()[1:]):
        if w and not w.startswith("#"):
            out |= expand(w)
    return out

# systemd.exec(5): allow lines add, "~" lines take away (each line's words).
allowed, denied = set(), set()
for l in lines:
    neg = l.startswith("~")
    for w in l.lstrip("~").split():
        (denied if neg else allowed).update(expand(w))
allowed -= denied

used, started, errors, fams, nsused = {}, False, [], set(), set()
for line in open(trace):
    m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
    if not m:
        continue
    if not started:
        started = line.split(None, 1)[1].startswith('execve("%s",' % haiked) and " = 0" in line
        continue
    call = m.group(1)
    used[call] = used.get(call, 0) + 1
    args = line.split(None, 1)[1]
    s = re.match(r"(socket|socketpair)\((AF_[A-Z0-9]+)", args)
    if s:
        fams.add(s.group(2))
        if s.group(2) not in families:
            errors.append("%s: family %s not in [%s]" % (s.group(1), s.group(2), " ".join(sorted(families))))
    n = re.match(r"setns\(\d+, ([A-Z_0-9|]+)\)", args)
    if n:
        t = NS_FLAGS.get(n.group(1))
        nsused.add(n.group(1))
        if t is None or t not in namespaces:
            errors.append("setns(%s) but RestrictNamespaces allows [%s]" % (n.group(1), " ".join(sorted(namespaces))))
    if re.match(r"(unshare|clone3?)\(", args) and "CLONE_NEW" in args:
        errors.append("new namespace: " + args.strip())
if not started:
    sys.exit("no execve of %s in the trace" % haiked)
bad = sorted(set(used) - allowed)
if bad:
    errors.append("system calls outside the filter: " + " ".join(bad))
if errors:
    sys.exit("haiked: " + "; ".join(errors))
print("ok   SystemCallFilter: the %d distinct system calls haiked made are all allowed (%s)"
      % (len(used), ", ".join(lines)))
print("ok   socket families opened: %s; setns: %s" % (" ".join(sorted(fams)),
      " ".join(sorted(nsused)) or "none"))
EOPY
}

# ---- 1. A single node: the unit alone.
load_unit "$UNIT"
start_haiked haiked
check_caps
check_bound
out=$(in_ns "$HACTL" status) || fail "hactl status failed: $out"
echo "$out" | grep -q "gateways" || fail "hactl status: unexpected output: $out"
ok "control socket answers: $(echo "$out" | head -1)"
check_held_sockets

# SIGHUP: the second gateway comes up.
conf 2 >"$WORK/haiked.conf.new" && mv "$WORK/haiked.conf.new" "$WORK/haiked.conf"
kill -HUP "$HPID"
i=0
while [ $i -lt 50 ]; do
    b=$(bound)
    case " $b " in *" 127.0.0.2:500 "*) break ;; esac
    sleep 0.1; i=$((i + 1))
done
for want in 127.0.0.2:500 127.0.0.2:4500; do
    case " $b " in *" $want "*) ;;
        *) cat "$WORK/haiked.log" >&2; fail "after SIGHUP not bound to $want (bound: $b)" ;; esac
done
out=$(in_ns "$HACTL" tunnel summary) || fail "hactl tunnel summary failed"
echo "$out" | grep -q two || fail "reloaded gateway 'two' missing: $out"
ok "SIGHUP reload: gateway 'two' present, bound: $b"
stop_haiked haiked
check_trace haiked

# ---- 2. An HA node: the unit plus the HA drop-in, corosync running.
echo "HA node (drop-in $HA_DROPIN)"
[ -f "$HA_DROPIN" ] || fail "no HA drop-in $HA_DROPIN"
[ -f "$VDOM_DROPIN" ] || fail "no VDOM drop-in $VDOM_DROPIN"
# Both drop-ins applied to the unit from a scratch unit directory: systemd
# accepts them (the installed unit only: a build tree's unit names man
# pages and an ExecStart path that are not installed).
if [ "$UNIT" = /lib/systemd/system/haiked.service ]; then
    mkdir -p "$WORK/units/haiked.service.d"
    cp "$UNIT" "$WORK/units/"
    cp "$HA_DROPIN" "$WORK/units/haiked.service.d/ha.conf"
    cp "$VDOM_DROPIN" "$WORK/units/haiked.service.d/vdom.conf"
    v=$(SYSTEMD_UNIT_PATH="$WORK/units:" systemd-analyze verify "$WORK/units/haiked.service" 2>&1) ||
        fail "systemd-analyze verify with both drop-ins: $v"
    [ -z "$v" ] || fail "systemd-analyze verify with both drop-ins says: $v"
    ok "systemd-analyze verify with the HA and VDOM drop-ins: clean"
fi
load_unit "$UNIT" "$HA_DROPIN"
# eth0 (the VIP's interface) is a veth whose peer is in $NSP; the corosync
# ring address is on lo (one node: the ring needs no peer; no dummy module
# on every machine).
ip netns add "$NSP"
ip link add hkc$$ netns "$NS" type veth peer name hkp$$ netns "$NSP"
ip -n "$NS" link set hkc$$ name eth0
ip -n "$NSP" link set hkp$$ name eth0
ip -n "$NS" addr add 203.0.113.1/24 dev eth0
ip -n "$NSP" addr add 203.0.113.2/24 dev eth0
ip -n "$NS" link set eth0 up
ip -n "$NSP" link set eth0 up
ip -n "$NSP" link set lo up
ip -n "$NS" addr add 198.51.100.1/32 dev lo

# A one-node corosync (LAB.md): knet with crypto, /run private for its pid file.
CDIR=$WORK/corosync
mkdir -p "$CDIR/state" "$CDIR/run"
corosync-keygen -k "$CDIR/authkey" >/dev/null 2>&1 || fail "corosync-keygen failed"
cat >"$CDIR/corosync.conf" <<EOC
totem {
  version: 2
  cluster_name: hkpkg
  transport: knet
  token: 1000
  crypto_model: nss
  crypto_cipher: aes256
  crypto_hash: sha256
  keyfile: $CDIR/authkey
}
nodelist {
  node {
    nodeid: 1
    name: vpn-a
    ring0_addr: 198.51.100.1
  }
}
quorum {
  provider: corosync_votequorum
}
system {
  state_dir: $CDIR/state
}
logging {
  to_logfile: yes
  logfile: $CDIR/corosync.log
  to_stderr: no
  to_syslog: no
}
EOC
ip netns exec "$NS" sh -c "mount --bind '$CDIR/run' /run && exec corosync -f -c '$CDIR/corosync.conf'" \
    >"$CDIR/stdout" 2>&1 &
CPID=$!
i=0
until ip netns exec "$NS" corosync-quorumtool -s 2>/dev/null | grep -q 'Quorate: *Yes'; do
    kill -0 "$CPID" 2>/dev/null || { cat "$CDIR/stdout" "$CDIR/corosync.log" >&2; fail "corosync died"; }
    [ $i -lt 100 ] || fail "corosync not quorate after 10 s"
    sleep 0.1; i=$((i + 1))
done
ok "corosync (PID $CPID) quorate in $NS"

# garp_capture IFACE VIP: in $NSP, wait (30 s at most) for the gratuitous
# ARP for VIP on IFACE: an ARP packet whose sender and target protocol
# address are both the VIP. The result goes to $WORK/garp-IFACE.txt; the
# capture's PID is added to APID.
garp_capture() {
    out=$WORK/garp-$1.txt
    rm -f "$out" "$out.ready"
    ip netns exec "$NSP" "$PY" - "$1" "$out" "$2" <<'EOPY' &
import socket, struct, sys, time
iface, out, vip = sys.argv[1], sys.argv[2], socket.inet_aton(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((iface, 0))
s.settimeout(1)
open(out + ".ready", "w").close()
end, got = time.time() + 30, "NONE"
while time.time() < end:
    try:
        p = s.recv(128)
    except socket.timeout:
        continue
    if len(p) >= 42 and p[12:14] == b"\x08\x06":
        op, spa, tpa = struct.unpack("!H", p[20:22])[0], p[28:32], p[38:42]
        if spa == vip and tpa == vip:
            got = "GARP op=%d from %s" % (op, p[22:28].hex(":"))
            break
open(out, "w").write(got)
EOPY
    APID="${APID:-} $!"
    i=0; while [ ! -e "$out.ready" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$out.ready" ] || fail "ARP capture on $NSP $1 did not start"
}
garp_wait() {
    for p in $APID; do wait "$p" || true; done
    APID=""
}
garp_seen() {
    grep -q '^GARP' "$WORK/garp-$1.txt" || {
        cat "$WORK/$3.log" >&2; fail "no gratuitous ARP for $2 on the peer's $1 ($(cat "$WORK/garp-$1.txt"))"; }
    ok "peer saw the gratuitous ARP for $2 on $1: $(cat "$WORK/garp-$1.txt")"
}
# wait_master NAME VCLUSTER...: hactl --json status says mode cluster, in
# the CPG group (connected, this node a member), master of each VCLUSTER.
wait_master() {
    name=$1; shift
    want="cluster haiked True 1"; for v in "$@"; do want="$want master"; done
    i=0
    while :; do
        st=$(in_ns "$HACTL" --json status) || fail "hactl --json status failed: $st"
        v=$(echo "$st" | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
c = s.get("cluster") or {}
# In the group: connected to the CPG, and this node is among the members.
me = [n for n in c.get("nodes", []) if n.get("self") and n.get("up")]
roles = {v.get("id"): v.get("role") for v in c.get("vclusters", [])}
print(s.get("mode"), c.get("group"), c.get("connected"), len(me),
      *[roles.get(int(v)) for v in sys.argv[1:]])' "$@") ||
            fail "hactl --json status: not the expected JSON: $st"
        [ "$v" = "$want" ] && break
        [ $i -lt 100 ] || { cat "$WORK/$name.log" >&2; fail "not '$want' after 10 s: $st"; }
        sleep 0.1; i=$((i + 1))
    done
    ok "hactl --json status: mode cluster, in the CPG group, master of vcluster(s) $*"
}

garp_capture eth0 "$VIP"
conf_ha >"$WORK/ha.conf"
"$HAIKED" --check-config "$WORK/ha.conf" >/dev/null || {
    "$HAIKED" --check-config "$WORK/ha.conf"; fail "HA test config refused"; }
start_haiked ha
check_caps
check_bound
wait_master ha 1
in_ns ip -4 -o addr show dev eth0 | grep -q " $VIP/24 " ||
    fail "VIP $VIP/24 not on eth0: $(in_ns ip -4 -o addr show dev eth0)"
ok "VIP $VIP/24 added on eth0"
garp_wait
garp_seen eth0 "$VIP" ha
check_held_sockets
stop_haiked ha
check_trace ha
# A clean stop releases the VIP (rtnetlink delete, also confined).
ip -n "$NS" -4 -o addr show dev eth0 | grep -q " $VIP/24 " && fail "VIP $VIP still on eth0 after SIGTERM"
# kill -9 leaves the VIP on eth0 (its kernel would answer ARP next to the
# new master's); the unit's ExecStopPost=, haiked --cleanup under the same
# confinement, removes it and nothing else.
start_haiked ha
wait_master ha 1
kill -KILL "$HPID"
wait "$SHPID" 2>/dev/null || true
HPID=""
ip -n "$NS" -4 -o addr show dev eth0 | grep -q " $VIP/24 " || fail "kill -9: the VIP is gone already"
cleanup_confined ha || { cat "$WORK/ha-cleanup.log" >&2; fail "haiked --cleanup (confined) failed"; }
grep -q "^VIP $VIP/24 removed from eth0" "$WORK/ha-cleanup.log" ||
    fail "haiked --cleanup: $(cat "$WORK/ha-cleanup.log")"
ip -n "$NS" -4 -o addr show dev eth0 | grep -q " $VIP/24 " && fail "VIP $VIP still on eth0 after the cleanup"
ip -n "$NS" -4 -o addr show dev eth0 | grep -q " 203.0.113.1/24 " || fail "the cleanup removed eth0's own address"
check_trace ha-cleanup
cleanup_confined ha && grep -q "^nothing left behind" "$WORK/ha-cleanup.log" ||
    fail "second haiked --cleanup: $(cat "$WORK/ha-cleanup.log")"
ok "kill -9: haiked --cleanup (ExecStopPost=, confined) removed the VIP; a second run found nothing"

# ---- 3. VDOMs in network namespaces: the unit plus both drop-ins. VDOM
# "cust1" lives in the named namespace $VNS (/run/netns), with its own
# gateway (bound there) and vcluster 2, whose VIP is on its wan0 (the peer's
# eth1): haiked must setns() into $VNS for the gateway's sockets, the VIP and
# its gratuitous ARP.
echo "VDOM in a network namespace (drop-ins $HA_DROPIN $VDOM_DROPIN)"
load_unit "$UNIT" "$HA_DROPIN" "$VDOM_DROPIN"
ip netns add "$VNS"
ip -n "$VNS" link set lo up
ip link add hkv$$ netns "$VNS" type veth peer name hkq$$ netns "$NSP"
ip -n "$VNS" link set hkv$$ name wan0
ip -n "$NSP" link set hkq$$ name eth1
ip -n "$VNS" addr add 203.0.113.21/24 dev wan0
ip -n "$VNS" link set wan0 up
ip -n "$NSP" link set eth1 up
VIP2=203.0.113.30
conf_vdom() {
    printf 'global = { secrets-file = "secrets.conf"; dataplane = "userspace";\n'
    printf '           log = { target = "stderr"; level = "info"; }; };\n'
    printf 'vdoms = ( { name = "cust1"; netns = "%s"; } );\n' "$VNS"
    printf 'gateways = (\n'
    gw one 127.0.0.1
    printf ',\n'
    gw two 127.0.0.1 | sed 's/{ name = "two";/{ name = "two"; vdom = "cust1";/'
    printf '\n);\n'
    printf 'ha = { group = "haiked"; allow-plaintext-sync = false;\n'
    printf '       vclusters = ( { id = 1; priority = 200; vdoms = [ "root" ];\n'
    printf '           vips = ( { vdom = "root"; interface = "eth0"; address = "%s/24"; } ); },\n' "$VIP"
    printf '         { id = 2; priority = 200; vdoms = [ "cust1" ];\n'
    printf '           vips = ( { vdom = "cust1"; interface = "wan0"; address = "%s/24"; } ); } ); };\n' "$VIP2"
}
conf_vdom >"$WORK/vdom.conf"
"$HAIKED" --check-config "$WORK/vdom.conf" >/dev/null || {
    "$HAIKED" --check-config "$WORK/vdom.conf"; fail "VDOM test config refused"; }
garp_capture eth0 "$VIP"
garp_capture eth1 "$VIP2"
start_haiked vdom
check_caps
check_bound
vb=$(ip netns exec "$VNS" ss -Hnlup | grep "pid=$HPID," | awk '{print $4}' | sort | tr '\n' ' ')
for want in 127.0.0.1:500 127.0.0.1:4500; do
    case " $vb " in *" $want "*) ;; *) fail "VDOM cust1: not bound to $want in $VNS (bound: $vb)" ;; esac
done
ok "VDOM cust1 gateway bound in $VNS: $vb"
wait_master vdom 1 2
ip -n "$VNS" -4 -o addr show dev wan0 | grep -q " $VIP2/24 " ||
    fail "VIP $VIP2/24 not on wan0 in $VNS: $(ip -n "$VNS" -4 -o addr show dev wan0)"
ok "VIP $VIP2/24 added on wan0 in $VNS"
garp_wait
garp_seen eth0 "$VIP" vdom
garp_seen eth1 "$VIP2" vdom
stop_haiked vdom
check_trace vdom
n=$(grep -c 'setns([0-9]*, CLONE_NEWNET) *= 0' "$WORK/trace/vdom") || fail "no setns(CLONE_NEWNET) in the VDOM trace"
ok "$n setns(CLONE_NEWNET) calls succeeded (CAP_SYS_ADMIN from the VDOM drop-in)"
ip -n "$VNS" -4 -o addr show dev wan0 | grep -q " $VIP2/24 " && fail "VIP $VIP2 still on wan0 after SIGTERM"
# kill -9, then the cleanup: the VDOM's VIP goes too (setns into $VNS).
start_haiked vdom
wait_master vdom 1 2
kill -KILL "$HPID"
wait "$SHPID" 2>/dev/null || true
HPID=""
cleanup_confined vdom || { cat "$WORK/vdom-cleanup.log" >&2; fail "haiked --cleanup (VDOM) failed"; }
grep -q "^VIP $VIP2/24 removed from wan0 (vdom cust1)" "$WORK/vdom-cleanup.log" &&
    grep -q "^VIP $VIP/24 removed from eth0 (vdom root)" "$WORK/vdom-cleanup.log" ||
    fail "haiked --cleanup (VDOM): $(cat "$WORK/vdom-cleanup.log")"
ip -n "$VNS" -4 -o addr show dev wan0 | grep -q " $VIP2/24 " && fail "VIP $VIP2 still on wan0 after the cleanup"
check_trace vdom-cleanup
ok "kill -9: haiked --cleanup (confined, VDOM drop-in) removed the VIPs of both VDOMs"
echo "test-confinement: all checks passed"
