"""The VDOM partitioning demo (scripts/demo-vdom.sh): the seed's placement, working.

    HAIKED_BUILD_DIR=build/default /usr/bin/python3 -m labkit.demo_vdom   (from tests/lab, as root)

Builds labkit.cluster_vdom's lab: nodes a and b, each with VDOM root (vcluster
1, the node's namespace) and VDOM FWEXT (vcluster 2, a namespace of its own),
corosync on the sync link, a strongSwan peer per VDOM (sun -> FWEXT, moon ->
root), a LAN host per VDOM.  Both vclusters start on node a; the peers
initiate (so RFC 6311 is negotiated).  Then FWEXT is moved to node b with
`hactl failover --vcluster 2` while root stays on a, `hactl status` is shown
on both nodes, and under a ping every 50 ms through both tunnels strongSwan
rekeys FWEXT's CHILD and IKE SA and node b rekeys them on its own (keylife
10 s / 12 s): the exchanges the FortiGate of the report ignored.  The loss is
printed.  Everything is torn down at the end, also on Ctrl-C or an error.
"""

import os
import sys
import time

from . import cluster as C
from . import cluster_vdom as V
from .corosync import cleanup_shm
from .netns import Lab
from .proc import wait_for


def say(text):
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def indent(text):
    return "\n".join("  " + line for line in text.rstrip().splitlines())


def show_status(node):
    res = node.haiked.hactl("status", check=False)
    print(f"  -- node {node.tag} ({node.ns.name}): hactl status")
    print(indent(res.stdout or res.stderr))


def main():
    lab = Lab(prefix=f"hkvd{os.getpid() % 10000}-")
    cl = None
    try:
        say("lab: nodes a and b; VDOM root (vcluster 1) in each node's namespace, VDOM FWEXT "
            "(vcluster 2) in a namespace of its own; strongSwan 'moon' -> root VIP "
            f"{V.ROOT.wan_vip}, 'sun' -> FWEXT VIP {V.EXT.wan_vip}")
        cl = V.VdomCluster(lab, initiator="strongswan", tunnels=(1, 2), child_keylife=10,
                           ike_keylife=12)
        cl.start()
        say("both vclusters on node a: hactl status on both nodes")
        for n in (cl.a, cl.b):
            show_status(n)
        say("move FWEXT (vcluster 2) to node b: hactl failover --vcluster 2 on node a")
        mons = [cl.tunnels[1].ping(name="demo-move-root"),
                cl.tunnels[2].ping(name="demo-move-ext")]
        time.sleep(1)
        t0 = C.utc_now_ms()
        print(indent(cl.a.haiked.hactl("failover", "--vcluster", "2").stdout))
        cl.wait_placement({1: cl.a, 2: cl.b}, timeout=20)
        print(f"  vcluster 2 master on node b after {C.utc_now_ms() - t0:.0f} ms; "
              f"vcluster 1 stays on node a")
        print(f"  FWEXT's VIPs now in node b's FWEXT namespace: "
              f"{sorted(cl.vips_here(cl.b, 2))}")
        moved = [m.stop(settle=0.6) for m in mons]
        say("hactl status on both nodes: the vclusters are partitioned")
        for n in (cl.a, cl.b):
            show_status(n)
        ext = cl.tunnels[2]
        say("rekeys of FWEXT's tunnel while it is active on node b (pings running)")
        mons = [cl.tunnels[1].ping(name="demo-rekey-root"),
                cl.tunnels[2].ping(name="demo-rekey-ext")]
        time.sleep(1)
        kid0 = ext.child()["spi-in"]
        ext.charon.rekey_child(ext.spec.child)
        wait_for(lambda: (ext.child() or {}).get("spi-in") not in (None, kid0), 10,
                 "strongSwan's CHILD rekey")
        print(f"  strongSwan rekeyed the CHILD SA: {kid0} -> {ext.child()['spi-in']}")
        ike0 = ext.ike()["initiator-spi"]
        ext.charon.rekey_ike(ext.spec.ike_name)
        wait_for(lambda: (ext.ike() or {}).get("initiator-spi") not in (None, ike0)
                 and ext.child() is not None, 10, "strongSwan's IKE rekey")
        print(f"  strongSwan rekeyed the IKE SA: {ike0} -> {ext.ike()['initiator-spi']}")
        c0, i0 = len(ext.lines(V.SWAN_RX_CHILD_REKEY)), len(ext.lines(V.SWAN_RX_IKE_REKEY))
        print("  waiting for node b's own CHILD and IKE rekeys (keylife 10 s / 12 s)...")
        wait_for(lambda: len(ext.lines(V.SWAN_RX_CHILD_REKEY)) > c0
                 and len(ext.lines(V.SWAN_RX_IKE_REKEY)) > i0, 25, "node b's rekeys")
        wait_for(lambda: ext.child() is not None, 10, "the CHILD SA")
        print("  node b rekeyed the CHILD SA and the IKE SA")
        rekeyed = [m.stop(settle=0.6) for m in mons]
        say("traffic (ping every 50 ms; a request still in flight when ping stopped is not "
            "counted)")
        for what, results in (("the move", moved), ("the rekeys", rekeyed)):
            for name, res in zip(("root  (vcluster 1, node a)", "FWEXT (vcluster 2, node b)"),
                                 results):
                lost = len(V.settled_lost(res))
                print(f"  {what:10} {name}: {res.sent} sent, {lost} lost (longest gap "
                      f"between replies {res.longest_gap_ms:.0f} ms)")
        inits = len(ext.lines(V.SWAN_INIT_REQ))
        ignored = sum(len(V.haiked_bad_lines(n, V.HK_IGNORED)) for n in (cl.a, cl.b))
        print(f"  strongSwan 'sun': {inits} IKE_SA_INIT in total (no renegotiation); haiked: "
              f"{ignored} message(s) 'ignoring message on HA synced IKE_SA'")
        say("hactl status on both nodes after the rekeys")
        for n in (cl.a, cl.b):
            show_status(n)
        print(indent(ext.charon.swanctl("--list-sas").stdout))
        say("done: tearing the lab down")
        lost = [len(V.settled_lost(r)) for r in moved + rekeyed]
        # root: nothing; FWEXT: at most one ping at the move, none at the rekeys
        ok = lost[0] == 0 and lost[1] <= 1 and lost[2:] == [0, 0] and inits == 1 and not ignored
        return 0 if ok else 1
    finally:
        try:
            lab.close()
        finally:
            if cl is not None:
                cleanup_shm([cl.a.corosync, cl.b.corosync])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
