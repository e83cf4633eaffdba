"""iperf3 TCP LAN <-> LAN through an IPsec tunnel between two lab namespaces
(tests/bench/esp.sh runs this; see there). Prints one line per pair/suite:

    esp <pair> <suite> <Mbit/s>
    cpu <pair> <suite> <CPU seconds of both daemons and iperf3 ends per GB>

pairs: haiked-charon (haiked initiator, charon kernel-libipsec responder:
ESP-in-UDP), charon-charon (both kernel-libipsec), haiked-haiked (no NAT:
plain ESP over haiked's raw socket), haiked-haiked-natt (nattraversal
"forced": ESP-in-UDP through both haikeds' 4500 sockets, the path every
strongSwan peer uses).
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))

from labkit import scenario, topo  # noqa: E402
from labkit.charon import Charon  # noqa: E402
from labkit.haiked import Haiked, gateway, selector  # noqa: E402
from labkit.netns import Lab  # noqa: E402
from labkit.proc import wait_for  # noqa: E402

SUITES = {
    "gcm": ("aes256gcm16-prfsha512-ecp521", "aes256gcm16-ecp521"),
    "cbc": ("aes256-sha512-ecp521", "aes256-sha512-ecp521"),
}


def haiked(lab, gw_local, gw_remote, ike, esp, name, passive, id_l, id_r, natt="enable"):
    g = gateway("gw", gw_local.wan_ip, gw_remote.wan_ip, ike,
                [selector("net", gw_local.lan_net, gw_remote.lan_net, esp, add_route=True)],
                local_id=id_l, remote_id=id_r, passive=passive, nattraversal=natt)
    return Haiked(lab, gw_local.ns, name, [g], {"gw": scenario.PSK},
                  log_levels={"level": "info", "ike": "warn", "net": "warn",
                              "dataplane": "info"},
                  global_extra={"dataplane": "userspace"})


# strongSwan's stock log levels (1 for every group, as an installed charon
# logs). labkit's Charon defaults to ike/chd/enc/net 4 for the fixtures that
# read keys out of the log, and net 4 hex-dumps every datagram: with
# kernel-libipsec every ESP-in-UDP packet passes charon's IKE socket, so the
# anchor wrote ~130 MB of log per 5 s run (flush_line) and measured ~30 Mbit/s.
CHARON_STOCK_LOG = {group: 1 for group in
                    ("default", "ike", "chd", "enc", "net", "cfg", "knl", "lib", "mgr", "job")}

# A stock charon logs a few lines per tunnel, none per packet.
LOG_GUARD = 1 << 20


def charon(lab, gw_local, gw_remote, ike, esp, name, id_l, id_r):
    return Charon(lab, gw_local.ns, name,
                  scenario.swanctl_conf(gw_local, gw_remote, id_l, id_r, ike, esp),
                  log_levels=CHARON_STOCK_LOG)


def cpu_seconds(pid):
    """utime + stime of a process and all its threads (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def iperf(gi, gr, secs):
    srv = gr.ns.start(["iperf3", "-s", "-1", "--forceflush", "-B", gr.lan_ip], "iperf3-server")
    wait_for(lambda: "listening" in srv.log().lower(), 10, "iperf3 server")
    res = gi.ns.exec("iperf3", "-J", "-t", str(secs), "-B", gi.lan_ip, "-c", gr.lan_ip,
                     timeout=secs + 30)
    data = json.loads(res.stdout)
    retr = data["end"]["sum_sent"].get("retransmits", 0)
    drops = [udp_rcvbuf_errors(ns) for ns in (gi.ns, gr.ns)]
    print(f"  (tcp retransmits {retr}, udp rcvbuf errors {drops[0]}/{drops[1]})",
          file=sys.stderr, flush=True)
    got = data["end"]["sum_received"]
    cpu = data["end"].get("cpu_utilization_percent", {})
    iperf_cpu = (cpu.get("host_total", 0) + cpu.get("remote_total", 0)) / 100 * got["seconds"]
    return got["bits_per_second"] / 1e6, got["bytes"], iperf_cpu


def measured(daemons, gi, gr, secs):
    """(Mbit/s, CPU seconds spent per GB carried by the two IPsec daemons
    and the two iperf3 ends): the second holds still on a loaded machine,
    where throughput does not. The iperf3 ends count because offloads move
    work between them and the daemons (TCP segmentation, checksums);
    softirq work the kernel does elsewhere is not seen."""
    pids = [d.proc.pid for d in daemons]
    before = sum(cpu_seconds(p) for p in pids)
    mbits, octets, iperf_cpu = iperf(gi, gr, secs)
    used = sum(cpu_seconds(p) for p in pids) - before + iperf_cpu
    return mbits, used / (octets / 1e9) if octets else 0.0


def udp_rcvbuf_errors(ns):
    """UDP RcvbufErrors of a namespace (/proc/net/snmp): datagrams the
    kernel dropped because a socket (e.g. port 4500) was not read in time."""
    lines = [ln.split() for ln in ns.exec("cat", "/proc/net/snmp").stdout.splitlines()
             if ln.startswith("Udp:")]
    return int(lines[1][lines[0].index("RcvbufErrors")])


def run(pair, suite, secs):
    ike, esp = SUITES[suite]
    with Lab() as lab:
        gi, gr = topo.gateway_pair(lab)
        if pair == "haiked-charon":
            r = charon(lab, gr, gi, ike, esp, "sun", scenario.ID_R, scenario.ID_I)
            r.start()
            r.load_all()
            i = haiked(lab, gi, gr, ike, esp, "moon", False, scenario.ID_I, scenario.ID_R)
            i.start()
            i.wait_log(r"CHILD SA net installed")
        elif pair == "charon-charon":
            r = charon(lab, gr, gi, ike, esp, "sun", scenario.ID_R, scenario.ID_I)
            i = charon(lab, gi, gr, ike, esp, "moon", scenario.ID_I, scenario.ID_R)
            r.start()
            i.start()
            r.load_all()
            i.load_all()
            i.initiate("net")
        elif pair in ("haiked-haiked", "haiked-haiked-natt"):
            natt = "forced" if pair.endswith("-natt") else "enable"
            r = haiked(lab, gr, gi, ike, esp, "sun", True, scenario.ID_R, scenario.ID_I, natt)
            r.start()
            i = haiked(lab, gi, gr, ike, esp, "moon", False, scenario.ID_I, scenario.ID_R, natt)
            i.start()
            i.wait_log(r"CHILD SA net installed")
            r.wait_log(r"CHILD SA net installed")
            if natt == "forced" and not i.lines(r"CHILD SA net installed.*UDP-encapsulated"):
                raise RuntimeError(f"{pair} {suite}: the CHILD SA is not UDP-encapsulated")
        else:
            raise ValueError(f"unknown pair {pair}")
        ping = gi.ns.exec("ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", gi.lan_ip, gr.lan_ip,
                          check=False)
        if ping.returncode != 0:
            raise RuntimeError(f"{pair} {suite}: no traffic through the tunnel")
        result = measured((i, r), gi, gr, secs)
        for d in (i, r):
            if isinstance(d, Charon) and os.path.getsize(d.log_path) > LOG_GUARD:
                print(f"  WARNING: charon {d.name} wrote {os.path.getsize(d.log_path)} octets "
                      "of log during the run: per-packet logging, the anchor is not stock",
                      file=sys.stderr, flush=True)
        return result


def main():
    secs = int(os.environ.get("ESP_BENCH_SECONDS", "5"))
    pairs = os.environ.get("ESP_BENCH_PAIRS",
                           "haiked-charon charon-charon haiked-haiked haiked-haiked-natt").split()
    suites = os.environ.get("ESP_BENCH_SUITES", "gcm cbc").split()
    for suite in suites:
        for pair in pairs:
            mbits, cpu_gb = run(pair, suite, secs)
            print(f"esp {pair} {suite} {mbits:.0f}", flush=True)
            print(f"cpu {pair} {suite} {cpu_gb:.2f}", flush=True)


if __name__ == "__main__":
    main()
