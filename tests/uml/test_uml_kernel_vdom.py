"""haiked's kernel data plane for a gateway in a VDOM with its own network
namespace <-> stock strongSwan (kernel-netlink), in one UML guest.

haiked runs in namespace "h" (its own: no WAN, no LAN, no gateway); its
gateway "gw" is in VDOM "cust", whose namespace is "i" (labkit.topo's
initiator side: 203.0.113.1, LAN 192.0.2.1); charon "sun" in "r". XFRM is
per namespace in the kernel, so the backend opens its netlink sockets
(requests, AE/EXPIRE events, rtnetlink for add-route) inside "i".

Asserts: the CHILD SA pair haiked and charon report is in the VDOM's
kernel, with its policies, the IKE sockets' bypass (socket policies) and
add-route's route, and nothing of it in haiked's own namespace; pings both
ways without loss, plain ESP and (NAT-T forced) ESP-in-UDP through the
VDOM's 4500 socket; `ip netns exec <vdom> ip -s xfrm state` counters equal
hactl's; a reload that changes the gateway moves the VDOM's kernel from
the old pair to the renegotiated one; strongSwan's CHILD rekeys under a 2 ms ping train lose nothing
(the deferred outbound switch-over follows the VDOM's AE events); the
kernel's soft packet-lifetime expire in the VDOM reaches haiked and it
rekeys under a ping train, 0 lost; a clean stop leaves no state, policy or
route in either namespace.
"""

import time

import pytest

from conftest import CHARON_TOOLS, require_kernel_esp
from labkit import scenario, topo, xfrm
from labkit.charon import Charon
from labkit.haiked import Haiked, find_binary, gateway, selector
from labkit.proc import wait_for
from test_uml_haiked_kernel import (INSTALLED, KernelTunnel, only_newest_pair_left,
                                    rekey_lines)
from uml_helpers import PLUGINS_KERNEL, TRAIN, ping_train

pytestmark = [pytest.mark.uml, pytest.mark.lab, pytest.mark.slow]

GW = "gw"
VDOM = "cust"
PINGS = 20
IKE, ESP = "aes256gcm16-prfsha512-ecp521", "aes256gcm16-ecp521"


class VdomTunnel(KernelTunnel):
    """KernelTunnel with haiked in namespace h and its gateway in VDOM
    "cust" = namespace i (the WAN and LAN side of the gateway)."""

    def __init__(self, lab, sel_extra=None, natt=False):  # pylint: disable=super-init-not-called
        self.role = "initiator"
        self.gi, self.gr = topo.gateway_pair(lab)
        self.home = lab.netns("h")
        swan = scenario.swanctl_conf(self.gr, self.gi, scenario.ID_R, scenario.ID_I, IKE, ESP)
        gw_extra = {}
        if natt:  # ESP-in-UDP: into XFRM through the VDOM's 4500 socket (UDP_ENCAP)
            swan["connections"][scenario.IKE_NAME]["encap"] = "yes"
            gw_extra["nattraversal"] = "forced"
        self.charon = Charon(lab, self.gr.ns, "sun", swan,
                             log_levels={"ike": 1, "chd": 1, "enc": 0, "net": 0, "knl": 2},
                             charon_extra={"load": PLUGINS_KERNEL})
        gw = gateway(GW, self.gi.wan_ip, self.gr.wan_ip, IKE,
                     [selector("net", self.gi.lan_net, self.gr.lan_net, ESP, add_route=True,
                               **(sel_extra or {}))],
                     local_id=scenario.ID_I, remote_id=scenario.ID_R, vdom=VDOM, **gw_extra)
        self.haiked = Haiked(lab, self.home, "moon", [gw], {GW: scenario.PSK},
                             log_levels={"net": "info"},
                             global_extra={"dataplane": "kernel"},
                             vdoms=[{"name": VDOM, "netns": self.gi.ns.name}])

    def home_is_empty(self):
        """Nothing of XFRM and no route to the remote LAN in haiked's namespace."""
        assert xfrm.by_spi(self.home) == {}
        assert xfrm.policies(self.home).strip() == ""
        assert self.gr.lan_net not in self.home.ip("route", "show").stdout


@pytest.fixture
def vdom_lab(uml_lab):
    require_kernel_esp(CHARON_TOOLS)
    if find_binary("daemon/haiked") is None or find_binary("cli/hactl") is None:
        pytest.skip("haiked/hactl not built (set HAIKED_BUILD_DIR)")
    return uml_lab


@pytest.mark.parametrize("natt", [False, True], ids=["esp", "natt"])
def test_vdom_ping_counters_reload_and_stop(vdom_lab, natt):
    t = VdomTunnel(vdom_lab, natt=natt).start()
    kid = t.charon_child()
    spi_in, spi_out = kid["spi-out"], kid["spi-in"]  # haiked's view
    kids = t.hactl_children()
    assert [(k["spi_in"], k["spi_out"]) for k in kids] == [(spi_in, spi_out)], kids

    # the pair is in the VDOM's kernel, and only there
    st = xfrm.by_spi(t.gi.ns)
    assert set(st) == {spi_in, spi_out}, st
    assert (st[spi_out]["src"], st[spi_out]["dst"]) == (t.gi.wan_ip, t.gr.wan_ip)
    assert (st[spi_in]["src"], st[spi_in]["dst"]) == (t.gr.wan_ip, t.gi.wan_ip)
    encap = ("espinudp", 4500, 4500) if natt else None
    assert all(s["algs"] == {"aead": "rfc4106(gcm(aes))"} and s["encap"] == encap
               for s in st.values()), st
    t.home_is_empty()
    text = xfrm.policies(t.gi.ns)
    pols = {(p["src"], p["dst"], p.get("dir")): p for p in xfrm.parse_policies(text)}
    for key, tmpl in (((t.gi.lan_net, t.gr.lan_net, "out"), (t.gi.wan_ip, t.gr.wan_ip)),
                      ((t.gr.lan_net, t.gi.lan_net, "in"), (t.gr.wan_ip, t.gi.wan_ip)),
                      ((t.gr.lan_net, t.gi.lan_net, "fwd"), (t.gr.wan_ip, t.gi.wan_ip))):
        assert key in pols, text
        p = pols[key]
        assert (p.get("tmpl_src"), p.get("tmpl_dst")) == tmpl, p
        assert (p.get("proto"), p.get("reqid")) == ("esp", st[spi_out]["reqid"]), p
    # the IKE sockets (500, 4500) live in the VDOM with their bypass policies
    assert text.count("socket in") >= 2 and text.count("socket out") >= 2, text
    route = t.gi.ns.ip("route", "get", t.gr.lan_ip).stdout
    assert f"src {t.gi.lan_ip}" in route, route

    assert t.ping() == (PINGS, PINGS), "loss haiked -> strongSwan"
    assert t.ping(reverse=True) == (PINGS, PINGS), "loss strongSwan -> haiked"
    n = 2 * PINGS
    st = xfrm.by_spi(t.gi.ns)
    assert st[spi_out]["packets"] == n and st[spi_in]["packets"] == n, st
    assert st[spi_out]["oseq"] == n and st[spi_in]["seq"] == n, st
    # hactl's counters are the VDOM kernel's (GETSA on the VDOM's socket)
    (k,) = t.hactl_children()
    ctr = k["counters"]
    assert ctr.get("tx_packets", 0) == st[spi_out]["packets"], (ctr, st[spi_out])
    assert ctr.get("rx_packets", 0) == st[spi_in]["packets"], (ctr, st[spi_in])
    assert ctr.get("tx_bytes", 0) == st[spi_out]["bytes"], (ctr, st[spi_out])
    assert ctr.get("rx_bytes", 0) == st[spi_in]["bytes"], (ctr, st[spi_in])
    assert k.get("tx_seq") == st[spi_out]["oseq"], (k.get("tx_seq"), st[spi_out])
    kid = t.charon_child()
    assert int(kid["packets-in"]) == n and int(kid["packets-out"]) == n, kid
    assert xfrm.stats(t.gi.ns)["XfrmInNoStates"] == 0
    t.home_is_empty()
    # hactl status: the event counters of each namespace in use, the VDOM's
    # by its name; the pair's NEWAE events come on the VDOM's socket only
    deadline = time.monotonic() + 10
    while True:
        by_name = {x.get("name", ""): x for x in t.haiked.hactl_json("status")["dataplane"]["netns"]}
        if by_name.get(t.gi.ns.name, {}).get("ae_events", 0) > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(by_name) == {"", t.gi.ns.name}, by_name
    assert by_name[t.gi.ns.name].get("ae_events", 0) > 0, by_name
    assert by_name[""].get("ae_events", 0) == 0, by_name
    assert f"XFRM events netns {t.gi.ns.name}: messages " in t.haiked.hactl("status").stdout

    # a reload that changes the gateway: its pair leaves the VDOM's kernel,
    # the renegotiated one comes in there (and carries traffic)
    first = {(spi_in, spi_out)}
    t.haiked.gateways[0]["keylife"] = 7200
    t.haiked.write_config()
    t.haiked.reload()
    t.haiked.wait_log(r"reloaded .*: 0 gateways kept, 1 removed or changed, 1 new")
    t.haiked.wait_log(INSTALLED, count=2)
    only_newest_pair_left(t, first)
    t.home_is_empty()

    # a clean stop takes states, policies and the route with it, everywhere
    assert t.haiked.stop() == 0, t.haiked.log()[-2000:]
    assert "runtime error" not in t.haiked.log()  # UBSan builds
    assert xfrm.by_spi(t.gi.ns) == {}
    assert xfrm.policies(t.gi.ns).strip() == ""
    assert t.gr.lan_net not in t.gi.ns.ip("route", "show").stdout
    t.home_is_empty()


def test_vdom_child_rekeys_by_strongswan_keep_traffic(vdom_lab):
    """strongSwan rekeys the CHILD SA twice during a 2 ms ping train: 0 lost,
    no ESP without a state on either side; one new pair left, in the VDOM."""
    t = VdomTunnel(vdom_lab).start()
    first = {(k["spi_in"], k["spi_out"]) for k in t.hactl_children()}
    sent, got, out = ping_train(t.gi, t.gr, [t.charon.rekey_child, t.charon.rekey_child],
                                child="net")
    assert len(t.haiked.lines(INSTALLED)) == 3, rekey_lines(t)
    only_newest_pair_left(t, first)
    no_state = {ns.name: xfrm.stats(ns)["XfrmInNoStates"] for ns in (t.gi.ns, t.gr.ns)}
    assert (sent, got) == (TRAIN, TRAIN) and not any(no_state.values()), \
        f"{sent} sent, {got} received; ESP without a state: {no_state}\n{out}\n{rekey_lines(t)}"
    t.home_is_empty()


def test_vdom_packet_lifetime_rekeys(vdom_lab):
    """keylife-packets 1000: the VDOM kernel's soft expire (XFRM_MSG_EXPIRE
    on the VDOM's event socket) makes haiked rekey under a ping train."""
    t = VdomTunnel(vdom_lab, sel_extra={"keylife-packets": 1000}).start()
    first = {(k["spi_in"], k["spi_out"]) for k in t.hactl_children()}
    res = t.gi.ns.exec("ping", "-n", "-q", "-c", "1300", "-i", "0.005", "-W", "2", "-I",
                       t.gi.lan_ip, t.gr.lan_ip, check=False, timeout=90)
    assert "1300 packets transmitted, 1300 received" in res.stdout, \
        f"{res.stdout}\n{rekey_lines(t)}"
    assert t.haiked.lines(r"reached its soft byte/packet lifetime: rekeying"), rekey_lines(t)
    wait_for(lambda: len(t.haiked.lines(INSTALLED)) >= 2, 10, "CHILD SA rekeyed on volume")
    only_newest_pair_left(t, first)
    for ns in (t.gi.ns, t.gr.ns):
        assert xfrm.stats(ns)["XfrmInNoStates"] == 0, "ESP sent before its state was in"
    t.home_is_empty()


def test_vdom_unit_test_with_esp(vdom_lab):
    """tests/daemon/test_dp_xfrm_netns.c where the kernel has ESP: its
    install branch (states in the VDOM's namespace and nowhere else,
    counters and set_seq read back there, the VDOM's sockets closed with
    the pair) instead of the host's "kernel without ESP" one."""
    binary = find_binary("tests/daemon/daemon_test_dp_xfrm_netns")
    if binary is None:
        pytest.skip("daemon_test_dp_xfrm_netns not built (set HAIKED_BUILD_DIR)")
    res = vdom_lab.netns("u").exec(binary, check=False, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "PASSED  ] 6 test(s)" in out, out
    assert "kernel without ESP" not in out, out
