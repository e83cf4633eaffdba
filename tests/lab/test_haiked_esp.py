"""haiked's userspace ESP data plane <-> stock strongSwan (kernel-libipsec).

Topology (labkit.topo.gateway_pair): haiked ("moon", 203.0.113.1, LAN
192.0.2.0/25 with 192.0.2.1 on lo) and charon ("sun", 203.0.113.2, LAN
192.0.2.128/25 with 192.0.2.129 on lo).  kernel-libipsec always runs ESP in
UDP on 4500, so haiked's ESP goes over its 4500 socket.  haiked routes the
remote LAN into its TUN hk-gw (add-route) with 192.0.2.1 as the preferred
source; pings run between the gateways' LAN addresses.

Asserts: 0 loss; haiked's per-SA counters (hactl --json tunnel show) agree
with the ping count and with charon's (swanctl --list-sas); a replayed and
a forged ESP packet are dropped and counted while the tunnel keeps working.
"""

import json
import re
import socket
import struct
import time

import pytest

from conftest import CAPTURE_TOOLS, require_lab
from labkit import scenario, topo
from labkit.capture import Capture, read_udp
from labkit.charon import Charon
from labkit.haiked import Haiked, find_binary, gateway, selector
from labkit.netns import LabError
from labkit.netns import run as netns_run
from labkit.proc import wait_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# suite -> (IKE proposal, ESP proposal of both sides)
SUITES = {
    "aes256-sha512-ecp521": ("aes256-sha512-ecp521", "aes256-sha512-ecp521"),
    "aes256gcm16-prfsha512-ecp521": ("aes256gcm16-prfsha512-ecp521", "aes256gcm16-ecp521"),
}
ROLES = ("initiator", "responder")
GW = "gw"
PINGS = 20


class EspTunnel:
    """haiked (userspace data plane) + charon, CHILD SA "net" LAN <-> LAN."""

    def __init__(self, lab, suite, role, capture_esp=False, sel_extra=None, gw_extra=None):
        ike, esp = SUITES[suite]
        self.lab, self.role = lab, role
        self.gi, self.gr = topo.gateway_pair(lab)
        swan = scenario.swanctl_conf(self.gr, self.gi, scenario.ID_R, scenario.ID_I, ike, esp)
        self.charon = Charon(lab, self.gr.ns, "sun", swan)
        gw = gateway(GW, self.gi.wan_ip, self.gr.wan_ip, ike,
                     [selector("net", self.gi.lan_net, self.gr.lan_net, esp, add_route=True,
                               **(sel_extra or {}))],
                     local_id=scenario.ID_I, remote_id=scenario.ID_R,
                     passive=(role == "responder"), **(gw_extra or {}))
        self.haiked = Haiked(lab, self.gi.ns, "moon", [gw], {GW: scenario.PSK},
                             global_extra={"dataplane": "userspace"})
        self.capture = None
        if capture_esp:
            # ESP-in-UDP only: a non-zero first word after the UDP header
            self.capture = Capture(self.gi.ns, self.gi.wan_if, lab.path("esp.pcapng"),
                                   bpf="udp port 4500 and udp[8:4] != 0", name="esp-capture")

    def start(self):
        self.charon.start()
        self.charon.load_all()
        if self.capture:
            self.capture.start()
        self.haiked.start()
        if self.role == "responder":
            self.charon.swanctl("--initiate", "--child", "net", "--ike", scenario.IKE_NAME,
                                "--timeout", "10", timeout=15)
        self.haiked.wait_log(r"CHILD SA net installed \(userspace\)")
        wait_for(lambda: self.charon_child() is not None, 10, "charon CHILD SA installed")
        return self

    def charon_child(self):
        ike = self.charon.list_sas().get(scenario.IKE_NAME)
        if not ike:
            return None
        kids = [c for c in ike.get("child-sas", {}).values() if c.get("state") == "INSTALLED"]
        return kids[0] if len(kids) == 1 else None

    def haiked_children(self):
        """hactl --json tunnel show: the CHILD SAs (selectors) with counters."""
        data = self.haiked.hactl_json("tunnel", "show", GW)
        return data

    def ping(self, count=PINGS, interval="0.05", reverse=False):
        src, dst, ns = (self.gr.lan_ip, self.gi.lan_ip, self.gr.ns) if reverse else \
            (self.gi.lan_ip, self.gr.lan_ip, self.gi.ns)
        res = ns.exec("ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", "2", "-I", src,
                      dst, check=False, timeout=count + 20)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
        assert m, f"ping output: {res.stdout} {res.stderr}"
        return int(m[1]), int(m[2])


def child_counters(tunnel_show):
    """[(spi_in, spi_out, counters)] from hactl --json tunnel show, any nesting."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "spi_in" in node and "counters" in node:
                found.append((node["spi_in"], node.get("spi_out"), node["counters"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(tunnel_show)
    return found


@pytest.fixture
def esp_lab(charon_lab):
    require_lab(CAPTURE_TOOLS)
    if find_binary("daemon/haiked") is None or find_binary("cli/hactl") is None:
        pytest.skip("haiked/hactl not built (set HAIKED_BUILD_DIR)")
    return charon_lab


def counters_now(t):
    kids = child_counters(t.haiked_children())
    assert len(kids) == 1, kids
    return kids[0]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_ping_through_tunnel(esp_lab, suite, role):
    t = EspTunnel(esp_lab, suite, role).start()
    # haiked's TUN carries the route to the remote LAN
    route = t.gi.ns.ip("route", "get", t.gr.lan_ip).stdout
    assert "dev hk-gw" in route and f"src {t.gi.lan_ip}" in route, route
    sent, got = t.ping()
    assert (sent, got) == (PINGS, PINGS), "loss through haiked <-> strongSwan"
    sent, got = t.ping(reverse=True)
    assert (sent, got) == (PINGS, PINGS), "loss from strongSwan's side"
    spi_in, spi_out, ctr = counters_now(t)
    kid = t.charon_child()
    assert (spi_in, spi_out) == (kid["spi-out"], kid["spi-in"])
    # 20 requests + 20 replies each way, nothing else crossed the tunnel
    assert ctr["tx_packets"] == 2 * PINGS and ctr["rx_packets"] == 2 * PINGS, ctr
    assert int(kid["packets-in"]) == 2 * PINGS and int(kid["packets-out"]) == 2 * PINGS, kid
    # charon counts the same inner octets in each direction
    assert ctr["tx_bytes"] == int(kid["bytes-in"]) and ctr["rx_bytes"] == int(kid["bytes-out"])
    assert ctr.get("rx_errors", 0) == 0 and ctr.get("replay_errors", 0) == 0
    # the TUN delivered exactly the decapsulated packets (its tx side also
    # carries the kernel's own IPv6 link chatter, which no SA takes)
    link = json.loads(t.gi.ns.ip("-s", "-j", "link", "show", "hk-gw").stdout)[0]
    stats = link["stats64"]
    assert stats["rx"]["packets"] == 2 * PINGS, stats
    assert 2 * PINGS <= stats["tx"]["packets"] <= 2 * PINGS + 5, stats


def esp_from_charon(path, spi):
    """Payloads of ESP-in-UDP datagrams charon sent with SPI spi."""
    out = []
    for _n, src, _sp, _dst, _dp, payload in read_udp(path):
        if src == topo.WAN_R and len(payload) > 8 and payload[:4] == bytes.fromhex(spi):
            out.append(payload)
    return out


def udp_inject(ns, src, dst, payload):
    """Sends payload as UDP 4500 -> 4500 from src (charon's address, whose port
    4500 charon holds) with a raw socket inside ns."""
    code = (
        "import socket,struct,sys\n"
        "p=bytes.fromhex(sys.argv[3])\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_UDP)\n"
        "s.bind((sys.argv[1],0))\n"
        "s.sendto(struct.pack('!HHHH',4500,4500,8+len(p),0)+p,(sys.argv[2],0))\n")
    ns.exec("/usr/bin/python3", "-c", code, src, dst, payload.hex())


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_replay_and_bad_icv_dropped(esp_lab, suite):
    t = EspTunnel(esp_lab, suite, "initiator", capture_esp=True).start()
    assert t.ping(count=5) == (5, 5)
    t.capture.stop()
    spi_in, _spi_out, before = counters_now(t)
    pkts = esp_from_charon(t.capture.path, spi_in)
    assert len(pkts) == 5, f"captured {len(pkts)} ESP datagrams of SPI {spi_in}"
    # a replay of an accepted packet, twice; then the last one with a bad ICV
    udp_inject(t.gr.ns, topo.WAN_R, topo.WAN_I, pkts[0])
    udp_inject(t.gr.ns, topo.WAN_R, topo.WAN_I, pkts[2])
    forged = bytearray(pkts[4])
    forged[-1] ^= 0x01
    # a fresh sequence number so the replay check passes and the ICV decides
    seq = struct.unpack("!I", forged[4:8])[0] + 1000
    forged[4:8] = struct.pack("!I", seq)
    udp_inject(t.gr.ns, topo.WAN_R, topo.WAN_I, bytes(forged))

    def dropped():
        c = counters_now(t)[2]
        return c if c.get("replay_errors", 0) == 2 and c.get("integrity_errors", 0) == 1 \
            else None
    ctr = wait_for(dropped, 5, "replay and ICV drops counted")
    assert ctr["rx_packets"] == before["rx_packets"], "nothing forged was delivered"
    # the tunnel is undisturbed, and the forged sequence number did not move the window
    assert t.ping(count=10) == (10, 10)
    _i, _o, after = counters_now(t)
    assert after["rx_packets"] == before["rx_packets"] + 10
    assert after["replay_errors"] == 2 and after["integrity_errors"] == 1


def child_spi_pairs(t):
    return {(i, o) for i, o, _c in child_counters(t.haiked_children())}


@pytest.mark.parametrize("role", ROLES)
def test_child_rekeys_under_ping(esp_lab, role):
    """ping -i 0.05 across CHILD rekeys started by strongSwan and by haiked
    (keylife 10 s), and IKE rekeys by strongSwan and by haiked (keylife 11 s;
    the CHILD SAs move to the new IKE SA): make-before-break, 0 lost."""
    t = EspTunnel(esp_lab, "aes256gcm16-prfsha512-ecp521", role,
                  sel_extra={"keylife": 10, "rekey-jitter": 0},
                  gw_extra={"keylife": 11, "rekey_jitter": 0}).start()
    first = child_spi_pairs(t)
    count = 500  # 25 s: 4 rekeys by strongSwan, then haiked's own at +10 s
    ping = t.gi.ns.start(["ping", "-n", "-q", "-c", str(count), "-i", "0.05", "-W", "2", "-I",
                          t.gi.lan_ip, t.gr.lan_ip], "ping-rekey")
    for n in range(4):
        time.sleep(2.5)
        t.charon.rekey_child("net")
        if n % 2:
            t.charon.rekey_ike(scenario.IKE_NAME)
    wait_for(lambda: not ping.alive(), 40, "ping finished")
    out = ping.log()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    assert (int(m[1]), int(m[2])) == (count, count), out
    rekeys_haiked = len(t.haiked.lines(r"CHILD SA net installed \(userspace\)")) - 1
    assert rekeys_haiked >= 5, "4 rekeys by strongSwan, 1+ by haiked's keylife"
    assert child_spi_pairs(t) != first
    # 2 by strongSwan, at least 1 by haiked (11 s after the last one)
    assert len(t.haiked.lines(r"IKE SA rekeyed: replaced by IKE SA")) >= 3
    # the old SAs went away once the rekeys completed: one pair left
    wait_for(lambda: len(child_counters(t.haiked_children())) == 1, 10, "old SAs deleted")


@pytest.mark.parametrize("natt", ["enable", "forced"])
def test_haiked_to_haiked(esp_lab, natt):
    """Two haikeds without a NAT: with nattraversal "enable", plain ESP (IP
    protocol 50) through the raw socket path; with "forced", both move to
    4500 and ESP goes UDP-encapsulated through the IKE socket."""
    gi, gr = topo.gateway_pair(esp_lab)
    ike, esp = SUITES["aes256gcm16-prfsha512-ecp521"]

    def one(gw_l, gw_r, name, passive, id_l, id_r):
        g = gateway(GW, gw_l.wan_ip, gw_r.wan_ip, ike,
                    [selector("net", gw_l.lan_net, gw_r.lan_net, esp, add_route=True)],
                    local_id=id_l, remote_id=id_r, passive=passive, nattraversal=natt)
        return Haiked(esp_lab, gw_l.ns, name, [g], {GW: scenario.PSK},
                      global_extra={"dataplane": "userspace"})
    sun = one(gr, gi, "sun", True, scenario.ID_R, scenario.ID_I).start()
    moon = one(gi, gr, "moon", False, scenario.ID_I, scenario.ID_R).start()
    for h in (moon, sun):
        line = h.wait_log(r"CHILD SA net installed \(userspace\)")[0]
        assert ("UDP-encapsulated" in line) == (natt == "forced"), line
    cap = Capture(gi.ns, gi.wan_if, esp_lab.path("esp.pcapng"), bpf="esp or udp port 4500",
                  name="esp-capture").start()
    res = gi.ns.exec("ping", "-n", "-q", "-c", str(PINGS), "-i", "0.05", "-W", "2", "-I",
                     gi.lan_ip, gr.lan_ip, check=False, timeout=30)
    assert f"{PINGS} packets transmitted, {PINGS} received" in res.stdout, res.stdout
    cap.stop()
    for h in (moon, sun):
        kids = child_counters(h.hactl_json("tunnel", "show", GW))
        assert len(kids) == 1
        ctr = kids[0][2]
        assert ctr["tx_packets"] == PINGS and ctr["rx_packets"] == PINGS, (h.name, ctr)
    # what crossed the WAN: plain ESP or ESP-in-UDP, 2 x PINGS packets
    proto = "udp.port==4500 && esp" if natt == "forced" else "ip.proto==50"
    frames = netns_run_tshark(cap.path, proto)
    assert len(frames) == 2 * PINGS, (natt, len(frames))


def netns_run_tshark(path, display_filter):
    res = netns_run(["tshark", "-n", "-r", path, "-Y", display_filter, "-T", "fields", "-e",
               "frame.number"], timeout=60)
    return [x for x in res.stdout.split() if x]


@pytest.mark.parametrize("limit", ["bytes", "packets"])
def test_volume_lifetime_rekeys(esp_lab, limit):
    """keylife-bytes / keylife-packets: the data plane reports the soft
    limit, libike rekeys the CHILD SA (make-before-break), no ping lost."""
    extra = {"keylife-bytes": 1 << 20} if limit == "bytes" else {"keylife-packets": 1000}
    t = EspTunnel(esp_lab, "aes256gcm16-prfsha512-ecp521", "initiator", sel_extra=extra).start()
    first = child_spi_pairs(t)
    # 1300 requests of 1228 octets: past 1 MiB and past 1000 packets each way
    res = t.gi.ns.exec("ping", "-n", "-q", "-c", "1300", "-i", "0.005", "-s", "1200", "-W", "2",
                       "-I", t.gi.lan_ip, t.gr.lan_ip, check=False, timeout=60)
    assert "1300 packets transmitted, 1300 received" in res.stdout, res.stdout
    assert t.haiked.lines(rf"reached its soft byte/packet lifetime: rekeying")
    wait_for(lambda: len(t.haiked.lines(r"CHILD SA net installed \(userspace\)")) >= 2, 10,
             "CHILD SA rekeyed on volume")
    wait_for(lambda: len(child_counters(t.haiked_children())) == 1 and
             child_spi_pairs(t) != first, 10, "old CHILD SA deleted")
    kid = t.charon_child()
    assert (kid["spi-out"], kid["spi-in"]) in child_spi_pairs(t)


@pytest.mark.parametrize("role", ROLES)
def test_twenty_child_and_five_ike_rekeys_from_strongswan(esp_lab, role):
    """The issue's rekey load from strongSwan's side: 20 CHILD rekeys and 5 IKE
    rekeys during ping -i 0.05, 0 lost. (haiked's own rekeys run on its
    keylife, >= 10 s: covered by test_child_rekeys_under_ping.)"""
    t = EspTunnel(esp_lab, "aes256gcm16-prfsha512-ecp521", role).start()
    count = 400  # 20 s
    ping = t.gi.ns.start(["ping", "-n", "-q", "-c", str(count), "-i", "0.05", "-W", "2", "-I",
                          t.gi.lan_ip, t.gr.lan_ip], "ping-rekeys")
    for n in range(20):
        time.sleep(0.7)
        t.charon.rekey_child("net")
        if n % 4 == 3:
            t.charon.rekey_ike(scenario.IKE_NAME)
    wait_for(lambda: not ping.alive(), 40, "ping finished")
    out = ping.log()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m and (int(m[1]), int(m[2])) == (count, count), out
    assert len(t.haiked.lines(r"CHILD SA net installed \(userspace\)")) == 21
    assert len(t.haiked.lines(r"IKE SA rekeyed: replaced by IKE SA")) == 5
    wait_for(lambda: len(child_counters(t.haiked_children())) == 1, 10, "old SAs deleted")
    kid = t.charon_child()
    assert (kid["spi-out"], kid["spi-in"]) in child_spi_pairs(t)


def test_twenty_child_rekeys_from_haiked(esp_lab):
    """haiked's side of the rekey load: keylife-bytes = 1 MiB makes haiked
    rekey the CHILD SA ~20 times, keylife 10 s the IKE SA ~3 times, during
    a ping flood of 1328-octet packets at 500/s: 0 lost."""
    t = EspTunnel(esp_lab, "aes256gcm16-prfsha512-ecp521", "initiator",
                  sel_extra={"keylife-bytes": 1 << 20},
                  gw_extra={"keylife": 10, "rekey_jitter": 0}).start()
    count = 16000  # 32 s, ~21 MB each way
    res = t.gi.ns.exec("ping", "-n", "-q", "-c", str(count), "-i", "0.002", "-s", "1300", "-W",
                       "2", "-I", t.gi.lan_ip, t.gr.lan_ip, check=False, timeout=90)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    assert m and (int(m[1]), int(m[2])) == (count, count), res.stdout
    assert len(t.haiked.lines(r"reached its soft byte/packet lifetime: rekeying")) >= 18
    assert len(t.haiked.lines(r"CHILD SA net installed \(userspace\)")) >= 19
    assert len(t.haiked.lines(r"IKE SA rekeyed: replaced by IKE SA")) >= 2
    wait_for(lambda: len(child_counters(t.haiked_children())) == 1, 10, "old SAs deleted")


# ---- replay-window per selector ---------------------------------------------

def nft_drop_esp_seq(ns, seq):
    """Drops, on ns's input, ESP-in-UDP whose sequence number is seq (after
    the 8-octet UDP header: SPI at bit 64, sequence number at bit 96). A
    capture on the interface still sees the packet (it taps before
    netfilter)."""
    ns.exec("nft", "add", "table", "ip", "hkreplay")
    ns.exec("nft", "add", "chain", "ip", "hkreplay", "in",
            "{ type filter hook input priority 0; }")
    ns.exec("nft", "add", "rule", "ip", "hkreplay", "in", "udp", "dport", "4500",
            "@th,64,32", "!=", "0", "@th,96,32", str(seq), "drop")


# window setting -> (rx_packets, replay_errors) added by injecting the
# held-back seq 5 (35 behind the top, never accepted) and seq 38 (accepted)
REPLAY_CASES = {
    "default": (None, 1, 1),     # 1024: 5 is inside and new, 38 is a duplicate
    "32": (32, 0, 2),            # 5 is left of the window, 38 a duplicate
    "disable": ("disable", 2, 0),  # FortiOS `replay disable`: both delivered
}


@pytest.mark.parametrize("case", sorted(REPLAY_CASES))
def test_replay_window_setting(esp_lab, case):
    """replay-window on the selector reaches the data plane: with 32, a
    packet never seen but 35 behind the newest is dropped as a replay (the
    default window of 1024 takes it); with "disable" even a duplicate is
    delivered, and nothing is counted as a replay."""
    window, d_rx, d_replay = REPLAY_CASES[case]
    extra = {} if window is None else {"replay-window": window}
    t = EspTunnel(esp_lab, "aes256gcm16-prfsha512-ecp521", "initiator", capture_esp=True,
                  sel_extra=extra).start()
    nft_drop_esp_seq(t.gi.ns, 5)
    assert t.ping(count=40) == (40, 39), "exactly charon's 5th ESP packet held back"
    t.gi.ns.exec("nft", "delete", "table", "ip", "hkreplay")  # or it drops the injection too
    t.capture.stop()
    spi_in, _o, before = counters_now(t)
    by_seq = {struct.unpack("!I", p[4:8])[0]: p for p in esp_from_charon(t.capture.path, spi_in)}
    assert sorted(by_seq) == list(range(1, 41)), sorted(by_seq)
    assert before["rx_packets"] == 39 and before.get("replay_errors", 0) == 0, before
    udp_inject(t.gr.ns, topo.WAN_R, topo.WAN_I, by_seq[5])
    udp_inject(t.gr.ns, topo.WAN_R, topo.WAN_I, by_seq[38])

    def settled():
        c = counters_now(t)[2]
        done = c["rx_packets"] + c.get("replay_errors", 0) == before["rx_packets"] + 2
        return c if done else None
    ctr = wait_for(settled, 5, "both injected packets accounted for")
    assert ctr["rx_packets"] == before["rx_packets"] + d_rx, (case, ctr)
    assert ctr.get("replay_errors", 0) == d_replay, (case, ctr)
    assert ctr.get("integrity_errors", 0) == 0
    # the tunnel is undisturbed
    assert t.ping(count=10, reverse=True) == (10, 10)


# ---- the TUN inside a VDOM's network namespace -----------------------------

def test_tun_in_vdom_netns(esp_lab):
    """A gateway in a VDOM with its own network namespace: haiked runs in
    another namespace, its IKE sockets, its TUN hk-gw and the routes into it
    live in the VDOM's; LAN <-> LAN pings through strongSwan's tunnel."""
    ike, esp = SUITES["aes256gcm16-prfsha512-ecp521"]
    gi, gr = topo.gateway_pair(esp_lab)
    home = esp_lab.netns("h")  # the daemon's own namespace: no WAN, no LAN
    swan = scenario.swanctl_conf(gr, gi, scenario.ID_R, scenario.ID_I, ike, esp)
    charon = Charon(esp_lab, gr.ns, "sun", swan)
    charon.start()
    charon.load_all()
    gw = gateway(GW, gi.wan_ip, gr.wan_ip, ike,
                 [selector("net", gi.lan_net, gr.lan_net, esp, add_route=True)],
                 local_id=scenario.ID_I, remote_id=scenario.ID_R, vdom="cust")
    h = Haiked(esp_lab, home, "moon", [gw], {GW: scenario.PSK},
               global_extra={"dataplane": "userspace"},
               vdoms=[{"name": "cust", "netns": gi.ns.name}]).start()
    h.wait_log(r"CHILD SA net installed \(userspace\)")
    # the device and its route are in the VDOM's namespace, not the daemon's
    assert gi.ns.ip("link", "show", "hk-gw", check=False).returncode == 0
    assert home.ip("link", "show", "hk-gw", check=False).returncode != 0
    route = gi.ns.ip("route", "get", gr.lan_ip).stdout
    assert "dev hk-gw" in route and f"src {gi.lan_ip}" in route, route
    res = gi.ns.exec("ping", "-n", "-q", "-c", str(PINGS), "-i", "0.05", "-W", "2", "-I",
                     gi.lan_ip, gr.lan_ip, check=False, timeout=30)
    assert f"{PINGS} packets transmitted, {PINGS} received" in res.stdout, res.stdout
    kids = child_counters(h.hactl_json("tunnel", "show", GW))
    assert len(kids) == 1
    assert kids[0][2]["tx_packets"] == PINGS and kids[0][2]["rx_packets"] == PINGS, kids
    link = json.loads(gi.ns.ip("-s", "-j", "link", "show", "hk-gw").stdout)[0]
    assert link["stats64"]["rx"]["packets"] == PINGS, link["stats64"]


def test_plain_esp_from_vdom_netns(esp_lab):
    """haiked <-> haiked without NAT, one side's gateway in a VDOM namespace
    (the daemon elsewhere): plain ESP leaves and arrives through the raw
    ESP socket opened inside that namespace."""
    ike, esp = SUITES["aes256gcm16-prfsha512-ecp521"]
    gi, gr = topo.gateway_pair(esp_lab)
    home = esp_lab.netns("h")

    def gw(gw_l, gw_r, passive, id_l, id_r, **extra):
        return gateway(GW, gw_l.wan_ip, gw_r.wan_ip, ike,
                       [selector("net", gw_l.lan_net, gw_r.lan_net, esp, add_route=True)],
                       local_id=id_l, remote_id=id_r, passive=passive, **extra)
    sun = Haiked(esp_lab, gr.ns, "sun", [gw(gr, gi, True, scenario.ID_R, scenario.ID_I)],
                 {GW: scenario.PSK}, global_extra={"dataplane": "userspace"}).start()
    moon = Haiked(esp_lab, home, "moon",
                  [gw(gi, gr, False, scenario.ID_I, scenario.ID_R, vdom="cust")],
                  {GW: scenario.PSK}, global_extra={"dataplane": "userspace"},
                  vdoms=[{"name": "cust", "netns": gi.ns.name}]).start()
    for h in (moon, sun):
        line = h.wait_log(r"CHILD SA net installed \(userspace\)")[0]
        assert "UDP-encapsulated" not in line, line
    cap = Capture(gi.ns, gi.wan_if, esp_lab.path("esp.pcapng"), bpf="esp",
                  name="esp-capture").start()
    res = gi.ns.exec("ping", "-n", "-q", "-c", str(PINGS), "-i", "0.05", "-W", "2", "-I",
                     gi.lan_ip, gr.lan_ip, check=False, timeout=30)
    assert f"{PINGS} packets transmitted, {PINGS} received" in res.stdout, res.stdout
    cap.stop()
    assert len(netns_run_tshark(cap.path, "ip.proto==50")) == 2 * PINGS
    ctr = child_counters(moon.hactl_json("tunnel", "show", GW))[0][2]
    assert ctr["tx_packets"] == PINGS and ctr["rx_packets"] == PINGS, ctr


# ---- bulk TCP: segmentation and coalescing keep every octet ------------------

TCP_SINK = (
    "import hashlib,socket,sys\n"
    "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
    "s.bind((sys.argv[1],5001));s.listen(1);print('listening',flush=True)\n"
    "c,_=s.accept();h=hashlib.sha256();n=0\n"
    "while True:\n"
    "    b=c.recv(1<<16)\n"
    "    if not b: break\n"
    "    h.update(b);n+=len(b)\n"
    "print(n,h.hexdigest(),flush=True)\n")
TCP_SOURCE = (
    "import hashlib,random,socket,sys\n"
    "data=random.Random(7).randbytes(int(sys.argv[3]))\n"
    "c=socket.create_connection((sys.argv[2],5001),source_address=(sys.argv[1],0))\n"
    "c.sendall(data);c.close()\n"
    "print(len(data),hashlib.sha256(data).hexdigest(),flush=True)\n")


def tcp_transfer(src, dst, octets=16 << 20):
    """octets of pseudo-random data over TCP from src's LAN address to
    dst's: (what was sent, what arrived) as 'length sha256' lines. The
    receiving kernel does not check inner checksums the ESP ICV vouched
    for, so only the content itself shows that segments were cut and
    joined right."""
    sink = dst.ns.start(["/usr/bin/python3", "-c", TCP_SINK, dst.lan_ip],
                        f"tcp-sink-{dst.ns.tag}")  # a log of its own per direction
    wait_for(lambda: "listening" in sink.log(), 10, "TCP sink listening")
    sent = src.ns.exec("/usr/bin/python3", "-c", TCP_SOURCE, src.lan_ip, dst.lan_ip,
                       str(octets), timeout=120).stdout.strip()

    def summary():
        lines = [ln for ln in sink.log().split("\n") if re.fullmatch(r"\d+ [0-9a-f]{64}", ln)]
        return lines[-1] if lines else (None if sink.alive() else "sink died: " + sink.log())
    return sent, wait_for(summary, 30, "TCP sink done")


def test_bulk_tcp_haiked_to_haiked(esp_lab):
    """16 MiB each way between two haikeds over plain ESP: the sender's TUN
    hands over TSO frames that haiked cuts up, the receiver coalesces the
    segments of each receive batch into TSO writes; every octet arrives."""
    gi, gr = topo.gateway_pair(esp_lab)
    ike, esp = SUITES["aes256gcm16-prfsha512-ecp521"]

    def one(gw_l, gw_r, name, passive, id_l, id_r):
        g = gateway(GW, gw_l.wan_ip, gw_r.wan_ip, ike,
                    [selector("net", gw_l.lan_net, gw_r.lan_net, esp, add_route=True)],
                    local_id=id_l, remote_id=id_r, passive=passive)
        return Haiked(esp_lab, gw_l.ns, name, [g], {GW: scenario.PSK},
                      global_extra={"dataplane": "userspace"})
    sun = one(gr, gi, "sun", True, scenario.ID_R, scenario.ID_I).start()
    moon = one(gi, gr, "moon", False, scenario.ID_I, scenario.ID_R).start()
    for h in (moon, sun):
        h.wait_log(r"CHILD SA net installed \(userspace\)")
    sent, got = tcp_transfer(gi, gr)
    assert sent == got, (sent, got)
    sent, got = tcp_transfer(gr, gi)
    assert sent == got, (sent, got)
    ctr = child_counters(moon.hactl_json("tunnel", "show", GW))[0][2]
    # 16 MiB in segments of at most 1360 octets, each way
    assert ctr["tx_packets"] > (16 << 20) // 1360 and ctr["rx_packets"] > (16 << 20) // 1360
    assert ctr.get("rx_errors", 0) == 0, ctr
    # the TUN handed over TSO frames: far fewer reads than ESP packets sent
    tun = json.loads(gi.ns.ip("-s", "-j", "link", "show", "hk-gw").stdout)[0]["stats64"]
    assert tun["tx"]["packets"] * 2 < ctr["tx_packets"], (tun, ctr)
    print(f"TUN frames out {tun['tx']['packets']} for {ctr['tx_packets']} ESP packets, "
          f"in {tun['rx']['packets']} for {ctr['rx_packets']}")


def test_bulk_tcp_haiked_to_strongswan(esp_lab):
    """The same towards strongSwan, whose kernel does check the inner TCP
    checksums of what haiked segmented (and the other way round)."""
    t = EspTunnel(esp_lab, "aes256gcm16-prfsha512-ecp521", "initiator").start()
    sent, got = tcp_transfer(t.gi, t.gr, 4 << 20)
    assert sent == got, (sent, got)
    sent, got = tcp_transfer(t.gr, t.gi, 4 << 20)
    assert sent == got, (sent, got)



RELOADS = 6


def test_reload_changed_gateway_under_ping(esp_lab):
    """SIGHUP that changes the gateway (its keylife), RELOADS times, under ping -i 0.05
    LAN <-> LAN: the new gateway starts at once (no INITIAL_CONTACT: charon keeps the
    old SA), the old IKE SA keeps its CHILD SA installed until the new one is up, then
    its Delete runs and only its answer removes the old pair (daemon/gw_retire.c)."""
    from labkit.cluster import PingMonitor  # pylint: disable=import-outside-toplevel
    t = EspTunnel(esp_lab, "aes256gcm16-prfsha512-ecp521", "initiator").start()
    mon = PingMonitor(t.gi.ns, t.gr.lan_ip, src=t.gi.lan_ip, name="ping-reload").start()
    time.sleep(1)
    for n in range(RELOADS):
        before = child_spi_pairs(t)
        t.haiked.gateways[0]["keylife"] = 7200 - n
        t.haiked.write_config()
        t.haiked.reload()
        t.haiked.wait_log(r"reloaded .*: 0 gateways kept, 1 removed or changed, 1 new",
                          count=n + 1)
        wait_for(lambda: len(t.charon.list_sas()) == 1 and t.charon_child() is not None and
                 len(child_counters(t.haiked_children())) == 1 and
                 child_spi_pairs(t) != before, 15, "one new tunnel on both sides")
        time.sleep(1)
    res = mon.stop()
    print(f"{RELOADS} reloads under ping: {res.lost} of {res.sent} lost, longest gap "
          f"{res.longest_gap_ms:.0f} ms, lost {res.lost_seqs}")
    log = t.haiked.log()
    assert log.count("kept until the new gateway is up") == RELOADS
    assert len(re.findall(r"retiring \(changed, its successor is up\): deleting 1 IKE SA",
                          log)) == RELOADS
    assert log.count("retired: the old gateway and its SAs are gone") == RELOADS
    assert res.sent >= 20 * RELOADS and res.lost == 0, res
