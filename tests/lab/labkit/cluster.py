"""A two-node haiked cluster lab (issue 5): corosync + two haikeds + a strongSwan peer.

Topology (every link a veth made directly inside the namespaces; the two
"switches" are bridges in a namespace of their own, so nothing appears in the
host namespace):

    LAN host "l"  192.0.2.10 ----+                 +--- "a" lan0 192.0.2.2   wan0 203.0.113.3 ---+
      (via 192.0.2.1 = LAN VIP)  +-- br-lan ("sw") +--- "b" lan0 192.0.2.3   wan0 203.0.113.4 ---+-- br-wan ("sw") -- "p" wan0 203.0.113.2 (charon "sun")
                                                   "a" ha0 198.51.100.1 <-> "b" ha0 198.51.100.2   "p" lan0 192.0.2.129 -- "r" 192.0.2.130
                                                       (corosync knet, crypto)

The VIPs 203.0.113.10/24 (wan0, the IKE/ESP address strongSwan talks to) and
192.0.2.1/25 (lan0, the LAN host's gateway) are added by haiked on the master
of virtual cluster 1 (config `ha.vclusters[].vips`); the lab never adds them.
Both nodes run the same haiked.conf except the priority (a: 200, b: 100).
The protected traffic runs LAN host <-> remote LAN host (192.0.2.10 <->
192.0.2.130), through the master's userspace ESP and strongSwan's
kernel-libipsec, so a takeover has to move the VIPs (gratuitous ARP on both
bridges) as well as the SAs.

Teardown: Lab.close() (processes by PID, namespaces) then the /dev/shm qb-*
files of our corosyncs (also the ones we kill -9).
"""

import itertools
import json
import os
import re
import signal
import time
from collections import Counter
from datetime import datetime, timezone

from . import corosync as cs_mod
from .capture import Capture, read_udp
from .charon import Charon
from .haiked import Haiked, find_binary, gateway, selector
from .netns import LabError, run
from .proc import wait_for

PSK = "haiked-ha-lab-psk-not-secret"
ID_CLUSTER = "cluster.lab.example"
ID_PEER = "sun.lab.example"
GW = "sun"          # haiked's gateway name
IKE_NAME = "hq"     # strongSwan's connection name
CHILD = "net"
IKE_PROPOSAL = "aes256gcm16-prfsha512-ecp521"
ESP_PROPOSAL = "aes256gcm16-ecp521"

WAN_VIP, WAN_PEER = "203.0.113.10", "203.0.113.2"
LAN_VIP = "192.0.2.1"
LAN_NET, RLAN_NET = "192.0.2.0/25", "192.0.2.128/25"
LAN_HOST, RLAN_GW, RLAN_HOST = "192.0.2.10", "192.0.2.129", "192.0.2.130"
NODES = {
    # tag: (corosync node id, WAN address, LAN address, sync address, priority)
    "a": (1, "203.0.113.3", "192.0.2.2", "198.51.100.1", 200),
    "b": (2, "203.0.113.4", "192.0.2.3", "198.51.100.2", 100),
}
LOADGEN_ADDRS = ("203.0.113.20", "203.0.113.21", "203.0.113.22", "203.0.113.23")
VCLUSTER = 1
TOKEN_MS = 300
# Extra totem keys of the cluster labs (production two-node setting, see
# daemon/ha/README.md "corosync settings"): the ring representative holds
# the token after one rotation without new messages instead of 30, so an
# idle-between-bursts sync stream does not keep the token spinning (with knet
# crypto each rotation costs both corosyncs CPU; measured 5x less corosync CPU
# per IKE SA in tests/bench/ha.sh). Failure detection is unchanged: a held
# token is still retransmitted every `hold` ms, well inside `token`.
COROSYNC_TOTEM = {"seqno_unchanged_const": 1}

TOOLS = ("ip", "nft", "tshark", "swanctl", "/usr/lib/ipsec/charon", cs_mod.COROSYNC,
         cs_mod.KEYGEN)


def utc_now_ms():
    return time.time() * 1000.0


def log_time_ms(line):
    """Wall clock (ms since the epoch) of a haiked log line
    ("2026-12-02T01:02:03.456Z ..."); None without a timestamp."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z ", line)
    if not m:
        return None
    t = datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return t.timestamp() * 1000.0 + int(m[2])


# ---- haiked with an `ha` section -----------------------------------------------------

class HaHaiked(Haiked):
    """Haiked whose haiked.conf also carries the top-level `ha` section."""

    def __init__(self, lab, ns, name, gateways, psks, ha, **kwargs):
        self.ha = ha
        super().__init__(lab, ns, name, gateways, psks, **kwargs)

    def write_config(self):
        super().write_config()
        from .haiked import render_conf
        with open(self.conf_path, "a", encoding="utf-8") as f:
            f.write(render_conf({"ha": self.ha}))

    def start(self, timeout=15):
        # Started a second time (restart): keep the earlier log for the report.
        if self.proc is not None and os.path.exists(self.log_path):
            os.rename(self.log_path, f"{self.log_path}.{int(time.time() * 1000)}")
        super().start(timeout=timeout)
        # "started" comes before the HA layer starts (ring-crypto check, CPG):
        # wait for that too, or for the process to die with the reason.
        self.wait_log(r"HA started: CPG group", timeout=timeout)
        return self

    def kill9(self):
        """kill -9 by our PID, reaped; returns the wall clock (ms) of the kill."""
        t = utc_now_ms()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.popen.wait(timeout=5)
        return t


def ha_section(priority, override=False, extra=None, vips=None):
    ha = {
        "group": "haiked",
        "allow-plaintext-sync": False,
        "vclusters": [{
            "id": VCLUSTER, "priority": priority, "override": override, "vdoms": ["root"],
            "vips": vips if vips is not None else [
                {"vdom": "root", "interface": "wan0", "address": f"{WAN_VIP}/24"},
                {"vdom": "root", "interface": "lan0", "address": f"{LAN_VIP}/25"},
            ],
        }],
    }
    ha.update(extra or {})
    return ha


# ---- strongSwan peer -------------------------------------------------------------------

def peer_swanctl(initiate=False, child_extra=None, ike_extra=None):
    """The peer's view: one IKE SA to the WAN VIP, one CHILD SA RLAN <-> LAN.
    Rekeys and DPD only when the test asks (rekey_time 0, dpd_delay 0)."""
    child = {"local_ts": RLAN_NET, "remote_ts": LAN_NET, "esp_proposals": ESP_PROPOSAL,
             "mode": "tunnel", "rekey_time": 0, "life_time": 0,
             "start_action": "none"}
    child.update(child_extra or {})
    conn = {"version": 2, "local_addrs": WAN_PEER, "remote_addrs": WAN_VIP,
            "proposals": IKE_PROPOSAL, "rekey_time": 0, "reauth_time": 0, "dpd_delay": 0,
            "mobike": "no", "local": {"auth": "psk", "id": ID_PEER},
            "remote": {"auth": "psk", "id": ID_CLUSTER}, "children": {CHILD: child}}
    conn.update(ike_extra or {})
    return {"connections": {IKE_NAME: conn},
            "secrets": {"ike-psk": {"id-1": ID_CLUSTER, "id-2": ID_PEER, "secret": PSK}}}


# strongSwan 5.9.8 log lines (filelog with ike_name = yes).
SWAN_ESTABLISHED = r"IKE_SA \S+\[\d+\] established between"
SWAN_INIT_OUT = r"generating IKE_SA_INIT request 0"
SWAN_INIT_IN = r"parsed IKE_SA_INIT request 0"
SWAN_MID_SYNC_RX = r"parsed INFORMATIONAL request 0 \[ N\(MSG_ID_SYN\) "
SWAN_MID_SYNC_DONE = r"responder requested MID sync: initiating (\d+)\[(\d+)\], responding (\d+)\[(\d+)\]"


def swan_lines(charon, pattern):
    rx = re.compile(pattern)
    return [l for l in charon.log().splitlines() if rx.search(l)]


def swan_negotiations(charon):
    """IKE_SA_INIT exchanges strongSwan took part in (either side)."""
    return len(swan_lines(charon, SWAN_INIT_OUT)) + len(swan_lines(charon, SWAN_INIT_IN))


# ---- ping under failover ---------------------------------------------------------------

_PING_SEQ = itertools.count(1)
PING_REPLY = re.compile(r"^\[(?P<ts>\d+\.\d+)\] \d+ bytes from \S+: icmp_seq=(?P<seq>\d+) ")


class PingMonitor:
    """`ping -D -O -i INTERVAL` in the background; stop() gives sent/lost and gaps.

    lost_seqs are the sequence numbers without a reply; longest_gap_ms is the
    longest time between two consecutive replies (from ping's -D clock), the
    outage as traffic saw it."""

    def __init__(self, ns, dst, interval=0.05, name="ping", src=None):
        self.ns, self.dst, self.interval, self.name, self.src = ns, dst, interval, name, src
        self.proc = None
        self.t0 = None

    def start(self):
        argv = ["ping", "-n", "-D", "-O", "-i", str(self.interval), "-W", "1", self.dst]
        if self.src:
            argv[1:1] = ["-I", self.src]
        self.t0 = time.time()
        # A log of its own: Procs appends to NAME.out, and a second monitor
        # of the same name would parse the first one's replies.
        self.proc = self.ns.start(argv, f"{self.name}-{next(_PING_SEQ)}")
        return self

    def replies(self):
        out = {}
        for line in self.proc.log().splitlines():
            m = PING_REPLY.match(line)
            if m and "(DUP!)" not in line:
                out.setdefault(int(m["seq"]), float(m["ts"]))
        return out

    def stop(self, settle=1.2):
        """Let the last requests be answered (-W 1), then SIGINT; the result."""
        time.sleep(settle)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.popen.wait(timeout=5)
        except Exception:  # noqa: BLE001 - Proc.stop() kills it for sure
            self.proc.stop()
        return self.result()

    def result(self):
        log = self.proc.log()
        m = re.search(r"(\d+) packets transmitted, (\d+) received", log)
        rep = self.replies()
        sent = int(m[1]) if m else (max(rep) if rep else 0)
        # ping exits on SIGINT at once: a request sent a few ms before has
        # no reply yet though nothing lost it (seen ~1 stop in 10 under
        # load). Callers keep pinging past the events they measure.
        if sent and sent not in rep:
            sent -= 1
        seqs = sorted(rep)
        lost = [s for s in range(1, sent + 1) if s not in rep]
        gap = 0.0
        for x, y in zip(seqs, seqs[1:]):
            gap = max(gap, (rep[y] - rep[x]) * 1000.0)
        run_max = cur = 0
        for s in range(1, sent + 1):
            cur = cur + 1 if s not in rep else 0
            run_max = max(run_max, cur)
        return PingResult(sent, len(rep), lost, gap, run_max, self.interval)


class PingResult:
    def __init__(self, sent, received, lost_seqs, longest_gap_ms, longest_run, interval):
        self.sent, self.received = sent, received
        self.lost_seqs = lost_seqs
        self.lost = len(lost_seqs)
        self.longest_gap_ms = longest_gap_ms
        self.longest_run = longest_run
        self.interval = interval

    @property
    def outage_ms(self):
        """The longest run of lost requests, in ms of traffic."""
        return self.longest_run * self.interval * 1000.0

    def __repr__(self):
        return (f"ping sent={self.sent} received={self.received} lost={self.lost} "
                f"longest_run={self.longest_run} ({self.outage_ms:.0f} ms) "
                f"longest_gap={self.longest_gap_ms:.0f} ms lost_seqs={self.lost_seqs[:40]}")


# ---- ESP on the wire -------------------------------------------------------------------

ESP_BPF = "udp port 4500 and udp[8:4] != 0"


def esp_packets(path, src=None):
    """[(src, spi hex, seq)] of the ESP-in-UDP datagrams in a capture."""
    out = []
    for _n, s, _sp, _d, _dp, payload in read_udp(path):
        if len(payload) < 8 or payload[:4] == b"\0\0\0\0":
            continue
        if src is None or s == src:
            out.append((s, payload[:4].hex(), int.from_bytes(payload[4:8], "big")))
    return out


def duplicate_spi_seq(packets):
    """(SPI, sequence) pairs seen more than once, with their counts."""
    c = Counter((spi, seq) for _s, spi, seq in packets)
    return {k: v for k, v in c.items() if v > 1}


# ---- the cluster -----------------------------------------------------------------------

class Node:
    def __init__(self, tag, ns, corosync, haiked):
        self.tag, self.ns, self.corosync, self.haiked = tag, ns, corosync, haiked
        self.nodeid, self.wan, self.lan, self.sync_ip, self.priority = NODES[tag]
        self.cut = False

    @property
    def name(self):
        return self.tag

    def __repr__(self):
        return f"Node({self.tag})"


class ClusterControl:
    """What every two-node lab shares: teardown and hactl --json on a node.
    Needs self.lab (the namespaces) and self.a / self.b (Node)."""

    def close(self):
        try:
            self.lab.close()
        finally:
            cs_mod.cleanup_shm([self.a.corosync, self.b.corosync])

    # -- hactl ----------------------------------------------------------------------
    def hactl(self, node, *args, check=True):
        """hactl --json ARGS on node's haiked, parsed."""
        res = node.haiked.hactl("--json", *args, check=check)
        try:
            return json.loads(res.stdout)
        except json.JSONDecodeError as exc:
            raise LabError(f"hactl --json {' '.join(args)} on {node}: not JSON:\n"
                           f"{res.stdout}{res.stderr}") from exc

    def status(self, node):
        return self.hactl(node, "status")


class Cluster(ClusterControl):
    """Builds the lab; start() brings up corosync, charon and both haikeds.

    initiator: "cluster" (haiked auto-negotiates from the master) or
    "strongswan" (the peer initiates; strongSwan then offers RFC 6311).
    charon_extra: strongswan.conf's charon keys (e.g. the UML test's plugin
    list without kernel-libipsec: ESP in the kernel).
    """

    def __init__(self, lab, initiator="cluster", ha_extra=None, gw_extra=None, sel_extra=None,
                 swan_child=None, swan_ike=None, token=TOKEN_MS, priorities=None,
                 override=False, log_levels=None, capture=True, extra_gateways=None,
                 extra_psks=None, global_extra=None, loadgen=False,
                 corosync_totem=COROSYNC_TOTEM, charon_extra=None):
        self.lab = lab
        self.loadgen = loadgen
        self.initiator = initiator
        self.token = token
        self.binary = find_binary("daemon/haiked")
        if self.binary is None or find_binary("cli/hactl") is None:
            raise LabError("haiked/hactl not built (set HAIKED_BUILD_DIR)")
        self._build_net()
        key = cs_mod.make_key(lab.path("authkey"))
        cs_nodes = [(NODES[t][0], t, NODES[t][3]) for t in ("a", "b")]
        self.nodes = {}
        priorities = priorities or {t: NODES[t][4] for t in NODES}
        # RFC 6311 on (config keys msgid-sync / replay-counter-sync): used
        # only with a peer that offers it too (strongSwan does as initiator).
        gw_opts = {"msgid_sync": True, "replay_counter_sync": True}
        gw_opts.update(gw_extra or {})
        for tag in ("a", "b"):
            ns = self.ns[tag]
            cs = cs_mod.Corosync(lab, ns, NODES[tag][0], cs_nodes, key, token=token,
                                 totem_extra=corosync_totem)
            gw = gateway(GW, WAN_VIP, WAN_PEER, IKE_PROPOSAL,
                         [selector(CHILD, LAN_NET, RLAN_NET, ESP_PROPOSAL, add_route=True,
                                   **(sel_extra or {}))],
                         local_id=ID_CLUSTER, remote_id=ID_PEER,
                         passive=(initiator != "cluster"), **gw_opts)
            levels = {"level": "info", "ike": "debug", "net": "info", "dataplane": "info",
                      "sync": "debug"}
            levels.update(log_levels or {})
            glob = {"dataplane": "userspace"}
            glob.update(global_extra or {})
            h = HaHaiked(lab, ns, f"haiked-{tag}", [gw] + list(extra_gateways or []),
                         dict({GW: PSK}, **(extra_psks or {})),
                         ha_section(priorities[tag], override=override, extra=ha_extra),
                         log_levels=levels, global_extra=glob, binary=self.binary)
            self.nodes[tag] = Node(tag, ns, cs, h)
        self.a, self.b = self.nodes["a"], self.nodes["b"]
        self.charon = Charon(lab, self.ns["p"], "sun", peer_swanctl(child_extra=swan_child,
                                                                   ike_extra=swan_ike),
                             log_levels={"default": 1, "ike": 1, "chd": 1, "enc": 1, "net": 2,
                                         "cfg": 1, "knl": 1, "mgr": 0, "job": 0, "lib": 0},
                             charon_extra=charon_extra)
        self.capture = None
        if capture:
            self.capture = Capture(self.ns["p"], "wan0", lab.path("esp.pcapng"), bpf=ESP_BPF,
                                   name="esp-capture")

    # -- network -----------------------------------------------------------------
    def _build_net(self):
        lab = self.lab
        self.ns = {t: lab.netns(t) for t in ("sw", "a", "b", "p", "l", "r")}
        sw = self.ns["sw"]
        for br in ("br-wan", "br-lan"):
            sw.ip("link", "add", br, "type", "bridge", "stp_state", "0", "forward_delay", "0")
            sw.up(br)
        for tag in ("a", "b", "p"):
            lab.veth(self.ns[tag], "wan0", sw, f"{tag}-wan")
            sw.ip("link", "set", f"{tag}-wan", "master", "br-wan")
        for tag in ("a", "b", "l"):
            lab.veth(self.ns[tag], "lan0", sw, f"{tag}-lan")
            sw.ip("link", "set", f"{tag}-lan", "master", "br-lan")
        if self.loadgen:
            # the load generator's "branches" (tests/bench/ike_loadgen)
            g = self.ns["g"] = lab.netns("g")
            lab.veth(g, "wan0", sw, "g-wan")
            sw.ip("link", "set", "g-wan", "master", "br-wan")
            for addr in LOADGEN_ADDRS:
                g.add_addr("wan0", f"{addr}/24")
        lab.veth(self.ns["a"], "ha0", self.ns["b"], "ha0")
        lab.veth(self.ns["p"], "lan0", self.ns["r"], "lan0")
        for tag in ("a", "b"):
            _nid, wan, lan, sync_ip, _prio = NODES[tag]
            ns = self.ns[tag]
            ns.add_addr("wan0", f"{wan}/24")
            ns.add_addr("lan0", f"{lan}/25")
            ns.add_addr("ha0", f"{sync_ip}/24")
            ns.exec("sysctl", "-qw", "net.ipv4.ip_forward=1")
            if os.environ.get("HA_LAB_NONLOCAL_BIND"):
                # Diagnostic only (never in CI): lets a haiked that binds its
                # gateway's VIP without IP_FREEBIND start on the standby.
                ns.exec("sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1")
        p = self.ns["p"]
        p.add_addr("wan0", f"{WAN_PEER}/24")
        p.add_addr("lan0", f"{RLAN_GW}/25")
        p.exec("sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.ns["l"].add_addr("lan0", f"{LAN_HOST}/25")
        self.ns["l"].add_route(RLAN_NET, via=LAN_VIP)
        self.ns["r"].add_addr("lan0", f"{RLAN_HOST}/25")
        self.ns["r"].add_route(LAN_NET, via=RLAN_GW)

    # -- start / stop -------------------------------------------------------------
    def start(self, wait_tunnel=True):
        for n in (self.a, self.b):
            n.corosync.start()
        wait_for(lambda: all("Members[2]" in n.corosync.log() for n in (self.a, self.b)), 15,
                 "both corosyncs to see two members")
        self.charon.start()
        self.charon.load_all()
        if self.capture:
            self.capture.start()
        for n in (self.a, self.b):
            n.haiked.start()
        self.wait_roles(master=self.a, timeout=20)
        if wait_tunnel:
            self.bring_up_tunnel()
        return self

    def bring_up_tunnel(self, timeout=20):
        if self.initiator == "strongswan":
            self.charon.initiate(CHILD, ike=IKE_NAME, timeout=15)
        wait_for(lambda: self.swan_child() is not None, timeout, "strongSwan's CHILD SA")
        self.a.haiked.wait_log(rf"CHILD SA {CHILD} installed", timeout=timeout)
        return self


    def vcluster(self, node, vc=VCLUSTER):
        """This node's entry for virtual cluster vc in `hactl --json status`."""
        st = self.status(node)
        for v in st.get("cluster", {}).get("vclusters", []):
            if int(v.get("id", -1)) == vc:
                return v
        raise LabError(f"no vcluster {vc} in hactl status of {node}: {st}")

    def role(self, node, vc=VCLUSTER):
        """'master', 'standby', 'syncing', 'waiting'... (lower case) or None when
        haiked does not answer."""
        if node.haiked.proc is None or not node.haiked.proc.alive():
            return None
        try:
            v = self.vcluster(node, vc)
        except LabError:
            return None
        return v.get("role")

    def sync_state(self, node, vc=VCLUSTER):
        """"in-sync", "syncing", "behind" or "alone"."""
        return self.vcluster(node, vc).get("sync")

    def wait_roles(self, master, timeout=20):
        """master is master, the other node standby and in sync."""
        other = self.b if master is self.a else self.a

        def ok():
            return (self.role(master) == "master" and self.role(other) == "standby"
                    and self.sync_state(other) == "in-sync")
        try:
            wait_for(ok, timeout, f"{master} master, {other} standby in sync")
        except TimeoutError as exc:
            raise LabError(f"{exc}\n{self.describe()}") from exc

    def other(self, node):
        return self.b if node is self.a else self.a

    def master(self):
        masters = [n for n in (self.a, self.b) if self.role(n) == "master"]
        return masters[0] if len(masters) == 1 else None

    def describe(self):
        out = []
        for n in (self.a, self.b):
            try:
                out.append(f"--- {n} status: {json.dumps(self.status(n))}")
            except Exception as exc:  # noqa: BLE001 - a diagnostic only
                out.append(f"--- {n} status: {exc}")
            out.append(f"--- {n} haiked log tail:\n{n.haiked.log()[-2500:]}")
        return "\n".join(out)

    # -- SAs -------------------------------------------------------------------------
    def swan_ike(self):
        return self.charon.list_sas().get(IKE_NAME)

    def swan_child(self):
        ike = self.swan_ike()
        if not ike or ike.get("state") != "ESTABLISHED":
            return None
        kids = [c for c in ike.get("child-sas", {}).values() if c.get("state") == "INSTALLED"]
        return kids[0] if len(kids) == 1 else None

    def swan_spis(self):
        """(ike spi_i, spi_r, child spi-in, spi-out) on strongSwan's side."""
        ike = self.swan_ike()
        kid = self.swan_child()
        if not ike or not kid:
            raise LabError(f"strongSwan has no established tunnel: {self.charon.list_sas()}")
        return ike["initiator-spi"], ike["responder-spi"], kid["spi-in"], kid["spi-out"]

    def node_sas(self, node):
        """({(spi_i, spi_r)} IKE SAs, {(spi_in, spi_out)} CHILD SAs) from
        `hactl --json gateway list` (a standby lists its mirrored SAs)."""
        data = self.hactl(node, "gateway", "list")
        ikes, kids = set(), set()
        for g in data.get("gateways", []):
            for s in g.get("ike_sas", []):
                ikes.add((s["spi_i"], s["spi_r"]))
            for c in g.get("child_sas", []):
                kids.add((c["spi_in"], c["spi_out"]))
        return ikes, kids

    # -- failure injection -----------------------------------------------------------
    def cut_sync(self, node):
        """Drop everything on node's sync link (ha0) both ways with nft."""
        rules = ("table inet hkcut {\n"
                 " chain in { type filter hook input priority -300; iifname \"ha0\" drop; }\n"
                 " chain out { type filter hook output priority -300; oifname \"ha0\" drop; }\n"
                 "}\n")
        path = self.lab.path(f"cut-{node.tag}.nft")
        with open(path, "w", encoding="utf-8") as f:
            f.write(rules)
        t = utc_now_ms()
        node.ns.exec("nft", "-f", path)
        node.cut = True
        return t

    def heal_sync(self, node):
        node.ns.exec("nft", "delete", "table", "inet", "hkcut")
        node.cut = False
        return utc_now_ms()

    def wait_master(self, node, timeout=10):
        try:
            return wait_for(lambda: self.role(node) == "master", timeout, f"{node} master")
        except TimeoutError as exc:
            raise LabError(f"{exc}\n{self.describe()}") from exc

    def takeover_line(self, node, after_ms):
        """The first log line of node's haiked about a takeover after after_ms."""
        for line in node.haiked.log().splitlines():
            t = log_time_ms(line)
            if t is not None and t >= after_ms and re.search(r"HA .*takeover|takeover", line,
                                                              re.I):
                return t, line
        return None


def lan_ping(cluster, interval=0.05, name="ping"):
    """LAN host -> remote LAN host through the cluster's VIP and the tunnel."""
    return PingMonitor(cluster.ns["l"], RLAN_HOST, interval=interval, name=name).start()


def ping_once(cluster, count=5):
    res = cluster.ns["l"].exec("ping", "-n", "-q", "-c", str(count), "-i", "0.1", "-W", "1",
                               RLAN_HOST, check=False, timeout=count + 10)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    return (int(m[1]), int(m[2])) if m else (0, 0)


__all__ = ["Cluster", "Node", "HaHaiked", "PingMonitor", "PingResult", "esp_packets",
           "duplicate_spi_seq", "swan_lines", "swan_negotiations", "lan_ping", "ping_once",
           "log_time_ms", "utc_now_ms", "run"]
