"""Two haiked nodes in a corosync cluster + a stock strongSwan peer (issue 5).

The lab is labkit.cluster.Cluster: nodes "a" (priority 200) and "b" (100) with
WAN, LAN and a sync link (corosync knet, crypto aes256/sha256, token 300), the
VIPs 203.0.113.10 (WAN) and 192.0.2.1 (the LAN host's gateway) added by
haiked on the master, strongSwan (kernel-libipsec, so NAT-T) on 203.0.113.2
with its own LAN host.  Traffic: `ping -i 0.05` LAN host 192.0.2.10 ->
remote LAN host 192.0.2.130, through the master's userspace ESP.  A tshark on
strongSwan's WAN leg records every ESP-in-UDP datagram for the (SPI, seq)
uniqueness check.

The scenarios, in the issue's order:
 1. tunnel up through the VIP; the standby mirrors the same IKE/CHILD SPIs;
 2. kill -9 the master's haiked / its corosync / cut its sync link under
    ping: same IKE SA on strongSwan's side, loss <= detection + 300 ms, then
    CHILD and IKE rekeys by strongSwan and by the new master with 0 loss;
 3. strongSwan-initiated (RFC 6311 MESSAGE_ID_SYNC asserted in its log) vs
    cluster-initiated (no RFC 6311, continues from the synced IDs);
 4. no (SPI, seq) pair twice on the wire across several failovers;
 5. 20 graceful `hactl failover` round trips under ping; a failover while the
    master's CHILD rekey is unanswered waits for it (the drain);
 6. the standby restarted mid-life: bulk sync restores every SA, then failover;
 7. 1,000 tunnels (ike_loadgen) survive a failover and rekey;
 8. split brain (sync link cut, both alive): both masters; on heal the
    priority picks A, B releases and bulk-syncs, no state lost.

Every assertion can fail; nothing here is marked xfail.
"""

import glob
import os
import re
import time

import pytest

from conftest import _failed, require_lab
from labkit import cluster as C
from labkit.haiked import find_binary
from labkit.netns import LabError
from labkit.proc import wait_for

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# How haiked's standby logs that the master went away (its CPG membership
# change or its election's reason): the start of "detection".
DETECT_RX = r"HA node \d+ .*left"
SANITIZER_RX = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")
# Detection bounds (LAB.md: kill -9 of a corosync seen after ~0.63 s at
# token 300; a haiked that dies leaves the CPG group at once).
DETECT_MAX_MS = {"haiked": 300, "corosync": 1500, "synclink": 1500}
# haiked's keylife in the failover tests: the new master rekeys on its own
# (CHILD at ~12 s, IKE at ~14 s after the tunnel came up).
SEL_KEYLIFE = {"keylife": 12, "rekey-jitter": 0}
GW_KEYLIFE = {"keylife": 14, "rekey-jitter": 0}


@pytest.fixture
def ha(request, lab):
    """A factory of started clusters; all torn down (processes, namespaces,
    /dev/shm qb-* of our corosyncs) whatever the test did."""
    require_lab(C.TOOLS)
    if find_binary("daemon/haiked") is None or find_binary("cli/hactl") is None:
        pytest.skip("haiked/hactl not built (set HAIKED_BUILD_DIR)")
    made = []

    def make(start=True, **kw):
        cl = C.Cluster(lab, **kw)
        made.append(cl)
        if start:
            cl.start()
        return cl
    bad = []
    try:
        yield make
    finally:
        lab.keep_dir = _failed(request.node)
        try:
            # SIGTERM in reverse start order (haiked before its corosync): a
            # sanitizer build reports leaks at exit, read below.
            lab.procs.stop_all()
        finally:
            for cl in made:
                for n in (cl.a, cl.b):
                    bad += sanitizer_reports(n.haiked.log_path)
            for cl in made:
                cl.close()
            if not made:
                lab.close()
    assert not bad, "sanitizer report(s) from haiked:\n" + "\n".join(bad[:30])


def sanitizer_reports(log_path):
    """Sanitizer lines in every log of one haiked (restarts keep the old ones)."""
    out = []
    for path in sorted(glob.glob(log_path + "*")):
        with open(path, encoding="utf-8", errors="replace") as f:
            out += [f"{path}: {l}" for l in f.read().splitlines() if SANITIZER_RX.search(l)]
    return out


# ---- helpers ---------------------------------------------------------------------------

def vips_on(cl, node):
    """Which VIPs node holds now (ip -j addr)."""
    import json
    out = set()
    for ifname in ("wan0", "lan0"):
        data = json.loads(node.ns.ip("-j", "addr", "show", "dev", ifname).stdout)
        for link in data:
            for a in link.get("addr_info", []):
                if a.get("local") in (C.WAN_VIP, C.LAN_VIP):
                    out.add(a["local"])
    return out


def assert_mirrored(cl, master, standby):
    """strongSwan's SPIs == the master's == the standby's (hactl --json)."""
    spi_i, spi_r, swan_in, swan_out = cl.swan_spis()
    m_ike, m_kids = cl.node_sas(master)
    s_ike, s_kids = cl.node_sas(standby)
    assert (spi_i, spi_r) in m_ike, (spi_i, spi_r, m_ike)
    # haiked's inbound SPI is strongSwan's outbound one
    assert (swan_out, swan_in) in m_kids, (swan_out, swan_in, m_kids)
    assert s_ike == m_ike, f"standby IKE SAs {s_ike} != master's {m_ike}"
    assert s_kids == m_kids, f"standby CHILD SAs {s_kids} != master's {m_kids}"
    return (spi_i, spi_r), (swan_out, swan_in)


def assert_net_kinds(st, who):
    """Every VDOM's datagram counters add up by kind: an ESP-in-UDP datagram
    or a NAT-keepalive is never counted as IKE."""
    for v in st.get("vdoms", []):
        n = v.get("net", {})
        kinds_out = n.get("ike_out", 0) + n.get("esp_out", 0) + n.get("keepalives_out", 0)
        assert kinds_out == n.get("dgrams_out", 0), f"{who} vdom {v.get('name')}: {n}"
        kinds_in = n.get("ike_in", 0) + n.get("esp_in", 0) + n.get("keepalives_in", 0)
        assert kinds_in <= n.get("dgrams_in", 0), f"{who} vdom {v.get('name')}: {n}"


def ike_datagrams(st):
    """IKE datagrams in + out over every VDOM of one `hactl --json status`."""
    return sum(v.get("net", {}).get("ike_in", 0) + v.get("net", {}).get("ike_out", 0)
               for v in st.get("vdoms", []))


def assert_operator_view(cl, master, standby=None):
    """`hactl --json status` on both nodes says what the cluster is: each saw
    its peer, every node has corosync's nodelist name (the same on both
    sides, never the hostname every namespace shares), the master names
    itself, and the master's sync state is its standby's (in sync), not
    "alone". standby None: it is gone, the master is alone."""
    names = {cl.a.nodeid: cl.a.name, cl.b.nodeid: cl.b.name}
    for node in (master, standby):
        if node is None:
            continue
        st = cl.status(node)
        c = st["cluster"]
        assert c.get("ever_saw_peer") is True, f"{node}: {c}"
        assert c["self"]["name"] == node.name, f"{node}: self {c['self']}"
        assert {n["id"]: n["name"] for n in c["nodes"]} == names, f"{node}: {c['nodes']}"
        vc = cl.vcluster(node)
        assert vc.get("master_id") == master.nodeid, f"{node}: {vc}"
        assert vc.get("master_name") == master.name, f"{node}: {vc}"
        want = "in-sync" if standby is not None else "alone"
        assert vc.get("sync") == want, f"{node}: sync {vc.get('sync')} != {want}: {vc}"
        assert_net_kinds(st, node)


def wait_operator_view(cl, master, standby=None, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return assert_operator_view(cl, master, standby)
        except (AssertionError, LabError, KeyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_mirrored(cl, master, standby, timeout=10):
    """assert_mirrored, once the last exchange reached the standby."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return assert_mirrored(cl, master, standby)
        except (AssertionError, LabError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def detection_ms(node, after_ms):
    """ms from after_ms to node's first log line about the peer leaving."""
    rx = re.compile(DETECT_RX)
    for line in node.haiked.log().splitlines():
        t = C.log_time_ms(line)
        if t is not None and t >= after_ms - 5 and rx.search(line):
            return t - after_ms, line
    return None, None


def wait_takeover(cl, new_master, t_event, kind):
    """new_master becomes master; returns (detection ms, takeover ms, lines)."""
    cl.wait_master(new_master, timeout=10)
    det, det_line = detection_ms(new_master, t_event)
    assert det is not None, (f"{new_master}'s haiked logged nothing matching /{DETECT_RX}/ "
                             f"after the {kind} failure:\n{new_master.haiked.log()[-3000:]}")
    vc = cl.vcluster(new_master)
    took = vc.get("last_failover", {}).get("duration_ms")
    assert took is not None, f"hactl status has no last_failover.duration_ms: {vc}"
    return det, took, det_line


def ping_ok(cl, count=10):
    sent, got = C.ping_once(cl, count)
    assert (sent, got) == (count, count), f"LAN ping through the tunnel: {got}/{sent}"


def assert_no_spi_seq_reuse(cl):
    """Stops the capture: no (SPI, seq) twice from the cluster, and strongSwan
    received ESP from the cluster at all."""
    cl.capture.stop()
    pkts = C.esp_packets(cl.capture.path, src=C.WAN_VIP)
    assert len(pkts) > 50, f"only {len(pkts)} ESP datagrams from the VIP captured"
    dups = C.duplicate_spi_seq(pkts)
    assert not dups, f"(SPI, seq) sent twice by the cluster: {sorted(dups.items())[:20]}"
    return pkts


def child_installed_count(node):
    return len(node.haiked.lines(rf"CHILD SA {C.CHILD} installed"))


def rekeys_after_takeover(cl, new_master, ike_before):
    """CHILD + IKE rekey initiated by strongSwan, then by the new master (its
    keylife), all with 0 lost pings; returns the ping result."""
    mon = C.lan_ping(cl, name="ping-rekeys")
    time.sleep(1)
    child0 = cl.swan_child()["spi-in"]
    cl.charon.rekey_child(C.CHILD)
    wait_for(lambda: (cl.swan_child() or {}).get("spi-in") not in (None, child0), 10,
             "strongSwan's CHILD rekey")
    cl.charon.rekey_ike(C.IKE_NAME)
    wait_for(lambda: (cl.swan_ike() or {}).get("initiator-spi") not in (None, ike_before[0])
             and cl.swan_child() is not None, 10, "strongSwan's IKE rekey")
    # The new master's own rekeys (keylife 12/14 s from the CHILD/IKE SA it now
    # holds): strongSwan parses CREATE_CHILD_SA requests from it.
    child_rx = r"parsed CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]"
    ike_rx = r"parsed CREATE_CHILD_SA request \d+ \[ SA No KE \]"
    c0, i0 = len(C.swan_lines(cl.charon, child_rx)), len(C.swan_lines(cl.charon, ike_rx))
    wait_for(lambda: len(C.swan_lines(cl.charon, child_rx)) > c0
             and len(C.swan_lines(cl.charon, ike_rx)) > i0, 35,
             "a CHILD and an IKE rekey initiated by the new master")
    wait_for(lambda: cl.swan_child() is not None, 10, "strongSwan's CHILD SA after rekeys")
    res = mon.stop()
    assert res.lost == 0, f"loss during rekeys after the failover: {res}"
    assert res.sent > 100, res
    return res


# ---- 1. tunnel up, standby mirrors --------------------------------------------------------

@pytest.mark.parametrize("initiator", ["cluster", "strongswan"])
def test_tunnel_through_vip_standby_mirrors(ha, initiator):
    cl = ha(initiator=initiator)
    assert vips_on(cl, cl.a) == {C.WAN_VIP, C.LAN_VIP}
    assert vips_on(cl, cl.b) == set(), "the standby must not hold the VIPs"
    ping_ok(cl, 20)
    ike, kid = wait_mirrored(cl, cl.a, cl.b)
    # hactl status on the standby counts the mirrored SAs of its vcluster
    vb = cl.vcluster(cl.b)
    assert (vb.get("ike_sas"), vb.get("child_sas")) == (1, 1), vb
    assert vb.get("master_id") == cl.a.nodeid, vb
    assert C.swan_negotiations(cl.charon) == 1
    wait_operator_view(cl, cl.a, cl.b)
    # the standby sent no IKE at all: every IKE datagram strongSwan saw came
    # from the VIP's owner (the node's own WAN address never appears)
    assert not C.swan_lines(cl.charon, r"received packet: from 203\.0\.113\.[34]\[")


# ---- 2. failover under ping ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["haiked", "corosync", "synclink"])
def test_failover_under_ping(ha, kind):
    cl = ha(initiator="cluster", sel_extra=SEL_KEYLIFE, gw_extra=GW_KEYLIFE)
    ike, _kid = wait_mirrored(cl, cl.a, cl.b)
    neg0 = C.swan_negotiations(cl.charon)
    wait_operator_view(cl, cl.a, cl.b)
    ike_b0 = ike_datagrams(cl.status(cl.b))
    mon = C.lan_ping(cl)
    time.sleep(1.5)
    if kind == "haiked":
        t_fail = cl.a.haiked.kill9()
    elif kind == "corosync":
        t_fail = C.utc_now_ms()
        cl.a.corosync.kill()
    else:
        t_fail = cl.cut_sync(cl.a)
    det, took, det_line = wait_takeover(cl, cl.b, t_fail, kind)
    time.sleep(2)
    res = mon.stop()
    print(f"\nHA failover ({kind}): detection {det:.0f} ms ({det_line.strip()[:120]}), "
          f"takeover {took} ms, {res}")
    assert det <= DETECT_MAX_MS[kind], f"detection {det:.0f} ms"
    assert res.outage_ms <= det + 300, f"outage {res.outage_ms:.0f} ms > detection " \
                                       f"{det:.0f} + 300 ms: {res}"
    assert vips_on(cl, cl.b) == {C.WAN_VIP, C.LAN_VIP}
    # B alone now, and the ~2 s of tunnel traffic since are not IKE datagrams
    # (once every ESP-in-UDP datagram was counted as IKE: 75/75 in 4 s)
    wait_operator_view(cl, cl.b, None)
    ike_b = ike_datagrams(cl.status(cl.b)) - ike_b0
    assert ike_b <= 10, f"B counted {ike_b} IKE datagrams in 2 s without an IKE exchange"
    # the same IKE SA on strongSwan's side, no new IKE_SA_INIT
    assert (cl.swan_ike()["initiator-spi"], cl.swan_ike()["responder-spi"]) == ike
    assert C.swan_negotiations(cl.charon) == neg0
    rekeys_after_takeover(cl, cl.b, ike)
    assert C.swan_negotiations(cl.charon) == neg0, "a renegotiation happened"
    assert not C.swan_lines(cl.charon, r"N\(MSG_ID_SYN\)"), \
        "the cluster initiated: strongSwan did not offer RFC 6311, so no sync exchange"
    assert_no_spi_seq_reuse(cl)
    if kind == "corosync":
        # A lost its ring while B (two_node: quorate alone) took over: A must
        # not keep the VIPs and active SAs next to B (duplicate addresses,
        # two nodes rekeying the same SAs).
        assert vips_on(cl, cl.a) == set(), "A kept the VIPs after losing corosync"


# ---- 3. RFC 6311 vs not ----------------------------------------------------------------------

@pytest.mark.parametrize("initiator", ["strongswan", "cluster"])
def test_message_id_sync(ha, initiator):
    cl = ha(initiator=initiator, sel_extra=SEL_KEYLIFE, gw_extra=GW_KEYLIFE)
    ike, _ = wait_mirrored(cl, cl.a, cl.b)
    # one exchange before the failover so the message IDs are not the initial ones
    old = cl.swan_spis()
    cl.charon.rekey_child(C.CHILD)
    wait_for(lambda: cl.swan_child() and cl.swan_child()["spi-in"] != old[2], 10, "CHILD rekey")
    wait_mirrored(cl, cl.a, cl.b)
    mon = C.lan_ping(cl)
    time.sleep(1)
    t_fail = cl.a.haiked.kill9()
    det, took, _ = wait_takeover(cl, cl.b, t_fail, "haiked")
    time.sleep(2)
    res = mon.stop()
    assert res.outage_ms <= det + 300, res
    if initiator == "strongswan":
        # strongSwan offered IKEV2_MESSAGE_ID_SYNC_SUPPORTED: the new master
        # sends the INFORMATIONAL with message ID 0, strongSwan accepts it.
        cl.b.haiked.wait_log(r"attempting message ID sync", timeout=5)
        wait_for(lambda: C.swan_lines(cl.charon, C.SWAN_MID_SYNC_DONE), 5,
                 "strongSwan's 'responder requested MID sync'")
        assert C.swan_lines(cl.charon, C.SWAN_MID_SYNC_RX)
        assert not C.swan_lines(cl.charon, r"ignore .*MESSAGE_ID_SYNC notify"
                                r"|received invalid IKEV2_MESSAGE_ID_SYNC")
    else:
        assert not C.swan_lines(cl.charon, r"N\(MSG_ID_SYN\)"), \
            "strongSwan only supports RFC 6311 as the IKE initiator"
        assert not cl.b.haiked.lines(r"attempting message ID sync")
    # either way the IDs line up: exchanges both ways work, no renegotiation
    rekeys_after_takeover(cl, cl.b, ike)
    assert C.swan_negotiations(cl.charon) == 1
    assert not C.swan_lines(cl.charon, r"retransmit \d+ of request")


# ---- 4. (SPI, seq) never twice ----------------------------------------------------------------

def test_no_spi_seq_reuse_across_failovers(ha):
    cl = ha(initiator="cluster")
    mon = C.lan_ping(cl, interval=0.02)
    masters = [cl.a]
    for step in range(3):
        time.sleep(1.5)
        old = masters[-1]
        new = cl.other(old)
        t_fail = old.haiked.kill9()
        wait_takeover(cl, new, t_fail, "haiked")
        time.sleep(1)
        old.haiked.start()
        # the restarted node joins as standby (override off: no preemption)
        cl.wait_roles(master=new, timeout=20)
        # and drops the VIPs its killed predecessor left on the interfaces
        # (a standby answering ARP for them would steal the traffic)
        wait_for(lambda: vips_on(cl, old) == set(), 5, f"{old} (standby) to drop stale VIPs")
        masters.append(new)
    time.sleep(1)
    res = mon.stop()
    pkts = assert_no_spi_seq_reuse(cl)
    # per outbound SPI the sequence numbers only grow (the jump at each takeover)
    by_spi = {}
    for _s, spi, seq in pkts:
        by_spi.setdefault(spi, []).append(seq)
    for spi, seqs in by_spi.items():
        back = [(x, y) for x, y in zip(seqs, seqs[1:]) if y <= x]
        assert not back, f"SPI {spi}: sequence went backwards {back[:10]}"
    assert res.received > 0.8 * res.sent, res
    assert C.swan_negotiations(cl.charon) == 1


# ---- 5. graceful failover round trips --------------------------------------------------------------

ROUND_TRIPS = int(os.environ.get("HA_ROUND_TRIPS", "20"))


def test_graceful_failover_round_trips(ha):
    cl = ha(initiator="cluster")
    ike, _ = wait_mirrored(cl, cl.a, cl.b)
    mon = C.lan_ping(cl)
    switches = []
    cur = cl.a
    for _ in range(2 * ROUND_TRIPS):
        # Linux ignores an ARP update for a neighbour entry changed less than
        # locktime (1 s) ago: switching faster would measure the neighbours'
        # ARP caches, not the handover.
        time.sleep(1.5)
        nxt = cl.other(cur)
        t0 = C.utc_now_ms()
        out = cl.hactl(cur, "failover")
        assert out.get("vclusters") == [C.VCLUSTER], out
        cl.wait_roles(master=nxt, timeout=10)
        switches.append(C.utc_now_ms() - t0)
        cur = nxt
    time.sleep(1)
    res = mon.stop()
    n = len(switches)
    print(f"\nHA graceful failover: {n} switches, switch time min/median/max "
          f"{min(switches):.0f}/{sorted(switches)[n // 2]:.0f}/{max(switches):.0f} ms, {res}")
    assert res.longest_run <= 1, f"more than one ping lost in a row: {res}"
    assert res.lost <= n, f"more than 1 lost ping per switch: {res}"
    assert C.swan_negotiations(cl.charon) == 1, "renegotiation during graceful failovers"
    assert (cl.swan_ike()["initiator-spi"], cl.swan_ike()["responder-spi"]) == ike
    assert_no_spi_seq_reuse(cl)


def test_graceful_failover_drains_child_rekey(ha):
    """`hactl failover` while A's own CHILD rekey is unanswered (strongSwan's
    IKE input dropped for a while): A keeps the vcluster, starts nothing new,
    and hands over only once the rekey and the Delete of the old CHILD SA are
    done; B takes over holding exactly the CHILD SA strongSwan uses."""
    cl = ha(initiator="cluster", sel_extra=SEL_KEYLIFE)
    wait_mirrored(cl, cl.a, cl.b)
    child0 = cl.swan_child()["spi-in"]
    p = cl.ns["p"]
    # IKE to strongSwan: port 500, and 4500 after the non-ESP marker (ESP
    # keeps flowing: ESP-in-UDP starts with an SPI, never 0)
    path = cl.lab.path("drop-ike.nft")
    with open(path, "w", encoding="utf-8") as f:
        f.write("table inet hkdrop {\n chain in { type filter hook input priority -300;\n"
                "  udp dport 500 drop; udp dport 4500 @th,64,32 0 drop; }\n}\n")
    p.exec("nft", "-f", path)
    cl.a.haiked.wait_log(r"rekeying CHILD SA", timeout=20)
    out = cl.hactl(cl.a, "failover")
    assert out.get("vclusters") == [C.VCLUSTER] and out.get("outstanding") == 1, out
    cl.a.haiked.wait_log(r"HA failover of virtual cluster 1: waiting for 1 outstanding "
                         r"exchange\(s\)", timeout=5)
    time.sleep(0.3)
    assert cl.role(cl.a) == "master", "A released with its rekey unanswered"
    p.exec("nft", "delete", "table", "inet", "hkdrop")
    cl.wait_roles(master=cl.b, timeout=10)
    assert cl.a.haiked.lines(r"exchanges drained in \d+ ms"), cl.a.haiked.log()[-3000:]
    assert not cl.a.haiked.lines(r"abandoned"), "A abandoned an exchange"
    lf = cl.vcluster(cl.a).get("last_failover", {})
    assert 300 <= lf.get("drain_ms", -1) <= 2000 and lf.get("drain_abandoned") == 0, lf
    # strongSwan holds one CHILD SA, the rekeyed one, and so do B and A
    wait_for(lambda: cl.swan_child() is not None and cl.swan_child()["spi-in"] != child0, 10,
             "strongSwan's CHILD SA replaced")
    wait_mirrored(cl, cl.b, cl.a)
    assert len(cl.node_sas(cl.b)[1]) == 1, cl.node_sas(cl.b)
    assert C.swan_negotiations(cl.charon) == 1, "a renegotiation happened"
    print(f"\nHA graceful failover with a CHILD rekey outstanding: drain {lf.get('drain_ms')} ms")


def ha_messages(cl, node, body):
    """(sent, received, dropped) of one sync body type from `hactl ha stats`."""
    for m in cl.hactl(node, "ha", "stats").get("messages", []):
        if m.get("type") == body:
            return m.get("sent", 0), m.get("received", 0), m.get("dropped", 0)
    return 0, 0, 0


def test_lost_child_rekey_response_answered_by_new_master(ha):
    """strongSwan's CHILD rekey: A answers, nft drops the answer before
    strongSwan, A is killed (-9). strongSwan retransmits its request to the
    VIP, now B's: B answers it from the responder cache A mirrored (the same
    response), the rekey completes on the same IKE SA, no new IKE_SA_INIT.
    Before the responder cache was mirrored, B dropped the retransmissions
    (message ID already taken) and strongSwan renegotiated in the end.
    A cluster-initiated tunnel (no RFC 6311): with it, strongSwan answers the
    takeover's MESSAGE_ID_SYNC by dropping its outstanding request's
    retransmissions (seen with 5.9: no retransmit in 30 s), so nothing would
    reach B to answer."""
    cl = ha(initiator="cluster")
    ike, _ = wait_mirrored(cl, cl.a, cl.b)
    child0 = cl.swan_child()["spi-in"]
    got0 = ha_messages(cl, cl.b, "ike_response")[1]
    p = cl.ns["p"]
    path = cl.lab.path("drop-ike-resp.nft")
    with open(path, "w", encoding="utf-8") as f:
        f.write("table inet hkresp {\n chain in { type filter hook input priority -300;\n"
                "  udp dport 500 counter drop; udp dport 4500 @th,64,32 0 counter drop; }\n}\n")
    p.exec("nft", "-f", path)
    try:
        cl.charon.rekey_child(C.CHILD)

        # A answered (the response left A once B acknowledged that it holds
        # it), and strongSwan's input dropped it
        def dropped():
            out = p.exec("nft", "list", "table", "inet", "hkresp").stdout
            return sum(int(n) for n in re.findall(r"packets (\d+)", out))
        wait_for(lambda: dropped() > 0, 5, "A's response dropped before strongSwan")
        t_fail = cl.a.haiked.kill9()
        wait_takeover(cl, cl.b, t_fail, "haiked")
    finally:
        p.exec("nft", "delete", "table", "inet", "hkresp")
    # strongSwan's retransmission (4 s after its request) reaches B
    wait_for(lambda: (cl.swan_child() or {}).get("spi-in") not in (None, child0), 30,
             "strongSwan's CHILD rekey answered by B")
    log = cl.charon.log()
    rtx = re.search(r"retransmit 1 of request with message ID (\d+)", log)
    assert rtx, "strongSwan did not retransmit: the response was not lost"
    # answered from the VIP, NAT-T port (the new master's socket), as a
    # response to that very request
    after = log[rtx.end():]
    vip = re.escape(C.WAN_VIP)
    assert re.search(rf"received packet: from {vip}\[4500\]", after), after[-2000:]
    assert re.search(rf"parsed CREATE_CHILD_SA response {rtx[1]} ", after), after[-2000:]
    assert (cl.swan_ike()["initiator-spi"], cl.swan_ike()["responder-spi"]) == ike
    assert C.swan_negotiations(cl.charon) == 1, "strongSwan renegotiated the IKE SA"
    _sent, got, refused = ha_messages(cl, cl.b, "ike_response")
    assert got > got0 and refused == 0, (got0, got, refused)
    # B holds exactly strongSwan's CHILD SA (the old one deleted by strongSwan)
    _spi_i, _spi_r, swan_in, swan_out = cl.swan_spis()
    wait_for(lambda: cl.node_sas(cl.b)[1] == {(swan_out, swan_in)}, 10,
             "B to hold strongSwan's new CHILD SA only")
    ping_ok(cl)


# ---- 6. standby restart: bulk sync -----------------------------------------------------------------

def test_standby_restart_bulk_sync_then_failover(ha):
    cl = ha(initiator="cluster")
    served0 = cl.hactl(cl.a, "ha", "stats").get("bulk_syncs_served", 0)
    cl.b.haiked.kill9()
    # while B is away: a CHILD and an IKE rekey, so every SA B will hold
    # must come from the bulk sync (none of them existed when it left)
    old = cl.swan_spis()
    cl.charon.rekey_child(C.CHILD)
    wait_for(lambda: cl.swan_child() and cl.swan_child()["spi-in"] != old[2], 10, "CHILD rekey")
    cl.charon.rekey_ike(C.IKE_NAME)
    wait_for(lambda: cl.swan_ike() and cl.swan_ike()["initiator-spi"] != old[0]
             and cl.swan_child() is not None, 10, "IKE rekey")
    time.sleep(1)  # old SAs deleted
    cl.b.haiked.start()
    cl.wait_roles(master=cl.a, timeout=20)
    ike, _ = wait_mirrored(cl, cl.a, cl.b)
    stats_b = cl.hactl(cl.b, "ha", "stats")
    stats_a = cl.hactl(cl.a, "ha", "stats")
    assert stats_b.get("bulk_syncs_requested", 0) >= 1, stats_b
    assert stats_a.get("bulk_syncs_served", 0) > served0, (served0, stats_a)
    assert stats_b.get("import_errors", 0) == 0, stats_b
    # then a failover works from the bulk-synced state
    mon = C.lan_ping(cl)
    time.sleep(1)
    t_fail = cl.a.haiked.kill9()
    det, _took, _ = wait_takeover(cl, cl.b, t_fail, "haiked")
    time.sleep(2)
    res = mon.stop()
    assert res.outage_ms <= det + 300, res
    assert (cl.swan_ike()["initiator-spi"], cl.swan_ike()["responder-spi"]) == ike
    cl.charon.rekey_child(C.CHILD)
    ping_ok(cl)
    assert C.swan_negotiations(cl.charon) == 1


# ---- 7. 1,000 tunnels ------------------------------------------------------------------------------

LG_COUNT = int(os.environ.get("HA_LG_COUNT", "1000"))
LG_PSK = "haiked-ha-lab-loadgen-psk"
LG_KEYLIFE = 40     # the CHILD SAs' keylife on the cluster: the new master rekeys them
LG_HOLD = 75        # seconds the load generator stays up after establishing


def test_thousand_tunnels_survive_failover_and_rekey(ha):
    """ike_loadgen as LG_COUNT branches (dial-up gateway "lg", TS-only inner
    /32s, no routes) plus the strongSwan tunnel: the standby mirrors all of
    them; kill -9 of the master; the new master holds every SA, the
    strongSwan tunnel carries traffic, and when the CHILD SAs' keylife runs
    out the new master rekeys every branch (the load generator, still up
    with --hold, counts a second CHILD SA install per tunnel) and none dies."""
    lg_bin = find_binary("tests/bench/ike_loadgen")
    if lg_bin is None:
        pytest.skip("tests/bench/ike_loadgen is not built")
    from labkit.haiked import gateway, selector
    dial = gateway("lg", C.WAN_VIP, "any", "aes128-sha256-ecp256",
                   [selector("lg", C.LAN_NET, "100.64.0.0/16", "aes128-sha256",
                             keylife=LG_KEYLIFE, rekey_jitter=0)],
                   passive=True, dpd="disable")
    limits = {"ike": {"cookie-threshold": 10000000, "half-open-max": 10000000,
                      "half-open-per-peer": 10000000}}
    cl = ha(initiator="cluster", extra_gateways=[dial], extra_psks={"lg": LG_PSK},
            global_extra=limits, loadgen=True, capture=False,
            log_levels={"ike": "info", "net": "warn", "dataplane": "info", "sync": "info"})
    psk_file = cl.lab.path("lg.psk")
    fd = os.open(psk_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(LG_PSK + "\n")
    lg = cl.ns["g"].start([lg_bin, "--remote", C.WAN_VIP, "--local", ",".join(C.LOADGEN_ADDRS),
                           "--ports", "16", "--count", str(LG_COUNT), "--concurrency", "50",
                           "--proposal", "aes128-sha256-ecp256", "--esp", "aes128-sha256",
                           "--psk-file", psk_file, "--remote-ts", C.LAN_NET,
                           "--inner-net", "100.64.0.0", "--keep", "--hold", str(LG_HOLD),
                           "--timeout", str(LG_HOLD + 120), "--json"], "loadgen")
    want = LG_COUNT + 1  # + strongSwan's tunnel

    def counts(node):
        v = cl.vcluster(node)
        return v.get("ike_sas"), v.get("child_sas")
    wait_for(lambda: counts(cl.a) == (want, want), 120, f"{want} SAs on the master")
    wait_for(lambda: counts(cl.b) == (want, want), 30, f"{want} SAs mirrored on the standby")
    ikes_a, kids_a = cl.node_sas(cl.a)
    assert cl.node_sas(cl.b) == (ikes_a, kids_a)
    t_fail = cl.a.haiked.kill9()
    wait_takeover(cl, cl.b, t_fail, "haiked")
    assert counts(cl.b) == (want, want)
    ikes_b, kids_b = cl.node_sas(cl.b)
    assert ikes_b == ikes_a, f"{len(ikes_a - ikes_b)} IKE SAs lost in the failover"
    ping_ok(cl)
    # the load generator ends after its hold: every tunnel alive and rekeyed
    wait_for(lambda: not lg.alive(), LG_HOLD + 150, "load generator to finish")
    import json
    text = lg.log()
    report = json.loads(text[text.index("{"):])
    print(f"\nHA 1000 tunnels: {report}")
    assert report["ike_established"] == LG_COUNT and report["child_established"] == LG_COUNT
    assert report["alive"] == LG_COUNT, report
    assert report["tunnels_rekeyed"] == LG_COUNT, report
    assert lg.popen.returncode == 0, text[-2000:]
    assert C.swan_negotiations(cl.charon) == 1


# ---- 8. split brain -----------------------------------------------------------------------------------

def test_split_brain_both_master_then_priority_wins(ha):
    """Sync link cut, both nodes alive: votequorum two_node keeps both
    quorate, so B takes over too and both are master (B's gratuitous ARP
    moves the traffic to B). When the link heals the election keeps the
    higher priority (A) master; B releases its VIPs and bulk-syncs from A.
    The tunnel stays up with the same IKE SA throughout."""
    cl = ha(initiator="cluster")
    ike, _ = wait_mirrored(cl, cl.a, cl.b)
    mon = C.lan_ping(cl)
    time.sleep(1)
    t_cut = cl.cut_sync(cl.a)
    det, _took, _ = wait_takeover(cl, cl.b, t_cut, "synclink")
    assert cl.role(cl.a) == "master", "A keeps its role: it cannot know B is alive"
    assert vips_on(cl, cl.b) == {C.WAN_VIP, C.LAN_VIP}
    time.sleep(2)
    res_split = mon.stop()
    assert res_split.outage_ms <= det + 300, res_split
    assert C.swan_negotiations(cl.charon) == 1

    stats_b0 = cl.hactl(cl.b, "ha", "stats")
    mon = C.lan_ping(cl, name="ping-heal")
    time.sleep(0.5)
    t_heal = cl.heal_sync(cl.a)
    cl.wait_roles(master=cl.a, timeout=20)
    assert vips_on(cl, cl.b) == set(), "B must release the VIPs"
    assert vips_on(cl, cl.a) == {C.WAN_VIP, C.LAN_VIP}
    time.sleep(2)
    res_heal = mon.stop()
    print(f"\nHA split brain: detection {det:.0f} ms, {res_split}; heal -> A master in "
          f"{C.utc_now_ms() - t_heal:.0f} ms (incl. 2 s settle), {res_heal}")
    assert res_heal.longest_run <= 2, f"heal interrupted traffic: {res_heal}"
    wait_mirrored(cl, cl.a, cl.b)
    assert (cl.swan_ike()["initiator-spi"], cl.swan_ike()["responder-spi"]) == ike
    stats_b = cl.hactl(cl.b, "ha", "stats")
    # B released and asked A for a fresh snapshot (what it held as master
    # in the split is replaced by A's state)
    assert stats_b.get("releases", 0) == stats_b0.get("releases", 0) + 1, (stats_b0, stats_b)
    assert stats_b.get("bulk_syncs_requested", 0) > stats_b0.get("bulk_syncs_requested", 0), \
        (stats_b0, stats_b)
    ping_ok(cl)
    assert_no_spi_seq_reuse(cl)


def test_split_brain_rekey_during_split_not_lost(ha):
    """The issue: "no state is lost when the link heals". strongSwan rekeys
    the CHILD SA during the split (it reaches B, which owns the traffic after
    its gratuitous ARP); after the heal, the surviving master must know the
    CHILD SA strongSwan uses."""
    cl = ha(initiator="cluster")
    wait_mirrored(cl, cl.a, cl.b)
    t_cut = cl.cut_sync(cl.a)
    wait_takeover(cl, cl.b, t_cut, "synclink")
    old = cl.swan_spis()
    inst_a, inst_b = child_installed_count(cl.a), child_installed_count(cl.b)
    cl.charon.rekey_child(C.CHILD)
    wait_for(lambda: cl.swan_child() and cl.swan_child()["spi-in"] != old[2], 10,
             "CHILD rekey in the split")
    time.sleep(1)
    ping_ok(cl)
    # the rekey reached B (the VIPs' owner after its gratuitous ARP), not A:
    # only B knows the new CHILD SA when the link heals
    assert child_installed_count(cl.b) == inst_b + 1, "B did not answer the rekey"
    assert child_installed_count(cl.a) == inst_a, "A saw the rekey: the split was not one"
    cl.heal_sync(cl.a)
    wait_for(lambda: cl.master() is not None and cl.role(cl.other(cl.master())) == "standby",
             20, "one master after the heal")
    time.sleep(2)
    m = cl.master()
    assert_mirrored(cl, m, cl.other(m))
    ping_ok(cl)
    assert C.swan_negotiations(cl.charon) == 1
