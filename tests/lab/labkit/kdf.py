"""RFC 7296 key derivation in Python (stdlib hmac), to cross-check fixtures.

This is an independent reference for the lab checks only; libike has its own
implementation in C that the fixtures exist to test.
"""

import hashlib
import hmac

PRFS = {"sha512": hashlib.sha512, "sha256": hashlib.sha256, "sha384": hashlib.sha384}


def prf(hname, key, data):
    return hmac.new(key, data, PRFS[hname]).digest()


def prf_plus(hname, key, seed, length):
    """prf+ (RFC 7296 2.13): T1 | T2 | ..., Tn = prf(K, Tn-1 | S | n)."""
    out = b""
    block = b""
    n = 1
    while len(out) < length:
        block = prf(hname, key, block + seed + bytes([n]))
        out += block
        n += 1
    return out[:length]


def split(data, sizes):
    parts, pos = [], 0
    for size in sizes:
        parts.append(data[pos:pos + size])
        pos += size
    return parts


def ike_keys(hname, ni, nr, g_ir, spi_i, spi_r, sizes):
    """(skeyseed, [sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr]) for the sizes given."""
    skeyseed = prf(hname, ni + nr, g_ir)
    keymat = prf_plus(hname, skeyseed, ni + nr + spi_i + spi_r, sum(sizes))
    return skeyseed, split(keymat, sizes)


def child_keys(hname, sk_d, ni, nr, encr_len, integ_len, g_ir=b""):
    """[encr_i, integ_i, encr_r, integ_r] (RFC 7296 2.17 order)."""
    keymat = prf_plus(hname, sk_d, g_ir + ni + nr, 2 * (encr_len + integ_len))
    return split(keymat, (encr_len, integ_len, encr_len, integ_len))
