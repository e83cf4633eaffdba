"""IKEv2 header and payload parsing (RFC 7296) for lab checks, struct only."""

import struct

HDR_LEN = 28
EXCHANGES = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"}
FLAG_I = 0x08
FLAG_R = 0x20
PLD_SA, PLD_KE, PLD_NONCE, PLD_SK = 33, 34, 40, 46
NON_ESP_MARKER = b"\x00\x00\x00\x00"


class IkeFormatError(ValueError):
    pass


class Header:
    def __init__(self, data):
        if len(data) < HDR_LEN:
            raise IkeFormatError(f"IKE message length {len(data)} < header {HDR_LEN}")
        (self.spi_i, self.spi_r, self.next_payload, self.version, self.exchange,
         self.flags, self.msg_id, self.length) = struct.unpack_from("!8s8sBBBBII", data, 0)
        if self.length != len(data):
            raise IkeFormatError(f"IKE header length {self.length} != datagram {len(data)}")
        if self.version != 0x20:
            raise IkeFormatError(f"IKE version 0x{self.version:02x} != 0x20")

    @property
    def exchange_name(self):
        return EXCHANGES.get(self.exchange, f"EXCH{self.exchange}")

    @property
    def is_response(self):
        return bool(self.flags & FLAG_R)

    @property
    def from_initiator(self):
        return bool(self.flags & FLAG_I)


def strip_marker(udp_payload, port):
    """The IKE message in a UDP payload, or None for ESP / NAT-T keepalives.

    On port 4500 an IKE message starts with the 4-octet non-ESP marker
    (RFC 3948); anything else there is ESP (or a 1-octet keepalive).
    """
    if port == 4500:
        if len(udp_payload) < 4 or udp_payload[:4] != NON_ESP_MARKER:
            return None
        return udp_payload[4:]
    return udp_payload


def payloads(data):
    """Yield (type, body) of the unencrypted payload chain (stops after SK)."""
    hdr = Header(data)
    ptype = hdr.next_payload
    pos = HDR_LEN
    while ptype != 0:
        if len(data) - pos < 4:
            raise IkeFormatError(f"payload {ptype} header at {pos}: {len(data) - pos} octets left < 4")
        nxt, _crit, plen = struct.unpack_from("!BBH", data, pos)
        if plen < 4 or plen > len(data) - pos:
            raise IkeFormatError(f"payload {ptype} length {plen} at {pos} (left {len(data) - pos})")
        yield ptype, data[pos + 4:pos + plen]
        if ptype == PLD_SK:
            return
        ptype = nxt
        pos += plen
    if pos != len(data):
        raise IkeFormatError(f"{len(data) - pos} octets after the last payload")


def ke_data(body):
    """(DH group, key exchange data) of a KE payload body."""
    if len(body) < 4:
        raise IkeFormatError(f"KE payload body {len(body)} < 4")
    group = struct.unpack_from("!H", body, 0)[0]
    return group, body[4:]
