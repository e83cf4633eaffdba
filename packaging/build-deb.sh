#!/bin/sh
# Builds the Debian binary packages (libike0, libike-dev, haiked) from the
# working tree, without ever creating debian/ at the repository root:
# the tree (minus build/ and .git) is copied into a scratch directory with
# packaging/debian as its debian/, and dpkg-buildpackage runs there.
#
#   packaging/build-deb.sh [OUTDIR]      (default build/pkg/deb)
#
# OUTDIR receives the .deb files, the .changes/.buildinfo, build.log and
# lintian.txt. DEB_BUILD_OPTIONS is passed through (e.g. "nocheck parallel=2").
# Exit status: dpkg-buildpackage's, or 1 if lintian reports an error.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build/pkg/deb}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# The package version comes from the project: debian/changelog must agree
# with project(... VERSION x.y.z) in CMakeLists.txt.
proj=$(sed -n 's/^project(haiked VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
deb=$(dpkg-parsechangelog -l "$ROOT/packaging/debian/changelog" -S Version)
[ -n "$proj" ] || { echo "build-deb: no project version in CMakeLists.txt" >&2; exit 1; }
case $deb in
"$proj"-*) ;;
*) echo "build-deb: debian/changelog has $deb, CMakeLists.txt $proj" >&2; exit 1 ;;
esac

SCRATCH=$OUT/src
SRC=$SCRATCH/haiked-$proj
rm -rf "$SCRATCH"
mkdir -p "$SRC"
rm -f "$OUT"/*.deb "$OUT"/*.ddeb "$OUT"/*.changes "$OUT"/*.buildinfo

# Copy (not symlink): dpkg-buildpackage and debhelper write into the tree.
tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude=./debian -cf - . |
    tar -C "$SRC" -xf -
rm -rf "$SRC/packaging/debian"
cp -a "$ROOT/packaging/debian" "$SRC/debian"

echo "build-deb: building haiked $deb in $SRC (DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-})"
rc=0
(cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
    tail -n 40 "$OUT/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed ($rc), full log: $OUT/build.log" >&2
    exit "$rc"
fi
mv "$SCRATCH"/*.deb "$SCRATCH"/*.changes "$SCRATCH"/*.buildinfo "$OUT"/
mv "$SCRATCH"/*.ddeb "$OUT"/ 2>/dev/null || true
rm -rf "$SCRATCH"
ls -1 "$OUT"/*.deb

# Lintian on the binary packages; tags we accept are overridden with a
# reason in debian/*.lintian-overrides (see packaging/README.md).
if command -v lintian >/dev/null 2>&1; then
    lintian --info --display-info --pedantic "$OUT"/*.changes >"$OUT/lintian.txt" 2>&1 || true
    echo "build-deb: lintian: $(grep -c '^E:' "$OUT/lintian.txt") errors," \
         "$(grep -c '^W:' "$OUT/lintian.txt") warnings," \
         "$(grep -c '^I:' "$OUT/lintian.txt") info, $(grep -c '^P:' "$OUT/lintian.txt") pedantic" \
         "($OUT/lintian.txt)"
    if grep -q '^E:' "$OUT/lintian.txt"; then
        grep '^E:' "$OUT/lintian.txt" >&2
        exit 1
    fi
fi
