"""Stock strongSwan <-> stock strongSwan with ESP in the kernel (kernel-netlink).

Proves the guest and the runner: two namespaces in one UML guest, charon in
each with kernel-netlink only (no kernel-libipsec: the guest kernel has
ESP), tunnel LAN <-> LAN, pings through it, and the kernel's own counters
(`ip -s xfrm state`) agree with the ping count and with charon's.  CHILD
rekeys started by either side during a 2 ms ping train lose nothing: the
reference for haiked's rekey tests (test_uml_haiked_kernel.py).
"""

import pytest

from conftest import CHARON_TOOLS, require_kernel_esp
from labkit import scenario, topo, xfrm
from labkit.proc import wait_for
from uml_helpers import PINGS, TRAIN, kernel_charon, ping, ping_train

pytestmark = [pytest.mark.uml, pytest.mark.lab]


def test_strongswan_pair_kernel_esp(uml_lab):
    """One suite (GCM) is enough here; haiked's tests cover CBC/HMAC too."""
    require_kernel_esp(CHARON_TOOLS)
    ike, esp = scenario.SUITES["aes256gcm16-prfsha512-ecp521"]
    gi, gr = topo.gateway_pair(uml_lab)
    moon = kernel_charon(uml_lab, gi, gr, "moon", scenario.ID_I, scenario.ID_R, ike, esp)
    sun = kernel_charon(uml_lab, gr, gi, "sun", scenario.ID_R, scenario.ID_I, ike, esp)
    for c in (sun, moon):
        c.start()
        c.load_all()
    moon.initiate(scenario.CHILD_NAME)
    _si, _sr, spi_in, spi_out = scenario.child_spis(moon.list_sas())

    # the kernel holds the pair, with the negotiated transform
    st_i = xfrm.by_spi(gi.ns)
    assert set(st_i) == {spi_in, spi_out}, st_i
    out = st_i[spi_out]
    assert (out["src"], out["dst"], out["mode"]) == (gi.wan_ip, gr.wan_ip, "tunnel")
    assert out["algs"] == {"aead": "rfc4106(gcm(aes))"}, out
    assert out["encap"] is None, "no NAT: plain ESP"

    assert ping(gi.ns, gi.lan_ip, gr.lan_ip) == (PINGS, PINGS)
    st_i, st_r = xfrm.by_spi(gi.ns), xfrm.by_spi(gr.ns)
    # requests out on moon's outbound SA, replies in on its inbound one;
    # sun's states are the mirror images (its in = moon's out)
    assert st_i[spi_out]["packets"] == PINGS and st_i[spi_in]["packets"] == PINGS, st_i
    assert st_r[spi_out]["packets"] == PINGS and st_r[spi_in]["packets"] == PINGS, st_r
    assert st_i[spi_out]["oseq"] == PINGS and st_r[spi_out]["seq"] == PINGS
    assert st_r[spi_in]["oseq"] == PINGS and st_i[spi_in]["seq"] == PINGS
    assert all(s["replay"] == 0 and s["failed"] == 0 for s in (*st_i.values(), *st_r.values()))
    # charon reads the same counters back from the kernel
    kid = [c for c in moon.list_sas()[scenario.IKE_NAME]["child-sas"].values()][0]
    assert int(kid["packets-out"]) == PINGS and int(kid["packets-in"]) == PINGS, kid
    assert int(kid["bytes-out"]) == st_i[spi_out]["bytes"], (kid, st_i[spi_out])


def test_strongswan_pair_rekeys_under_ping(uml_lab):
    """The reference for haiked's rekey tests: stock charon <-> charon with
    kernel ESP keeps every ping of a 2 ms ping train across CHILD rekeys
    started by either side (strongSwan as responder installs its new
    outbound state only once the initiator has the inbound one): no ESP
    arrives for an SPI without a state, and the new states carry the traffic."""
    require_kernel_esp(CHARON_TOOLS)
    ike, esp = scenario.SUITES["aes256gcm16-prfsha512-ecp521"]
    gi, gr = topo.gateway_pair(uml_lab)
    moon = kernel_charon(uml_lab, gi, gr, "moon", scenario.ID_I, scenario.ID_R, ike, esp)
    sun = kernel_charon(uml_lab, gr, gi, "sun", scenario.ID_R, scenario.ID_I, ike, esp)
    for c in (sun, moon):
        c.start()
        c.load_all()
    moon.initiate(scenario.CHILD_NAME)
    old = scenario.child_spis(moon.list_sas())
    sent, got, out = ping_train(gi, gr, [sun.rekey_child, moon.rekey_child])
    assert (sent, got) == (TRAIN, TRAIN), out
    for ns in (gi.ns, gr.ns):
        assert xfrm.stats(ns)["XfrmInNoStates"] == 0
    new = scenario.wait_child_changed(moon, old)
    wait_for(lambda: set(xfrm.by_spi(gi.ns)) == {new[2], new[3]}, 10, "old states deleted")
    before = xfrm.by_spi(gi.ns)[new[3]]["packets"]
    assert ping(gi.ns, gi.lan_ip, gr.lan_ip, count=5) == (5, 5)
    assert xfrm.by_spi(gi.ns)[new[3]]["packets"] == before + 5
