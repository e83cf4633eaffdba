#!/bin/sh
# PID 1 of a user-mode-linux guest started by uml-run.sh (never run it on the
# host). The root file system is the host's, through hostfs: everything this
# script mounts is the guest's own (proc, sysfs, tmpfs /run /tmp /dev/shm,
# devpts), so nothing it does here is visible on the host except the job
# directory's files.
#
# The kernel hands unknown name=value boot arguments to init as environment
# variables: UML_JOB is the job directory uml-run.sh prepared on hostfs:
#   cmd      the command (sh script: cd + exec), run with env sourced first
#   env      the caller's exported environment (export -p)
#   limit    the command's time limit in seconds (timeout(1) in the guest)
#   out/err  the command's stdout/stderr           (written here)
#   rc       its exit status                        (written here, last)
#   timing   uptime at init, after modules, command start/end (written here)
#
# Modules: Debian ships the guest's modules in /usr/lib/uml/modules/<rel>;
# modprobe wants <root>/lib/modules/<rel>, so a module root is built under
# the guest's /run (never the host's /lib/modules) and the kernel's own
# requests (crypto templates: "authenc(hmac(sha256),cbc(aes))", ...) go
# through a modprobe wrapper pointing at it. One modprobe call for the whole
# list: every exec costs tens of milliseconds in the guest.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022

up() { read -r t _ </proc/uptime; echo "$t"; }

# Ends the guest; PID 1 must never simply exit (that is a kernel panic).
halt_guest() {
    sync
    echo o >/proc/sysrq-trigger 2>/dev/null
    sleep 30
    echo "uml-init: power off did not happen" >&2
    exit 1
}

# Anywhere but as PID 1 (the host!) this would mount over /run and /tmp and
# power the machine off: refuse.
if [ "$$" != 1 ]; then
    echo "uml-init.sh is the init of a UML guest: use tests/uml/uml-run.sh" >&2
    exit 2
fi

mount -t proc proc /proc
if [ -z "${UML_JOB:-}" ] || [ ! -f "$UML_JOB/cmd" ]; then
    echo "uml-init: no job (UML_JOB=${UML_JOB:-unset})" >&2
    halt_guest
fi
exec 2>>"$UML_JOB/init.log" >&2
echo "init $(up)" >"$UML_JOB/timing"

mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
# A caller working under the host's /tmp (UML_HOSTTMP=its top directory
# there, from uml-run.sh): keep that directory visible under our own /tmp.
if [ -n "${UML_HOSTTMP:-}" ]; then
    mkdir -p /run/hosttmp
    mount --bind "/tmp/$UML_HOSTTMP" /run/hosttmp
fi
mount -t tmpfs -o mode=1777 tmpfs /tmp
if [ -n "${UML_HOSTTMP:-}" ]; then
    mkdir -p "/tmp/$UML_HOSTTMP"
    mount --move /run/hosttmp "/tmp/$UML_HOSTTMP"
fi
# devtmpfs is mounted on /dev by the kernel (DEVTMPFS_MOUNT)
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mkdir -p /run/lock /run/netns
hostname uml
ip link set lo up

rel=$(uname -r)
mkdir -p /run/modroot/lib/modules
ln -s "/usr/lib/uml/modules/$rel" "/run/modroot/lib/modules/$rel"
# xfrm + ESP, the interfaces a lab builds, and every ESP algorithm the
# tests negotiate (sha*/aes generic are built in; loading them is a no-op)
modprobe -d /run/modroot -a \
    xfrm_user xfrm_algo esp4 esp6 veth tun dummy \
    authenc authencesn cbc ctr gcm ghash_generic seqiv echainiv hmac \
    sha1_generic sha256_generic sha512_generic aes_generic \
    chacha_generic poly1305_generic chacha20poly1305 ||
    echo "uml-init: modprobe failed" >&2
cat >/run/modprobe <<'EOF'
#!/bin/sh
exec /sbin/modprobe -d /run/modroot "$@"
EOF
chmod 755 /run/modprobe
echo /run/modprobe >/proc/sys/kernel/modprobe
echo "modules $(up)" >>"$UML_JOB/timing"

# the job's output reaches the host file (and uml-run.sh's tail) within ~1 s
echo 50 >/proc/sys/vm/dirty_writeback_centisecs
echo 50 >/proc/sys/vm/dirty_expire_centisecs

limit=$(cat "$UML_JOB/limit" 2>/dev/null || echo 120)
echo "command $(up)" >>"$UML_JOB/timing"
# A subshell: the job's environment must not leak into this script.
(
    # shellcheck disable=SC1091
    . "$UML_JOB/env"
    exec timeout --kill-after=5 "$limit" /bin/sh "$UML_JOB/cmd"
) >"$UML_JOB/out" 2>"$UML_JOB/err" </dev/null
rc=$?
echo "end $(up)" >>"$UML_JOB/timing"
echo "$rc" >"$UML_JOB/rc"
halt_guest
