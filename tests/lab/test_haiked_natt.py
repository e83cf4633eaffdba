"""haiked's `nattraversal` modes against stock strongSwan (kernel-libipsec).

Same lab and Tunnel helper as test_haiked_strongswan.py: haiked ("moon",
initiator) on 203.0.113.1, charon ("sun") on 203.0.113.2, a capture on
haiked's WAN.  charon's kernel-libipsec fakes its own NAT (haiked always
sees "peer behind NAT"), so what tells the modes apart is haiked's side:

- forced: haiked hashes a fake source address into NAT_DETECTION_SOURCE_IP,
  so charon reports the *remote* (haiked) behind a NAT, haiked marks itself
  behind one and says so in its log; "enable" is the control (same tunnel,
  none of those).
- disable: haiked sends no NAT_DETECTION notifies and stays on port 500;
  the IKE SA comes up, but kernel-libipsec can only install UDP-encapsulated
  ESP, so charon refuses the CHILD SA with NO_PROPOSAL_CHOSEN.  That is the
  documented outcome (daemon/config/README.md, operator note).
"""

import re

import pytest

from labkit import netns as netns_mod
from labkit.proc import wait_for
from test_haiked_strongswan import HAIKED_IP, Tunnel, lab_ok  # noqa: F401  (fixture)

pytestmark = [pytest.mark.lab, pytest.mark.slow]

NAT_DETECTION = {"16388", "16389"}  # NAT_DETECTION_SOURCE_IP / _DESTINATION_IP


def init_notifies(capture_path):
    """Notify types of each IKE_SA_INIT request haiked sent, one set per frame."""
    res = netns_mod.run(["tshark", "-n", "-r", capture_path, "-Y",
                         f"ip.src=={HAIKED_IP} && isakmp.exchangetype==34 && isakmp.flag_r==0",
                         "-T", "fields", "-e", "isakmp.notify.msgtype"], timeout=60)
    return [set(filter(None, line.split(","))) for line in res.stdout.splitlines() if line]


def udp_ports_sent(capture_path):
    res = netns_mod.run(["tshark", "-n", "-r", capture_path, "-Y", f"ip.src=={HAIKED_IP} && udp",
                         "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport"], timeout=60)
    return {tuple(line.split()) for line in res.stdout.splitlines() if line}


@pytest.mark.parametrize("mode", ["forced", "enable"])
def test_natt_forced_vs_enable(lab_ok, mode):
    t = Tunnel(lab_ok, gw_extra={"nattraversal": mode}).start()
    forced = mode == "forced"
    ike = t.charon_sa()
    assert ike["state"] == "ESTABLISHED"
    assert (ike["local-port"], ike["remote-port"]) == ("4500", "4500")
    # charon's view of haiked: behind a NAT only because haiked forces it.
    assert (ike.get("nat-remote") == "yes") == forced, ike
    assert ike.get("nat-any") == "yes", "kernel-libipsec fakes NAT either way"
    kids = t.charon_children(ike)
    assert len(kids) == 1 and kids[0]["encap"] == "yes", kids
    # haiked's view (hactl --json): the local side is "behind NAT" when forced.
    live = t.haiked_live_sas()
    assert len(live) == 1
    assert live[0]["local"]["port"] == 4500 and live[0]["remote"]["port"] == 4500
    assert live[0]["nat_local"] is forced
    assert live[0]["nat_remote"] is True
    assert t.haiked_gw()["nat_t"] == mode
    assert "natt: mode=%s active=yes" % mode in t.haiked.hactl("tunnel", "show", "gw").stdout
    # the log says why IKE moved to 4500
    moved = t.haiked.lines(r"ike 0:gw:1: [0-9a-f/]+: .*IKE moves to port 4500")
    assert len(moved) == 1, moved
    assert ("NAT-T forced by configuration" in moved[0]) == forced, moved
    assert t.haiked.lines(r"CHILD SA net installed \(record\).*UDP-encapsulated")
    t.check_wire()
    # both modes announce NAT-T in IKE_SA_INIT
    notes = init_notifies(t.capture.path)
    assert notes and all(NAT_DETECTION <= n for n in notes), notes


def test_natt_disable(lab_ok):
    t = Tunnel(lab_ok, gw_extra={"nattraversal": "disable"})
    t.start(wait=False)
    failed = t.haiked.wait_log(r"ike 0:gw:1: [0-9a-f/]+: CHILD SA net not created: peer answered "
                               r"NO_PROPOSAL_CHOSEN; we offered aes256-sha512-ecp521")
    assert failed
    # charon says why: kernel-libipsec installs only UDP-encapsulated ESP.
    wait_for(lambda: "only UDP encapsulation is supported" in t.charon.log(), 10,
             "charon's SAD failure")
    ike = t.charon_sa()
    assert ike["state"] == "ESTABLISHED"
    assert (ike["local-port"], ike["remote-port"]) == ("500", "500")
    assert "nat-any" not in ike and "nat-remote" not in ike, ike
    assert not t.charon_children(ike)
    # haiked: the IKE SA stays (childless) on 500, no NAT flags, no CHILD SA.
    gw = t.haiked_gw()
    assert gw["nat_t"] == "disable"
    live = t.haiked_live_sas()
    assert len(live) == 1
    assert live[0]["local"]["port"] == 500 and live[0]["remote"]["port"] == 500
    assert live[0]["nat_local"] is False and live[0]["nat_remote"] is False
    assert gw["child_sas"] == []
    summary = t.haiked.hactl("tunnel", "summary").stdout
    assert re.search(r"^'gw' 203\.0\.113\.2:500 vd=root state=up selectors\(total,up\): 1/0 ",
                     summary, re.M), summary
    assert not t.haiked.lines(r"IKE moves to port 4500|NAT detected|UDP-encapsulated")
    t.check_wire()
    # on the wire: haiked's IKE_SA_INIT carries no NAT_DETECTION notify, and
    # nothing haiked sent used port 4500.
    notes = init_notifies(t.capture.path)
    assert notes, "no IKE_SA_INIT request from haiked in the capture"
    assert all(not n & NAT_DETECTION for n in notes), notes
    assert udp_ports_sent(t.capture.path) == {("500", "500")}
