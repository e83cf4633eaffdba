"""`haiked --cleanup` after kill -9 of the master's haiked (the unit's
ExecStopPost=): the cluster of test_ha_cluster.py (labkit.cluster), nodes a
(master) and b, strongSwan behind the WAN, the LAN host 192.0.2.10 whose
gateway is the LAN VIP 192.0.2.1.

kill -9 leaves a's VIPs on its interfaces: b takes over and announces them,
but a's kernel still answers every ARP request for them (shown first, so
the test fails where the cleanup does nothing). Cleanup in a's namespace
with a's config: a holds no VIP, only b's MAC answers ARP for the LAN VIP,
traffic flows through b; a second run is a no-op; and it refuses on b,
whose haiked runs (b keeps its VIPs).
"""

import json
import re

import pytest

from labkit import cluster as C
from labkit.haiked import find_binary
from labkit.proc import wait_for
from test_ha_cluster import ha, ping_ok, vips_on, wait_mirrored, wait_takeover  # noqa: F401

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# Broadcast ARP requests for a target from the LAN host; prints the sender
# MAC of every reply (in a namespace: python3 -c ARP_PROBE IFNAME SRC TARGET).
ARP_PROBE = r"""
import socket, struct, sys, time
ifname, src, target = sys.argv[1], socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((ifname, 0x0806))
mac = s.getsockname()[4]
req = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
       + mac + src + b"\x00" * 6 + target)
s.settimeout(0.1)
seen = set()
for _ in range(3):
    s.send(req)
    end = time.time() + 0.4
    while time.time() < end:
        try:
            d = s.recv(2048)
        except socket.timeout:
            continue
        if len(d) >= 42 and d[12:14] == b"\x08\x06" and d[20:22] == b"\x00\x02" \
                and d[28:32] == target:
            seen.add(d[22:28].hex(":"))
print(" ".join(sorted(seen)))
"""


def mac_of(ns, ifname):
    return json.loads(ns.ip("-j", "link", "show", "dev", ifname).stdout)[0]["address"]


def arp_answers(cl, target):
    """The MACs answering an ARP request for target on the LAN."""
    res = cl.ns["l"].exec("python3", "-c", ARP_PROBE, "lan0", C.LAN_HOST, target, timeout=15)
    return set(res.stdout.split())


def cleanup(node, check=False):
    binary = find_binary("daemon/haiked")
    return node.ns.exec(binary, "--cleanup", "--config", node.haiked.conf_path, check=check,
                        timeout=30)


def test_cleanup_after_kill9_of_the_master(ha):  # noqa: F811
    cl = ha(initiator="cluster")
    wait_mirrored(cl, cl.a, cl.b)
    mac_a, mac_b = mac_of(cl.a.ns, "lan0"), mac_of(cl.b.ns, "lan0")
    assert arp_answers(cl, C.LAN_VIP) == {mac_a}

    t_fail = cl.a.haiked.kill9()
    wait_takeover(cl, cl.b, t_fail, "haiked")
    assert vips_on(cl, cl.b) == {C.WAN_VIP, C.LAN_VIP}
    # the problem: the dead master's kernel still holds and answers the VIPs
    assert vips_on(cl, cl.a) == {C.WAN_VIP, C.LAN_VIP}
    assert arp_answers(cl, C.LAN_VIP) == {mac_a, mac_b}

    # cleanup refuses where haiked runs (b), and changes nothing there
    res = cleanup(cl.b)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "cleanup refused: a haiked answers on" in res.stderr, res.stderr
    assert vips_on(cl, cl.b) == {C.WAN_VIP, C.LAN_VIP}

    res = cleanup(cl.a)
    assert res.returncode == 0, res.stdout + res.stderr
    for vip in (f"{C.WAN_VIP}/24 removed from wan0", f"{C.LAN_VIP}/25 removed from lan0"):
        assert f"VIP {vip} (vdom root)" in res.stdout, res.stdout
    assert vips_on(cl, cl.a) == set()
    assert vips_on(cl, cl.b) == {C.WAN_VIP, C.LAN_VIP}
    # the node's own addresses stay
    own = cl.a.ns.ip("-4", "-o", "addr", "show").stdout
    assert f"{cl.a.wan}/24" in own and f"{cl.a.lan}/25" in own, own
    assert arp_answers(cl, C.LAN_VIP) == {mac_b}

    # traffic through the new master, the LAN host resolving the VIP anew
    cl.ns["l"].ip("neigh", "flush", "dev", "lan0")
    ping_ok(cl, 10)
    neigh = cl.ns["l"].ip("neigh", "show", C.LAN_VIP, "dev", "lan0").stdout
    assert re.search(rf"lladdr {re.escape(mac_b)}\b", neigh), neigh

    # idempotent: a second run finds nothing
    res = cleanup(cl.a)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "nothing left behind", res.stdout
    assert vips_on(cl, cl.b) == {C.WAN_VIP, C.LAN_VIP}

    # the restarted a comes up as standby, and still nothing of a answers
    cl.a.haiked.start()
    cl.wait_roles(master=cl.b, timeout=20)
    wait_for(lambda: vips_on(cl, cl.a) == set(), 5, "a stays without VIPs")
    assert arp_answers(cl, C.LAN_VIP) == {mac_b}
