# Sourced by the tests/bench/*.sh scripts (POSIX sh). Sets up what each of
# them needs, from the script's arguments and environment:
#   repo build secs tmp (removed on exit)   and   bench_prepare PROGRAM,
# which sets $bin to $BENCH_BIN or builds PROGRAM in $build (configured as
# Release if missing) and prints the libike line.
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-$repo/build/bench}
secs=${BENCH_SECONDS:-2}

tmp=$(mktemp -d)
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
