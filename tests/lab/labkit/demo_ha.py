"""The cluster demo (scripts/demo-ha.sh): two haiked nodes + corosync + strongSwan.

    HAIKED_BUILD_DIR=build/default /usr/bin/python3 -m labkit.demo_ha   (from tests/lab, as root)

Builds labkit.cluster's lab (namespaces, bridges, corosync knet with crypto,
token 300), starts haiked on both nodes with the same config (priorities 200
and 100), lets the master bring the tunnel up through the VIP 203.0.113.10,
shows `hactl status` on both nodes and strongSwan's view, pings LAN host ->
remote LAN host every 50 ms, kill -9s the master's haiked, shows that the
traffic continued (loss, outage) and `hactl status` again, then restarts the
killed node (it joins as standby and bulk-syncs). Everything is torn down at
the end, also on Ctrl-C or an error.
"""

import os
import sys
import time

from . import cluster as C
from .corosync import cleanup_shm
from .netns import Lab
from .proc import wait_for


def say(text):
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def indent(text):
    return "\n".join("  " + line for line in text.rstrip().splitlines())


def show_status(cl, node):
    if node.haiked.proc is None or not node.haiked.proc.alive():
        print(f"  node {node.tag}: haiked is not running")
        return
    res = node.haiked.hactl("status", check=False)
    print(f"  -- node {node.tag} ({node.ns.name}): hactl status")
    print(indent(res.stdout or res.stderr))


def main():
    lab = Lab(prefix=f"hkdemo{os.getpid() % 10000}-")
    cl = None
    try:
        say("lab: nodes a (priority 200) and b (100), sync link 198.51.100.0/24, "
            "strongSwan on 203.0.113.2, LANs 192.0.2.0/25 and 192.0.2.128/25")
        cl = C.Cluster(lab, initiator="cluster")
        say("starting corosync (knet, crypto aes256/sha256, token 300) on both nodes, "
            "strongSwan, then haiked on both nodes")
        cl.start()
        print(f"  master: node a; VIPs {C.WAN_VIP} (wan0) and {C.LAN_VIP} (lan0) are on a")
        print(indent(cl.ns["a"].ip("-br", "addr").stdout))
        say("the tunnel through the VIP: strongSwan's view (swanctl --list-sas)")
        print(indent(cl.charon.swanctl("--list-sas").stdout))
        say("hactl status on both nodes (the standby mirrors the SAs)")
        for n in (cl.a, cl.b):
            show_status(cl, n)
        say("ping 192.0.2.10 -> 192.0.2.130 every 50 ms through the cluster")
        mon = C.lan_ping(cl)
        time.sleep(3)
        say("kill -9 the master's haiked (node a)")
        t_kill = cl.a.haiked.kill9()
        wait_for(lambda: cl.role(cl.b) == "master", 10, "node b to take over")
        print(f"  node b is master {C.utc_now_ms() - t_kill:.0f} ms after the kill")
        time.sleep(3)
        res = mon.stop()
        say("traffic continued")
        print(f"  {res.sent} pings sent, {res.received} answered, {res.lost} lost "
              f"(longest outage {res.outage_ms:.0f} ms, longest gap between replies "
              f"{res.longest_gap_ms:.0f} ms)")
        neg = C.swan_negotiations(cl.charon)
        print(f"  strongSwan negotiated {neg} IKE SA(s) in total: the same IKE SA lives on")
        say("hactl status on both nodes after the failover")
        for n in (cl.a, cl.b):
            show_status(cl, n)
        print(indent(cl.charon.swanctl("--list-sas").stdout))
        say("restart node a's haiked: it joins as standby and bulk-syncs (no preemption)")
        cl.a.haiked.start()
        cl.wait_roles(master=cl.b, timeout=20)
        show_status(cl, cl.a)
        say("done: tearing the lab down")
        return 0 if res.received > 0 else 1
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
