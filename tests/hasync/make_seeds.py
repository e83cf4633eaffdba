#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz_hasync_envelope: one valid
Envelope (sender 7) per body, hand-encoded (protobuf wire format; no protoc on
the build hosts), plus a few near-misses.  Run from the repo root:
    python3 tests/hasync/make_seeds.py tests/fuzz/corpus/fuzz_hasync_envelope
"""

import os
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, value):
    return varint(num << 3) + varint(value)


def f_bytes(num, data):
    return varint((num << 3) | 2) + varint(len(data)) + data


def envelope(seq, body_num, body, version=1, sender=7):
    return (f_varint(1, version) + f_varint(2, sender) + f_varint(3, 1) +
            f_varint(4, seq) + f_bytes(body_num, body))


SPI_I, SPI_R = bytes(range(1, 9)), bytes([9] * 8)
ADDR4 = f_bytes(1, bytes([203, 0, 113, 1])) + f_varint(2, 4500)
ADDR6 = f_bytes(1, bytes(range(0x20, 0x30))) + f_varint(2, 500)

IKE_ADD = (f_varint(1, 1) + f_bytes(2, b"FWEXT-VPN") + f_bytes(3, SPI_I) + f_bytes(4, SPI_R) +
           f_varint(5, 1) + f_bytes(6, ADDR4) + f_bytes(7, ADDR6) + f_varint(11, 1) +
           f_varint(14, 20) + f_varint(15, 256) + f_varint(17, 5) + f_varint(18, 19) +
           f_bytes(19, bytes(32)) + f_bytes(22, bytes(36)) + f_bytes(23, bytes(36)) +
           f_bytes(24, bytes(32)) + f_bytes(25, bytes(32)) +
           f_bytes(26, f_varint(1, 2) + f_bytes(2, b"gw.test.org")) +
           f_bytes(27, f_varint(1, 1) + f_bytes(2, bytes([192, 0, 2, 1]))) +
           f_varint(28, 2) + f_varint(29, 1) + f_varint(30, 3600000))
TS4 = (f_varint(1, 7) + f_varint(3, 0) + f_varint(4, 65535) +
       f_bytes(5, bytes([192, 0, 2, 0])) + f_bytes(6, bytes([192, 0, 2, 127])))
CHILD_ADD = (f_varint(1, 1) + f_bytes(2, SPI_I) + f_bytes(3, SPI_R) + f_bytes(4, b"lan") +
             f_varint(5, 3) + f_varint(6, 1) + f_varint(7, 0xC0FFEE01) +
             f_varint(8, 0x0BADF00D) + f_varint(9, 20) + f_varint(10, 128) +
             f_bytes(13, bytes(20)) + f_bytes(15, bytes(20)) + f_bytes(17, TS4) +
             f_bytes(18, TS4) + f_varint(19, 1000) + f_varint(20, 2000))
SPIS = f_bytes(1, SPI_I) + f_bytes(2, SPI_R)
ESP = f_varint(1, 0xC0FFEE01) + f_varint(2, 1 << 33) + f_varint(3, 77)
# an INFORMATIONAL response 1 of the SA: header (28) + an empty SK-ish body
RESP_DGRAM = SPI_I + SPI_R + bytes([46, 0x20, 37, 0x20, 0, 0, 0, 1, 0, 0, 0, 60]) + bytes(32)
IKE_RESP = SPIS + f_varint(3, 1) + f_bytes(4, bytes(range(32))) + f_bytes(5, RESP_DGRAM)

SEEDS = {
    "ike_sa_add": envelope(1, 10, IKE_ADD),
    "ike_sa_update": envelope(2, 11, SPIS + f_bytes(4, ADDR4) + f_varint(6, 1)),
    "ike_sa_del": envelope(3, 12, SPIS),
    "child_sa_add": envelope(4, 13, CHILD_ADD),
    "child_sa_del": envelope(5, 14, SPIS + f_varint(3, 0xC0FFEE01)),
    "msgid_update": envelope(6, 15, SPIS + f_varint(3, 2) + f_varint(4, 1)),
    "esp_seq_update": envelope(7, 16, ESP),
    "ack": envelope(0, 17, f_varint(1, 1) + f_varint(2, 4242) + f_varint(3, 7)),
    "bulk_request": envelope(8, 18, f_varint(1, 1)),
    "snapshot_chunk": envelope(9, 19, f_varint(1, 1) + f_bytes(2, IKE_ADD) +
                               f_bytes(3, CHILD_ADD) + f_bytes(4, ESP)),
    "snapshot_done": envelope(10, 20, f_varint(1, 1) + f_varint(2, 1) + f_varint(3, 1)),
    "ike_response": envelope(13, 22, IKE_RESP),
    "snapshot_chunk_response": envelope(14, 19, f_varint(1, 1) +
                                        f_bytes(2, IKE_ADD + f_bytes(35, IKE_RESP))),
    "role": envelope(11, 21, f_varint(1, 2) + f_varint(2, 200) + f_bytes(5, b"node-a")),
    "unknown_field": envelope(6, 15, SPIS + f_varint(3, 2) + f_varint(4, 1)) +
    f_varint(99, 42),
    "unknown_body": envelope(12, 50, b""),
    "bad_version": envelope(1, 12, SPIS, version=2),
    "bad_sender": envelope(1, 12, SPIS, sender=8),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
