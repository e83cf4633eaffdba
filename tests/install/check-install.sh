#!/bin/sh
# Installs the build into a scratch prefix and checks what an outside user
# of libike gets: the versioned .so with its soname, only IKE_API symbols
# exported, headers that compile on their own, and a working pkg-config
# file that a program can build and link against.
#   check-install.sh BUILD_DIR SCRATCH_DIR
set -eu
BUILD=$1
SCRATCH=$2
PREFIX=$SCRATCH/prefix
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null

LIBDIR=$(dirname "$(find "$PREFIX" -name 'libike.so.*.*.*' | head -1)")
SO=$(find "$LIBDIR" -name 'libike.so.*.*.*' | head -1)
[ -n "$SO" ] || { echo "FAIL: no versioned libike.so installed"; exit 1; }
SONAME=$(objdump -p "$SO" | awk '/SONAME/ {print $2}')
[ "$SONAME" = "libike.so.0" ] || { echo "FAIL: soname is '$SONAME'"; exit 1; }
echo "ok   $SO, soname $SONAME"

# Exported symbols: every one must be declared in a public header.
nm -D --defined-only "$SO" | awk '$2 ~ /[TDRB]/ {print $3}' | sort >"$SCRATCH/exported"
cat "$PREFIX"/include/ike/*.h | tr -c 'A-Za-z0-9_' '\n' | grep '^ike_' | sort -u \
    >"$SCRATCH/declared"
leaked=$(comm -23 "$SCRATCH/exported" "$SCRATCH/declared")
if [ -n "$leaked" ]; then
    echo "FAIL: exported but not in a public header:"; echo "$leaked"; exit 1
fi
n=$(wc -l <"$SCRATCH/exported")
[ "$n" -gt 50 ] || { echo "FAIL: only $n symbols exported"; exit 1; }
echo "ok   $n exported symbols, all declared in include/ike/"

# Each public header is self-contained.
for h in "$PREFIX"/include/ike/*.h; do
    printf '#include <ike/%s>\n' "$(basename "$h")" >"$SCRATCH/h.c"
    cc -std=c17 -Wall -Werror -I"$PREFIX/include" -c "$SCRATCH/h.c" -o /dev/null \
        || { echo "FAIL: $h does not compile on its own"; exit 1; }
done
echo "ok   every public header compiles on its own"

# A program built with pkg-config only.
cat >"$SCRATCH/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <ike/message.h>
#include <ike/prf.h>
int main(void)
{
    struct ike_prf *prf = NULL;
    uint8_t out[32];
    struct ike_prf_chunk in = {(const uint8_t *)"Hi There", 8};
    static const uint8_t key[20] = {[0 ... 19] = 0x0b};
    if (ike_prf_new(IKE_PRF_HMAC_SHA2_256, &prf) != IKE_OK ||
        ike_prf_compute(prf, key, sizeof(key), &in, 1, out) != IKE_OK)
        return 1;
    ike_prf_free(prf);
    /* RFC 4231 test case 1, first octets */
    if (out[0] != 0xb0 || out[1] != 0x34 || out[31] != 0xf7)
        return 1;
    printf("%s\n", ike_exchange_name(IKE_EXCH_IKE_AUTH));
    return 0;
}
C
PCDIR=$(dirname "$(find "$PREFIX" -name libike.pc | head -1)")
# shellcheck disable=SC2046
cc -std=gnu17 -o "$SCRATCH/use" "$SCRATCH/use.c" \
    $(PKG_CONFIG_PATH=$PCDIR pkg-config --define-variable=prefix="$PREFIX" --cflags --libs libike)
out=$(LD_LIBRARY_PATH=$LIBDIR "$SCRATCH/use")
[ "$out" = "IKE_AUTH" ] || { echo "FAIL: program printed '$out'"; exit 1; }
echo "ok   program built with pkg-config links libike.so.0 and runs"
echo "4 passed, 0 failed"
