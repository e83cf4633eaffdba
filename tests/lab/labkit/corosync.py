"""corosync nodes for namespace labs (LAB.md "corosync").

One Corosync per namespace: its own directory (corosync.conf, state/, run/ bind-
mounted over /run so the hard-wired /run/corosync.pid stays apart, log file),
knet transport, crypto on by default with a key made by corosync-keygen and
shared by the cluster.  libqb IPC sockets are abstract and so per namespace: a
CPG client started in the node's namespace talks to that node's corosync.

A SIGKILLed corosync leaves its qb-* files in /dev/shm; cleanup_shm() removes
the ones whose name carries the PID of a corosync this lab started (libqb names
them qb-<server pid>-<client pid>-<n>-<rand>/ and qb-corosync-<pid>-blackbox-*,
seen on Debian's corosync 3.1.7).
"""

import os
import shutil
import signal

from . import netns as netns_mod
from .proc import wait_for

COROSYNC = "/usr/sbin/corosync"
KEYGEN = "/usr/sbin/corosync-keygen"
TOOLS = ("ip", COROSYNC, KEYGEN)


def make_key(path):
    """A fresh corosync authkey (corosync-keygen -k FILE), mode 0400."""
    netns_mod.run([KEYGEN, "-k", path])
    return path


def render_conf(nodedir, nodes, keyfile, token=1000, crypto=True, cluster="hk", totem_extra=None):
    """corosync.conf text. nodes: [(nodeid, name, ring0_addr)]; totem_extra:
    {key: value} added to the totem section."""
    crypto_lines = (
        f"  crypto_model: nss\n  crypto_cipher: aes256\n  crypto_hash: sha256\n"
        f"  keyfile: {keyfile}\n" if crypto else
        "  crypto_cipher: none\n  crypto_hash: none\n")
    node_lines = "".join(
        f"  node {{\n    nodeid: {nid}\n    name: {name}\n    ring0_addr: {addr}\n  }}\n"
        for nid, name, addr in nodes)
    # Below ~400 ms the knet ping defaults make the ring flap (LAB.md).
    iface = ("  interface {\n    linknumber: 0\n    knet_ping_interval: 200\n"
             "    knet_ping_timeout: 1000\n  }\n" if token < 400 else "")
    two_node = "  two_node: 1\n" if len(nodes) == 2 else ""
    extra = "".join(f"  {k}: {v}\n" for k, v in (totem_extra or {}).items())
    return (f"totem {{\n  version: 2\n  cluster_name: {cluster}\n  transport: knet\n"
            f"  token: {token}\n{extra}{crypto_lines}{iface}}}\n"
            f"nodelist {{\n{node_lines}}}\n"
            f"quorum {{\n  provider: corosync_votequorum\n{two_node}}}\n"
            f"system {{\n  state_dir: {nodedir}/state\n}}\n"
            f"logging {{\n  to_logfile: yes\n  logfile: {nodedir}/corosync.log\n"
            f"  to_stderr: no\n  to_syslog: no\n  timestamp: on\n}}\n")


class Corosync:
    """One node's corosync in namespace ns; start()/kill()/stop()."""

    def __init__(self, lab, ns, nodeid, nodes, keyfile, token=1000, crypto=True,
                 totem_extra=None):
        self.lab = lab
        self.ns = ns
        self.nodeid = nodeid
        self.dir = lab.path(f"corosync-{ns.tag}")
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        self.conf = os.path.join(self.dir, "corosync.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(render_conf(self.dir, nodes, keyfile, token=token, crypto=crypto,
                                totem_extra=totem_extra))
        self.proc = None
        self.pids = []  # every corosync PID this node ran (for /dev/shm cleanup)
        self.starts = 0

    def start(self):
        self.starts += 1
        # A restart after kill -9 finds the old pid file: remove it (it is in
        # our private /run).
        pidfile = os.path.join(self.dir, "run", "corosync.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        self.proc = self.ns.start([COROSYNC, "-f", "-c", self.conf],
                                  f"corosync-{self.ns.tag}-{self.starts}",
                                  private_run=os.path.join(self.dir, "run"))
        self.pids.append(self.proc.pid)
        wait_for(lambda: "Completed service synchronization" in self.log()
                 or not self.proc.alive(), 15, f"corosync in {self.ns.name} to start")
        if not self.proc.alive():
            raise netns_mod.LabError(f"corosync in {self.ns.name} exited:\n"
                                     f"{self.proc.log()}\n{self.log()[-2000:]}")
        return self

    def kill(self):
        """kill -9 (by our PID) and reap it."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.popen.wait(timeout=5)

    def log(self):
        try:
            with open(os.path.join(self.dir, "corosync.log"), encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def cleanup_shm(nodes):
    """Remove /dev/shm/qb-* left by the corosyncs of nodes (by their PIDs)."""
    pids = {str(pid) for node in nodes for pid in node.pids}
    removed = []
    try:
        names = os.listdir("/dev/shm")
    except FileNotFoundError:
        return removed
    for name in names:
        if not name.startswith("qb-"):
            continue
        if set(name.split("-")) & pids:
            path = os.path.join("/dev/shm", name)
            # qb-<server>-<client>-<n>-<rand> are directories of one
            # connection's rings; qb-corosync-<pid>-blackbox-* are files.
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            removed.append(name)
    return removed
