"""Route-based mode of haiked's kernel data plane: a VTI device per gateway.

haiked "moon" (dataplane "kernel", gateway `route-based = true`) <-> stock
charon "sun" (kernel-netlink, policy-based), one namespace each in the UML
guest (labkit.topo.gateway_pair, as test_uml_haiked_kernel.py).

Asserts: haiked creates hk-gw (kind vti, local/remote = the IKE SA's
addresses, ikey = okey = the mark its policies carry, disable_policy on),
add-route routes the remote LAN into it; pings cross both ways without
loss; the device's packet and octet counters, `ip -s xfrm state` and
`hactl --json tunnel show` agree (and charon's); traffic routed into the
device for an address outside the CHILD SA's selectors is dropped and
counted by the kernel on the device (tx_errors), never sent; CHILD and
IKE rekeys under a ping train lose nothing and keep the device; removing
the gateway (reload) or stopping haiked takes the device, its routes, the
states and the policies away. A dial-up gateway's device has no remote
address and serves the peer that comes.
"""

import json
import re
import socket
import struct
import time

import pytest

from conftest import CHARON_TOOLS, require_kernel_esp
from labkit import scenario, topo, xfrm
from labkit.haiked import find_binary
from labkit.proc import wait_for
from test_uml_dp_seq import SeqProbe
from test_uml_haiked_kernel import KernelTunnel, child_sas, ping_during, rekey_lines
from uml_helpers import TRAIN, ping_train

pytestmark = [pytest.mark.uml, pytest.mark.lab, pytest.mark.slow]

GW = "gw"
DEV = "hk-gw"
PINGS = 20
GCM = "aes256gcm16-prfsha512-ecp521"
CBC = "aes256-sha512-ecp521"
INSTALLED = r"CHILD SA net installed \(kernel\)"
OUTSIDE = "198.51.100.7"  # routed into the device, in no selector


@pytest.fixture
def vti_lab(uml_lab):
    require_kernel_esp(CHARON_TOOLS)
    if find_binary("daemon/haiked") is None or find_binary("cli/hactl") is None:
        pytest.skip("haiked/hactl not built (set HAIKED_BUILD_DIR)")
    return uml_lab


def route_based(lab, suite=GCM, role="initiator", natt=False, sel_extra=None, gw_extra=None):
    return KernelTunnel(lab, suite, role, natt=natt, sel_extra=sel_extra,
                        gw_extra=dict(gw_extra or {}, route_based=True)).start()


def link(ns, dev=DEV):
    """`ip -j -s -d link show dev` as a dict; None when there is no such device."""
    res = ns.exec("ip", "-j", "-s", "-d", "link", "show", "dev", dev, check=False)
    if res.returncode != 0:
        return None
    (info,) = json.loads(res.stdout)
    return info


def stats(info):
    return info.get("stats64", info.get("stats"))


def key_text(mark):
    """iproute2 prints a VTI key as the dotted quad of its network-order value."""
    return socket.inet_ntoa(struct.pack("!I", mark))


def policies_with_marks(ns):
    """[(src, dst, dir, mark or None)] of `ip xfrm policy` (the IKE sockets'
    own bypass policies, "socket in/out", left out)."""
    out = []
    for block in re.split(r"\n(?=src )", xfrm.policies(ns).strip()):
        d = re.search(r"\bdir (\S+)", block)
        if not d:
            continue
        m = re.match(r"src (\S+) dst (\S+)", block)
        k = re.search(r"\bmark (0x[0-9a-f]+)/0xffffffff", block)
        out.append((m[1], m[2], d[1], int(k[1], 16) if k else None))
    return out


def sysctl(ns, family, dev, what):
    return ns.exec("cat", f"/proc/sys/net/{family}/conf/{dev}/{what}").stdout.strip()


@pytest.mark.parametrize("suite,role,natt", [
    (GCM, "initiator", False),
    (CBC, "responder", True),
], ids=["gcm-initiator-esp", "cbc-responder-natt"])
def test_vti_ping_counters_and_drops(vti_lab, suite, role, natt):
    t = route_based(vti_lab, suite, role, natt)
    gi, gr = t.gi, t.gr
    kid = t.charon_child()
    spi_in, spi_out = kid["spi-out"], kid["spi-in"]  # haiked's view
    (k,) = t.hactl_children()
    assert (k["spi_in"], k["spi_out"]) == (spi_in, spi_out), k

    # the device: a VTI between the IKE SA's addresses, up, keyed
    info = link(gi.ns)
    assert info is not None, gi.ns.ip("link", "show").stdout
    data = info["linkinfo"]["info_data"]
    assert info["linkinfo"]["info_kind"] == "vti", info
    assert (data["local"], data["remote"]) == (gi.wan_ip, gr.wan_ip), data
    assert data["ikey"] == data["okey"], data
    assert "UP" in info["flags"], info
    assert sysctl(gi.ns, "ipv4", DEV, "disable_policy") == "1"

    # every policy carries the device's key as its mark (none is left
    # that plain routing could hit); the states are the pair, unmarked
    pols = policies_with_marks(gi.ns)
    marks = {p[3] for p in pols}
    assert len(marks) == 1 and None not in marks, pols
    (mark,) = marks
    assert key_text(mark) == data["ikey"], (pols, data)
    assert t.haiked.lines(rf"VTI {DEV} created: key 0x{mark:08x}, {gi.wan_ip} -> {gr.wan_ip}$"), \
        t.haiked.lines("VTI")
    lan_i, lan_r = gi.lan_net, gr.lan_net
    assert {(p[0], p[1], p[2]) for p in pols} == {
        (lan_i, lan_r, "out"), (lan_r, lan_i, "in"), (lan_r, lan_i, "fwd")}, pols
    st = xfrm.by_spi(gi.ns)
    assert set(st) == {spi_in, spi_out}, st
    encap = ("espinudp", 4500, 4500) if natt else None
    assert all(s["encap"] == encap for s in st.values()), st

    # add-route: the remote LAN goes into the device, from our LAN address
    route = gi.ns.ip("route", "get", gr.lan_ip).stdout
    assert f"dev {DEV}" in route and f"src {gi.lan_ip}" in route, route

    before = stats(link(gi.ns))
    assert t.ping() == (PINGS, PINGS), "loss haiked -> strongSwan"
    assert t.ping(reverse=True) == (PINGS, PINGS), "loss strongSwan -> haiked"
    n = 2 * PINGS  # requests + replies each way
    st = xfrm.by_spi(gi.ns)
    assert st[spi_out]["packets"] == n and st[spi_in]["packets"] == n, st
    assert st[spi_in]["replay"] == 0 and st[spi_in]["failed"] == 0, st
    after = stats(link(gi.ns))
    # the device carried exactly the SA's packets, the same octets (inner
    # packets both: VTI counts them at xmit and after decapsulation)
    tx = after["tx"]["packets"] - before["tx"]["packets"]
    rx = after["rx"]["packets"] - before["rx"]["packets"]
    assert (tx, rx) == (n, n), (before, after)
    assert after["tx"]["bytes"] - before["tx"]["bytes"] == st[spi_out]["bytes"], (after, st)
    assert after["rx"]["bytes"] - before["rx"]["bytes"] == st[spi_in]["bytes"], (after, st)
    assert after["tx"]["errors"] == 0 and after["rx"]["errors"] == 0, after
    # hactl's counters are the kernel's
    (k,) = t.hactl_children()
    ctr = k["counters"]
    assert (ctr.get("tx_packets", 0), ctr.get("rx_packets", 0)) == (n, n), ctr
    assert ctr.get("tx_bytes", 0) == st[spi_out]["bytes"], (ctr, st[spi_out])
    assert ctr.get("rx_bytes", 0) == st[spi_in]["bytes"], (ctr, st[spi_in])
    assert k.get("tx_seq") == st[spi_out]["oseq"], (k, st[spi_out])
    # hactl names the device the kernel has: index and key (the mark)
    dev = t.haiked.hactl_json("tunnel", "show", GW).get("device")
    assert dev is not None and (dev["kind"], dev["name"], dev["ifindex"], dev["key"]) == \
        ("vti", DEV, info["ifindex"], mark), (dev, info["ifindex"], mark)
    text = t.haiked.hactl("tunnel", "show", GW).stdout
    assert f"dev: name={DEV} kind=vti ifindex={info['ifindex']} key=0x{mark:08x}" in text, text
    # and the XFRM events haiked's namespace (the only one in use) got
    deadline = time.monotonic() + 10
    while True:
        dp = t.haiked.hactl_json("status")["dataplane"]
        (own,) = dp["netns"]
        if own.get("ae_events", 0) > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert dp["backend"] == "kernel" and own.get("name", "") == "", dp
    assert own.get("ae_events", 0) > 0 and own.get("errors", 0) == 0, dp
    assert own["events"] >= own["ae_events"] + own.get("expires", 0), dp
    assert "XFRM events netns (haiked's own): messages " in t.haiked.hactl("status").stdout
    kid = t.charon_child()
    assert int(kid["packets-in"]) == n and int(kid["packets-out"]) == n, kid
    assert xfrm.stats(gi.ns)["XfrmInNoStates"] == 0

    # an address outside the selectors routed into the device: the kernel
    # finds no policy for it under the device's mark and drops it, counted
    # on the device; nothing reaches the SA or the wire
    gi.ns.ip("route", "add", f"{OUTSIDE}/32", "dev", DEV)
    res = gi.ns.exec("ping", "-n", "-q", "-c", "5", "-i", "0.05", "-W", "1", "-I", gi.lan_ip,
                     OUTSIDE, check=False, timeout=30)
    assert " 0 received" in res.stdout, res.stdout
    dropped = stats(link(gi.ns))
    assert dropped["tx"]["errors"] - after["tx"]["errors"] == 5, (after, dropped)
    assert dropped["tx"]["packets"] == after["tx"]["packets"], (after, dropped)
    assert xfrm.by_spi(gi.ns)[spi_out]["packets"] == n
    assert int(t.charon_child()["packets-in"]) == n

    # a clean stop takes the device (and its routes), states and policies
    assert t.haiked.stop() == 0, t.haiked.log()[-2000:]
    assert "runtime error" not in t.haiked.log()  # UBSan builds
    assert link(gi.ns) is None, gi.ns.ip("link", "show").stdout
    assert xfrm.by_spi(gi.ns) == {}
    assert xfrm.parse_policies(xfrm.policies(gi.ns)) == []
    assert gr.lan_net not in gi.ns.ip("route", "show").stdout


def test_vti_rekeys_keep_traffic_and_device(vti_lab):
    """haiked rekeys the CHILD SA (keylife 10 s) and the IKE SA (12 s),
    strongSwan rekeys the IKE SA: ping -i 0.05 across all three loses
    nothing; then strongSwan's CHILD and IKE rekeys during a 2 ms ping
    train lose nothing either; the device is the same one throughout and
    carried every packet."""
    t = route_based(vti_lab, sel_extra={"keylife": 10, "rekey-jitter": 0},
                    gw_extra={"keylife": 12, "rekey_jitter": 0})
    ifindex = link(t.gi.ns)["ifindex"]
    first = {(k["spi_in"], k["spi_out"]) for k in t.hactl_children()}
    sent, got, out = ping_during(t, 250, [
        (13.0, lambda: t.charon.rekey_ike(scenario.IKE_NAME)),
    ])
    assert (sent, got) == (250, 250), f"{out}\n{rekey_lines(t)}"
    assert t.haiked.lines(r"CHILD SA net \S+: soft lifetime reached, rekeying"), rekey_lines(t)
    assert t.haiked.lines(r"IKE SA rekeyed as initiator"), rekey_lines(t)
    assert len(t.haiked.lines(r"IKE SA rekeyed as responder")) == 1, rekey_lines(t)

    sent, got, out = ping_train(t.gi, t.gr, [
        t.charon.rekey_child, lambda _child: t.charon.rekey_ike(scenario.IKE_NAME)],
        child="net")
    assert (sent, got) == (TRAIN, TRAIN), f"{out}\n{rekey_lines(t)}"
    for ns in (t.gi.ns, t.gr.ns):
        assert xfrm.stats(ns)["XfrmInNoStates"] == 0, "ESP sent before its state was in"
    info = link(t.gi.ns)
    assert info["ifindex"] == ifindex, "the device was replaced"
    assert info["stats64"]["tx"]["errors"] == 0, info

    def settled():
        kids = t.hactl_children()
        kid = t.charon_child()
        if len(kids) != 1 or kid is None:
            return None
        pair = (kids[0]["spi_in"], kids[0]["spi_out"])
        ok = (kid["spi-out"], kid["spi-in"]) == pair and set(xfrm.by_spi(t.gi.ns)) == set(pair)
        return pair if ok else None
    # the newest pair carries the traffic through the same device. The
    # CHILD SA keeps rekeying every 10 s: a check that a rekey overlapped
    # proves nothing either way (loss across rekeys is asserted above), so
    # it is taken again on the next pair.
    for _ in range(3):
        pair = wait_for(settled, 15, "haiked, charon and the kernel agree on one CHILD SA pair")
        assert pair not in first
        before = xfrm.by_spi(t.gi.ns)[pair[1]]["packets"]
        tx = link(t.gi.ns)["stats64"]["tx"]["packets"]
        res = t.ping(count=5)
        after = xfrm.by_spi(t.gi.ns).get(pair[1])
        if after is None or settled() != pair:
            continue
        assert res == (5, 5)
        assert after["packets"] == before + 5
        assert link(t.gi.ns)["stats64"]["tx"]["packets"] == tx + 5
        break
    else:
        pytest.fail("a CHILD rekey overlapped each of 3 checks of the newest pair")


def test_vti_gone_with_its_gateway_on_reload(vti_lab):
    """A reload that removes the gateway deletes its device (and the
    routes through it), states and policies, while haiked runs on."""
    t = route_based(vti_lab)
    assert link(t.gi.ns) is not None
    assert t.ping(count=3) == (3, 3)
    # another (idle, passive) gateway instead: the config keeps one
    other = dict(t.haiked.gateways[0], name="other", passive=True)
    other["remote-gw"] = "203.0.113.9"
    other.pop("auto-negotiate", None)
    t.haiked.gateways = [other]
    t.haiked.psks = {"other": scenario.PSK}
    t.haiked.write_config()
    t.haiked.reload()
    t.haiked.wait_log(r"reloaded .*1 removed or changed")
    wait_for(lambda: link(t.gi.ns) is None, 10, "hk-gw removed with its gateway")
    wait_for(lambda: xfrm.by_spi(t.gi.ns) == {}, 10, "states removed with the gateway")
    assert policies_with_marks(t.gi.ns) == []  # (the IKE sockets' own stay)
    assert t.gr.lan_net not in t.gi.ns.ip("route", "show").stdout
    assert t.haiked.proc.alive()
    assert t.haiked.stop() == 0, t.haiked.log()[-2000:]


def test_vti_kept_when_gateway_changes_on_reload(vti_lab):
    """A reload that changes the gateway (its keylife) under ping -i 0.05: the
    new gateway's IKE SA comes up while the old pair still carries traffic,
    both through the same device (same ifindex, never removed), and the old
    states go only once its Delete is answered (daemon/gw_retire.c)."""
    t = route_based(vti_lab)
    ifindex = link(t.gi.ns)["ifindex"]
    old = set(xfrm.by_spi(t.gi.ns))
    assert len(old) == 2, old

    def change():
        t.haiked.gateways[0]["keylife"] = 7200
        t.haiked.write_config()
        t.haiked.reload()

    sent, got, lost = ping_during(t, 120, [(2, change)])
    t.haiked.wait_log(r"retired: the old gateway and its SAs are gone")
    log = t.haiked.log()
    assert "kept until the new gateway is up" in log
    assert len(t.haiked.lines(rf"VTI {DEV} created")) == 1, t.haiked.lines("VTI")
    assert link(t.gi.ns)["ifindex"] == ifindex
    wait_for(lambda: len(xfrm.by_spi(t.gi.ns)) == 2 and not old & set(xfrm.by_spi(t.gi.ns)),
             10, "only the new pair")
    print(f"reload of a route-based gateway under ping: {sent - got} of {sent} lost")
    # the kernel drops what charon sends on its new SA before its IKE_AUTH
    # response reaches haiked (the userspace data plane holds it back)
    assert sent == 120 and sent - got <= 1, lost


def test_vti_dialup_gateway(vti_lab):
    """remote-gw any, route-based: the device has no remote address (it
    serves whichever peer comes); strongSwan initiates, pings cross."""
    t = KernelTunnel(vti_lab, GCM, "responder", gw_extra={"route_based": True})
    gw = t.haiked.gateways[0]
    gw["remote-gw"] = "any"
    t.haiked.write_config()
    t.start()
    data = link(t.gi.ns)["linkinfo"]["info_data"]
    assert data["local"] == t.gi.wan_ip and data.get("remote", "any") in ("any", "0.0.0.0"), data
    assert t.haiked.lines(rf"VTI {DEV} created: key 0x[0-9a-f]{{8}}, {t.gi.wan_ip} -> any$"), \
        t.haiked.lines("VTI")
    assert t.ping() == (PINGS, PINGS)
    assert t.ping(reverse=True) == (PINGS, PINGS)
    (k,) = child_sas(t.haiked.hactl_json("tunnel", "show", GW))
    assert k["counters"].get("tx_packets") == 2 * PINGS, k


@pytest.mark.parametrize("vdom", [False, True], ids=["own-netns", "vdom"])
def test_vti_follows_a_moved_peer(vti_lab, vdom):
    """The pairs of one route-based gateway come from a second peer address
    (uml_dp_vti drives the backend directly: the lab cannot make strongSwan
    move): the device takes the new remote address and keeps its index,
    key and routes, and outbound traffic leaves on the new pair through it;
    removing the gateway under an installed pair takes the device and its
    routes; the pair's states and policies go with the pair. "vdom": the
    gateway's VDOM namespace is not the program's; device, routes, states
    and policies are all in the VDOM's, none in the program's."""
    binary = find_binary("tests/uml/uml_dp_vti")
    if binary is None:
        pytest.skip("tests/uml/uml_dp_vti not built (set HAIKED_BUILD_DIR)")
    gi, gr = topo.gateway_pair(vti_lab)
    moved_to = "203.0.113.3"
    gr.ns.add_addr("wan0", f"{moved_to}/24")
    dev = "hk-vti"
    home = vti_lab.netns("h") if vdom else gi.ns
    probe = SeqProbe(binary, home, [gi.wan_ip, gi.lan_net, gr.lan_net] +
                     ([f"vdom={gi.ns.name}"] if vdom else []))
    try:
        probe.cmd(f"install c0de00a1 c0de00a2 {gr.wan_ip}")
        if vdom:
            assert link(home, dev) is None and xfrm.by_spi(home) == {}
            assert policies_with_marks(home) == [] and "192.0.2" not in home.ip("route").stdout
        first = link(gi.ns, dev)
        data = first["linkinfo"]["info_data"]
        assert (data["local"], data["remote"]) == (gi.wan_ip, gr.wan_ip), data
        assert f"dev {dev}" in gi.ns.ip("route", "get", gr.lan_ip).stdout

        probe.cmd(f"install c0de00b1 c0de00b2 {moved_to}")
        moved = link(gi.ns, dev)
        assert moved["ifindex"] == first["ifindex"], (first, moved)
        mdata = moved["linkinfo"]["info_data"]
        assert (mdata["local"], mdata["remote"]) == (gi.wan_ip, moved_to), mdata
        assert (mdata["ikey"], mdata["okey"]) == (data["ikey"], data["okey"]), mdata
        route = gi.ns.ip("route", "get", gr.lan_ip).stdout
        assert f"dev {dev}" in route and f"src {gi.lan_ip}" in route, route
        out_pols = [p for p in xfrm.parse_policies(xfrm.policies(gi.ns)) if p.get("dir") == "out"]
        assert [p["tmpl_dst"] for p in out_pols] == [moved_to], out_pols  # the newest pair's

        # the device's address check lets the new pair's ESP out (the peer
        # has no state for it: what counts is that it was sent)
        res = gi.ns.exec("ping", "-n", "-q", "-c", "3", "-i", "0.05", "-W", "1", "-I",
                         gi.lan_ip, gr.lan_ip, check=False, timeout=20)
        assert "3 packets transmitted" in res.stdout, res.stdout
        st = xfrm.by_spi(gi.ns)
        assert st["c0de00b2"]["packets"] == 3 and st["c0de00a2"]["packets"] == 0, st
        after = stats(link(gi.ns, dev))
        assert (after["tx"]["packets"], after["tx"]["errors"]) == (3, 0), after

        probe.cmd("remove c0de00a1")
        assert set(xfrm.by_spi(gi.ns)) == {"c0de00b1", "c0de00b2"}
        assert link(gi.ns, dev)["ifindex"] == first["ifindex"]

        probe.cmd("gone")
        assert link(gi.ns, dev) is None
        assert gr.lan_net not in gi.ns.ip("route", "show").stdout
        assert set(xfrm.by_spi(gi.ns)) == {"c0de00b1", "c0de00b2"}  # until the pair goes
    finally:
        assert probe.stop() == 0
    assert xfrm.by_spi(gi.ns) == {}
    assert policies_with_marks(gi.ns) == []


def test_vti_default_route_keeps_the_peer_outside(vti_lab):
    """A remote selector of 0.0.0.0/0 with add-route: the default route
    goes into the device, and a host route pins the peer to its path first
    (else the ESP packets would be routed into the device too); traffic to
    anywhere leaves as ESP on the wire; the pin goes with the gateway."""
    binary = find_binary("tests/uml/uml_dp_vti")
    if binary is None:
        pytest.skip("tests/uml/uml_dp_vti not built (set HAIKED_BUILD_DIR)")
    gi, gr = topo.gateway_pair(vti_lab)
    dev = "hk-vti"
    probe = SeqProbe(binary, gi.ns, [gi.wan_ip, gi.lan_net, "0.0.0.0/0"])
    try:
        probe.cmd(f"install c0de00c1 c0de00c2 {gr.wan_ip}")
        routes = gi.ns.ip("route", "show").stdout
        assert f"default dev {dev}" in routes, routes
        assert re.search(rf"^{re.escape(gr.wan_ip)} dev wan0 ", routes, re.M), routes
        assert "dev wan0" in gi.ns.ip("route", "get", gr.wan_ip).stdout
        res = gi.ns.exec("ping", "-n", "-q", "-c", "3", "-i", "0.05", "-W", "1", "-I",
                         gi.lan_ip, OUTSIDE, check=False, timeout=20)
        assert "3 packets transmitted" in res.stdout, res.stdout
        assert xfrm.by_spi(gi.ns)["c0de00c2"]["packets"] == 3
        assert stats(link(gi.ns, dev))["tx"]["errors"] == 0
        probe.cmd("gone")
        routes = gi.ns.ip("route", "show").stdout
        assert "default" not in routes and f"{gr.wan_ip} dev" not in routes, routes
    finally:
        assert probe.stop() == 0
    assert xfrm.by_spi(gi.ns) == {}


def test_vti_leftover_devices(vti_lab):
    """hk-<gateway> already there: a VTI (left by a crashed haiked) is
    replaced by a fresh one with our key; any other kind of device is the
    administrator's and the CHILD SA is refused, naming it, with nothing
    installed."""
    binary = find_binary("tests/uml/uml_dp_vti")
    if binary is None:
        pytest.skip("tests/uml/uml_dp_vti not built (set HAIKED_BUILD_DIR)")
    gi, gr = topo.gateway_pair(vti_lab)
    dev = "hk-vti"
    gi.ns.ip("link", "add", dev, "type", "vti", "local", gi.wan_ip, "remote", gr.wan_ip,
             "key", "9")
    stale = link(gi.ns, dev)
    probe = SeqProbe(binary, gi.ns, [gi.wan_ip, gi.lan_net, gr.lan_net])
    try:
        probe.cmd(f"install c0de00d1 c0de00d2 {gr.wan_ip}")
        fresh = link(gi.ns, dev)
        assert fresh["ifindex"] != stale["ifindex"], (stale, fresh)
        assert fresh["linkinfo"]["info_data"]["ikey"] != "0.0.0.9", fresh
        probe.cmd("remove c0de00d1")
        probe.cmd("gone")
        gi.ns.ip("link", "add", dev, "type", "dummy")
        probe.popen.stdin.write(f"install c0de00e1 c0de00e2 {gr.wan_ip}\n")
        probe.popen.stdin.flush()
        reply = json.loads(probe.popen.stdout.readline())
        assert "is not a VTI device (dummy)" in reply.get("error", ""), reply
        assert xfrm.by_spi(gi.ns) == {} and policies_with_marks(gi.ns) == []
        assert link(gi.ns, dev)["linkinfo"]["info_kind"] == "dummy"
    finally:
        assert probe.stop() == 0
    assert link(gi.ns, dev)["linkinfo"]["info_kind"] == "dummy"  # not ours to remove


# IPv6 outside: the documentation prefix (RFC 3849), only between the
# guest's two namespaces (LAB.md's ranges are IPv4; labkit's add_addr
# checks those, so these go in with `ip` directly).
WAN6_I, WAN6_R = "2001:db8:ffff::1", "2001:db8:ffff::2"
LAN6 = {4: ((topo.LAN_I_IP, topo.LAN_I_NET, 32), (topo.LAN_R_IP, topo.LAN_R_NET, 32)),
        6: (("2001:db8:1::1", "2001:db8:1::/64", 128), ("2001:db8:2::1", "2001:db8:2::/64", 128))}


def ipv6_pair(inner):
    """topo.gateway_pair with IPv6 WAN addresses (nodad: usable at once)
    and LANs of the inner family (4 or 6) on loopback."""
    def build(lab):
        ns_i, ns_r = lab.netns("i"), lab.netns("r")
        lab.veth(ns_i, "wan0", ns_r, "wan0")
        gws = []
        for ns, wan, (lan_ip, lan_net, plen) in ((ns_i, WAN6_I, LAN6[inner][0]),
                                                 (ns_r, WAN6_R, LAN6[inner][1])):
            ns.ip("-6", "addr", "add", f"{wan}/64", "dev", "wan0", "nodad")
            ns.ip("addr", "add", f"{lan_ip}/{plen}", "dev", "lo")
            gws.append(topo.Gateway(ns, "wan0", wan, lan_ip, lan_net))
        return tuple(gws)
    return build


@pytest.mark.parametrize("inner", [6, 4], ids=["ipv6-in-ipv6", "ipv4-in-ipv6"])
def test_vti6_ipv6_outer(vti_lab, inner):
    """Route-based over IPv6 outer addresses: haiked's hk-gw is an ip6_vti
    (kind vti6) between the IKE SA's IPv6 addresses, keyed with the mark of
    every policy, disable_policy on for IPv6 (and IPv4); add-route routes
    the remote LAN into it; pings both ways (IPv6 or IPv4 inside) lose
    nothing and the device's, the states', hactl's and charon's counters
    agree; strongSwan's CHILD rekey in a 2 ms ping train loses nothing and
    keeps the device; a clean stop leaves nothing behind."""
    t = KernelTunnel(vti_lab, GCM, "initiator", gw_extra={"route_based": True},
                     pair=ipv6_pair(inner)).start()
    gi, gr = t.gi, t.gr
    kid = t.charon_child()
    spi_in, spi_out = kid["spi-out"], kid["spi-in"]
    info = link(gi.ns)
    assert info is not None, gi.ns.ip("link", "show").stdout
    data = info["linkinfo"]["info_data"]
    assert info["linkinfo"]["info_kind"] == "vti6", info
    assert (data["local"], data["remote"]) == (WAN6_I, WAN6_R), data
    assert data["ikey"] == data["okey"] and "UP" in info["flags"], (data, info)
    assert sysctl(gi.ns, "ipv6", DEV, "disable_policy") == "1"
    assert sysctl(gi.ns, "ipv4", DEV, "disable_policy") == "1"
    pols = policies_with_marks(gi.ns)
    marks = {p[3] for p in pols}
    assert len(marks) == 1 and None not in marks, pols
    (mark,) = marks
    assert key_text(mark) == data["ikey"], (pols, data)
    assert {(p[0], p[1], p[2]) for p in pols} == {
        (gi.lan_net, gr.lan_net, "out"), (gr.lan_net, gi.lan_net, "in"),
        (gr.lan_net, gi.lan_net, "fwd")}, pols
    st = xfrm.by_spi(gi.ns)
    assert set(st) == {spi_in, spi_out}, st
    assert (st[spi_out]["src"], st[spi_out]["dst"]) == (WAN6_I, WAN6_R), st
    assert (st[spi_in]["src"], st[spi_in]["dst"]) == (WAN6_R, WAN6_I), st
    route = gi.ns.ip("route", "get", gr.lan_ip).stdout
    assert f"dev {DEV}" in route and f"src {gi.lan_ip}" in route, route

    before = stats(link(gi.ns))
    assert t.ping() == (PINGS, PINGS), "loss haiked -> strongSwan"
    assert t.ping(reverse=True) == (PINGS, PINGS), "loss strongSwan -> haiked"
    n = 2 * PINGS
    st = xfrm.by_spi(gi.ns)
    assert st[spi_out]["packets"] == n and st[spi_in]["packets"] == n, st
    assert st[spi_in]["replay"] == 0 and st[spi_in]["failed"] == 0, st
    after = stats(link(gi.ns))
    assert (after["tx"]["packets"] - before["tx"]["packets"],
            after["rx"]["packets"] - before["rx"]["packets"]) == (n, n), (before, after)
    assert after["tx"]["bytes"] - before["tx"]["bytes"] == st[spi_out]["bytes"], (after, st)
    assert after["rx"]["bytes"] - before["rx"]["bytes"] == st[spi_in]["bytes"], (after, st)
    (k,) = t.hactl_children()
    ctr = k["counters"]
    assert (ctr.get("tx_packets", 0), ctr.get("rx_packets", 0)) == (n, n), ctr
    assert k.get("tx_seq") == st[spi_out]["oseq"], (k, st[spi_out])
    dev = t.haiked.hactl_json("tunnel", "show", GW).get("device")
    assert dev is not None and (dev["kind"], dev["name"], dev["ifindex"]) == \
        ("vti6", DEV, info["ifindex"]), dev
    kid = t.charon_child()
    assert int(kid["packets-in"]) == n and int(kid["packets-out"]) == n, kid

    sent, got, out = ping_train(gi, gr, [t.charon.rekey_child], child="net")
    assert (sent, got) == (TRAIN, TRAIN), f"{out}\n{rekey_lines(t)}"
    for ns in (gi.ns, gr.ns):
        assert xfrm.stats(ns)["XfrmInNoStates"] == 0, "ESP sent before its state was in"
    assert link(gi.ns)["ifindex"] == info["ifindex"], "the device was replaced"
    wait_for(lambda: len(xfrm.by_spi(gi.ns)) == 2 and spi_in not in xfrm.by_spi(gi.ns), 15,
             "only the rekeyed pair")

    assert t.haiked.stop() == 0, t.haiked.log()[-2000:]
    assert "runtime error" not in t.haiked.log()
    assert link(gi.ns) is None, gi.ns.ip("link", "show").stdout
    assert xfrm.by_spi(gi.ns) == {}
    assert policies_with_marks(gi.ns) == []
    assert gr.lan_net not in gi.ns.ip("route", "show").stdout
