"""Standard topologies built from the lab kit.

gateway_pair: two gateways ("i" initiator side, "r" responder side) joined by a
WAN veth (203.0.113.1 <-> 203.0.113.2); each gateway holds one address of its
own LAN on loopback (192.0.2.1 and 192.0.2.129) because the host has no dummy
interfaces and a gateway needs an address inside its local traffic selector.
"""

from dataclasses import dataclass

from .netns import Netns


@dataclass
class Gateway:
    ns: Netns
    wan_if: str
    wan_ip: str
    lan_ip: str
    lan_net: str


WAN_I = "203.0.113.1"
WAN_R = "203.0.113.2"
LAN_I_NET, LAN_I_IP = "192.0.2.0/25", "192.0.2.1"
LAN_R_NET, LAN_R_IP = "192.0.2.128/25", "192.0.2.129"


def gateway_pair(lab):
    """Return (initiator_gw, responder_gw) connected over the WAN veth."""
    ns_i = lab.netns("i")
    ns_r = lab.netns("r")
    lab.veth(ns_i, "wan0", ns_r, "wan0")
    ns_i.add_addr("wan0", f"{WAN_I}/24")
    ns_r.add_addr("wan0", f"{WAN_R}/24")
    ns_i.add_addr("lo", f"{LAN_I_IP}/32")
    ns_r.add_addr("lo", f"{LAN_R_IP}/32")
    return (Gateway(ns_i, "wan0", WAN_I, LAN_I_IP, LAN_I_NET),
            Gateway(ns_r, "wan0", WAN_R, LAN_R_IP, LAN_R_NET))
