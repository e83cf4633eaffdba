"""A two-node haiked cluster with VDOM partitioning (issue 6): the seed's lab.

Each node has two VDOMs, each a network namespace of its own:
  root  (vcluster 1): the node's own namespace "a"/"b" (also corosync's)
  FWEXT (vcluster 2): namespace "aX"/"bX", declared in haiked.conf
                      `vdoms = ( { name = "FWEXT"; netns = "<lab prefix>aX"; } )`
so haiked opens FWEXT's IKE sockets, raw ESP socket and TUN inside aX/bX, and
adds FWEXT's VIPs there.  A VDOM has its own WAN and LAN segments:

    root:  br-wan  203.0.113.0/26   VIP .10   peer "q" (charon "moon") .2
           br-lan  192.0.2.0/26     VIP .1    LAN host "l" .10
           behind moon: 192.0.2.128/26 ("s" .130)
    FWEXT: br-wan2 203.0.113.64/26  VIP .74   peer "p" (charon "sun") .66
           br-lan2 192.0.2.64/26    VIP .65   LAN host "m" .80
           behind sun: 192.0.2.192/26 ("r" .194)
    sync:  a ha0 198.51.100.1 <-> b ha0 198.51.100.2 (corosync knet + crypto)

The FWEXT tunnel (gateway "sun") always exists; the root tunnel (gateway
"moon") only when asked (scenario d).  Priorities and override are per
vcluster and per node.  The generic pieces come from labkit.cluster (halab's
single-vcluster lab): HaHaiked, PingMonitor, swan_lines, log_time_ms.
"""

import glob
import json
import re

from . import cluster as C
from . import corosync as cs_mod
from .charon import Charon
from .haiked import find_binary, gateway, selector
from .netns import LabError
from .proc import wait_for

PSK = "haiked-vdom-lab-psk-not-secret"
ID_CLUSTER = "cluster.lab.example"
IKE_PROPOSAL = C.IKE_PROPOSAL
ESP_PROPOSAL = C.ESP_PROPOSAL
VDOM_EXT = "FWEXT"
TOKEN_MS = C.TOKEN_MS

# sync link and corosync ids: as in labkit.cluster
NODE_IDS = {"a": 1, "b": 2}
SYNC_IP = {"a": "198.51.100.1", "b": "198.51.100.2"}

TOOLS = C.TOOLS


class TunnelSpec:
    """One VDOM's tunnel: its segments, VIPs, peer and LAN hosts."""

    def __init__(self, vdom, vcluster, gw, peer_tag, rhost_tag, lan_tag, wan_net_len, wan_vip,
                 wan_peer, node_wan, lan_vip, node_lan, lan_net, lan_host, rlan_net, rlan_gw,
                 rlan_host, br_wan, br_lan, peer_id):
        self.vdom, self.vcluster, self.gw = vdom, vcluster, gw
        self.peer_tag, self.rhost_tag, self.lan_tag = peer_tag, rhost_tag, lan_tag
        self.plen = wan_net_len
        self.wan_vip, self.wan_peer, self.node_wan = wan_vip, wan_peer, node_wan
        self.lan_vip, self.node_lan = lan_vip, node_lan
        self.lan_net, self.lan_host = lan_net, lan_host
        self.rlan_net, self.rlan_gw, self.rlan_host = rlan_net, rlan_gw, rlan_host
        self.br_wan, self.br_lan = br_wan, br_lan
        self.peer_id = peer_id
        self.ike_name = f"to-{gw}"   # strongSwan's connection name
        self.child = "net"
        self.lplen = int(lan_net.split("/")[1])

    def __repr__(self):
        return f"Tunnel({self.vdom}/{self.gw})"


ROOT = TunnelSpec("root", 1, "moon", "q", "s", "l", 26, "203.0.113.10", "203.0.113.2",
                  {"a": "203.0.113.3", "b": "203.0.113.4"}, "192.0.2.1",
                  {"a": "192.0.2.2", "b": "192.0.2.3"}, "192.0.2.0/26", "192.0.2.10",
                  "192.0.2.128/26", "192.0.2.129", "192.0.2.130", "br-wan", "br-lan",
                  "moon.lab.example")
EXT = TunnelSpec(VDOM_EXT, 2, "sun", "p", "r", "m", 26, "203.0.113.74", "203.0.113.66",
                 {"a": "203.0.113.67", "b": "203.0.113.68"}, "192.0.2.65",
                 {"a": "192.0.2.66", "b": "192.0.2.67"}, "192.0.2.64/26", "192.0.2.80",
                 "192.0.2.192/26", "192.0.2.193", "192.0.2.194", "br-wan2", "br-lan2",
                 "sun.lab.example")
SPECS = {1: ROOT, 2: EXT}

# strongSwan 5.9.8 log lines (filelog, ike_name = yes)
SWAN_ESTABLISHED = r"IKE_SA \S+\[\d+\] established between"
SWAN_INIT = r"(generating|parsed) IKE_SA_INIT (request|response) 0"
SWAN_INIT_REQ = r"(generating|parsed) IKE_SA_INIT request 0"
SWAN_RETRANSMIT = r"retransmit \d+ of request with message ID \d+"
SWAN_DELETING_IKE = r"deleting IKE_SA"
# A CREATE_CHILD_SA request strongSwan *received* (initiated by the cluster).
SWAN_RX_CHILD_REKEY = r"parsed CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]"
SWAN_RX_IKE_REKEY = r"parsed CREATE_CHILD_SA request \d+ \[ SA No KE \]"
SWAN_MID_SYNC_RX = C.SWAN_MID_SYNC_RX

# haiked: lines that must never appear on the master of the SA's vcluster
HK_IGNORED = r"ignoring message on HA synced IKE_SA"
# a message for an IKE SA the node lacks; the tunnel lost and renegotiated
# (the seed's "no suitable IKE_SA" and what followed it)
HK_NO_SA = r"no IKE SA with these SPIs|no suitable IKE_SA|no IKE SA: re-initiating"
# the standby refused a mirror message (counted in `hactl ha stats`)
HK_MIRROR_DROP = r"HA drop \S+ from node"


def swan_conf(spec, child_extra=None):
    child = {"local_ts": spec.rlan_net, "remote_ts": spec.lan_net,
             "esp_proposals": ESP_PROPOSAL, "mode": "tunnel", "rekey_time": 0, "life_time": 0,
             "start_action": "none"}
    child.update(child_extra or {})
    conn = {"version": 2, "local_addrs": spec.wan_peer, "remote_addrs": spec.wan_vip,
            "proposals": IKE_PROPOSAL, "rekey_time": 0, "reauth_time": 0, "dpd_delay": 0,
            "mobike": "no", "local": {"auth": "psk", "id": spec.peer_id},
            "remote": {"auth": "psk", "id": ID_CLUSTER}, "children": {spec.child: child}}
    return {"connections": {spec.ike_name: conn},
            "secrets": {"ike-psk": {"id-1": ID_CLUSTER, "id-2": spec.peer_id, "secret": PSK}}}


class Tunnel:
    """A tunnel of the running lab: its spec, its strongSwan, its LAN host."""

    def __init__(self, cl, spec, charon):
        self.cl, self.spec, self.charon = cl, spec, charon

    @property
    def vcluster(self):
        return self.spec.vcluster

    def ike(self):
        return self.charon.list_sas().get(self.spec.ike_name)

    def child(self):
        ike = self.ike()
        if not ike or ike.get("state") != "ESTABLISHED":
            return None
        kids = [c for c in ike.get("child-sas", {}).values() if c.get("state") == "INSTALLED"]
        return kids[0] if len(kids) == 1 else None

    def spis(self):
        ike, kid = self.ike(), self.child()
        if not ike or not kid:
            raise LabError(f"{self.spec}: strongSwan has no established tunnel: "
                           f"{self.charon.list_sas()}")
        return ike["initiator-spi"], ike["responder-spi"], kid["spi-in"], kid["spi-out"]

    def lines(self, pattern):
        return C.swan_lines(self.charon, pattern)

    def ping(self, interval=0.05, name=None):
        s = self.spec
        return C.PingMonitor(self.cl.ns[s.lan_tag], s.rlan_host, interval=interval,
                             name=name or f"ping-{s.vdom}").start()

    def ping_once(self, count=5):
        s = self.spec
        res = self.cl.ns[s.lan_tag].exec("ping", "-n", "-q", "-c", str(count), "-i", "0.1",
                                         "-W", "1", s.rlan_host, check=False,
                                         timeout=count + 10)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
        return (int(m[1]), int(m[2])) if m else (0, 0)

    def __repr__(self):
        return repr(self.spec)


class VdomCluster(C.ClusterControl):
    """The lab: build in __init__, start() brings everything up.

    initiator: "cluster" (haiked's gateways auto-negotiate from the vcluster's
    master) or "strongswan" (the peers initiate; they then offer RFC 6311).
    priorities: {vcluster: {"a": P, "b": P}}; override: {vcluster: bool}.
    tunnels: which vclusters get a tunnel (2 = FWEXT always; 1 = root too).
    child_keylife / ike_keylife: haiked's (cluster-initiated rekeys), jitter 0.
    """

    def __init__(self, lab, initiator="cluster", priorities=None, override=None,
                 tunnels=(2,), child_keylife=None, ike_keylife=None, token=TOKEN_MS,
                 log_levels=None):
        self.lab = lab
        self.initiator = initiator
        self.token = token
        self.binary = find_binary("daemon/haiked")
        if self.binary is None or find_binary("cli/hactl") is None:
            raise LabError("haiked/hactl not built (set HAIKED_BUILD_DIR)")
        self.priorities = priorities or {1: {"a": 200, "b": 100}, 2: {"a": 200, "b": 100}}
        self.override = override or {1: False, 2: False}
        self.tunnel_vcs = tuple(sorted(tunnels))
        self.child_keylife, self.ike_keylife = child_keylife, ike_keylife
        self.log_levels = {"level": "info", "ike": "debug", "net": "info", "dataplane": "info",
                           "sync": "debug"}
        self.log_levels.update(log_levels or {})
        self._build_net()
        self.key = cs_mod.make_key(lab.path("authkey"))
        cs_nodes = [(NODE_IDS[t], t, SYNC_IP[t]) for t in ("a", "b")]
        self.nodes = {}
        for tag in ("a", "b"):
            cs = cs_mod.Corosync(lab, self.ns[tag], NODE_IDS[tag], cs_nodes, self.key,
                                 token=token, totem_extra=C.COROSYNC_TOTEM)
            node = C.Node.__new__(C.Node)
            node.tag, node.ns, node.corosync, node.cut = tag, self.ns[tag], cs, False
            node.nodeid, node.sync_ip = NODE_IDS[tag], SYNC_IP[tag]
            node.haiked = self._make_haiked(tag)
            self.nodes[tag] = node
        self.a, self.b = self.nodes["a"], self.nodes["b"]
        self.tunnels = {}
        for vc in self.tunnel_vcs:
            spec = SPECS[vc]
            ch = Charon(lab, self.ns[spec.peer_tag], spec.gw, swan_conf(spec),
                        log_levels={"default": 1, "ike": 1, "chd": 1, "enc": 1, "net": 2,
                                    "cfg": 1, "knl": 1, "mgr": 0, "job": 0, "lib": 0})
            self.tunnels[vc] = Tunnel(self, spec, ch)

    # -- config ----------------------------------------------------------------------
    def ha_section(self, tag, priorities=None, override=None):
        prio = priorities or self.priorities
        ovr = override or self.override
        vcs = []
        for vc, spec in SPECS.items():
            vcs.append({"id": vc, "priority": prio[vc][tag], "override": ovr[vc],
                        "vdoms": [spec.vdom],
                        "vips": [{"vdom": spec.vdom, "interface": "wan0",
                                  "address": f"{spec.wan_vip}/{spec.plen}"},
                                 {"vdom": spec.vdom, "interface": "lan0",
                                  "address": f"{spec.lan_vip}/{spec.lplen}"}]})
        return {"group": "haiked", "allow-plaintext-sync": False, "vclusters": vcs}

    def _gateways(self):
        gws = []
        for vc in self.tunnel_vcs:
            s = SPECS[vc]
            sel_extra = {"add_route": True}
            if self.child_keylife:
                sel_extra.update(keylife=self.child_keylife, rekey_jitter=0)
            gw_extra = {"msgid_sync": True, "replay_counter_sync": True}
            if self.ike_keylife:
                gw_extra.update(keylife=self.ike_keylife, rekey_jitter=0)
            gw = gateway(s.gw, s.wan_vip, s.wan_peer, IKE_PROPOSAL,
                         [selector(s.child, s.lan_net, s.rlan_net, ESP_PROPOSAL, **sel_extra)],
                         local_id=ID_CLUSTER, remote_id=s.peer_id,
                         passive=(self.initiator != "cluster"), **gw_extra)
            gw["vdom"] = s.vdom
            gws.append(gw)
        return gws

    def _make_haiked(self, tag, priorities=None, override=None):
        return C.HaHaiked(self.lab, self.ns[tag], f"haiked-{tag}", self._gateways(),
                          {SPECS[vc].gw: PSK for vc in self.tunnel_vcs},
                          self.ha_section(tag, priorities, override),
                          vdoms=[{"name": VDOM_EXT, "netns": self.ns[f"{tag}X"].name}],
                          log_levels=self.log_levels, global_extra={"dataplane": "userspace"},
                          binary=self.binary)

    # -- network -----------------------------------------------------------------------
    def _build_net(self):
        lab = self.lab
        tags = ("sw", "a", "aX", "b", "bX", "p", "r", "q", "s", "l", "m")
        self.ns = {t: lab.netns(t) for t in tags}
        sw = self.ns["sw"]
        for br in ("br-wan", "br-lan", "br-wan2", "br-lan2"):
            sw.ip("link", "add", br, "type", "bridge", "stp_state", "0", "forward_delay", "0")
            sw.up(br)
        lab.veth(self.ns["a"], "ha0", self.ns["b"], "ha0")
        for tag in ("a", "b"):
            self.ns[tag].add_addr("ha0", f"{SYNC_IP[tag]}/24")
        for spec in SPECS.values():
            for tag in ("a", "b"):
                vns = self.ns[tag if spec.vdom == "root" else f"{tag}X"]
                for leg, br, addr, plen in (("wan0", spec.br_wan, spec.node_wan[tag], spec.plen),
                                            ("lan0", spec.br_lan, spec.node_lan[tag],
                                             spec.lplen)):
                    port = f"{tag}{spec.vcluster}-{leg[:3]}"
                    lab.veth(vns, leg, sw, port)
                    sw.ip("link", "set", port, "master", br)
                    vns.add_addr(leg, f"{addr}/{plen}")
                vns.exec("sysctl", "-qw", "net.ipv4.ip_forward=1")
            p, r, lh = self.ns[spec.peer_tag], self.ns[spec.rhost_tag], self.ns[spec.lan_tag]
            port = f"{spec.peer_tag}-wan"
            lab.veth(p, "wan0", sw, port)
            sw.ip("link", "set", port, "master", spec.br_wan)
            p.add_addr("wan0", f"{spec.wan_peer}/{spec.plen}")
            lab.veth(p, "lan0", r, "lan0")
            p.add_addr("lan0", f"{spec.rlan_gw}/{spec.lplen}")
            p.exec("sysctl", "-qw", "net.ipv4.ip_forward=1")
            r.add_addr("lan0", f"{spec.rlan_host}/{spec.lplen}")
            r.add_route(spec.lan_net, via=spec.rlan_gw)
            port = f"{spec.lan_tag}-lan"
            lab.veth(lh, "lan0", sw, port)
            sw.ip("link", "set", port, "master", spec.br_lan)
            lh.add_addr("lan0", f"{spec.lan_host}/{spec.lplen}")
            lh.add_route(spec.rlan_net, via=spec.lan_vip)

    # -- start / stop -------------------------------------------------------------------
    def start(self, wait_tunnels=True):
        for n in (self.a, self.b):
            n.corosync.start()
        wait_for(lambda: all("Members[2]" in n.corosync.log() for n in (self.a, self.b)), 15,
                 "both corosyncs to see two members")
        for t in self.tunnels.values():
            t.charon.start()
            t.charon.load_all()
        for n in (self.a, self.b):
            n.haiked.start()
        self.wait_placement(self.expected_placement(), timeout=25)
        if wait_tunnels:
            for vc in self.tunnels:
                self.bring_up(vc)
        return self

    def expected_placement(self, priorities=None):
        prio = priorities or self.priorities
        return {vc: (self.a if prio[vc]["a"] > prio[vc]["b"] else self.b) for vc in SPECS}

    def bring_up(self, vc, timeout=20):
        t = self.tunnels[vc]
        master = self.master(vc)
        if self.initiator == "strongswan":
            t.charon.initiate(t.spec.child, ike=t.spec.ike_name, timeout=15)
        wait_for(lambda: t.child() is not None, timeout, f"strongSwan's CHILD SA of {t}")
        master.haiked.wait_log(rf"dp \d+:{t.spec.gw}:\d+: CHILD SA {t.spec.child} installed",
                               timeout=timeout)
        return t

    def change_priorities(self, node, priorities, override, timeout=15):
        """The operator's way to change node's vcluster priorities/override:
        rewrite haiked.conf and SIGHUP.  haiked refuses to reload the `ha`
        section ("the ha section changed: restart haiked to apply it", the
        running configuration stays), so it is then restarted (SIGTERM: a
        standby leaves without deleting anything) with the new file.
        Returns the refusal line."""
        old = node.haiked
        new = self._make_haiked(node.tag, priorities, override)   # writes the file
        n_refused = len(old.lines(r"the ha section changed: restart haiked to apply it"))
        old.reload()
        refused = old.wait_log(r"the ha section changed: restart haiked to apply it",
                               timeout=timeout, count=n_refused + 1)[-1]
        old.stop()
        new.proc = old.proc        # HaHaiked.start keeps the earlier log
        node.haiked = new
        new.start(timeout=timeout)
        return refused

    def vips_here(self, node, vc):
        """The VIPs of vcluster vc present in node's VDOM namespace."""
        spec = SPECS[vc]
        vns = self.ns[node.tag if spec.vdom == "root" else f"{node.tag}X"]
        return self.addresses(vns) & {spec.wan_vip, spec.lan_vip}

    @staticmethod
    def addresses(ns):
        data = json.loads(ns.ip("-j", "addr", "show").stdout)
        return {a["local"] for link in data for a in link.get("addr_info", [])}

    # -- hactl ---------------------------------------------------------------------------
    def vcluster(self, node, vc):
        st = self.status(node)
        for v in st.get("cluster", {}).get("vclusters", []):
            if int(v.get("id", -1)) == vc:
                return v
        raise LabError(f"no vcluster {vc} in hactl status of {node}: {st}")

    def role(self, node, vc):
        if node.haiked.proc is None or not node.haiked.proc.alive():
            return None
        try:
            return self.vcluster(node, vc).get("role")
        except LabError:
            return None

    def master(self, vc):
        ms = [n for n in (self.a, self.b) if self.role(n, vc) == "master"]
        return ms[0] if len(ms) == 1 else None

    def other(self, node):
        return self.b if node is self.a else self.a

    def placement_ok(self, placement):
        """Every vcluster's master as given, the other node standby in sync."""
        for vc, m in placement.items():
            o = self.other(m)
            if self.role(m, vc) != "master":
                return False
            if o.haiked.proc is not None and o.haiked.proc.alive():
                v = self.vcluster(o, vc)
                if v.get("role") != "standby" or v.get("sync") != "in-sync":
                    return False
        return True

    def wait_placement(self, placement, timeout=20):
        try:
            wait_for(lambda: self.placement_ok(placement), timeout,
                     f"placement {({vc: n.tag for vc, n in placement.items()})}")
        except TimeoutError as exc:
            raise LabError(f"{exc}\n{self.describe()}") from exc

    def failover(self, node, vc):
        """`hactl failover --vcluster vc` on node (its master)."""
        return self.hactl(node, "failover", "--vcluster", str(vc))

    def hactl_text(self, node, *args):
        return node.haiked.hactl(*args, check=False).stdout

    def describe(self):
        out = []
        for n in (self.a, self.b):
            try:
                out.append(f"--- {n} status: {json.dumps(self.status(n))}")
            except Exception as exc:  # noqa: BLE001 - a diagnostic only
                out.append(f"--- {n} status: {exc}")
            out.append(f"--- {n} haiked log tail:\n{n.haiked.log()[-2500:]}")
        return "\n".join(out)

    def node_sas(self, node, gw):
        """({(spi_i, spi_r)}, {(spi_in, spi_out)}) of gateway gw on node."""
        data = self.hactl(node, "gateway", "list")
        ikes, kids = set(), set()
        for g in data.get("gateways", []):
            if g.get("name") not in (None, gw):
                continue
            for s in g.get("ike_sas", []):
                ikes.add((s["spi_i"], s["spi_r"]))
            for c in g.get("child_sas", []):
                kids.add((c["spi_in"], c["spi_out"]))
        return ikes, kids

    # -- failure ---------------------------------------------------------------------------
    def kill_node(self, node):
        """kill -9 node's haiked and corosync (by our PIDs): the node is gone.
        Returns the wall clock (ms) of the kill."""
        t = C.utc_now_ms()
        for p in (node.haiked.proc, node.corosync.proc):
            if p is not None and p.alive():
                p.send_signal(9)
        for p in (node.haiked.proc, node.corosync.proc):
            if p is not None:
                p.popen.wait(timeout=5)
        return t


def settled_lost(res):
    """A PingResult's lost sequence numbers without the last request: `ping`
    exits on SIGINT at once, so a request sent a few ms before has no reply
    yet (seen: ~1 stop in 10 on a loaded machine) though nothing lost it.
    Callers keep pinging >= 0.5 s past the last event they measure."""
    return [s for s in res.lost_seqs if s != res.sent]


def haiked_log_all(node):
    """Every log of node's haiked (a restart keeps the earlier one as
    haiked.log.<ms>), oldest first."""
    paths = sorted(glob.glob(node.haiked.log_path + ".*")) + [node.haiked.log_path]
    text = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text.append(f.read())
        except FileNotFoundError:
            pass
    return "".join(text)


def haiked_bad_lines(node, pattern, gw=None):
    """Lines of node's haiked logs matching pattern (of gateway gw only)."""
    rx = re.compile(pattern)
    return [line for line in haiked_log_all(node).splitlines()
            if rx.search(line) and (gw is None or f":{gw}:" in line)]


__all__ = ["VdomCluster", "Tunnel", "TunnelSpec", "ROOT", "EXT", "SPECS", "VDOM_EXT",
           "swan_conf", "haiked_bad_lines", "haiked_log_all", "settled_lost"]
