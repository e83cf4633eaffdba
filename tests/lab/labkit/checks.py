"""Checks of one suite's fixture directory, shared by the live and stored tests.

Each check raises AssertionError with a message naming the numbers involved.
"""

import os
import struct

from . import capture, charonlog, ike, kdf
from .fixtures import VALUE_ORDER, parse_values, unexpected_secret_labels

TEXT_KEYS = ("suite", "psk")

# suite -> (IKE PRF hash, SK_e length, SK_a length, ESP encr key length, ESP integ key length)
# GCM lengths include the 4-octet salt (RFC 4106 / RFC 5282); AEAD has no integrity key.
SUITE_SIZES = {
    "aes256-sha512-ecp521": ("sha512", 32, 64, 32, 64),
    "aes256gcm16-prfsha512-ecp521": ("sha512", 36, 0, 36, 0),
}
ECP521_SHARED = 66      # RFC 5903: x coordinate of P-521, 66 octets
ECP521_KE = 132         # x | y
PRF_SHA512 = 64

# The exchange the scenario produces, in capture order.
EXPECTED_SEQUENCE = [
    ("IKE_SA_INIT", False), ("IKE_SA_INIT", True), ("IKE_AUTH", False), ("IKE_AUTH", True),
    ("CREATE_CHILD_SA", False), ("CREATE_CHILD_SA", True),
    ("INFORMATIONAL", False), ("INFORMATIONAL", True),
    ("INFORMATIONAL", False), ("INFORMATIONAL", True),
]


def load_values(suite_dir):
    with open(os.path.join(suite_dir, "values.txt"), encoding="utf-8") as f:
        raw = parse_values(f.read())
    missing = [k for k in VALUE_ORDER if k not in raw]
    assert not missing, f"values.txt lacks {missing}"
    out = {}
    for key, val in raw.items():
        if key in TEXT_KEYS:
            out[key] = val
            continue
        assert val == val.lower() and all(c in "0123456789abcdef" for c in val), \
            f"{key} is not lowercase hex: {val!r}"
        assert len(val) % 2 == 0, f"{key} has an odd number of hex digits ({len(val)})"
        out[key] = bytes.fromhex(val)
    return out


def check_value_lengths(v, suite):
    _h, sk_e, sk_a, encr, integ = SUITE_SIZES[suite]
    want = {
        "spi_i": 8, "spi_r": 8, "ni": 32, "nr": 32, "ke_i": ECP521_KE, "ke_r": ECP521_KE,
        "g_ir": ECP521_SHARED, "skeyseed": PRF_SHA512, "sk_d": PRF_SHA512,
        "sk_ai": sk_a, "sk_ar": sk_a, "sk_ei": sk_e, "sk_er": sk_e,
        "sk_pi": PRF_SHA512, "sk_pr": PRF_SHA512,
        "child_ni": 32, "child_nr": 32, "child_ke_i": ECP521_KE, "child_ke_r": ECP521_KE,
        "child_g_ir": ECP521_SHARED,
    }
    for prefix in ("auth_child_", "child_"):
        want.update({prefix + "spi_i": 4, prefix + "spi_r": 4, prefix + "encr_i": encr,
                     prefix + "encr_r": encr, prefix + "integ_i": integ,
                     prefix + "integ_r": integ})
    wrong = {k: (len(v[k]), n) for k, n in want.items() if len(v[k]) != n}
    assert not wrong, f"{suite}: wrong lengths (got, want): {wrong}"
    assert v["suite"] == suite, f"values.txt suite {v['suite']} != directory {suite}"
    assert v["psk"], "psk is empty"


def check_derivation(v, suite):
    """Re-derive every key from g_ir/nonces/SPIs (RFC 7296) and compare."""
    hname, sk_e, sk_a, encr, integ = SUITE_SIZES[suite]
    sizes = (PRF_SHA512, sk_a, sk_a, sk_e, sk_e, PRF_SHA512, PRF_SHA512)
    skeyseed, keys = kdf.ike_keys(hname, v["ni"], v["nr"], v["g_ir"], v["spi_i"],
                                  v["spi_r"], sizes)
    assert skeyseed == v["skeyseed"], "SKEYSEED != prf(Ni | Nr, g^ir)"
    names = ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")
    bad = [n for n, k in zip(names, keys) if k != v[n]]
    assert not bad, f"prf+(SKEYSEED, Ni|Nr|SPIi|SPIr) disagrees on {bad}"
    order = ("encr_i", "integ_i", "encr_r", "integ_r")
    for prefix, ni, nr, g in (("auth_child_", v["ni"], v["nr"], b""),
                              ("child_", v["child_ni"], v["child_nr"], v["child_g_ir"])):
        got = kdf.child_keys(hname, v["sk_d"], ni, nr, encr, integ, g)
        bad = [prefix + n for n, k in zip(order, got) if k != v[prefix + n]]
        assert not bad, f"CHILD KEYMAT disagrees on {bad}"


def read_index(suite_dir):
    rows = []
    with open(os.path.join(suite_dir, "messages", "index.txt"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, direction, sport, dport, msg_id, length = line.split()
                rows.append((name, direction, int(sport), int(dport), int(msg_id), int(length)))
    return rows


def check_messages(suite_dir, v):
    """Message files: IKE headers, names, lengths, order, SPIs, directions."""
    rows = read_index(suite_dir)
    msgdir = os.path.join(suite_dir, "messages")
    files = sorted(f for f in os.listdir(msgdir) if f.endswith(".bin"))
    assert files == [r[0] for r in rows], f"index.txt {[r[0] for r in rows]} != files {files}"
    seq = []
    for n, (name, direction, sport, dport, msg_id, length) in enumerate(rows):
        with open(os.path.join(msgdir, name), "rb") as f:
            data = f.read()
        assert len(data) == length, f"{name}: {len(data)} octets, index says {length}"
        (spi_i, spi_r, _np, version, exch, flags, hdr_id,
         hdr_len) = struct.unpack_from("!8s8sBBBBII", data, 0)
        assert version == 0x20, f"{name}: version 0x{version:02x}"
        assert hdr_len == len(data), f"{name}: header length {hdr_len} != {len(data)} octets"
        assert hdr_id == msg_id, f"{name}: message ID {hdr_id} != index {msg_id}"
        exch_name = ike.EXCHANGES.get(exch, str(exch))
        resp = bool(flags & ike.FLAG_R)
        want_name = f"{n:02d}_{exch_name}_{'resp' if resp else 'req'}.bin"
        assert name == want_name, f"{name} should be named {want_name} (exchange {exch})"
        assert spi_i == v["spi_i"], f"{name}: SPIi {spi_i.hex()} != {v['spi_i'].hex()}"
        if exch != 34 or resp:
            assert spi_r == v["spi_r"], f"{name}: SPIr {spi_r.hex()} != {v['spi_r'].hex()}"
        from_i = bool(flags & ike.FLAG_I)
        assert from_i == (direction == "initiator->responder"), \
            f"{name}: I flag {from_i} but direction {direction}"
        want_port = 500 if exch == 34 else 4500
        assert sport == dport == want_port, f"{name}: ports {sport}->{dport}, want {want_port}"
        list(ike.payloads(data))  # the cleartext payload chain must parse to the end
        seq.append((exch_name, resp))
    assert seq == EXPECTED_SEQUENCE, f"exchange sequence {seq}"


def check_capture(suite_dir):
    path = os.path.join(suite_dir, "capture.pcapng")
    bad = capture.malformed(path)
    assert not bad, f"tshark flags frames {bad} of {path} as malformed"
    udp = list(capture.read_udp(path))
    ike_count = sum(1 for u in udp if ike.strip_marker(u[5], u[4]) is not None)
    assert ike_count == len(read_index(suite_dir)), \
        f"capture has {ike_count} IKE datagrams, messages/ has {len(read_index(suite_dir))}"


def check_logs(suite_dir, v):
    for who in ("initiator", "responder"):
        with open(os.path.join(suite_dir, f"{who}.log"), encoding="utf-8") as f:
            text = f.read()
        bad = unexpected_secret_labels(text)
        assert not bad, f"{who}.log holds unexpected secrets: {bad}"
        evts = list(charonlog.events(text))
        assert v["sk_d"] in charonlog.dumps(evts, "Sk_d secret"), f"{who}.log lacks Sk_d"


def check_suite_dir(suite_dir, suite):
    """All offline checks of one suite directory; returns the values."""
    v = load_values(suite_dir)
    check_value_lengths(v, suite)
    check_derivation(v, suite)
    check_messages(suite_dir, v)
    check_capture(suite_dir)
    check_logs(suite_dir, v)
    return v
