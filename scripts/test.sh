#!/bin/sh
# The project's one test command (README, .ci/run): installs the Debian
# packages, builds (warnings are errors), runs the unit tests and the fuzz
# corpus replay, rebuilds with ASan+UBSan and runs them again, then runs the
# namespace lab tests against real strongSwan, then the kernel data-plane
# tests inside a user-mode-linux guest (a kernel with ESP: tests/uml/).
#
#   scripts/test.sh            everything
#   scripts/test.sh unit       build + unit tests only (no sanitizer build, no lab)
#   scripts/test.sh lab        build + lab tests only
#   scripts/test.sh packaging  build + Debian packages: build, install, check, purge
#   scripts/test.sh uml        build + kernel data-plane tests in user-mode-linux
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
WHAT=${1:-all}
JOBS=$(nproc)

step() { printf '\n==== %s ====\n' "$*"; }

step "dependencies"
"$ROOT/scripts/install-deps.sh"

step "build (RelWithDebInfo, -Werror)"
cmake --preset default -DHAIKED_WERROR=ON >/dev/null
cmake --build --preset default -j "$JOBS"

if [ "$WHAT" = all ] || [ "$WHAT" = unit ]; then
    step "unit tests + fuzz corpus replay"
    ctest --preset default -L unit -j "$JOBS"

    # Undefined behaviour that -O2 happens to tolerate can crash at -O3
    # (and packagers/benchmarks build Release): the protocol libraries'
    # cmocka programs (libike, hasync: the tests named test_*, each its own
    # target) once more at -O3 -DNDEBUG. About 1 min on 2 cores.
    step "libike/hasync unit tests, Release (-O3 -DNDEBUG)"
    cmake -S "$ROOT" -B "$ROOT/build/release" -DCMAKE_BUILD_TYPE=Release \
        -DHAIKED_WERROR=ON >/dev/null
    # shellcheck disable=SC2046 # one word per test program
    cmake --build "$ROOT/build/release" -j "$JOBS" --target $(ctest --test-dir \
        "$ROOT/build/release" -N -L unit -R '^test_' | sed -n 's/^ *Test *#[0-9]*: //p')
    ctest --test-dir "$ROOT/build/release" -L unit -R '^test_' -j "$JOBS" --output-on-failure
fi

if [ "$WHAT" = all ]; then
    step "build with ASan+UBSan"
    cmake --preset asan >/dev/null
    cmake --build --preset asan -j "$JOBS"
    step "unit tests under ASan+UBSan"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --preset asan -L unit -j "$JOBS"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = packaging ]; then
    step "Debian packages: dpkg-buildpackage, dpkg -i, checks, confined haiked, purge"
    DEB_BUILD_OPTIONS="nocheck parallel=2" "$ROOT/tests/packaging/test-packages.sh"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = lab ]; then
    step "lab tests (network namespaces, real strongSwan)"
    export IKE_KAT_CHECK="$ROOT/build/default/tests/kat/ike_kat_check"
    rc=0
    /usr/bin/python3 -m pytest -c "$ROOT/tests/lab/pytest.ini" "$ROOT/tests/lab" \
        -m "lab and not uml" -ra || rc=$?
    # pytest exits 5 when nothing was collected: that is a broken suite here.
    [ "$rc" -eq 0 ] || { echo "lab tests failed (pytest exit $rc)"; exit "$rc"; }
fi

if [ "$WHAT" = all ] || [ "$WHAT" = uml ]; then
    step "kernel data plane in user-mode-linux (real ESP: haiked, strongSwan kernel-netlink)"
    # The runner first (round trip, limits, no guest process left behind);
    # then one guest runs the whole suite (pytest inside it), bounded by the
    # runner's limit, with pytest's exit status.
    "$ROOT/tests/uml/check-runner.sh"
    rc=0
    HAIKED_BUILD_DIR="$ROOT/build/default" "$ROOT/tests/uml/uml-run.sh" --timeout 900 -- \
        /usr/bin/python3 -m pytest -c "$ROOT/tests/uml/pytest.ini" "$ROOT/tests/uml" \
        -m uml -ra || rc=$?
    [ "$rc" -eq 0 ] || { echo "UML tests failed (exit $rc)"; exit "$rc"; }
fi

step "all requested tests passed"
