#!/bin/sh
# libike's codec + SK layer on IKE_AUTH-sized messages next to the raw
# cryptography of the same messages, measured in the same run on the same
# machine. Prints numbers and ratios; never fails on timing.
#
#   tests/bench/codec.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build/bench (configured as Release if missing).
# BENCH_SECONDS (default 2, whole seconds) is the time per measurement;
# BENCH_BIN names an already built bench_codec (then nothing is built).
#
# Anchors (see bench_codec.c for what one op is):
#   raw EVP        bench_codec's in-process EVP calls on the same octets
#                  (cipher + tag, or CBC + HMAC-SHA2-512, keyed once)
#   openssl speed  `openssl speed -evp` at the message's own size:
#                  GCM: -aead [-decrypt] -evp aes-256-gcm -bytes N;
#                  CBC: aes-256-cbc (N) and HMAC-SHA512 (N) combined as
#                  1 / (1/cbc + 1/hmac)
# ratio < 1 means libike is slower than the anchor: the difference is the
# decoding/encoding, rule check and allocation around the crypto.
set -eu

. "$(dirname "$0")/bench_lib.sh"
bench_prepare bench_codec
"$bin" --seconds "$secs" --mr >"$tmp/libike"

echo "openssl: $(openssl version)"
# "suite/message octets" once per measured message -> openssl rows
# "variant kind bytes_per_second octets".
awk -F: '$1 == "decode_verify" { print $2, $4 }' "$tmp/libike" | while read -r variant n; do
    case $variant in
    aes256gcm16/*)
        echo "$variant gcm_seal $(speed -aead -evp aes-256-gcm -bytes "$n" | cut -d: -f4) $n"
        echo "$variant gcm_open $(speed -aead -decrypt -evp aes-256-gcm -bytes "$n" |
            cut -d: -f4) $n"
        ;;
    *)
        echo "$variant cbc_enc $(speed -evp aes-256-cbc -bytes "$n" | cut -d: -f4) $n"
        echo "$variant cbc_dec $(speed -decrypt -evp aes-256-cbc -bytes "$n" | cut -d: -f4) $n"
        echo "$variant hmac $(speed -hmac sha512 -bytes "$n" | cut -d: -f4) $n"
        ;;
    esac
done >"$tmp/ossl"

awk '
    function both(a, b) { return (a > 0 && b > 0) ? 1 / (1 / a + 1 / b) : 0 }
    # openssl rows: variant kind bytes_per_second octets -> ops/s
    FILENAME ~ /ossl$/ {
        if ($3 > 0) rate[$1 " " $2] = $3 / $4
        next
    }
    # libike rows: kind:variant:ops:octets
    {
        split($0, f, ":")
        ops[f[1] " " f[2]] = f[3]
        octets[f[1] " " f[2]] = f[4]
        if (f[1] == "decode_verify") order[++n] = f[2]
    }
    function row(kind, v, raw, sp,    r, line) {
        r = ops[kind " " v]
        line = sprintf("%-15s %-28s %5d %11.1f %8.2f", kind, v, octets[kind " " v], r,
                       r * octets[kind " " v] / 1e6)
        line = line (raw > 0 ? sprintf(" %11.1f %6.3f", raw, r / raw) : sprintf(" %11s %6s", "-", "-"))
        line = line (sp > 0 ? sprintf(" %11.1f %6.3f", sp, r / sp) : sprintf(" %11s %6s", "-", "-"))
        print line
    }
    END {
        printf "\n%-15s %-28s %5s %11s %8s %11s %6s %11s %6s\n", "operation", "suite/message",
            "octs", "msgs/s", "MB/s", "raw EVP/s", "ratio", "speed/s", "ratio"
        for (i = 1; i <= n; i++) {
            v = order[i]
            if (v ~ /gcm/) {
                open_ref = rate[v " gcm_open"]; seal_ref = rate[v " gcm_seal"]
            } else {
                open_ref = both(rate[v " cbc_dec"], rate[v " hmac"])
                seal_ref = both(rate[v " cbc_enc"], rate[v " hmac"])
            }
            row("decode_verify", v, ops["evp_open " v], open_ref)
            row("encode_protect", v, ops["evp_seal " v], seal_ref)
            row("decode_plain", v, 0, 0)
        }
    }
' "$tmp/ossl" "$tmp/libike"
