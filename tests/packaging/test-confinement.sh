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
#   - makes only system calls the unit's SystemCallFilter allows (strace -f
#     from haiked's execve on, compared with systemd-analyze syscall-filter).
# Not reproduced here (needs systemd): the seccomp filters themselves,
# MemoryDenyWriteExecute, RestrictNamespaces, DevicePolicy,
# ProtectClock/Hostname/KernelModules/Logs.
#
#   test-confinement.sh UNIT WORKDIR     (root; haiked and hactl on PATH)
set -eu

UNIT=$1
WORK=$2
NS=hkpkg$$
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
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The unit's capability lines: "CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW".
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
amb=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
[ -n "$caps" ] || fail "no CapabilityBoundingSet in $UNIT"
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
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT")
ok "unit: caps [$caps] (mask $mask_hex), families [$families]"

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
conf 1 >"$WORK/haiked.conf"
PSK=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
(umask 077; printf 'secrets = ( { gateway = "one"; psk = "0x%s"; },\n%s\n' "$PSK" \
    "            { gateway = \"two\"; psk = \"0x$PSK\"; } );" >"$WORK/secrets.conf")
"$HAIKED" --check-config "$WORK/haiked.conf" >/dev/null || {
    "$HAIKED" --check-config "$WORK/haiked.conf"; fail "test config refused"; }

ip netns add "$NS"
ip -n "$NS" link set lo up

# Inside the network namespace, in a private mount namespace: a fresh /run
# holding /run/haiked (RuntimeDirectory), then haiked in a second mount
# namespace where everything but /dev, /proc, /run/haiked is read-only.
cat >"$WORK/inner.sh" <<EOS
set -eu
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0700 /run/haiked
# The work dir may live under /tmp or /root (a clone there), which PrivateTmp
# and ProtectHome hide below: reach it through /run/hktest instead.
mkdir /run/hktest
mount --bind "$WORK" /run/hktest
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
    exec strace -f -qq -o /run/hktest/trace/syscalls -- setpriv --bounding-set=-all$setpriv_caps --inh-caps=-all$setpriv_caps \
        --ambient-caps=-all$setpriv_caps --no-new-privs -- \
        "$HAIKED" --foreground --config /run/hktest/haiked.conf
'
EOS

# READY=1 arrives on an abstract datagram socket (per network namespace).
NOTIFY=@haiked-pkgtest-$$
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
NOTIFY_SOCKET=$NOTIFY ip netns exec "$NS" sh "$WORK/inner.sh" >"$WORK/haiked.log" 2>&1 &
SHPID=$!
wait "$NPID" || true
grep -q 'READY=1' "$WORK/notify.txt" || {
    cat "$WORK/haiked.log" >&2; fail "no READY=1 from haiked (got: $(cat "$WORK/notify.txt"))"; }
ok "sd_notify: $(tr '\n' ' ' <"$WORK/notify.txt")"

# ip netns exec, sh, unshare and sh -c exec into strace, whose child
# (setpriv, exec'd into haiked) is haiked.
HPID=$(pgrep -P "$SHPID" -x haiked) || fail "no haiked process under strace ($SHPID)"
[ "$(cat /proc/"$HPID"/comm)" = haiked ] || fail "PID $HPID is $(cat /proc/"$HPID"/comm), not haiked"
in_ns() { nsenter -t "$HPID" -m -n -- "$@"; }

st=/proc/$HPID/status
eff=$(awk '/^CapEff:/ {print $2}' "$st"); bnd=$(awk '/^CapBnd:/ {print $2}' "$st")
amb_now=$(awk '/^CapAmb:/ {print $2}' "$st"); nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$st")
[ "$eff" = "$mask_hex" ] || fail "CapEff $eff, expected $mask_hex"
[ "$bnd" = "$mask_hex" ] || fail "CapBnd $bnd, expected $mask_hex"
[ "$amb_now" = "$mask_hex" ] || fail "CapAmb $amb_now, expected $mask_hex"
[ "$nnp" = 1 ] || fail "NoNewPrivs is $nnp"
ok "haiked PID $HPID: CapEff=CapBnd=CapAmb=$eff, NoNewPrivs=1"

bound() { in_ns ss -Hnlup | grep "pid=$HPID," | awk '{print $4}' | sort | tr '\n' ' '; }
b=$(bound)
for want in 127.0.0.1:500 127.0.0.1:4500; do
    case " $b " in *" $want "*) ;; *) fail "not bound to $want (bound: $b)" ;; esac
done
ok "UDP sockets: $b"
in_ns test -S /run/haiked/haiked.sock || fail "no control socket /run/haiked/haiked.sock"
[ "$(in_ns stat -c %a /run/haiked)" = 700 ] || fail "/run/haiked is not 0700"
out=$(in_ns "$HACTL" status) || fail "hactl status failed: $out"
echo "$out" | grep -q "gateways" || fail "hactl status: unexpected output: $out"
ok "control socket answers: $(echo "$out" | head -1)"

# Every socket haiked holds belongs to a family the unit allows.
inodes=$(ls -l /proc/"$HPID"/fd | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p')
[ -n "$inodes" ] || fail "haiked holds no sockets"
for ino in $inodes; do
    fam=""
    for f in unix:AF_UNIX udp:AF_INET raw:AF_INET tcp:AF_INET udp6:AF_INET6 raw6:AF_INET6 \
             tcp6:AF_INET6 netlink:AF_NETLINK; do
        if in_ns awk -v i="$ino" -v t="${f%%:*}" \
            't == "unix" || t == "netlink" {if ($0 ~ "(^| )" i "( |$)") f = 1; next}
             $10 == i {f = 1} END {exit !f}' "/proc/net/${f%%:*}"; then
            fam=${f#*:}; break
        fi
    done
    [ -n "$fam" ] || fail "socket inode $ino is of a family outside [$families]"
    case " $families " in *" $fam "*) ;; *) fail "socket $ino is $fam, not in [$families]" ;; esac
done
ok "$(echo "$inodes" | wc -w) sockets, all in [$families]"

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

kill -TERM "$HPID"
rc=0; wait "$SHPID" || rc=$?
HPID=""
[ "$rc" -eq 0 ] || { cat "$WORK/haiked.log" >&2; fail "haiked exited $rc after SIGTERM"; }
ok "SIGTERM: exit 0"
grep -q -i "$(echo "$PSK" | cut -c1-16)" "$WORK/haiked.log" && fail "the log shows the PSK"
# SystemCallFilter: every system call haiked made (after its execve, so not
# setpriv's capset/prctl, which systemd does before the filter applies) is
# in @system-service minus @privileged and @resources, the unit's filter.
filter=$(sed -n 's/^SystemCallFilter=//p' "$UNIT" | tr '\n' '|')
[ -n "$filter" ] || fail "no SystemCallFilter in $UNIT"
"$PY" - "$WORK/trace/syscalls" "$HAIKED" "$filter" <<'EOPY' || fail "SystemCallFilter would refuse haiked"
import re, subprocess, sys
trace, haiked, lines = sys.argv[1], sys.argv[2], [l for l in sys.argv[3].split("|") if l]

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

used, started = {}, False
for line in open(trace):
    m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
    if not m:
        continue
    if not started:
        started = line.split(None, 1)[1].startswith('execve("%s",' % haiked) and " = 0" in line
        continue
    used[m.group(1)] = used.get(m.group(1), 0) + 1
if not started:
    sys.exit("no execve of %s in the trace" % haiked)
bad = sorted(set(used) - allowed)
if bad:
    sys.exit("haiked used system calls outside the filter: " + " ".join(bad))
print("ok   SystemCallFilter: the %d distinct system calls haiked made are all allowed (%s)"
      % (len(used), ", ".join(lines)))
EOPY
echo "test-confinement: all checks passed"
