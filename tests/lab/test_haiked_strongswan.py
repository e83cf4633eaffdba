"""haiked <-> stock strongSwan (kernel-libipsec) in a namespace lab.

Topology (labkit.topo.gateway_pair): haiked ("moon") on 203.0.113.1 with the
LAN 192.0.2.0/25, charon ("sun") on 203.0.113.2 with 192.0.2.128/25.  charon's
kernel-libipsec fakes NAT, so every tunnel runs IKE on 4500 with the non-ESP
marker.  haiked uses the "record" data plane: CHILD SAs are negotiated and
recorded, no ESP flows (issue 4).

Every test asserts on both views: `swanctl --list-sas` and haiked's log /
`hactl --json`, and every datagram haiked sent must dissect cleanly in tshark.
"""

import os
import re
import signal
import struct
import time

import pytest

from conftest import CAPTURE_TOOLS, require_lab
from labkit import scenario, topo
from labkit.capture import Capture, read_udp
from labkit.charon import Charon
from labkit.haiked import Haiked, find_binary, gateway, selector, tshark_sent_by
from labkit.netns import LabError
from labkit.proc import wait_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# suite -> (IKE proposal, charon ESP proposal, haiked selector proposal).
# The ESP proposals carry the PFS group: used by CREATE_CHILD_SA rekeys.
SUITES = {
    "aes256-sha512-ecp521": ("aes256-sha512-ecp521", "aes256-sha512-ecp521",
                             "aes256-sha512-ecp521"),
    "aes256gcm16-prfsha512-ecp521": ("aes256gcm16-prfsha512-ecp521", "aes256gcm16-ecp521",
                                     "aes256gcm16-ecp521"),
    "aes128-sha256-modp2048": ("aes128-sha256-modp2048", "aes128-sha256-modp2048",
                               "aes128-sha256-modp2048"),
}
ROLES = ("initiator", "responder")  # haiked's role
GW = "gw"
HAIKED_IP, CHARON_IP = topo.WAN_I, topo.WAN_R


class Tunnel:
    """haiked + charon + a capture on haiked's WAN interface."""

    def __init__(self, lab, suite="aes256-sha512-ecp521", role="initiator", psk=scenario.PSK,
                 haiked_ike=None, haiked_esp=None, remote_net=None, gw_extra=None,
                 sel_extra=None, global_extra=None):
        ike, esp_charon, esp_haiked = SUITES[suite]
        self.lab, self.role = lab, role
        self.gi, self.gr = topo.gateway_pair(lab)
        swan = scenario.swanctl_conf(self.gr, self.gi, scenario.ID_R, scenario.ID_I, ike,
                                     esp_charon)
        self.charon = Charon(lab, self.gr.ns, "sun", swan, log_levels={"enc": 1, "net": 1})
        self.capture = Capture(self.gi.ns, self.gi.wan_if, lab.path("haiked.pcapng"))
        gw = gateway(GW, HAIKED_IP, CHARON_IP, haiked_ike or ike,
                     [selector("net", self.gi.lan_net, remote_net or self.gr.lan_net,
                               haiked_esp or esp_haiked, **(sel_extra or {}))],
                     local_id=scenario.ID_I, remote_id=scenario.ID_R,
                     passive=(role == "responder"), **(gw_extra or {}))
        self.haiked = Haiked(lab, self.gi.ns, "moon", [gw], {GW: psk},
                             global_extra=global_extra)

    def start(self, wait=True):
        self.charon.start()
        self.charon.load_all()
        self.capture.start()
        self.haiked.start()
        if self.role == "responder":
            # A failing negotiation makes swanctl exit non-zero: only checked when it must work.
            self.charon.swanctl("--initiate", "--child", "net", "--ike", scenario.IKE_NAME,
                                "--timeout", "10", check=wait, timeout=15)
        if wait:
            self.wait_child()
        return self

    def wait_child(self, count=1, timeout=15):
        return self.haiked.wait_log(r"CHILD SA net installed", timeout=timeout, count=count)

    def charon_sa(self):
        sas = self.charon.list_sas()
        ike = sas.get(scenario.IKE_NAME)
        if not ike:
            raise LabError(f"charon has no IKE_SA: {sas}")
        return ike

    def charon_children(self, ike=None):
        ike = ike or self.charon_sa()
        return [c for c in ike.get("child-sas", {}).values() if c.get("state") == "INSTALLED"]

    def haiked_gw(self):
        """hactl --json gateway list, our gateway."""
        data = self.haiked.hactl_json("gateway", "list")
        gws = data["gateways"] if isinstance(data, dict) and "gateways" in data else data
        for g in gws:
            if g["name"] == GW:
                return g
        raise LabError(f"no gateway {GW} in hactl output: {data}")

    def haiked_live_sas(self):
        return [s for s in self.haiked_gw().get("ike_sas", []) if s["state"] == "established"]

    def check_wire(self):
        """Every datagram haiked sent dissects cleanly; returns how many."""
        self.capture.stop()
        sent, bad = tshark_sent_by(self.capture.path, HAIKED_IP)
        assert sent, "capture holds no datagram from haiked"
        assert not bad, f"tshark flags frames {bad} haiked sent as malformed"
        return len(sent)


def assert_same_tunnel(t, haiked_initiator=None):
    """charon and haiked (log and hactl) agree on the IKE and CHILD SPIs.

    haiked_initiator: haiked's role in the current IKE SA (default: its role
    in the first one; an IKE rekey makes its initiator the new SA's)."""
    ike = t.charon_sa()
    assert ike["state"] == "ESTABLISHED"
    spis = (ike["initiator-spi"], ike["responder-spi"])
    logged = [(s_i, s_r) for _gw, s_i, s_r in t.haiked.established()]
    assert spis in logged, f"charon {spis} not among haiked's established {logged}"
    live = t.haiked_live_sas()
    assert [(s["spi_i"], s["spi_r"]) for s in live] == [spis]
    if haiked_initiator is None:
        haiked_initiator = t.role == "initiator"
    assert live[0]["initiator"] == haiked_initiator
    kids = t.charon_children(ike)
    assert len(kids) == 1, kids
    mine = t.haiked_gw()["child_sas"]
    assert len(mine) == 1, mine
    assert (mine[0]["spi_in"], mine[0]["spi_out"]) == (kids[0]["spi-out"], kids[0]["spi-in"])
    assert (kids[0]["spi-out"], kids[0]["spi-in"]) in \
        [(i, o) for _g, _c, i, o in t.haiked.children()]
    # the operator's one-line view agrees: the tunnel is up with its selector
    summary = t.haiked.hactl("tunnel", "summary").stdout
    m = re.search(rf"^'{GW}' \S+ vd=\S+ state=up selectors\(total,up\): (\d+)/(\d+) ", summary,
                  re.M)
    assert m and int(m[2]) >= 1, summary
    return spis, (mine[0]["spi_in"], mine[0]["spi_out"])


@pytest.fixture
def lab_ok(charon_lab):
    require_lab(CAPTURE_TOOLS)
    if find_binary("daemon/haiked") is None or find_binary("cli/hactl") is None:
        pytest.skip("haiked/hactl not built (set HAIKED_BUILD_DIR or build build/default)")
    return charon_lab


# ---- establishment, both roles, every suite -------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_tunnel_established(lab_ok, suite, role):
    t = Tunnel(lab_ok, suite, role).start()
    assert_same_tunnel(t)
    live = t.haiked_live_sas()[0]
    assert live["proposal"] == SUITES[suite][0] or live["dh"] in SUITES[suite][0]
    assert live["local"]["port"] == 4500, "kernel-libipsec fakes NAT: IKE moves to 4500"
    assert live["nat_remote"] is True
    # the seed's log style, with the SPIs and message ID
    assert t.haiked.lines(r"ike 0:gw:1: sent IKE msg \(AUTH\): 203\.0\.113\.1:4500->"
                          r"203\.0\.113\.2:4500, len=\d+, id=[0-9a-f]{16}/[0-9a-f]{16}:00000001")
    assert t.check_wire() >= 2


# ---- rekeys and deletes --------------------------------------------------------

def wait_charon(t, pred, what, timeout=20):
    def ok():
        try:
            return pred(t.charon_sa())
        except LabError:
            return False
    return wait_for(ok, timeout, what, interval=0.2)


@pytest.mark.parametrize("role", ROLES)
def test_rekey_and_delete_from_strongswan(lab_ok, role):
    t = Tunnel(lab_ok, "aes256gcm16-prfsha512-ecp521", role).start()
    ike_spis, child = assert_same_tunnel(t)

    t.charon.rekey_child("net")
    t.wait_child(count=2)
    wait_charon(t, lambda ike: len(t.charon_children(ike)) == 1 and
                t.charon_children(ike)[0]["spi-in"] != child[1], "charon CHILD rekey")
    ike_spis2, child2 = assert_same_tunnel(t)
    assert ike_spis2 == ike_spis, "a CHILD rekey keeps the IKE SA"
    assert child2 != child

    t.charon.rekey_ike(scenario.IKE_NAME)
    t.haiked.wait_log(r"IKE SA rekeyed: replaced by IKE SA")
    wait_charon(t, lambda ike: (ike["initiator-spi"], ike["responder-spi"]) != ike_spis,
                "charon IKE rekey")
    wait_for(lambda: len(t.haiked_gw()["ike_sas"]) == 1, 10, "old IKE SA deleted in haiked")
    live = t.haiked_live_sas()
    ike = t.charon_sa()
    assert [(s["spi_i"], s["spi_r"]) for s in live] == [(ike["initiator-spi"],
                                                          ike["responder-spi"])]
    assert [c["spi_in"] for c in t.haiked_gw()["child_sas"]] == [child2[0]], \
        "the CHILD SA moves to the new IKE SA unchanged"

    ike = t.charon_sa()
    t.charon.terminate_ike(scenario.IKE_NAME)
    t.haiked.wait_log(rf"IKE SA {ike['initiator-spi']}/{ike['responder-spi']} down: "
                      r"deleted by the peer")
    if role == "responder":
        wait_for(lambda: not t.haiked_gw()["ike_sas"], 10, "haiked drops the deleted SA")
        assert not t.haiked_gw()["child_sas"]
    t.check_wire()


@pytest.mark.parametrize("role", ROLES)
def test_rekey_and_delete_from_haiked(lab_ok, role):
    """haiked's own short lifetimes: CHILD rekey at 10 s, IKE rekey at 14 s."""
    t = Tunnel(lab_ok, "aes256-sha512-ecp521", role,
               gw_extra={"keylife": 14, "rekey_jitter": 0},
               sel_extra={"keylife": 10, "rekey-jitter": 0}).start()
    ike_spis, child = assert_same_tunnel(t)
    t.wait_child(count=2, timeout=20)
    wait_charon(t, lambda ike: t.charon_children(ike) and
                t.charon_children(ike)[0]["spi-in"] != child[1] and
                len(t.charon_children(ike)) == 1, "CHILD rekeyed by haiked")
    assert (t.charon_sa()["initiator-spi"], t.charon_sa()["responder-spi"]) == ike_spis
    t.haiked.wait_log(r"IKE SA rekeyed: replaced by IKE SA", timeout=20)
    wait_charon(t, lambda ike: (ike["initiator-spi"], ike["responder-spi"]) != ike_spis,
                "IKE rekeyed by haiked")
    wait_for(lambda: len(t.haiked_gw()["ike_sas"]) == 1, 10, "old IKE SA gone in haiked")
    assert_same_tunnel(t, haiked_initiator=True)  # haiked started the rekey

    t.haiked.hactl("tunnel", "down", GW)
    wait_for(lambda: scenario.IKE_NAME not in t.charon.list_sas(), 10,
             "charon deletes the SA on haiked's Delete")
    assert not t.haiked_gw()["ike_sas"]
    t.check_wire()


def test_clean_shutdown_sends_delete(lab_ok):
    t = Tunnel(lab_ok).start()
    assert_same_tunnel(t)
    assert t.haiked.stop() == 0
    assert t.haiked.lines(r"every IKE SA deleted: exiting")
    assert scenario.IKE_NAME not in t.charon.list_sas()
    t.check_wire()


# ---- failures produce one clear line on haiked's side ---------------------------

@pytest.mark.parametrize("role", ROLES)
def test_wrong_psk(lab_ok, role):
    t = Tunnel(lab_ok, role=role, psk="not-the-psk-charon-has").start(wait=False)
    if role == "initiator":
        line = t.haiked.wait_log(r"peer rejected IKE_AUTH with AUTHENTICATION_FAILED "
                                 r"\(we sent ID fqdn:moon\.lab\.example\): check PSK and IDs")
    else:
        line = t.haiked.wait_log(r"AUTHENTICATION_FAILED: AUTH of peer fqdn:sun\.lab\.example "
                                 r"does not verify with the configured PSK")
    assert "not-the-psk" not in t.haiked.log() and scenario.PSK not in t.haiked.log()
    assert line
    assert not t.haiked_live_sas()
    t.check_wire()


@pytest.mark.parametrize("role", ROLES)
def test_no_proposal_chosen(lab_ok, role):
    t = Tunnel(lab_ok, role=role, haiked_ike="aes128-sha256-modp2048").start(wait=False)
    if role == "initiator":
        t.haiked.wait_log(r"peer accepted none of our IKE proposals \(NO_PROPOSAL_CHOSEN\); "
                          r"offered: aes128-sha256-prfsha256-modp2048")
    else:
        t.haiked.wait_log(r"NO_PROPOSAL_CHOSEN: peer offered aes256-sha512-prfsha512-ecp521; "
                          r"configured aes128-sha256-prfsha256-modp2048")
    assert not t.haiked_live_sas()
    t.check_wire()


def test_no_proposal_chosen_esp(lab_ok):
    t = Tunnel(lab_ok, role="responder", haiked_esp="aes128gcm16").start(wait=False)
    t.haiked.wait_log(r"CHILD SA: NO_PROPOSAL_CHOSEN: peer offered ESP aes256-sha512\S*; "
                      r"configured net: aes128gcm16")
    t.check_wire()


@pytest.mark.parametrize("role", ROLES)
def test_ts_unacceptable(lab_ok, role):
    t = Tunnel(lab_ok, role=role, remote_net="192.0.2.0/30").start(wait=False)
    if role == "initiator":
        t.haiked.wait_log(r"CHILD SA net not created: peer answered TS_UNACCEPTABLE; we offered "
                          r"\S+, TSi 192\.0\.2\.0-192\.0\.2\.127\S*, TSr 192\.0\.2\.0-192\.0\.2\.3")
    else:
        t.haiked.wait_log(r"TS_UNACCEPTABLE.*192\.0\.2\.128.*192\.0\.2\.0-192\.0\.2\.3|"
                          r"TS_UNACCEPTABLE.*192\.0\.2\.0-192\.0\.2\.3.*192\.0\.2\.128")
    assert not t.haiked_gw()["child_sas"]
    t.check_wire()


def test_ts_narrowing(lab_ok):
    """charon proposes its whole /25; haiked (responder) narrows to its /26.

    (The /26 holds charon's LAN address 192.0.2.129: LAB.md, route install.)"""
    t = Tunnel(lab_ok, role="responder", remote_net="192.0.2.128/26").start()
    kids = t.charon_children()
    assert kids[0]["local-ts"] == ["192.0.2.128/26"]
    mine = t.haiked_gw()["child_sas"][0]
    assert (mine["remote_ts"][0]["start_addr"], mine["remote_ts"][0]["end_addr"]) == \
        ("192.0.2.128", "192.0.2.191")
    t.check_wire()


# ---- bad input -------------------------------------------------------------------

SENDER = r"""
import socket, sys
port, hexdata = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.2", 0))
s.sendto(bytes.fromhex(hexdata), ("203.0.113.1", port))
"""


def hdr(spi_i, spi_r, exch, flags, msgid, length, next_payload=0):
    return spi_i + spi_r + struct.pack("!BBBBII", next_payload, 0x20, exch, flags, msgid, length)


def test_bad_input_dropped_while_tunnel_stays_up(lab_ok):
    t = Tunnel(lab_ok, role="initiator").start()
    ike_spis, _child = assert_same_tunnel(t)
    spi_i, spi_r = bytes.fromhex(ike_spis[0]), bytes.fromhex(ike_spis[1])
    recv_next = t.haiked_live_sas()[0]["msgid_recv"]
    flags_from_charon = 0  # charon is the original responder: I flag clear

    def send(port, data):
        t.gr.ns.exec("python3", "-c", SENDER, str(port), data.hex())

    marker = b"\0\0\0\0"
    sk = bytes([0, 0, 0, 68]) + os.urandom(64)  # SK payload: header + garbage body
    cases = [
        (500, b"\x01\x02\x03"),                                            # truncated
        (500, os.urandom(200)),                                            # garbage
        (500, b"\x00" * 20000),                                            # oversized
        (4500, marker + hdr(os.urandom(8), os.urandom(8), 37, 0x08, 0, 28)),  # wrong SPI
        (4500, marker + hdr(spi_i, spi_r, 37, flags_from_charon, recv_next + 50, 96, 46) + sk),
        (4500, marker + hdr(spi_i, spi_r, 37, flags_from_charon, recv_next, 96, 46) + sk),
        (4500, marker + hdr(spi_i, spi_r, 37, 0x08, 200, 60)),            # lies about length
        (4500, b"\x12\x34\x56\x78" + b"\x00\x00\x00\x01" + os.urandom(40)),  # ESP
        (4500, b"\xff"),                                                   # NAT keepalive
    ]
    # replay: the last IKE datagram charon sent haiked, as captured
    t.capture.stop()
    seen = [p for (_f, src, _sp, _dst, dport, p) in read_udp(t.capture.path)
            if src == CHARON_IP and dport == 4500 and p[:4] == marker]
    assert seen, "no IKE from charon on 4500 in the capture"
    cases.append((4500, seen[-1]))
    t.capture = Capture(t.gi.ns, t.gi.wan_if, lab_ok.path("haiked2.pcapng"),
                        name="tshark-bad").start()
    for port, data in cases:
        send(port, data)
    time.sleep(1.0)

    log = t.haiked.log()
    assert re.search(r"dropped datagram .*len=3: truncated|3 octets < IKE header 28", log)
    assert re.search(r"dropped datagram .*len=20000: oversized", log)
    assert re.search(r"dropped IKE msg .*no IKE SA with these SPIs \(unknown-spi\)", log)
    stats = t.haiked_live_sas()[0]["stats"]
    assert stats["dropped_msgid"] + stats["dropped_integrity"] + stats["dropped_malformed"] >= 2
    assert stats["dropped_integrity"] >= 1, stats
    # ... and counted where the operator sees them (hactl --json)
    vdom = t.haiked.hactl_json("status")["vdoms"][0]
    net_drops = {d["reason"]: d["count"] for d in vdom["net"]["dropped"]}
    for reason in ("truncated", "oversized", "unknown-spi"):
        assert net_drops[reason] >= 1, net_drops
    gw_drops = {d["reason"]: d["count"] for d in t.haiked_gw()["stats"]["dropped"]}
    assert gw_drops["integrity"] >= 1, gw_drops

    # still the same tunnel, and it still works: a CHILD rekey goes through
    assert assert_same_tunnel(t)[0] == ike_spis
    t.charon.rekey_child("net")
    t.wait_child(count=2)
    assert assert_same_tunnel(t)[0] == ike_spis
    t.check_wire()


def test_dpd_detects_killed_peer(lab_ok):
    t = Tunnel(lab_ok, role="initiator",
               gw_extra={"dpd": "on-idle", "dpd-retryinterval": 2, "dpd-retrycount": 2},
               global_extra={"ike": {"retransmit-timeout-ms": 300, "retransmit-tries": 2}})
    t.start()
    assert_same_tunnel(t)
    t.charon.proc.stop(sig=signal.SIGKILL)
    t.haiked.wait_log(r"IKE SA [0-9a-f]{16}/[0-9a-f]{16} down: peer dead", timeout=20)
    assert t.haiked_gw()["dpd"]["failures"] == 1
    assert t.haiked_gw()["dpd"]["sent"] >= 1
    wait_for(lambda: not t.haiked_live_sas(), 5, "no established SA after DPD")
    t.check_wire()


def test_hactl_debug_filter_really_filters(lab_ok):
    """The seed's complaint: FortiOS's name filter did not filter. Ours does."""
    t = Tunnel(lab_ok, role="initiator").start()
    assert_same_tunnel(t)

    def ike_lines():
        return len(t.haiked.lines(r" ike 0:gw:"))

    t.haiked.hactl("debug", "ike", "--peer", "203.0.113.9", "--level", "3")
    before = ike_lines()
    old_in = t.charon_children()[0]["spi-in"]
    t.charon.rekey_child("net")
    wait_charon(t, lambda ike: len(t.charon_children(ike)) == 1 and
                t.charon_children(ike)[0]["spi-in"] != old_in, "CHILD rekey (filtered)")
    # haiked did the rekey (its record follows) without logging a line of it
    wait_for(lambda: t.haiked_gw()["child_sas"][0]["spi_out"] != old_in, 5, "haiked rekeyed")
    time.sleep(0.5)
    assert ike_lines() == before, "lines about another peer passed the --peer filter"

    t.haiked.hactl("debug", "ike", "--gateway", GW, "--peer", CHARON_IP, "--level", "3")
    t.charon.rekey_child("net")
    t.haiked.wait_log(r"ike 0:gw:\d+: recv IKE msg \(CREATE_CHILD\)")
    # the rest of the exchange's lines follow the recv line: wait for them
    wait_for(lambda: ike_lines() > before + 3, 5, "the rekey's lines with the filter matching")
    t.haiked.hactl("debug", "ike", "off")
    t.check_wire()


def test_sighup_reload(lab_ok):
    """Unchanged gateways keep their tunnel; a changed one is renegotiated."""
    t = Tunnel(lab_ok, role="initiator").start()
    spis, child = assert_same_tunnel(t)
    t.haiked.reload()
    t.haiked.wait_log(r"reloaded .*: 1 gateways kept, 0 removed or changed, 0 new")
    assert assert_same_tunnel(t) == (spis, child)

    t.haiked.gateways[0]["proposal"] = "aes128-sha256-modp2048 " + SUITES[
        "aes256-sha512-ecp521"][0]
    t.haiked.write_config()
    t.haiked.reload()
    t.haiked.wait_log(r"reloaded .*: 0 gateways kept, 1 removed or changed, 1 new")
    wait_charon(t, lambda ike: (ike["initiator-spi"], ike["responder-spi"]) != spis and
                ike["state"] == "ESTABLISHED" and t.charon_children(ike), "renegotiated")
    wait_for(lambda: len(t.haiked_gw()["ike_sas"]) == 1, 10, "one IKE SA in haiked")
    assert assert_same_tunnel(t)[0] != spis
    assert len(t.charon.list_sas()) == 1, "the old SA was deleted on charon too"

    # a broken config is refused and the tunnel stays
    spis = assert_same_tunnel(t)[0]
    with open(t.haiked.conf_path, "a", encoding="utf-8") as f:
        f.write("this is not libconfig\n")
    t.haiked.reload()
    t.haiked.wait_log(r"reload refused \(\d+ errors\): the running configuration stays in force")
    assert assert_same_tunnel(t)[0] == spis
    t.check_wire()


def test_reauth_make_before_break(lab_ok):
    """reauth = true: at the soft lifetime haiked builds a new IKE SA (IKE_SA_INIT +
    IKE_AUTH) and only then deletes the old one."""
    t = Tunnel(lab_ok, role="initiator", gw_extra={"reauth": True, "keylife": 10,
                                                    "rekey_jitter": 0}).start()
    spis, _child = assert_same_tunnel(t)
    t.haiked.wait_log(r"soft lifetime: reauthenticating", timeout=20)
    t.haiked.wait_log(r"deleting IKE SA \(reauthenticated by IKE SA 2\): Delete sent")
    wait_charon(t, lambda ike: (ike["initiator-spi"], ike["responder-spi"]) != spis and
                len(t.charon.list_sas()) == 1 and t.charon_children(ike), "reauthenticated")
    wait_for(lambda: len(t.haiked_gw()["ike_sas"]) == 1, 10, "old IKE SA gone in haiked")
    new_spis = assert_same_tunnel(t)[0]
    assert new_spis != spis
    log = t.haiked.log()
    # make-before-break: the new SA was up before the old one's Delete went out
    assert log.index("IKE SA established", log.index("reauthenticating")) < \
        log.index("reauthenticated by IKE SA 2")
    t.check_wire()


def test_hactl_flush_and_up(lab_ok):
    """`tunnel flush` deletes the CHILD SAs (INFORMATIONAL Delete), the IKE SA stays;
    `tunnel down` + `tunnel up` renegotiates everything."""
    t = Tunnel(lab_ok, role="initiator").start()
    spis, _child = assert_same_tunnel(t)
    t.haiked.hactl("tunnel", "flush", GW)
    wait_charon(t, lambda ike: not t.charon_children(ike), "charon's CHILD SA deleted")
    wait_for(lambda: not t.haiked_gw()["child_sas"], 5, "haiked's CHILD SA deleted")
    assert (t.charon_sa()["initiator-spi"], t.charon_sa()["responder-spi"]) == spis
    assert [(s["spi_i"], s["spi_r"]) for s in t.haiked_live_sas()] == [spis]

    t.haiked.hactl("tunnel", "down", GW)
    wait_for(lambda: scenario.IKE_NAME not in t.charon.list_sas(), 10, "charon SA deleted")
    t.haiked.hactl("tunnel", "up", GW)
    t.wait_child(count=2)
    wait_charon(t, lambda ike: t.charon_children(ike), "tunnel back up")
    assert assert_same_tunnel(t)[0] != spis
    t.check_wire()
