"""The sequence numbers set through haiked's kernel backend are the ones the
kernel then uses (HA takeover, issue 5; RFC 6311 replay-counter sync).

haiked calls set_seq() only on takeover or a peer's replay-counter sync,
which no test can provoke from outside, so uml_dp_seq (uml_dp_seq.c) makes
the backend calls itself in namespace A: install an AES-GCM CHILD SA pair
(states + policies), set_seq(), report the backend's counters.  Namespace B
holds the mirror SAs, added with `ip xfrm`, so B's kernel decrypts what A's
sends: B's replay state shows the sequence numbers that were on the wire.

Asserts: after set_seq(S, E) the kernel's outbound counter is S and the
next packets carry S+1, S+2, ... (B accepts them, ESN high half included:
it is in the ICV); an inbound replay edge E makes A's kernel drop older
packets as replays (counted by the kernel and by the backend alike) and
accept newer ones; the backend's counters equal `ip -s xfrm state`.
The "vdom" case runs uml_dp_seq in a third namespace with the pair owned by
a gateway in a VDOM whose namespace is A: the same, worked from outside A
(the backend's sockets opened inside A), and nothing in uml_dp_seq's own.
"""

import json
import os
import re
import select
import signal
import subprocess

import pytest

from conftest import require_kernel_esp
from labkit import topo, xfrm
from labkit.haiked import find_binary

pytestmark = [pytest.mark.uml, pytest.mark.lab]

SPI_A_IN, SPI_A_OUT = "c0de0001", "c0de0002"
REQID_B = 7
GCM = ("aead", "rfc4106(gcm(aes))")


class SeqProbe:
    """uml_dp_seq running in a namespace; one JSON line per command."""

    def __init__(self, binary, ns, argv):
        self.popen = subprocess.Popen(["ip", "netns", "exec", ns.name, binary, *argv],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True,
                                      start_new_session=True)

    def read(self, timeout=10):
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        line = self.popen.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise AssertionError(f"uml_dp_seq gave no answer: {self.popen.stderr.read()}")
        reply = json.loads(line)
        assert "error" not in reply, reply
        return reply

    def cmd(self, text):
        self.popen.stdin.write(text + "\n")
        self.popen.stdin.flush()
        return self.read()

    def stop(self):
        """quit (removes the pair); SIGKILL of our process group if it hangs."""
        if self.popen.poll() is None:
            try:
                self.popen.stdin.write("quit\n")
                self.popen.stdin.close()
                return self.popen.wait(timeout=5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                os.killpg(self.popen.pid, signal.SIGKILL)
        return self.popen.wait(timeout=5)


def ping(ns, src, dst, count):
    res = ns.exec("ping", "-n", "-q", "-c", str(count), "-i", "0.05", "-W", "1", "-I", src, dst,
                  check=False, timeout=count + 20)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    assert m, f"ping output: {res.stdout} {res.stderr}"
    return int(m[1]), int(m[2])


def b_state(gb, ga, spi, key, direction, esn, seq_hi=0, seq=0):
    """B's mirror state: direction "in" (A -> B, A's SPI_OUT) or "out"."""
    src, dst = (ga.wan_ip, gb.wan_ip) if direction == "in" else (gb.wan_ip, ga.wan_ip)
    argv = ["xfrm", "state", "add", "src", src, "dst", dst, "proto", "esp", "spi", "0x" + spi,
            "reqid", str(REQID_B), "mode", "tunnel"]
    argv += ["replay-window", "128", "flag", "esn"] if esn else ["replay-window", "32"]
    if direction == "in":
        argv += ["replay-seq-hi", str(seq_hi), "replay-seq", str(seq)]
    else:
        argv += ["replay-oseq-hi", str(seq_hi), "replay-oseq", str(seq)]
    argv += ["aead", GCM[1], "0x" + key, "128"]
    gb.ns.ip(*argv)


def b_policies(gb, ga):
    for d, src, dst, tsrc, tdst in (("out", gb.lan_net, ga.lan_net, gb.wan_ip, ga.wan_ip),
                                    ("in", ga.lan_net, gb.lan_net, ga.wan_ip, gb.wan_ip),
                                    ("fwd", ga.lan_net, gb.lan_net, ga.wan_ip, gb.wan_ip)):
        gb.ns.ip("xfrm", "policy", "add", "src", src, "dst", dst, "dir", d, "tmpl", "src", tsrc,
                 "dst", tdst, "proto", "esp", "reqid", str(REQID_B), "mode", "tunnel")


@pytest.fixture
def seq_lab(uml_lab):
    require_kernel_esp()
    binary = find_binary("tests/uml/uml_dp_seq")
    if binary is None:
        pytest.skip("tests/uml/uml_dp_seq not built (set HAIKED_BUILD_DIR)")
    return uml_lab, binary


@pytest.mark.parametrize("esn,vdom", [(False, False), (True, False), (True, True)],
                         ids=["32-bit", "esn", "esn-vdom"])
def test_set_seq_is_what_the_kernel_sends(seq_lab, esn, vdom):
    lab, binary = seq_lab
    ga, gb = topo.gateway_pair(lab)
    home = lab.netns("h") if vdom else ga.ns
    ga.ns.ip("route", "add", gb.lan_net, "dev", ga.wan_if, "src", ga.lan_ip)
    gb.ns.ip("route", "add", ga.lan_net, "dev", gb.wan_if, "src", gb.lan_ip)
    key_in, key_out = os.urandom(36).hex(), os.urandom(36).hex()
    base = (1 << 32) if esn else 0  # ESN: past 2^32, so the high half matters

    b_state(gb, ga, SPI_A_OUT, key_out, "in", esn, seq_hi=base >> 32)
    b_state(gb, ga, SPI_A_IN, key_in, "out", esn)
    b_policies(gb, ga)
    probe = SeqProbe(binary, home, [ga.wan_ip, gb.wan_ip, ga.lan_net, gb.lan_net, SPI_A_IN,
                                    SPI_A_OUT, key_in, key_out] + (["esn"] if esn else []) +
                     ([f"vdom={ga.ns.name}"] if vdom else []))
    try:
        first = probe.read()
        assert first["seq_out"] == 0 and first["packets_out"] == 0, first
        st = xfrm.by_spi(ga.ns)
        assert set(st) == {SPI_A_IN, SPI_A_OUT}, st
        assert all(("esn" in s["flags"]) == esn and s["algs"] == dict([GCM])
                   for s in st.values()), st
        if vdom:
            assert xfrm.by_spi(home) == {} and xfrm.policies(home).strip() == ""

        # outbound: set S, the kernel continues from S
        s = base + 1000
        after_set = probe.cmd(f"seq {s} 0")
        assert after_set["seq_out"] == s, after_set
        assert xfrm.by_spi(ga.ns)[SPI_A_OUT]["oseq"] == s
        assert ping(ga.ns, ga.lan_ip, gb.lan_ip, 5) == (5, 5)
        a, b = xfrm.by_spi(ga.ns), xfrm.by_spi(gb.ns)
        assert a[SPI_A_OUT]["oseq"] == s + 5, a[SPI_A_OUT]
        # what B received: S+1 .. S+5, authentic (ESN: high half in the ICV)
        assert b[SPI_A_OUT]["seq"] == s + 5, b[SPI_A_OUT]
        assert b[SPI_A_OUT]["packets"] == 5 and b[SPI_A_OUT]["failed"] == 0, b[SPI_A_OUT]
        ctr = probe.cmd("counters")
        assert ctr["seq_out"] == s + 5 and ctr["packets_out"] == 5 == a[SPI_A_OUT]["packets"]
        assert ctr["bytes_out"] == a[SPI_A_OUT]["bytes"], (ctr, a[SPI_A_OUT])
        assert ctr["packets_in"] == 5 == a[SPI_A_IN]["packets"], (ctr, a[SPI_A_IN])
        assert ctr["bytes_in"] == a[SPI_A_IN]["bytes"]
        assert ctr["replay_in_edge"] == a[SPI_A_IN]["seq"] == 5, (ctr, a[SPI_A_IN])

        # inbound: a replay edge E; B's replies (seq 6..8) are older: replays
        e = base + 5000
        if not esn:
            after_edge = probe.cmd(f"seq {s + 5} {e}")
            assert after_edge["replay_in_edge"] == e and after_edge["seq_out"] == s + 5
            assert xfrm.by_spi(ga.ns)[SPI_A_IN]["seq"] == e
            assert ping(ga.ns, ga.lan_ip, gb.lan_ip, 3) == (3, 0)
            a = xfrm.by_spi(ga.ns)
            # the kernel counts "too old" under replay-window, duplicates under replay
            drops = a[SPI_A_IN]["replay_window_errors"] + a[SPI_A_IN]["replay"]
            assert drops == 3 and a[SPI_A_IN]["packets"] == 5, a[SPI_A_IN]
            ctr = probe.cmd("counters")
            assert ctr["dropped_replay"] == 3 and ctr["packets_in"] == 5, ctr
            assert ctr["seq_out"] == s + 8, "the requests still went out"
        else:
            assert probe.cmd(f"seq {s + 5} {e}")["replay_in_edge"] == e
            assert xfrm.by_spi(ga.ns)[SPI_A_IN]["seq"] == e
        # B continues after E: accepted, and A's edge moves on from E
        gb.ns.ip("xfrm", "state", "delete", "src", gb.wan_ip, "dst", ga.wan_ip, "proto", "esp",
                 "spi", "0x" + SPI_A_IN)
        b_state(gb, ga, SPI_A_IN, key_in, "out", esn, seq_hi=e >> 32, seq=e & 0xffffffff)
        assert ping(ga.ns, ga.lan_ip, gb.lan_ip, 3) == (3, 3)
        a = xfrm.by_spi(ga.ns)
        assert a[SPI_A_IN]["seq"] == e + 3 and a[SPI_A_IN]["failed"] == 0, a[SPI_A_IN]
        ctr = probe.cmd("counters")
        assert ctr["replay_in_edge"] == e + 3 and ctr["packets_in"] == 8, ctr
    finally:
        rc = probe.stop()
    assert rc == 0, probe.popen.stderr.read()
    # dp_close removed the pair: no state or policy of A's is left
    assert xfrm.by_spi(ga.ns) == {}
    assert xfrm.policies(ga.ns).strip() == ""
    assert xfrm.by_spi(home) == {} and xfrm.policies(home).strip() == ""
