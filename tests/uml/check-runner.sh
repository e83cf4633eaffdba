#!/bin/sh
# Checks uml-run.sh itself (scripts/test.sh uml runs it before the tests):
# the command's arguments, directory, environment, output and exit status
# make the round trip; the guest kernel takes ESP states and loads modules
# on demand through the wrapper; the command's time limit (exit 124), the
# hard limit and a SIGTERM to the runner each leave no host process of the
# guest behind (its process group, linux.uml's PID as uml-run.sh noted it in
# the job directory, is empty). About 20 s.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
RUN="$HERE/uml-run.sh"
SCRATCH=$(mktemp -d /var/tmp/haiked-uml-check.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
fails=0

fail() {
    echo "check-runner: FAIL: $*" >&2
    fails=$((fails + 1))
}

# The job directory a --keep run named on stderr ($1: that stderr).
kept_dir() {
    sed -n 's/^uml-run: job directory kept: //p' "$1" | tail -n 1
}

# $1: a kept job directory; its guest's process group must be gone.
no_leftovers() {
    pidfile="$1/uml.pid"
    if [ ! -s "$pidfile" ]; then
        fail "no UML pid file in $1"
        return
    fi
    pid=$(cat "$pidfile")
    if pgrep -g "$pid" >/dev/null 2>&1; then
        fail "guest processes left in group $pid: $(pgrep -g "$pid" | tr '\n' ' ')"
        pkill -9 -g "$pid" 2>/dev/null || true # ours: the group of our own guest
    fi
    rm -rf "$1"
}

# 1. Round trip, ESP and module autoloading (cbc(des3_ede) is not in the
#    list uml-init.sh loads: the kernel asks the modprobe wrapper for it).
cd "$SCRATCH"
rc=0
UML_CHECK_VALUE="a b'c" "$RUN" --quiet -- sh -c '
    echo "arg=$1 cwd=$(pwd) env=$UML_CHECK_VALUE"
    echo "to stderr" >&2
    ip netns add esp && ip -n esp xfrm state add src 203.0.113.1 dst 203.0.113.2 \
        proto esp spi 0x100 mode tunnel aead "rfc4106(gcm(aes))" 0x$(printf "%040d" 0) 128 &&
        echo esp-ok
    ip -n esp xfrm state add src 203.0.113.1 dst 203.0.113.2 proto esp spi 0x101 \
        mode tunnel enc "cbc(des3_ede)" 0x$(printf "%048d" 0) \
        auth "hmac(md5)" 0x$(printf "%032d" 0) && echo autoload-ok
    exit 7' sh "x 'y' z" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
[ "$rc" = 7 ] || fail "exit status $rc, want 7"
grep -qx "arg=x 'y' z cwd=$SCRATCH env=a b'c" "$SCRATCH/out" || fail "round trip: $(cat "$SCRATCH/out")"
grep -qx "esp-ok" "$SCRATCH/out" || fail "no ESP state in the guest: $(cat "$SCRATCH/err")"
grep -qx "autoload-ok" "$SCRATCH/out" || fail "module autoload: $(cat "$SCRATCH/err")"
grep -qx "to stderr" "$SCRATCH/err" || fail "stderr: $(cat "$SCRATCH/err")"
grep -q "to stderr" "$SCRATCH/out" && fail "stderr on stdout"

# 2. The command's limit, enforced in the guest.
rc=0
"$RUN" --keep --timeout 1 -- sleep 60 >/dev/null 2>"$SCRATCH/err" || rc=$?
[ "$rc" = 124 ] || fail "command limit: exit $rc, want 124"
no_leftovers "$(kept_dir "$SCRATCH/err")"

# 3. The hard limit (no grace: the guest is killed while the command runs).
rc=0
UML_RUN_GRACE=0 "$RUN" --keep --timeout 2 -- sleep 60 >/dev/null 2>"$SCRATCH/err" || rc=$?
[ "$rc" = 124 ] || fail "hard limit: exit $rc, want 124"
grep -q "did not finish within 2 s; killed" "$SCRATCH/err" || fail "hard limit: $(cat "$SCRATCH/err")"
no_leftovers "$(kept_dir "$SCRATCH/err")"

# 4. SIGTERM to the runner while the guest runs.
"$RUN" --keep -- sleep 60 >/dev/null 2>"$SCRATCH/err" &
runner=$!
sleep 4
kill -TERM "$runner"
rc=0
wait "$runner" || rc=$?
[ "$rc" = 143 ] || fail "SIGTERM: exit $rc, want 143"
no_leftovers "$(kept_dir "$SCRATCH/err")"

if [ "$fails" -ne 0 ]; then
    echo "check-runner: $fails failure(s)" >&2
    exit 1
fi
echo "check-runner: uml-run.sh ok"
