# shellcheck shell=bash
# The prologue the demo scripts share (demo.sh, demo-ha.sh, demo-vdom.sh),
# sourced after `set -euo pipefail` with DEMO_NAME set (die()'s prefix):
#   ROOT        the checkout; BUILD_DIR (default build/default)
#   say, die    a section heading; an error and exit 1
#   demo_require_root WHY
#   demo_deps_and_build   Debian packages (scripts/install-deps.sh) unless
#                         DEMO_SKIP_DEPS=1, then the build (cmake preset
#                         "default", or $BUILD_DIR) unless DEMO_SKIP_BUILD=1
#   demo_require_built PATH...   each a program under $BUILD_DIR
#   demo_labkit MODULE    exec tests/lab/labkit/MODULE.py with this build

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/default}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "$DEMO_NAME: $*" >&2; exit 1; }

demo_require_root() {
    [ "$(id -u)" -eq 0 ] || die "run as root ($1)"
}

demo_deps_and_build() {
    if [ -z "${DEMO_SKIP_DEPS:-}" ]; then
        say "Debian packages (scripts/install-deps.sh)"
        "$ROOT/scripts/install-deps.sh"
    fi
    if [ -z "${DEMO_SKIP_BUILD:-}" ]; then
        say "build ($BUILD_DIR)"
        if [ "$BUILD_DIR" = "$ROOT/build/default" ]; then
            (cd "$ROOT" && cmake --preset default >/dev/null && cmake --build --preset default -j"$(nproc)")
        else
            cmake -S "$ROOT" -B "$BUILD_DIR" >/dev/null && cmake --build "$BUILD_DIR" -j"$(nproc)"
        fi
    fi
}

demo_require_built() {
    local p
    for p in "$@"; do
        [ -x "$BUILD_DIR/$p" ] || die "$BUILD_DIR/$p not built"
    done
}

demo_labkit() {
    # The Debian python3 (the lab kit is stdlib only); the python3 on PATH may differ.
    cd "$ROOT/tests/lab" || die "no $ROOT/tests/lab"
    HAIKED_BUILD_DIR=$BUILD_DIR exec /usr/bin/python3 -m "labkit.$1"
}
