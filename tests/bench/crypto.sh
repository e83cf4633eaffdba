#!/bin/sh
# libike crypto throughput next to `openssl speed` for the same primitives,
# measured in the same run on the same machine. Prints numbers and ratios;
# never fails on timing.
#
#   tests/bench/crypto.sh [BUILD_DIR]
#
# BUILD_DIR defaults to build/bench (configured as Release if missing).
# BENCH_SECONDS (default 2, whole seconds) is the time per measurement;
# BENCH_BIN names an already built bench_crypto (then nothing is built).
#
# How the sides are matched (openssl speed has no IKE operations):
#   dh_derive      vs `openssl speed ecdhpNNN/ecdhx25519/ffdhNNNN` (derive
#                  only; libike also imports and validates the peer value)
#   ike_keyset     vs HMAC ops/s (128-octet input) divided by the number of
#                  HMACs in one key set (the /N in the variant name)
#   sk_seal/open   AEAD: vs `openssl speed -aead [-decrypt] -evp ... -bytes 304`
#                  CBC+HMAC: vs AES-CBC (304 octets) and HMAC (352 octets:
#                  aad | iv | ct) combined as 1 / (1/cbc + 1/hmac)
# openssl speed's loops are not IKE's sequence of calls (its HMAC never
# re-keys, its AEAD loop differs from one SK payload), so for sk_seal and
# ike_keyset bench_crypto also times the identical raw-EVP sequence
# in-process ("raw EVP"): that ratio is libike's own overhead.
set -eu

. "$(dirname "$0")/bench_lib.sh"
msg=304
bench_prepare bench_crypto
"$bin" --seconds "$secs" --mr >"$tmp/libike"

echo "openssl: $(openssl version)"
# One tagged line per symmetric measurement: "tag +F:idx:name:bytes_per_s".
sym() {
    tag=$1
    shift
    echo "$tag $(speed "$@" | head -n 1)"
}
speed ffdh2048 ffdh3072 ffdh4096 ecdhp256 ecdhp384 ecdhp521 ecdhx25519 >"$tmp/dh"
{
    sym gcm_seal -aead -evp aes-256-gcm -bytes $msg
    sym gcm_open -aead -decrypt -evp aes-256-gcm -bytes $msg
    sym chacha_seal -aead -evp chacha20-poly1305 -bytes $msg
    sym chacha_open -aead -decrypt -evp chacha20-poly1305 -bytes $msg
    sym cbc_enc -evp aes-256-cbc -bytes $msg
    sym cbc_dec -decrypt -evp aes-256-cbc -bytes $msg
    sym hmac_icv -hmac sha256 -bytes $((msg + 48))
    sym hmac_prf -hmac sha256 -bytes 128
} >"$tmp/sym"

awk -v msg=$msg '
    # openssl: "+F5:idx:bits:ops:time" (ECDH), "+F8:idx:bits:ops:time" (FFDH)
    FILENAME ~ /dh$/ {
        split($0, f, ":")
        if (f[1] == "+F8") ossl["dh_derive modp" f[3]] = f[4]
        if (f[1] == "+F5") {
            name = f[3] == 253 ? "curve25519" : "ecp" f[3]
            ossl["dh_derive " name] = f[4]
        }
        next
    }
    # openssl: "tag +F:idx:name:bytes_per_second" -> ops/s
    FILENAME ~ /sym$/ {
        if (NF < 2)
            next
        split($2, f, ":")
        rate[$1] = f[4] / (($1 == "hmac_icv") ? msg + 48 : ($1 == "hmac_prf") ? 128 : msg)
        next
    }
    # libike: "kind:variant:ops"; evp_seal rows are the raw-EVP reference
    {
        split($0, f, ":")
        if (f[1] ~ /^evp_/) {
            kind = f[1]; sub(/^evp_/, "", kind)
            raw[(kind == "keyset" ? "ike_keyset " : "sk_" kind " ") f[2]] = f[3]
            next
        }
        key = f[1] " " f[2]
        order[++n] = key
        lib[key] = f[3]
    }
    function both(a, b) { return (a > 0 && b > 0) ? 1 / (1 / a + 1 / b) : 0 }
    END {
        ossl["sk_seal aes256gcm16"] = rate["gcm_seal"]
        ossl["sk_open aes256gcm16"] = rate["gcm_open"]
        ossl["sk_seal chacha20poly1305"] = rate["chacha_seal"]
        ossl["sk_open chacha20poly1305"] = rate["chacha_open"]
        ossl["sk_seal aes256-sha256"] = both(rate["cbc_enc"], rate["hmac_icv"])
        ossl["sk_open aes256-sha256"] = both(rate["cbc_dec"], rate["hmac_icv"])
        printf "\n%-36s %13s %13s %7s %13s %7s\n", "primitive", "libike ops/s", "speed ops/s",
            "ratio", "raw EVP ops/s", "ratio"
        for (i = 1; i <= n; i++) {
            key = order[i]
            ref = ossl[key]
            if (key ~ /^ike_keyset /) {
                hmacs = key; sub(/.*\//, "", hmacs)
                ref = rate["hmac_prf"] / hmacs
            }
            line = sprintf("%-36s %13.1f", key, lib[key])
            if (ref > 0)
                line = line sprintf(" %13.1f %7.2f", ref, lib[key] / ref)
            else
                line = line sprintf(" %13s %7s", "-", "-")
            if (raw[key] > 0)
                line = line sprintf(" %13.1f %7.2f", raw[key], lib[key] / raw[key])
            print line
        }
    }
' "$tmp/dh" "$tmp/sym" "$tmp/libike"
