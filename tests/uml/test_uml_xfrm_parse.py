"""labkit.xfrm's reading of `ip -s xfrm state` (iproute2 6.1), on output
captured in the guest: the other UML tests' assertions stand on it.
Pure parsing: runs anywhere (inside the guest with the rest, -m uml)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

from labkit.xfrm import parse_policies, parse_states  # noqa: E402

pytestmark = [pytest.mark.uml]

# Two states as the guest printed them (test keys, not secrets).
SAMPLE = """\
src 203.0.113.1 dst 203.0.113.2
\tproto esp spi 0x00000012(18) reqid 2(0x00000002) mode tunnel
\treplay-window 0 seq 0x00000000 flag esn (0x10000000)
\tauth-trunc hmac(sha256) 0x0102030405060708090a0b0c0d0e0f100102030405060708090a0b0c0d0e0f10 (256 bits) 128
\tenc cbc(aes) 0x0102030405060708090a0b0c0d0e0f10 (128 bits)
\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0
\tanti-replay esn context:
\t seq-hi 0x1, seq 0x3e8, oseq-hi 0x2, oseq 0x5
\t replay_window 64, bitmap-length 2
\t 00000000 00000000 
\tsel src 0.0.0.0/0 dst 0.0.0.0/0 uid 0
\tlifetime config:
\t  limit: soft (INF)(bytes), hard (INF)(bytes)
\t  limit: soft (INF)(packets), hard (INF)(packets)
\t  expire add: soft 0(sec), hard 0(sec)
\t  expire use: soft 0(sec), hard 0(sec)
\tlifetime current:
\t  1680(bytes), 20(packets)
\t  add 2026-12-02 01:58:50 use -
\tstats:
\t  replay-window 3 replay 1 failed 2
src 203.0.113.2 dst 203.0.113.1
\tproto esp spi 0xc0de0001(3235774465) reqid 1(0x00000001) mode tunnel
\treplay-window 32 seq 0x00000000 flag  (0x00000000)
\taead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 (160 bits) 128
\tanti-replay context: seq 0x14, oseq 0x0, bitmap 0x000fffff
\tsel src 192.0.2.0/25 dst 192.0.2.128/25 uid 0
\tlifetime config:
\t  limit: soft (INF)(bytes), hard (INF)(bytes)
\tlifetime current:
\t  0(bytes), 0(packets)
\t  add 2026-12-02 01:58:48 use -
\tstats:
\t  replay-window 0 replay 0 failed 0
"""


def test_parse_states():
    esn, gcm = parse_states(SAMPLE)
    assert (esn["src"], esn["dst"], esn["spi"], esn["reqid"], esn["mode"]) == \
        ("203.0.113.1", "203.0.113.2", "00000012", 2, "tunnel")
    assert esn["flags"] == ["esn"] and esn["replay_window"] == 64
    assert esn["algs"] == {"auth-trunc": "hmac(sha256)", "enc": "cbc(aes)"}
    assert esn["encap"] == ("espinudp", 4500, 4500)
    assert esn["seq"] == (1 << 32) + 1000 and esn["oseq"] == (2 << 32) + 5
    assert (esn["bytes"], esn["packets"]) == (1680, 20)
    assert (esn["replay_window_errors"], esn["replay"], esn["failed"]) == (3, 1, 2)

    assert gcm["spi"] == "c0de0001" and gcm["flags"] == [] and gcm["replay_window"] == 32
    assert gcm["algs"] == {"aead": "rfc4106(gcm(aes))"} and gcm["encap"] is None
    assert (gcm["seq"], gcm["oseq"]) == (20, 0)
    assert (gcm["bytes"], gcm["packets"], gcm["replay"], gcm["failed"]) == (0, 0, 0, 0)


def test_no_key_material_kept():
    text = repr(parse_states(SAMPLE))
    assert "0102030405" not in text


POLICIES = """\
src 192.0.2.0/25 dst 192.0.2.128/25 
\tdir out priority 100 ptype main 
\ttmpl src 203.0.113.1 dst 203.0.113.2
\t\tproto esp reqid 7 mode tunnel
src 192.0.2.128/25 dst 192.0.2.0/25 
\tdir fwd priority 0 ptype main 
\ttmpl src 203.0.113.2 dst 203.0.113.1
\t\tproto esp reqid 7 mode tunnel
"""


def test_parse_policies():
    out, fwd = parse_policies(POLICIES)
    assert out == {"src": "192.0.2.0/25", "dst": "192.0.2.128/25", "dir": "out",
                   "tmpl_src": "203.0.113.1", "tmpl_dst": "203.0.113.2", "proto": "esp",
                   "reqid": 7, "mode": "tunnel"}
    assert (fwd["src"], fwd["dst"], fwd["dir"], fwd["tmpl_src"]) == \
        ("192.0.2.128/25", "192.0.2.0/25", "fwd", "203.0.113.2")
