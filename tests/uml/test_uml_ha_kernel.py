"""HA with the kernel data plane: two haiked nodes (`dataplane = "kernel"`),
corosync between them, stock strongSwan (kernel-netlink), all in one UML guest.

The lab is tests/lab's cluster lab (labkit.cluster.Cluster: nodes "a"
(priority 200) and "b" (100), corosync knet with aes256/sha256 on the sync
link, the VIPs 203.0.113.10 and 192.0.2.1 added by the master, LAN hosts on
both sides), here with ESP in the kernel on all three IPsec hosts: plain ESP
(protocol 50) between the VIP and strongSwan, no NAT-T.

Asserts:
 - the tunnel comes up through the VIP and the standby's kernel holds the
   same pair (SPIs, algorithm, reqid'ed policies) as the master's, its out
   policy blocked (`action block`): its own traffic into the tunnel gets
   nothing through, its outbound state sends nothing;
 - the standby follows the master's counters in its kernel (EspSeqUpdate ->
   set_seq: its outbound state's oseq and inbound edge move while only the
   master sends);
 - kill -9 of the master's haiked under ping -i 0.05 (and, in the
   "dataplane" test, a's WAN and LAN links down with it): traffic continues
   through b's kernel, loss bounded; b's takeover set its kernel's oseq to
   the last synced value S + seq-jump with S <= the old master's last oseq
   (read from a's kernel, whose states outlive its haiked) < S + seq-jump,
   and opened its out policy; no (SPI, seq) is used twice: b's oseq = the
   jumped value + what b sent, strongSwan's kernel counted no replay and no
   integrity failure and received every packet both kernels sent;
 - strongSwan keeps the same IKE SA (no new IKE_SA_INIT);
 - a's haiked restarted: it stands by with the pair its predecessor left in
   its kernel replaced (the add used to fail with EEXIST), follows b's
   oseq, its out policy blocked;
 - then a CHILD rekey by strongSwan (ping -i 0.05) and one by haiked
   (keylife-packets 1000 on b's kernel, a 5 ms ping train): 0 lost, no ESP
   without a state, a follows to the last pair;
 - `hactl failover` on b under ping: at most one ping lost, b's out policy
   blocks again, a's opens after its jump, strongSwan received each of
   either kernel's packets once.
"""

import glob
import re
import time

import pytest

from conftest import require_kernel_esp
from labkit import cluster as C
from labkit import corosync as cs_mod
from labkit import xfrm
from labkit.haiked import find_binary
from labkit.netns import LabError, missing_prerequisites
from labkit.proc import wait_for
from uml_helpers import PLUGINS_KERNEL

pytestmark = [pytest.mark.uml, pytest.mark.lab, pytest.mark.slow]

SEQ_JUMP = 1 << 20
KEYLIFE_PACKETS = 1000
# "HA takeover vcluster 1: CHILD SA spi in=.. out=..: seq S -> N, replay edge E"
TAKEOVER_SEQ = re.compile(r"HA takeover vcluster \d+: CHILD SA spi in=(?P<spi_in>[0-9a-f]{8}) "
                          r"out=(?P<spi_out>[0-9a-f]{8}): seq (?P<old>\d+) -> (?P<new>\d+)")
# kill -9 of a haiked leaves the CPG group at once; b then needs its
# confchg, the takeover and the gratuitous ARPs on a 1-CPU HZ=100 guest.
OUTAGE_MAX_MS = 1500
# The host labs' token 300 flaps in the guest (1 CPU shared by two corosyncs,
# two haikeds and charon starting): a ring split at start-up made both nodes
# master (healed by the merge). A killed haiked leaves the CPG group at once
# whatever the token, so the failover does not wait for it.
TOKEN_MS = 1000


@pytest.fixture
def cluster(uml_lab):
    require_kernel_esp(("ip", cs_mod.COROSYNC, cs_mod.KEYGEN))
    missing = missing_prerequisites((cs_mod.COROSYNC, cs_mod.KEYGEN))
    if missing:
        pytest.skip("; ".join(missing))
    if find_binary("daemon/haiked") is None or find_binary("cli/hactl") is None:
        pytest.skip("haiked/hactl not built (set HAIKED_BUILD_DIR)")
    cl = C.Cluster(uml_lab, initiator="cluster", capture=False, token=TOKEN_MS,
                   global_extra={"dataplane": "kernel"},
                   charon_extra={"load": PLUGINS_KERNEL},
                   sel_extra={"keylife-packets": KEYLIFE_PACKETS},
                   ha_extra={"seq-jump": SEQ_JUMP})
    try:
        yield cl
        # UBSan builds (the guest cannot run ASan): every haiked log, restarts too
        bad = [l for n in (cl.a, cl.b) for l in ubsan_lines(n.haiked.log_path)]
        assert not bad, "sanitizer report(s) from haiked:\n" + "".join(bad[:20])
    finally:
        cl.close()


def ubsan_lines(log_path):
    """UBSan's lines in one haiked's logs (a restart keeps the old one aside)."""
    out = []
    for path in sorted(glob.glob(log_path + "*")):
        with open(path, encoding="utf-8", errors="replace") as f:
            out += [l for l in f if "runtime error" in l]
    return out


def diag(cl):
    """Both nodes' and strongSwan's kernels, hactl status and the log tails."""
    out = [cl.describe()]
    for tag in ("a", "b", "p"):
        ns = cl.ns[tag]
        out.append(f"--- {tag} ip -s xfrm state (no keys):\n{xfrm.states(ns)}")
        out.append(f"--- {tag} ip xfrm policy:\n{xfrm.policies(ns)}")
        out.append(f"--- {tag} XfrmIn* errors: "
                   f"{ {k: v for k, v in xfrm.stats(ns).items() if v} }")
    out.append(f"--- charon log tail:\n{cl.charon.log()[-2500:]}")
    return "\n".join(out)


def kernel_pair(ns, spi_in, spi_out):
    """(inbound state, outbound state) of one pair in ns's kernel, or None."""
    st = xfrm.by_spi(ns)
    return st.get(spi_in), st.get(spi_out)


def swan_pair(cl):
    """haiked's (spi_in, spi_out) = strongSwan's (spi-out, spi-in)."""
    kid = cl.swan_child()
    assert kid, f"strongSwan has no CHILD SA: {cl.charon.list_sas()}"
    return kid["spi-out"], kid["spi-in"]


def lan_train(cl, count, interval="0.005"):
    """count pings LAN host -> remote LAN host; (sent, received)."""
    res = cl.ns["l"].exec("ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", "2",
                          C.RLAN_HOST, check=False, timeout=count * 0.05 + 60)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    assert m, res.stdout + res.stderr
    return int(m[1]), int(m[2])


def up_and_mirrored(cl):
    """Phases 1 and 2; {ike, spi_in, spi_out, neg0, mon (the running ping)}."""
    try:
        cl.start()
    except (TimeoutError, LabError) as exc:
        raise AssertionError(f"{exc}\n{diag(cl)}") from exc
    a, b = cl.a, cl.b

    # ---- 1. tunnel through the VIP; b's kernel mirrors a's ---------------------------
    sent, got = C.ping_once(cl, 10)
    assert (sent, got) == (10, 10), f"LAN ping through the tunnel: {got}/{sent}\n{diag(cl)}"
    ike = (cl.swan_ike()["initiator-spi"], cl.swan_ike()["responder-spi"])
    spi_in, spi_out = swan_pair(cl)
    wait_for(lambda: cl.node_sas(b)[1] == {(spi_in, spi_out)}, 10, "b mirrors the CHILD SA")
    ka, kb = xfrm.by_spi(a.ns), xfrm.by_spi(b.ns)
    assert set(ka) == set(kb) == {spi_in, spi_out}, f"a {sorted(ka)} b {sorted(kb)}\n{diag(cl)}"
    for spi in (spi_in, spi_out):
        assert kb[spi]["algs"] == ka[spi]["algs"] and kb[spi]["mode"] == "tunnel", (ka, kb)
        assert (kb[spi]["src"], kb[spi]["dst"]) == (ka[spi]["src"], ka[spi]["dst"])
    assert (kb[spi_out]["src"], kb[spi_out]["dst"]) == (C.WAN_VIP, C.WAN_PEER)
    pol_b = xfrm.parse_policies(xfrm.policies(b.ns))
    assert {p["dir"] for p in pol_b if p.get("reqid") == kb[spi_out]["reqid"]} >= \
        {"out", "in", "fwd"}, f"b's policies:\n{xfrm.policies(b.ns)}"
    # the standby's copy sends nothing: its out policy blocks until the takeover
    assert out_policies(b.ns) == ["block"] and out_policies(a.ns) == ["allow"], \
        f"out policies: a {out_policies(a.ns)} b {out_policies(b.ns)}\n{diag(cl)}"
    neg0 = C.swan_negotiations(cl.charon)

    # ---- 2. the standby follows the counters in its kernel -----------------------------
    mon = C.lan_ping(cl)
    try:
        wait_for(lambda: kernel_pair(b.ns, spi_in, spi_out)[1]["oseq"] > 0
                 and kernel_pair(b.ns, spi_in, spi_out)[0]["seq"] > 0, 8,
                 "b's kernel following a's oseq / replay edge")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{diag(cl)}") from exc
    b_in, b_out = kernel_pair(b.ns, spi_in, spi_out)
    a_in, a_out = kernel_pair(a.ns, spi_in, spi_out)
    assert b_out["oseq"] <= a_out["oseq"] and b_in["seq"] <= a_in["seq"], (a_out, b_out)
    # The standby's own traffic into the tunnel: its kernel must not send it
    # on its copy, whose sequence numbers trail the master's ((SPI, seq)
    # twice: with AES-GCM a nonce reused under the same key).
    assert standby_probe(b) == 0, f"b's own ping crossed the tunnel\n{diag(cl)}"
    b_out = kernel_pair(b.ns, spi_in, spi_out)[1]
    assert b_out["packets"] == 0, f"the standby's kernel sent ESP: {b_out}\n{diag(cl)}"
    return {"ike": ike, "spi_in": spi_in, "spi_out": spi_out, "neg0": neg0, "mon": mon}


def fail_over(cl, ctx, kind):
    """Phase 3: kill -9 a's haiked under ping ("dataplane": a's WAN and LAN
    links go down with it, as when the node dies); b takes over. Adds
    jumped (b's oseq after the jump) and a_out (a's last outbound state)."""
    a, b = cl.a, cl.b
    spi_in, spi_out = ctx["spi_in"], ctx["spi_out"]
    time.sleep(1)
    t_kill = a.haiked.kill9()
    if kind == "dataplane":
        for ifname in ("wan0", "lan0"):
            a.ns.ip("link", "set", ifname, "down")
    cl.wait_master(b, timeout=10)
    wait_for(lambda: _has_vips(b), 5, "b holds the VIPs")
    time.sleep(3)
    res = ctx["mon"].stop()
    after = [l for l in b.haiked.log().splitlines() if (C.log_time_ms(l) or 0) >= t_kill - 5]
    took = [C.log_time_ms(l) for l in after if re.search(r"HA takeover vcluster \d+ done", l)]
    jumps = [m.groupdict() for m in (TAKEOVER_SEQ.search(l) for l in after) if m]
    # a's haiked is gone but its kernel still holds the pair: its oseq is the
    # last sequence number the old master used (with its links up it carried
    # the traffic until b's gratuitous ARPs moved the LAN host and strongSwan).
    a_in, a_out = kernel_pair(a.ns, spi_in, spi_out)
    b_in, b_out = kernel_pair(b.ns, spi_in, spi_out)
    p_in = xfrm.by_spi(cl.ns["p"])[spi_out]
    print(f"\nkernel HA failover ({kind}): {res}; takeover done {took[0] - t_kill:.0f} ms after "
          f"the kill; takeover seq {jumps}; a's last oseq {a_out['oseq']} ({a_out['packets']} "
          f"packets), b's oseq {b_out['oseq']} ({b_out['packets']} packets), strongSwan "
          f"received {p_in['packets']} (edge {p_in['seq']}, replay {p_in['replay']}, "
          f"failed {p_in['failed']})")
    assert res.outage_ms <= OUTAGE_MAX_MS and res.sent > 50, f"{res}\n{diag(cl)}"
    assert len(jumps) == 1 and (jumps[0]["spi_in"], jumps[0]["spi_out"]) == (spi_in, spi_out), \
        f"b's takeover lines: {jumps}\n{diag(cl)}"
    synced, jumped = int(jumps[0]["old"]), int(jumps[0]["new"])
    assert 0 < synced <= a_out["oseq"] and jumped == synced + SEQ_JUMP, (jumps, a_out)
    # no (SPI, seq) twice: b starts above everything a used, and its kernel
    # used exactly the numbers after the jump
    assert jumped > a_out["oseq"], (jumped, a_out)
    assert b_out["packets"] > 20 and b_out["oseq"] == jumped + b_out["packets"], \
        f"b's kernel did not continue from the jump: {b_out} (jumped to {jumped})\n{diag(cl)}"
    assert (p_in["replay"], p_in["failed"]) == (0, 0), f"strongSwan dropped ESP: {p_in}"
    assert out_policies(b.ns) == ["allow"], xfrm.policies(b.ns)
    assert p_in["seq"] == b_out["oseq"], (p_in, b_out)
    # every ESP packet strongSwan got was one of a's or b's, each once (a's
    # last ones may have died with its links)
    if kind == "haiked":
        assert p_in["packets"] == a_out["packets"] + b_out["packets"], (p_in, a_out, b_out)
    else:
        assert b_out["packets"] <= p_in["packets"] <= a_out["packets"] + b_out["packets"], \
            (p_in, a_out, b_out)
    # the same IKE SA on strongSwan's side, no new IKE_SA_INIT
    assert (cl.swan_ike()["initiator-spi"], cl.swan_ike()["responder-spi"]) == ctx["ike"]
    assert C.swan_negotiations(cl.charon) == ctx["neg0"]
    ctx.update(jumped=jumped, a_out=a_out, res=res)
    return ctx


def test_kernel_ha_failover_seq_jump_and_rekeys(cluster):
    cl = cluster
    a, b = cl.a, cl.b
    ctx = fail_over(cl, up_and_mirrored(cl), "haiked")
    spi_in, spi_out, jumped, neg0 = ctx["spi_in"], ctx["spi_out"], ctx["jumped"], ctx["neg0"]

    # ---- 3b. the killed node comes back as standby ------------------------------------------
    # Its kernel still holds the pair its killed haiked installed (same SPIs
    # and keys); the bulk sync must take that over, or it stands by without
    # the CHILD SA and stops following the master's counters.
    a.haiked.start()
    cl.wait_roles(master=b, timeout=30)
    assert not _has_vips(a), "the restarted node kept the VIPs"
    mon = C.lan_ping(cl, name="ping-rejoin")
    try:
        wait_for(lambda: kernel_pair(a.ns, spi_in, spi_out)[1]["oseq"] > jumped, 8,
                 "the restarted standby's kernel following b's oseq")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: {a.haiked.lines('not mirrored|leftover')}\n"
                             f"{diag(cl)}") from exc
    res_rejoin = mon.stop()
    assert res_rejoin.lost == 0, res_rejoin
    assert cl.node_sas(a)[1] == {(spi_in, spi_out)}, cl.node_sas(a)
    assert not a.haiked.lines(r"not mirrored"), a.haiked.lines(r"not mirrored")
    assert standby_probe(a) == 0, f"a's own ping crossed the tunnel\n{diag(cl)}"
    assert out_policies(a.ns) == ["block"], xfrm.policies(a.ns)
    a_out_rejoined = kernel_pair(a.ns, spi_in, spi_out)[1]
    assert a_out_rejoined["packets"] == 0, f"the standby's kernel sent ESP: {a_out_rejoined}"

    # ---- 4. rekeys on the new master: strongSwan's, then haiked's (volume) ------------------
    no_state0 = {t: xfrm.stats(cl.ns[t])["XfrmInNoStates"] for t in ("b", "p")}
    mon = C.lan_ping(cl, name="ping-swan-rekey")
    time.sleep(1)
    cl.charon.rekey_child(C.CHILD)
    wait_for(lambda: cl.swan_child() is not None and swan_pair(cl) != (spi_in, spi_out), 15,
             "strongSwan's CHILD rekey")
    new_in, new_out = swan_pair(cl)
    wait_for(lambda: set(xfrm.by_spi(b.ns)) == {new_in, new_out}, 15,
             "b's kernel holding only the rekeyed pair")
    time.sleep(1)
    res_swan = mon.stop()
    assert res_swan.lost == 0 and res_swan.sent > 30, f"strongSwan's rekey: {res_swan}\n{diag(cl)}"
    soft0 = len(b.haiked.lines(r"reached its soft byte/packet lifetime: rekeying"))
    sent, got = lan_train(cl, KEYLIFE_PACKETS + 300)
    assert len(b.haiked.lines(r"reached its soft byte/packet lifetime: rekeying")) > soft0, \
        f"b did not rekey on keylife-packets\n{diag(cl)}"
    assert (sent, got) == (KEYLIFE_PACKETS + 300,) * 2, f"haiked's rekey: {got}/{sent}\n{diag(cl)}"
    wait_for(lambda: cl.swan_child() is not None and swan_pair(cl) != (new_in, new_out), 15,
             "haiked's CHILD rekey seen by strongSwan")
    last = swan_pair(cl)
    wait_for(lambda: set(xfrm.by_spi(b.ns)) == set(last), 15, "b's kernel with the last pair")
    no_state = {t: xfrm.stats(cl.ns[t])["XfrmInNoStates"] - no_state0[t] for t in ("b", "p")}
    assert not any(no_state.values()), f"ESP without a state: {no_state}\n{diag(cl)}"
    assert C.swan_negotiations(cl.charon) == neg0, "a renegotiation happened"
    print(f"kernel HA rekeys after failover: strongSwan's {res_swan}; haiked's (volume) "
          f"{got}/{sent} in a 5 ms ping train")
    # the rejoined standby follows the rekeys in its kernel: the last pair,
    # the first one gone (with its leftover state replaced, nothing of it stays)
    wait_for(lambda: set(xfrm.by_spi(a.ns)) == set(last), 15, "a's kernel with the last pair")

    # ---- 5. graceful failover back to a (`hactl failover` on b) ------------------------------
    # b releases: its out policy blocks again; a jumps and opens its own
    mon = C.lan_ping(cl, name="ping-graceful")
    time.sleep(1.5)
    t_fo = C.utc_now_ms()
    out = cl.hactl(b, "failover")
    assert out.get("vclusters") == [C.VCLUSTER], out
    cl.wait_roles(master=a, timeout=15)
    time.sleep(2)
    res_fo = mon.stop()
    after = [l for l in a.haiked.log().splitlines() if (C.log_time_ms(l) or 0) >= t_fo - 5]
    jumps = [m.groupdict() for m in (TAKEOVER_SEQ.search(l) for l in after) if m]
    a_out, b_out = xfrm.by_spi(a.ns)[last[1]], xfrm.by_spi(b.ns)[last[1]]
    p_in = xfrm.by_spi(cl.ns["p"])[last[1]]
    print(f"kernel HA graceful failover b -> a: {res_fo}; a's takeover seq {jumps}; b sent "
          f"{b_out['packets']}, a {a_out['packets']} (oseq {a_out['oseq']}), strongSwan "
          f"received {p_in['packets']}")
    assert res_fo.longest_run <= 1 and res_fo.lost <= 1, f"{res_fo}\n{diag(cl)}"
    assert out_policies(b.ns) == ["block"] and out_policies(a.ns) == ["allow"], \
        f"out policies: a {out_policies(a.ns)} b {out_policies(b.ns)}\n{diag(cl)}"
    assert len(jumps) == 1 and jumps[0]["spi_out"] == last[1], jumps
    assert a_out["oseq"] == int(jumps[0]["new"]) + a_out["packets"] and a_out["packets"] > 20, \
        (jumps, a_out)
    assert (p_in["replay"], p_in["failed"]) == (0, 0), f"strongSwan dropped ESP: {p_in}"
    assert p_in["packets"] == a_out["packets"] + b_out["packets"], (p_in, a_out, b_out)
    assert C.swan_negotiations(cl.charon) == neg0, "a renegotiation happened"


def out_policies(ns):
    """The action ("allow" / "block") of each of ns's out policies with a
    template (socket policies aside), from `ip xfrm policy`."""
    out = []
    for block in re.split(r"\n(?=src )", xfrm.policies(ns)):
        m = re.search(r"^\s*dir out (.*)$", block, re.M)
        if m and "tmpl " in block:  # "dir out action block priority ..."
            action = re.search(r"action (\w+)", m[1])
            out.append(action[1] if action else "allow")
    return out


def standby_probe(node, count=3):
    """Pings from node's own LAN address (inside the local selector) to the
    remote LAN host; how many came back."""
    res = node.ns.exec("ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "1", "-I",
                       node.lan, C.RLAN_HOST, check=False, timeout=count + 10)
    m = re.search(r"(\d+) received", res.stdout)
    return int(m[1]) if m else 0


def _has_vips(node):
    out = node.ns.ip("-4", "-o", "addr", "show").stdout
    return C.WAN_VIP in out and C.LAN_VIP in out


def test_leftover_states_unit_test_with_esp(uml_lab):
    """tests/daemon/test_dp_xfrm_kernel.c where the kernel has ESP: a
    second backend installing the pair a first one left behind (a killed
    haiked's successor) replaces the leftover states; another SA under the
    same SPIs is refused and stays. On the hosts that test skips."""
    binary = find_binary("tests/daemon/daemon_test_dp_xfrm_kernel")
    if binary is None:
        pytest.skip("daemon_test_dp_xfrm_kernel not built (set HAIKED_BUILD_DIR)")
    res = uml_lab.netns("u").exec(binary, check=False, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "[       OK ] test_leftover_replaced" in out, out
    assert "SKIPPED" not in out and "kernel without ESP" not in out, out


def test_kernel_ha_failover_with_the_data_plane(cluster):
    """The master's node dies with its haiked: its WAN and LAN links go down
    at the kill, so nothing carries the traffic until b took over (the
    outage is detection + takeover + gratuitous ARP)."""
    fail_over(cluster, up_and_mirrored(cluster), "dataplane")
