"""haiked's kernel data plane (XFRM) <-> stock strongSwan (kernel-netlink).

Both in one UML guest (real ESP kernel), one namespace each
(labkit.topo.gateway_pair): haiked "moon" 203.0.113.1 with LAN address
192.0.2.1, charon "sun" 203.0.113.2 with 192.0.2.129; no NAT, so plain
ESP (IP protocol 50) both ways, in the kernel on both sides.

Asserts: the kernel holds exactly the CHILD SA pair haiked and charon
report; pings cross both ways without loss; `ip -s xfrm state` packet and
octet counters equal `hactl --json tunnel show`'s (and charon's packet
counts), the outbound sequence number equals hactl's tx_seq; CHILD and IKE
rekeys started by either side during ping -i 0.05 lose no ping and leave
one pair (the newest) in the kernel.

The whole module is the switch to the kernel backend: DATAPLANE. A haiked
whose build lacks it makes the tests skip with its own error message.
"""

import re
import time

import pytest

from conftest import CHARON_TOOLS, require_kernel_esp
from labkit import scenario, topo, xfrm
from labkit.charon import Charon
from labkit.haiked import Haiked, find_binary, gateway, selector
from labkit.netns import LabError
from labkit.proc import wait_for
from uml_helpers import PLUGINS_KERNEL, TRAIN, ping_train

pytestmark = [pytest.mark.uml, pytest.mark.lab, pytest.mark.slow]

DATAPLANE = "kernel"
INSTALLED = rf"CHILD SA net installed \({DATAPLANE}\)"
GW = "gw"
PINGS = 20
SUITES = {
    "aes256gcm16-prfsha512-ecp521": ("aes256gcm16-prfsha512-ecp521", "aes256gcm16-ecp521"),
    "aes256-sha512-ecp521": ("aes256-sha512-ecp521", "aes256-sha512-ecp521"),
}


class KernelTunnel:
    """haiked (kernel data plane) on gi, charon (kernel-netlink) on gr."""

    def __init__(self, lab, suite, role, sel_extra=None, gw_extra=None, natt=False, pair=None):
        """natt: both sides force UDP encapsulation (haiked nattraversal
        "forced", strongSwan encap = yes): ESP-in-UDP on 4500 in both kernels.
        pair: builds (haiked's, charon's) topo.Gateway (topo.gateway_pair)."""
        ike, esp = SUITES[suite]
        self.role = role
        self.gi, self.gr = (pair or topo.gateway_pair)(lab)
        swan = scenario.swanctl_conf(self.gr, self.gi, scenario.ID_R, scenario.ID_I, ike, esp)
        gw_extra = dict(gw_extra or {})
        if natt:
            swan["connections"][scenario.IKE_NAME]["encap"] = "yes"
            gw_extra["nattraversal"] = "forced"
        self.charon = Charon(lab, self.gr.ns, "sun", swan,
                             log_levels={"ike": 1, "chd": 1, "enc": 0, "net": 0, "knl": 2},
                             charon_extra={"load": PLUGINS_KERNEL})
        gw = gateway(GW, self.gi.wan_ip, self.gr.wan_ip, ike,
                     [selector("net", self.gi.lan_net, self.gr.lan_net, esp, add_route=True,
                               **(sel_extra or {}))],
                     local_id=scenario.ID_I, remote_id=scenario.ID_R,
                     passive=(role == "responder"), **gw_extra)
        self.haiked = Haiked(lab, self.gi.ns, "moon", [gw], {GW: scenario.PSK},
                             log_levels={"net": "info"},
                             global_extra={"dataplane": DATAPLANE})

    def start(self):
        self.charon.start()
        self.charon.load_all()
        try:
            self.haiked.start()
        except LabError as exc:
            if "is not available in this build" in str(exc):
                pytest.skip(f"haiked has no {DATAPLANE!r} data plane yet: {exc}")
            raise
        if self.role == "responder":
            self.charon.initiate("net", ike=scenario.IKE_NAME, timeout=10)
        self.haiked.wait_log(INSTALLED)
        wait_for(lambda: self.charon_child() is not None, 10, "charon CHILD SA installed")
        return self

    def charon_child(self):
        ike = self.charon.list_sas().get(scenario.IKE_NAME)
        if not ike:
            return None
        kids = [c for c in ike.get("child-sas", {}).values() if c.get("state") == "INSTALLED"]
        return kids[0] if len(kids) == 1 else None

    def hactl_children(self):
        """[ChildSa] of hactl --json tunnel show (spi_in/spi_out as hex)."""
        return child_sas(self.haiked.hactl_json("tunnel", "show", GW))

    def ping(self, count=PINGS, reverse=False):
        src, dst, ns = (self.gr.lan_ip, self.gi.lan_ip, self.gr.ns) if reverse else \
            (self.gi.lan_ip, self.gr.lan_ip, self.gi.ns)
        res = ns.exec("ping", "-n", "-q", "-c", str(count), "-i", "0.05", "-W", "2", "-I", src,
                      dst, check=False, timeout=count + 20)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
        assert m, f"ping output: {res.stdout} {res.stderr}"
        return int(m[1]), int(m[2])


def child_sas(tunnel_show):
    """Every dict with spi_in, spi_out and counters, wherever it is nested."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "spi_in" in node and "spi_out" in node and "counters" in node:
                found.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(tunnel_show)
    return found


@pytest.fixture
def kernel_lab(uml_lab):
    require_kernel_esp(CHARON_TOOLS)
    if find_binary("daemon/haiked") is None or find_binary("cli/hactl") is None:
        pytest.skip("haiked/hactl not built (set HAIKED_BUILD_DIR)")
    return uml_lab


@pytest.mark.parametrize("suite,role,natt", [
    ("aes256gcm16-prfsha512-ecp521", "initiator", False),
    ("aes256-sha512-ecp521", "responder", True),
], ids=["gcm-initiator-esp", "cbc-responder-natt"])
def test_ping_and_counters(kernel_lab, suite, role, natt):
    t = KernelTunnel(kernel_lab, suite, role, natt=natt).start()
    kid = t.charon_child()
    spi_in, spi_out = kid["spi-out"], kid["spi-in"]  # haiked's view
    kids = t.hactl_children()
    assert [(k["spi_in"], k["spi_out"]) for k in kids] == [(spi_in, spi_out)], kids

    # the kernel holds exactly that pair, in tunnel mode, ESP-in-UDP 4500
    # <-> 4500 with forced NAT-T, plain ESP otherwise
    st = xfrm.by_spi(t.gi.ns)
    assert set(st) == {spi_in, spi_out}, st
    assert (st[spi_out]["src"], st[spi_out]["dst"]) == (t.gi.wan_ip, t.gr.wan_ip)
    assert (st[spi_in]["src"], st[spi_in]["dst"]) == (t.gr.wan_ip, t.gi.wan_ip)
    assert {s["mode"] for s in st.values()} == {"tunnel"}
    encap = ("espinudp", 4500, 4500) if natt else None
    assert all(s["encap"] == encap for s in st.values()), st
    want = ({"aead": "rfc4106(gcm(aes))"} if "gcm" in suite
            else {"auth-trunc": "hmac(sha512)", "enc": "cbc(aes)"})
    assert all(s["algs"] == want for s in st.values()), st
    # out: local LAN -> remote LAN; in and fwd: back; all to the SA's reqid
    pols = {(p["src"], p["dst"], p.get("dir")): p for p in xfrm.parse_policies(
        xfrm.policies(t.gi.ns))}
    lan_i, lan_r = t.gi.lan_net, t.gr.lan_net
    for key, tmpl in (((lan_i, lan_r, "out"), (t.gi.wan_ip, t.gr.wan_ip)),
                      ((lan_r, lan_i, "in"), (t.gr.wan_ip, t.gi.wan_ip)),
                      ((lan_r, lan_i, "fwd"), (t.gr.wan_ip, t.gi.wan_ip))):
        assert key in pols, pols
        p = pols[key]
        assert (p.get("tmpl_src"), p.get("tmpl_dst")) == tmpl, p
        assert (p.get("proto"), p.get("mode"), p.get("reqid")) == \
            ("esp", "tunnel", st[spi_out]["reqid"]), p
    # add-route: the remote LAN is routed with a source inside the local one
    route = t.gi.ns.ip("route", "get", t.gr.lan_ip).stdout
    assert f"src {t.gi.lan_ip}" in route, route

    assert t.ping() == (PINGS, PINGS), "loss haiked -> strongSwan"
    assert t.ping(reverse=True) == (PINGS, PINGS), "loss strongSwan -> haiked"
    n = 2 * PINGS  # requests + replies each way
    st = xfrm.by_spi(t.gi.ns)
    assert st[spi_out]["packets"] == n and st[spi_in]["packets"] == n, st
    assert st[spi_out]["oseq"] == n and st[spi_in]["seq"] == n, st
    assert st[spi_in]["replay"] == 0 and st[spi_in]["failed"] == 0, st

    # hactl's counters are the kernel's (read through the backend)
    (k,) = t.hactl_children()
    ctr = k["counters"]
    assert ctr.get("tx_packets", 0) == st[spi_out]["packets"], (ctr, st[spi_out])
    assert ctr.get("rx_packets", 0) == st[spi_in]["packets"], (ctr, st[spi_in])
    assert ctr.get("tx_bytes", 0) == st[spi_out]["bytes"], (ctr, st[spi_out])
    assert ctr.get("rx_bytes", 0) == st[spi_in]["bytes"], (ctr, st[spi_in])
    assert ctr.get("rx_errors", 0) == 0 and ctr.get("replay_errors", 0) == 0, ctr
    assert k.get("tx_seq") == st[spi_out]["oseq"], (k.get("tx_seq"), st[spi_out])
    # and charon (through its own kernel) counted the same packets
    kid = t.charon_child()
    assert int(kid["packets-in"]) == n and int(kid["packets-out"]) == n, kid
    assert xfrm.stats(t.gi.ns)["XfrmInNoStates"] == 0

    # a clean shutdown takes haiked's states, policies and route with it
    assert t.haiked.stop() == 0, t.haiked.log()[-2000:]
    assert "runtime error" not in t.haiked.log()  # UBSan builds
    assert xfrm.by_spi(t.gi.ns) == {}
    assert xfrm.parse_policies(xfrm.policies(t.gi.ns)) == []
    assert t.gr.lan_net not in t.gi.ns.ip("route", "show").stdout


def ping_during(t, count, actions):
    """ping -i 0.05 count times from haiked's LAN address while actions
    [(at seconds, fn)] run; (sent, received, ping output)."""
    ping = t.gi.ns.start(["ping", "-n", "-D", "-O", "-c", str(count), "-i", "0.05", "-W", "2",
                          "-I", t.gi.lan_ip, t.gr.lan_ip], "ping-rekey")
    t0 = time.monotonic()
    for at, fn in actions:
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        fn()
    wait_for(lambda: not ping.alive(), count * 0.05 + 30, "ping finished")
    out = ping.log()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    return int(m[1]), int(m[2]), lost_pings(out)


def lost_pings(out):
    """The lines of ping -D -O about unanswered requests (with their time),
    else its summary: what a failed assertion shows."""
    lost = [line for line in out.splitlines() if "no answer yet" in line]
    return "\n".join(lost) if lost else out[-400:]


def rekey_lines(t):
    """haiked's install/rekey/delete log lines and charon's rekey lines,
    to set against the time of a lost ping."""
    mine = t.haiked.lines(r"CHILD SA net (installed|removed)|IKE SA rekeyed|rekeying")
    theirs = [line for line in t.charon.log().splitlines()
              if re.search(r"rekey|CHILD_SA .* established|closing CHILD_SA", line)]
    return "\n".join(["haiked:", *mine, "charon:", *theirs])


def test_rekeys_by_haiked_keep_traffic(kernel_lab):
    """haiked rekeys the CHILD SA on its keylife (10 s) and the IKE SA on
    its own (12 s); strongSwan then rekeys the IKE SA (swanctl --rekey; the
    CHILD SA moves, no new ESP states). ping -i 0.05 across all three: 0 lost,
    and one pair, a new one, is left in the kernel."""
    t = KernelTunnel(kernel_lab, "aes256gcm16-prfsha512-ecp521", "initiator",
                     sel_extra={"keylife": 10, "rekey-jitter": 0},
                     gw_extra={"keylife": 12, "rekey_jitter": 0}).start()
    first = {(k["spi_in"], k["spi_out"]) for k in t.hactl_children()}
    # 250 pings: 12.5 s (~15 s in the guest), past haiked's CHILD (10 s) and IKE (12 s) rekeys
    sent, got, out = ping_during(t, 250, [
        (13.0, lambda: t.charon.rekey_ike(scenario.IKE_NAME)),
    ])
    assert (sent, got) == (250, 250), f"{out}\n{rekey_lines(t)}"
    for ns in (t.gi.ns, t.gr.ns):
        assert xfrm.stats(ns)["XfrmInNoStates"] == 0, "ESP sent before its state was in"
    assert len(t.haiked.lines(r"CHILD SA net \S+: soft lifetime reached, rekeying")) >= 1
    assert len(t.haiked.lines(INSTALLED)) >= 2
    assert len(t.haiked.lines(r"IKE SA rekeyed as initiator")) >= 1, rekey_lines(t)
    assert len(t.haiked.lines(r"IKE SA rekeyed as responder")) == 1, rekey_lines(t)
    only_newest_pair_left(t, first, check_traffic=False)


def test_child_rekeys_by_strongswan_keep_traffic(kernel_lab):
    """strongSwan rekeys the CHILD SA twice (haiked responds) during a 2 ms
    ping train: 0 lost and no ESP for an SPI without a state on either side
    (as strongSwan <-> strongSwan, test_uml_strongswan.py); one pair left.
    This needs the backend's deferred switch-over: a responder that sent on
    its new outbound state at once lost pings here (XfrmInNoStates at
    strongSwan) before the backend waited for the peer's first packet."""
    t = KernelTunnel(kernel_lab, "aes256gcm16-prfsha512-ecp521", "initiator").start()
    first = {(k["spi_in"], k["spi_out"]) for k in t.hactl_children()}
    sent, got, out = ping_train(t.gi, t.gr, [t.charon.rekey_child, t.charon.rekey_child],
                                child="net")
    assert len(t.haiked.lines(INSTALLED)) == 3, rekey_lines(t)
    only_newest_pair_left(t, first)
    no_state = {ns.name: xfrm.stats(ns)["XfrmInNoStates"] for ns in (t.gi.ns, t.gr.ns)}
    assert (sent, got) == (TRAIN, TRAIN) and not any(no_state.values()), \
        f"{sent} sent, {got} received; ESP without a state: {no_state}\n{out}\n{rekey_lines(t)}"


def test_packet_lifetime_rekeys_through_the_kernel(kernel_lab):
    """keylife-packets 1000: the kernel's soft packet limit on the state
    (XFRM_MSG_EXPIRE) reaches haiked through the backend, which rekeys the
    CHILD SA make-before-break under a ping train: 0 lost."""
    t = KernelTunnel(kernel_lab, "aes256gcm16-prfsha512-ecp521", "initiator",
                     sel_extra={"keylife-packets": 1000}).start()
    first = {(k["spi_in"], k["spi_out"]) for k in t.hactl_children()}
    # 1300 requests: past 1000 packets on the outbound state, then on the new pair
    res = t.gi.ns.exec("ping", "-n", "-q", "-c", "1300", "-i", "0.005", "-W", "2", "-I",
                       t.gi.lan_ip, t.gr.lan_ip, check=False, timeout=90)
    assert "1300 packets transmitted, 1300 received" in res.stdout, \
        f"{res.stdout}\n{rekey_lines(t)}"
    assert t.haiked.lines(r"reached its soft byte/packet lifetime: rekeying"), rekey_lines(t)
    wait_for(lambda: len(t.haiked.lines(INSTALLED)) >= 2, 10, "CHILD SA rekeyed on volume")
    only_newest_pair_left(t, first)
    for ns in (t.gi.ns, t.gr.ns):
        assert xfrm.stats(ns)["XfrmInNoStates"] == 0, "ESP sent before its state was in"


def only_newest_pair_left(t, first, check_traffic=True):
    """The old pairs went (Deletes): haiked, charon and both kernels come
    to agree on one pair, not the first one, and it carries traffic (not
    checked while keylife rekeys keep coming: the pair may change under
    the ping). charon's kernel is part of it: charon pins its out
    policy's template to one SPI (`ip xfrm policy`: "spi 0x..."), that of
    the CHILD SA installed first, and moves it to the other one only when
    the old CHILD SA's teardown deletes its policy mapping; swanctl stops
    listing a CHILD SA as INSTALLED before that. When charon handles our
    Delete (reload, rekey) after installing the new pair, as it can under
    load, it answers pings on the old SPI, already gone here, until its
    teardown is done: its kernel holding just the new pair says it is."""
    def one_pair():
        kids = t.hactl_children()
        kid = t.charon_child()
        if len(kids) != 1 or kid is None:
            return None
        pair = (kids[0]["spi_in"], kids[0]["spi_out"])
        if (kid["spi-out"], kid["spi-in"]) != pair or set(xfrm.by_spi(t.gi.ns)) != set(pair) \
                or set(xfrm.by_spi(t.gr.ns)) != set(pair):
            return None
        return pair
    try:
        pair = wait_for(one_pair, 10,
                        "haiked, charon and both kernels agree on one CHILD SA pair")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{dp_diag(t)}") from exc
    assert pair not in first
    if not check_traffic:
        return
    before = xfrm.by_spi(t.gi.ns)[pair[1]]["packets"]
    res = t.ping(count=5)
    assert res == (5, 5), f"pings {res} on the pair {pair}\n{dp_diag(t)}"
    assert xfrm.by_spi(t.gi.ns)[pair[1]]["packets"] == before + 5, dp_diag(t)


def dp_diag(t):
    """What the kernels, charon and haiked hold, for an assertion message
    (no key material: states as parsed by labkit.xfrm): each namespace's
    states (counters, encap, reqid), policies, routes, UDP sockets and
    nonzero Xfrm* errors; charon's CHILD SAs; haiked's datagram counters
    (ESP on 4500 reaching haiked means the socket did not hand it to
    XFRM) and the log tails."""
    out = []
    spaces = [("haiked", t.gi.ns), ("charon", t.gr.ns)]
    if getattr(t, "home", None) is not None:
        spaces.append(("haiked home", t.home))
    keep = ("src", "dst", "spi", "reqid", "encap", "packets", "seq", "oseq", "replay",
            "failed")
    for who, ns in spaces:
        try:
            sts = [{k: s.get(k) for k in keep} for s in xfrm.states(ns)]
            errs = {k: v for k, v in xfrm.stats(ns).items() if v}
            socks = ns.exec("ss", "-uanp", check=False).stdout
            routes = [r for r in ns.ip("route", "show", "table", "all", check=False)
                      .stdout.splitlines() if not r.startswith(("local ", "broadcast "))]
            out.append(f"--- {who} ({ns.name}) states: {sts}\nXfrm stats: {errs}\n"
                       f"policies:\n{xfrm.policies(ns)}routes (all tables):\n"
                       + "\n".join(routes) + f"\nUDP sockets:\n{socks}")
        except Exception as exc:  # pylint: disable=broad-except
            out.append(f"--- {who}: {exc}")
    try:
        ike = t.charon.list_sas().get(scenario.IKE_NAME) or {}
        kids = [{k: c.get(k) for k in ("state", "spi-in", "spi-out", "encap", "packets-in",
                                        "packets-out", "install-time")}
                for c in ike.get("child-sas", {}).values()]
        out.append(f"--- charon IKE SA: state {ike.get('state')} encap "
                   f"{ike.get('nat-any') or ike.get('encap')} ports "
                   f"{ike.get('local-port')}/{ike.get('remote-port')} CHILD SAs {kids}")
    except Exception as exc:  # pylint: disable=broad-except
        out.append(f"--- charon list-sas: {exc}")
    try:
        out.append(f"--- hactl status:\n{t.haiked.hactl('status', check=False).stdout}")
    except Exception as exc:  # pylint: disable=broad-except
        out.append(f"--- hactl status: {exc}")
    out.append(f"--- haiked log tail:\n{t.haiked.log()[-2500:]}")
    out.append(f"--- charon log tail:\n{t.charon.log()[-2500:]}")
    return "\n".join(out)
