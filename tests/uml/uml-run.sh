#!/bin/sh
# Runs one command inside a user-mode-linux guest: a real Linux kernel with
# ESP/XFRM, which the development machines' kernel lacks (LAB.md).
#
#   tests/uml/uml-run.sh [--mem 512M] [--timeout SECONDS] [--keep] [--quiet] -- CMD [ARGS...]
#
# The guest is Debian's linux.uml (package user-mode-linux) with the host's
# file system as its root (hostfs, read-write: the guest runs as the host
# user, root here), uml-init.sh as PID 1: it mounts the guest's own proc,
# sysfs, /run, /tmp, /dev/shm, loads the xfrm/ESP/crypto/veth/tun modules
# from /usr/lib/uml/modules, runs CMD in the caller's directory with the
# caller's exported environment, and powers off. /tmp and /run inside the
# guest are private tmpfs: pass files through other paths (the checkout).
#
# CMD's stdout and stderr come back on ours as they come (through files on
# hostfs, read by tail(1)) and its exit status is ours. --timeout bounds CMD
# inside the guest (default 300 s; exit 124); the whole guest gets 30 s more,
# then every host process of it (UML runs one per guest address space, all
# in the process group linux.uml makes with setsid()) is killed; the same
# when this script is interrupted. The kernel's console goes to a log that
# is shown when the guest did not report a status. --keep leaves the job
# directory (console.log, init.log, timing) and prints its path. A line on
# stderr gives the boot and run times unless --quiet. CMD runs in the
# caller's directory: not one under /tmp, which the guest does not see.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
INIT="$HERE/uml-init.sh"
MEM=512M
LIMIT=300
KEEP=0
QUIET=0

usage() {
    sed -n 's/^#   //p' "$0" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --mem) MEM=${2:?}; shift 2 ;;
    --timeout) LIMIT=${2:?}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --quiet) QUIET=1; shift ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) echo "uml-run: unknown option $1" >&2; usage ;;
    esac
done
[ $# -gt 0 ] || usage
# (0 would mean "no limit" to timeout(1))
case "$LIMIT" in '' | *[!0-9]* | 0*) echo "uml-run: --timeout wants seconds > 0" >&2; exit 2 ;; esac
case "$MEM" in '' | *[!0-9KMG]*) echo "uml-run: --mem wants e.g. 512M" >&2; exit 2 ;; esac

UML=$(command -v linux.uml || true)
if [ -z "$UML" ]; then
    echo "uml-run: linux.uml not found (apt-get install user-mode-linux kmod)" >&2
    exit 125
fi
if [ ! -d "/usr/lib/uml/modules/$("$UML" --version 2>/dev/null)" ]; then
    echo "uml-run: no modules for linux.uml in /usr/lib/uml/modules" >&2
    exit 125
fi

# Not under /tmp: the guest mounts its own tmpfs there.
JOB=$(mktemp -d /var/tmp/haiked-uml.XXXXXX)
case "$JOB$INIT" in
*[[:space:]]*)
    # both travel on the kernel command line
    echo "uml-run: paths with white space are not supported: $JOB $INIT" >&2
    rm -rf "$JOB"
    exit 2 ;;
esac

UMLPID=
WATCHDOG=
TAIL_OUT=
TAIL_ERR=
# linux.uml calls setsid() at start: every host process of the guest (one
# per guest address space) is in the process group named by its PID.
kill_guest() {
    kill -9 "-$1" 2>/dev/null || kill -9 "$1" 2>/dev/null || true  # dash: no "--"
}
# Returns once no process of the guest's group is left. Its processes end
# with linux.uml (after a kill they take a moment to unmap the guest's
# memory); stragglers after 2 s are killed by PID: nothing of the guest
# outlives this script.
reap_guest() {
    n=0
    while left=$(pgrep -g "$1" 2>/dev/null) && [ -n "$left" ]; do
        if [ "$n" = 20 ]; then
            echo "uml-run: killing leftover guest processes:" $left >&2
            for p in $left; do kill -9 "$p" 2>/dev/null || true; done
        elif [ "$n" -ge 100 ]; then
            echo "uml-run: guest processes still alive after 10 s:" $left >&2
            return
        fi
        n=$((n + 1))
        sleep 0.1
    done
}
cleanup() {
    if [ -n "$UMLPID" ]; then
        kill_guest "$UMLPID"
        wait "$UMLPID" 2>/dev/null || true
        reap_guest "$UMLPID"
    fi
    for p in $WATCHDOG $TAIL_OUT $TAIL_ERR; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then
        echo "uml-run: job directory kept: $JOB" >&2
    else
        rm -rf "$JOB"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The command as a script: the caller's directory, then exec with every
# argument single-quoted.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
    printf 'cd %s || exit 125\nexec' "$(quote "$(pwd)")"
    for a in "$@"; do printf ' %s' "$(quote "$a")"; done
    printf '\n'
} >"$JOB/cmd"
# The caller's environment minus what belongs to this shell.
export -p | grep -Ev '^(export|declare -x) (PWD|OLDPWD|SHLVL|_)(=|$)' >"$JOB/env" || true
echo "$LIMIT" >"$JOB/limit"

# The guest mounts a /tmp of its own; a checkout under the host's /tmp (a
# CI clone) stays visible there: init binds that top directory back.
HOSTTMP=
case "$(pwd)/" in
/tmp/?*/*) HOSTTMP=$(pwd | cut -d/ -f3) ;;
esac

start=$(date +%s.%N)
"$UML" mem="$MEM" root=/dev/root rootfstype=hostfs rootflags=/ rw \
    init="$INIT" con=null con0=null,fd:3 ssl=null quiet \
    uml_dir="$JOB" umid=guest UML_JOB="$JOB" ${HOSTTMP:+UML_HOSTTMP="$HOSTTMP"} \
    </dev/null >/dev/null 2>"$JOB/uml.stderr" 3>"$JOB/console.log" &
UMLPID=$!
echo "$UMLPID" >"$JOB/uml.pid" # its process group: check-runner.sh looks at it
# CMD's output as it comes (the guest writes back dirty pages every 0.5 s;
# tail reads the files on the host and stops once linux.uml is gone).
: >"$JOB/out"
: >"$JOB/err"
tail -n +1 -s 0.2 -f --pid="$UMLPID" "$JOB/out" &
TAIL_OUT=$!
tail -n +1 -s 0.2 -f --pid="$UMLPID" "$JOB/err" >&2 &
TAIL_ERR=$!
# The hard limit: the command's own (enforced in the guest) + a grace for
# boot and power-off ($UML_RUN_GRACE: only the runner's own check sets it).
HARD=$((LIMIT + ${UML_RUN_GRACE:-30}))
(
    s=0
    while [ "$s" -lt "$HARD" ]; do
        sleep 1
        s=$((s + 1))
        kill -0 "$UMLPID" 2>/dev/null || exit 0
    done
    echo timeout >"$JOB/killed"
    kill_guest "$UMLPID"
) </dev/null >/dev/null 2>&1 &
WATCHDOG=$!
uml_rc=0
wait "$UMLPID" || uml_rc=$?
end=$(date +%s.%N)
kill "$WATCHDOG" 2>/dev/null || true
wait "$WATCHDOG" 2>/dev/null || true
WATCHDOG=
reap_guest "$UMLPID"
UMLPID=
wait "$TAIL_OUT" "$TAIL_ERR" 2>/dev/null || true

rc=
[ -s "$JOB/rc" ] && rc=$(cat "$JOB/rc")
if [ -z "$rc" ]; then
    if [ -f "$JOB/killed" ]; then
        echo "uml-run: the guest did not finish within $HARD s; killed" >&2
        rc=124
    else
        echo "uml-run: the guest ended without reporting a status (linux.uml exit $uml_rc)" >&2
        rc=125
    fi
    for f in uml.stderr init.log console.log; do
        [ -s "$JOB/$f" ] && { echo "--- $f (tail)" >&2; tail -n 30 "$JOB/$f" >&2; }
    done
elif [ "$rc" = 124 ]; then
    echo "uml-run: the command did not finish within $LIMIT s (killed in the guest)" >&2
fi
if [ -s "$JOB/init.log" ] && [ "$rc" != 0 ]; then
    echo "--- init.log" >&2
    cat "$JOB/init.log" >&2
fi

if [ "$QUIET" = 0 ]; then
    # timing: "init T", "modules T", "command T", "end T" (guest uptime, s)
    awk -v start="$start" -v end="$end" -v rc="$rc" '
        { t[$1] = $2 }
        END {
            printf "uml-run: boot %.2f s (kernel %.2f + modules %.2f), command %.2f s, " \
                   "wall %.2f s, exit %s\n", t["command"], t["init"], t["modules"] - t["init"],
                   t["end"] - t["command"], end - start, rc
        }' "$JOB/timing" >&2 2>/dev/null || true
fi
exit "$rc"
