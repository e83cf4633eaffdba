"""tshark captures inside a namespace, and a minimal pcapng reader.

Capture.start() returns only after tshark printed "Capturing on" AND its
"Capture started" message (dumpcap has its pcap handle open), plus a short
settle time: measured here, packets sent right after "Capturing on" alone were
lost (the IKE_SA_INIT pair was missing from 1 of 2 captures).  read_udp() extracts UDP datagrams from a pcapng
file (Ethernet/IPv4 only, which is all a lab produces) without tshark.
"""

import ipaddress
import os
import signal
import struct
import time

from .netns import LabError, run
from .proc import wait_for

TSHARK = "tshark"
IKE_FILTER = "udp port 500 or udp port 4500"


class Capture:
    """tshark -i IFACE -f FILTER -w PATH inside namespace ns."""

    START_SETTLE = 0.3

    def __init__(self, ns, iface, path, bpf=IKE_FILTER, name=None):
        self.ns = ns
        self.iface = iface
        self.path = path
        self.bpf = bpf
        self.name = name or f"tshark-{ns.tag}-{iface}"
        self.proc = None

    def start(self, timeout=20):
        log = self.ns.lab.path(f"{self.name}.out")
        self.proc = self.ns.start([TSHARK, "-n", "-i", self.iface, "-f", self.bpf,
                                   "-w", self.path], self.name, log_path=log)

        def capturing():
            if not self.proc.alive():
                raise LabError(f"tshark exited early:\n{self.proc.log()}")
            out = self.proc.log()
            return "Capturing on" in out and "Capture started" in out

        wait_for(capturing, timeout, f"tshark 'Capturing on' {self.iface}")
        time.sleep(self.START_SETTLE)
        return self

    def stop(self, settle=0.5):
        """Stop after a short settle time so the last datagrams are written."""
        if self.proc is None:
            return
        time.sleep(settle)
        self.proc.stop(sig=signal.SIGINT, timeout=10)
        if not os.path.exists(self.path):
            raise LabError(f"tshark wrote no capture file:\n{self.proc.log()}")


def malformed(path):
    """Frame numbers tshark flags as malformed (empty list when clean)."""
    res = run([TSHARK, "-n", "-r", path, "-Y", "_ws.malformed", "-T", "fields",
               "-e", "frame.number"], timeout=60)
    return [line for line in res.stdout.split() if line]


def _blocks(data):
    pos = 0
    endian = "<"
    while pos + 12 <= len(data):
        btype = struct.unpack_from(endian + "I", data, pos)[0]
        if btype == 0x0A0D0D0A:  # section header: learn the byte order
            magic = data[pos + 8:pos + 12]
            endian = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack_from(endian + "I", data, pos + 4)[0]
        if blen < 12 or pos + blen > len(data):
            raise ValueError(f"pcapng block at {pos} has bad length {blen}")
        yield btype, data[pos + 8:pos + blen - 4], endian
        pos += blen


def read_udp(path):
    """Yield (frame_no, src_ip, sport, dst_ip, dport, payload) for IPv4/UDP frames."""
    with open(path, "rb") as f:
        data = f.read()
    linktypes = []
    frame = 0
    for btype, body, endian in _blocks(data):
        if btype == 1:  # interface description
            linktypes.append(struct.unpack_from(endian + "H", body, 0)[0])
        elif btype == 6:  # enhanced packet
            frame += 1
            ifid, _, _, caplen, _ = struct.unpack_from(endian + "IIIII", body, 0)
            pkt = body[20:20 + caplen]
            udp = _udp_of(linktypes[ifid], pkt)
            if udp is not None:
                yield (frame,) + udp


def _udp_of(linktype, pkt):
    if linktype == 1:  # Ethernet
        if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
            return None
        ip = pkt[14:]
    elif linktype in (101, 228):  # raw IPv4
        ip = pkt
    else:
        return None
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    udp = ip[ihl:total]
    if len(udp) < 8:
        return None
    sport, dport, ulen = struct.unpack_from("!HHH", udp, 0)
    return (str(ipaddress.IPv4Address(ip[12:16])), sport,
            str(ipaddress.IPv4Address(ip[16:20])), dport, bytes(udp[8:ulen]))
