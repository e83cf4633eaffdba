"""HA benchmarks (issue 5 "Benchmarks"), run by tests/bench/ha.sh as root.

1. sync: acknowledged sync messages per second (hasync_probe send: every
   message acked by the peer, the write-ahead path) next to the raw CPG rate
   (hasync_probe raw) in the same run, same two corosync namespaces (knet,
   crypto aes256/sha256, token 300). Target: sync >= 50 % of raw.
2. failover: the two-node cluster of tests/lab/labkit/cluster.py with a
   tunnel to strongSwan, `ping -i INTERVAL` LAN -> remote LAN, then KILLS
   times: kill -9 the master's haiked, wait for the takeover, restart the
   killed node (it rejoins as standby). Per kill: the outage traffic saw
   (longest run of lost pings x interval) and the takeover time haiked
   reports (hactl status last_failover.duration_ms); min/median/max.

3. ikerate: IKE_SA/s of ike_loadgen against the cluster's master (the
   standby mirrors every SA; write-ahead holds each IKE response until the
   standby acked its sync message) and against the same haiked without an
   `ha` section, same run, same count; target HA on >= 90 % of HA off
   (ha_on_vs_off_pct). Also per run: CPU ms per IKE SA of every process
   (/proc utime+stime: loadgen, master, standby, both corosyncs), the
   master corosync's totem counters per SA (mcast_tx/rx, orf_token_rx), and
   next to the raw ratio a per-node one (node_capacity_on_vs_off_pct: HA-off
   haiked CPU / (master haiked + its corosync) CPU per SA): on this lab the
   standby node, both corosyncs and the load generator share the same cores
   as the master, which real cluster nodes do not; haiked_capacity_on_vs_off_pct
   (the master haiked's own CPU per SA, off/on: the ratio when corosync,
   the standby and the peers are not on its core) and cpu_bound_on_vs_off_pct
   (every process's CPU, off/on: what the raw ratio tends to when both runs
   saturate this machine's cores).
4. bulk: with HA_BENCH_TUNNELS IKE+CHILD SAs on the master, the standby's
   haiked is restarted: time from "bulk sync ... requested" to "bulk sync
   ... complete" in its log (target <= 2 s for 10,000).

Environment: HA_BENCH_PARTS ("sync failover ikerate"), HA_BENCH_N (sync
messages, 20000), HA_BENCH_KILLS (20), HA_BENCH_INTERVAL (0.01),
HA_BENCH_TUNNELS (10000, ikerate and bulk), HA_BENCH_CONCURRENCY (IKE_SA_INITs
the load generator keeps in flight, 100); HA_BENCH_TOTEM ("key=value ..."
extra corosync totem keys instead of the labs' COROSYNC_TOTEM, "-" for
corosync's defaults), HA_BENCH_PERF (a directory: `perf record` of each
watched process while the load generator runs).
Output: "ha KEY VALUE" lines.
"""

import os
import re
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from labkit import cluster as C  # noqa: E402
from labkit.corosync import Corosync, cleanup_shm, make_key  # noqa: E402
from labkit.haiked import find_binary  # noqa: E402
from labkit.netns import Lab  # noqa: E402
from labkit.proc import wait_for  # noqa: E402


def out(key, value):
    print(f"ha {key} {value}", flush=True)


def field(line, name):
    m = re.search(rf"\b{name}=(\S+)", line)
    return m.group(1) if m else None


def bench_sync(n):
    probe = find_binary("tests/hasync/hasync_probe")
    if not probe:
        out("sync_skipped", "hasync_probe-not-built")
        return
    lab = Lab()
    nodes = []
    try:
        a, b = lab.netns("a"), lab.netns("b")
        lab.veth(a, "ha0", b, "ha0")
        a.add_addr("ha0", "198.51.100.1/24")
        b.add_addr("ha0", "198.51.100.2/24")
        key = make_key(lab.path("authkey"))
        cs_nodes = [(1, "a", "198.51.100.1"), (2, "b", "198.51.100.2")]
        nodes = [Corosync(lab, a, 1, cs_nodes, key, token=C.TOKEN_MS),
                 Corosync(lab, b, 2, cs_nodes, key, token=C.TOKEN_MS)]
        for cs in nodes:
            cs.start()
        group = f"habench-{lab.prefix}"
        rx = b.start([probe, "recv", group], "probe-b")
        wait_for(lambda: "CONNECTED up=1" in rx.log(), 10, "receiver joined")
        tx = a.start([probe, "send", group, str(n), "1000", "256"], "probe-a")
        wait_for(lambda: "DONE" in tx.log() or not tx.alive(), 300, "acked stream done")
        thr = [l for l in tx.log().splitlines() if "THROUGHPUT" in l]
        lat = [l for l in tx.log().splitlines() if "LATENCY" in l]
        if not thr:
            out("sync_error", "no THROUGHPUT line: " + tx.log()[-300:].replace("\n", " | "))
            return
        tx.stop()
        raw = a.exec(probe, "raw", group, str(n), "200", check=False, timeout=300)
        m = re.search(r"rate=(\d+)", raw.stdout)
        acked = float(field(thr[0], "rate"))
        out("sync_acked_msgs_per_s", f"{acked:.0f}")
        out("sync_acked_size", field(thr[0], "size"))
        if lat:
            out("sync_ack_rtt_p50_us", field(lat[0], "p50_us"))
            out("sync_ack_rtt_p99_us", field(lat[0], "p99_us"))
        if m:
            out("raw_cpg_msgs_per_s", m[1])
            out("sync_vs_raw_pct", f"{100.0 * acked / float(m[1]):.1f}")
    finally:
        lab.close()
        cleanup_shm(nodes)


def bench_failover(kills, interval):
    lab = Lab()
    cl = None
    try:
        cl = C.Cluster(lab, initiator="cluster", capture=False,
                       log_levels={"ike": "info", "sync": "info"})
        cl.start()
        outages, takeovers = [], []
        master = cl.a
        for _ in range(kills):
            mon = C.lan_ping(cl, interval=interval)
            time.sleep(1)
            new = cl.other(master)
            master.haiked.kill9()
            cl.wait_master(new, timeout=10)
            time.sleep(1.5)
            res = mon.stop(settle=1.1)
            outages.append(res.outage_ms)
            vc = cl.vcluster(new)
            takeovers.append(vc.get("last_failover", {}).get("duration_ms", -1))
            master.haiked.start()
            cl.wait_roles(master=new, timeout=30)
            master = new
        out("failover_outage_ms_each", " ".join(f"{x:.0f}" for x in outages))
        out("takeover_ms_each", " ".join(str(x) for x in takeovers))
        for name, vals in (("failover_outage_ms", outages), ("takeover_ms", takeovers)):
            s = sorted(vals)
            out(f"{name}_min", f"{s[0]:.0f}")
            out(f"{name}_median", f"{statistics.median(s):.0f}")
            out(f"{name}_max", f"{s[-1]:.0f}")
        out("failover_kills", kills)
        out("failover_ping_interval_ms", f"{interval * 1000:.0f}")
        out("renegotiations", C.swan_negotiations(cl.charon) - 1)
    finally:
        try:
            lab.close()
        finally:
            if cl is not None:
                cleanup_shm([cl.a.corosync, cl.b.corosync])


LG_PSK = "haiked-ha-bench-loadgen-psk"
LG_PROPOSAL, LG_ESP = "aes128-sha256-ecp256", "aes128-sha256"
QUIET = {"level": "warn", "main": "info", "ike": "error", "net": "error", "dataplane": "warn",
         "sync": os.environ.get("HA_BENCH_SYNC_LOG", "info")}
LIMITS = {"ike": {"cookie-threshold": 10000000, "half-open-max": 10000000,
                  "half-open-per-peer": 10000000}}


def dialup(local):
    from labkit.haiked import gateway, selector
    return gateway("lg", local, "any", LG_PROPOSAL,
                   [selector("lg", C.LAN_NET, "100.64.0.0/10", LG_ESP)],
                   passive=True, dpd="disable")


def cpu_ms(pid):
    """utime+stime of a process in ms (/proc/PID/stat fields 14, 15)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def children_cpu_ms():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * 1000.0


def srp_stats(ns):
    """corosync's totem counters (stats.srp.*) of the node in ns."""
    res = ns.exec("corosync-cmapctl", "-m", "stats", "stats.srp.", check=False)
    vals = {}
    for line in res.stdout.splitlines():
        m = re.match(r"stats\.srp\.(\w+) \(\w+\) = (\d+)", line)
        if m:
            vals[m[1]] = int(m[2])
    return vals


def start_perf(watch, name):
    """HA_BENCH_PERF=DIR (diagnostics): `perf record` of each watched
    process while the load generator runs, to DIR/NAME-LABEL.data."""
    d = os.environ.get("HA_BENCH_PERF")
    if not d:
        return []
    import subprocess
    os.makedirs(d, exist_ok=True)
    return [subprocess.Popen(["perf", "record", "-q", "-F", "2999", "-g", "-p", str(pid), "-o",
                              os.path.join(d, f"{name}-{label}.data")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for label, pid in watch.items()]


def stop_perf(procs):
    import signal
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        p.wait(timeout=30)


def run_loadgen(cl, remote, count, peer_pid, name, watch=None, srp=None):
    """watch: {label: pid} whose CPU per SA is reported next to the
    loadgen's own; srp: {label: netns} of corosyncs whose totem message
    counts per SA are reported."""
    watch = dict(watch or {})
    srp = dict(srp or {})
    lg_bin = find_binary("tests/bench/ike_loadgen")
    psk = cl.lab.path("lg.psk")
    fd = os.open(psk, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(LG_PSK + "\n")
    cpu0 = {k: cpu_ms(pid) for k, pid in watch.items()}
    srp0 = {k: srp_stats(ns) for k, ns in srp.items()}
    perf = start_perf(watch, name)
    lg0 = children_cpu_ms()
    conc = os.environ.get("HA_BENCH_CONCURRENCY", "100")
    res = cl.ns["g"].exec(lg_bin, "--remote", remote, "--local", ",".join(C.LOADGEN_ADDRS),
                          "--ports", "32", "--count", str(count), "--concurrency", conc,
                          "--proposal", LG_PROPOSAL, "--esp", LG_ESP, "--psk-file", psk,
                          "--remote-ts", C.LAN_NET, "--inner-net", "100.64.0.0", "--keep",
                          "--peer-pid", str(peer_pid), "--json", check=False, timeout=900)
    lg_cpu = children_cpu_ms() - lg0
    stop_perf(perf)
    cpu = {k: cpu_ms(pid) for k, pid in watch.items()}
    srp1 = {k: srp_stats(ns) for k, ns in srp.items()}
    import json
    try:
        rep = json.loads(res.stdout[res.stdout.index("{"):])
    except ValueError:
        out(f"{name}_error", (res.stdout + res.stderr)[-300:].replace("\n", " | "))
        return None
    est = rep.get("establish", {})
    out(f"{name}_ike_sa_per_s", est.get("per_s"))
    out(f"{name}_peer_cpu_ms_per_sa", est.get("peer_cpu_ms_per_sa"))
    out(f"{name}_established", f"{rep.get('ike_established')}/{count}")
    # CPU ms per SA of every process on the machine's (shared) cores during
    # the run: the load generator itself, and each watched daemon
    per = {"loadgen": lg_cpu}
    for k in watch:
        if cpu0[k] is not None and cpu[k] is not None:
            per[k] = cpu[k] - cpu0[k]
    out(f"{name}_cpu_ms_per_sa", " ".join(f"{k}={v / count:.3f}" for k, v in per.items()))
    for k in srp:
        a, b = srp0[k], srp1[k]
        out(f"{name}_totem_per_sa_{k}", " ".join(
            f"{f}={(b.get(f, 0) - a.get(f, 0)) / count:.2f}"
            for f in ("mcast_tx", "mcast_rx", "orf_token_tx", "orf_token_rx")))
    rep["_cpu_ms"] = per
    return rep


def bench_totem():
    """The cluster labs' totem keys (C.COROSYNC_TOTEM), or HA_BENCH_TOTEM=
    "key=value ..." for experiments ("-" for corosync's defaults)."""
    env = os.environ.get("HA_BENCH_TOTEM")
    if env is None:
        return C.COROSYNC_TOTEM
    return dict(x.split("=", 1) for x in env.split() if "=" in x)


def bench_ikerate_and_bulk(count, parts):
    from labkit.haiked import Haiked
    rates = {}
    # HA on: the full cluster, loadgen against the master's VIP
    lab = Lab()
    cl = None
    try:
        cl = C.Cluster(lab, initiator="strongswan", extra_gateways=[dialup(C.WAN_VIP)],
                       extra_psks={"lg": LG_PSK}, global_extra=LIMITS, loadgen=True,
                       capture=False, log_levels=QUIET, corosync_totem=bench_totem())
        cl.start(wait_tunnel=False)
        if "ikerate" in parts:
            watch = {"master": cl.a.haiked.proc.pid, "standby": cl.b.haiked.proc.pid,
                     "corosync_a": cl.a.corosync.proc.pid, "corosync_b": cl.b.corosync.proc.pid}
            rates["on"] = run_loadgen(cl, C.WAN_VIP, count, cl.a.haiked.proc.pid, "ha_on",
                                      watch=watch, srp={"a": cl.ns["a"]})
            st = cl.hactl(cl.a, "ha", "stats")
            out("ha_on_held_datagrams", st.get("held_datagrams"))
            out("ha_on_held_max_us", st.get("held_max_us"))
            ch = st.get("channel", {})
            out("ha_on_channel", " ".join(f"{k}={ch.get(k)}" for k in
                                          ("sent", "acks_received", "try_again", "queue_peak")))
        else:
            run_loadgen(cl, C.WAN_VIP, count, cl.a.haiked.proc.pid, "bulk_setup")
        if "bulk" in parts:
            wait_for(lambda: cl.vcluster(cl.b).get("ike_sas") == count, 120,
                     "standby to mirror every SA")
            va, vb = cl.vcluster(cl.a), cl.vcluster(cl.b)
            out("bulk_master_sas", f"{va.get('ike_sas')}+{va.get('child_sas')}")
            out("bulk_standby_live_sas", f"{vb.get('ike_sas')}+{vb.get('child_sas')}")
            cl.b.haiked.kill9()
            cl.b.haiked.start()
            cl.wait_roles(master=cl.a, timeout=120)
            req = [l for l in cl.b.haiked.lines(r"HA bulk sync of virtual cluster \d+ requested")]
            done = cl.b.haiked.lines(r"HA bulk sync of virtual cluster \d+ complete")
            if req and done:
                ms = C.log_time_ms(done[-1]) - C.log_time_ms(req[-1])
                m = re.search(r"complete: (\d+) IKE SA\(s\), (\d+) CHILD SA", done[-1])
                out("bulk_sync_ms", f"{ms:.0f}")
                out("bulk_sync_sas", f"{m[1]}+{m[2]}" if m else done[-1])
            else:
                out("bulk_sync_error", "no requested/complete lines in the standby's log")
    finally:
        try:
            lab.close()
        finally:
            if cl is not None:
                cleanup_shm([cl.a.corosync, cl.b.corosync])
    if "ikerate" not in parts:
        return
    # HA off: the same haiked config without `ha`, node a's own WAN address
    lab = Lab()
    try:
        cl = C.Cluster(lab, loadgen=True, capture=False)  # the network only
        h = Haiked(lab, cl.ns["a"], "haiked-solo", [dialup(C.NODES["a"][1])], {"lg": LG_PSK},
                   log_levels=QUIET, global_extra=dict({"dataplane": "userspace"}, **LIMITS))
        h.start()
        rates["off"] = run_loadgen(cl, C.NODES["a"][1], count, h.proc.pid, "ha_off",
                                   watch={"master": h.proc.pid})
    finally:
        lab.close()
    on, off = rates.get("on"), rates.get("off")
    per_s = [r and r.get("establish", {}).get("per_s") for r in (on, off)]
    if per_s[0] and per_s[1]:
        out("ha_on_vs_off_pct", f"{100.0 * per_s[0] / per_s[1]:.1f}")
    # Next to the raw ratio, not instead of it: on this lab both cluster
    # nodes, both corosyncs and the load generator share the machine's cores,
    # so HA on also pays for the standby node. A node's own capacity is its
    # CPU per SA: the master's haiked + its corosync with HA, haiked alone
    # without; the ratio is the IKE_SA/s one node could sustain, CPU-bound.
    if on and off and "corosync_a" in on["_cpu_ms"] and "master" in off["_cpu_ms"]:
        node_on = (on["_cpu_ms"]["master"] + on["_cpu_ms"]["corosync_a"]) / count
        node_off = off["_cpu_ms"]["master"] / count
        all_on = sum(on["_cpu_ms"].values()) / count
        all_off = sum(off["_cpu_ms"].values()) / count
        out("node_cpu_ms_per_sa", f"on={node_on:.3f} off={node_off:.3f} "
            "(master node: haiked + its corosync)")
        out("all_cpu_ms_per_sa", f"on={all_on:.3f} off={all_off:.3f} (every process of the run)")
        if node_on > 0:
            out("node_capacity_on_vs_off_pct", f"{100.0 * node_off / node_on:.1f}")
        # The single-threaded haiked's own capacity (its CPU per SA off/on):
        # the IKE_SA/s ratio where corosync, the standby and the peers do not
        # share its core. And the ratio this machine allows when both runs
        # are CPU-bound: every process of the run shares its 2 cores.
        master_on = on["_cpu_ms"]["master"] / count
        if master_on > 0:
            out("haiked_capacity_on_vs_off_pct", f"{100.0 * node_off / master_on:.1f}")
        if all_on > 0:
            out("cpu_bound_on_vs_off_pct", f"{100.0 * all_off / all_on:.1f}")


def main():
    parts = os.environ.get("HA_BENCH_PARTS", "sync failover ikerate bulk").split()
    if "sync" in parts:
        bench_sync(int(os.environ.get("HA_BENCH_N", "20000")))
    if "failover" in parts:
        bench_failover(int(os.environ.get("HA_BENCH_KILLS", "20")),
                       float(os.environ.get("HA_BENCH_INTERVAL", "0.01")))
    if "ikerate" in parts or "bulk" in parts:
        bench_ikerate_and_bulk(int(os.environ.get("HA_BENCH_TUNNELS", "10000")), parts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
