"""Network namespaces, veth pairs and addresses for one lab.

A Lab owns everything it creates: namespaces are named hk<pid>-<n><tag> so that
two concurrent runs never collide, and close() deletes exactly the namespaces
recorded here (never by pattern).  Addresses are refused unless they lie in one
of the lab ranges of LAB.md, so a mistake cannot route traffic off the host.
"""

import atexit
import ipaddress
import itertools
import os
import shutil
import subprocess
import tempfile

from . import proc

# LAB.md: the only ranges a lab may use.
LAB_RANGES = {
    "wan": ipaddress.ip_network("203.0.113.0/24"),
    "ha": ipaddress.ip_network("198.51.100.0/24"),
    "lan_a": ipaddress.ip_network("192.0.2.0/25"),
    "lan_b": ipaddress.ip_network("192.0.2.128/25"),
}

_COUNTER = itertools.count()
# Labs not yet closed: closed at interpreter exit as a last resort (e.g. a
# caller that forgot its finally); normal code closes its Lab itself.
_OPEN_LABS = []


@atexit.register
def _close_open_labs():
    for lab in list(_OPEN_LABS):
        try:
            lab.close()
        except Exception:  # at exit there is no one left to report to
            pass


class LabError(RuntimeError):
    """A lab step failed; the message names the command and its output."""


def run(argv, check=True, timeout=30, env=None):
    """Run argv, return CompletedProcess; raise LabError with stderr on failure."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True,
                             timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timeout after {timeout}s: {' '.join(argv)}") from exc
    if check and res.returncode != 0:
        raise LabError(f"command failed (exit {res.returncode}): {' '.join(argv)}\n"
                       f"{res.stdout}{res.stderr}".rstrip())
    return res


def check_lab_address(cidr):
    """Return the ip_interface for cidr, or raise if it is outside the lab ranges."""
    iface = ipaddress.ip_interface(cidr)
    if not any(iface.ip in net for net in LAB_RANGES.values()):
        raise LabError(f"address {cidr} is outside the lab ranges of LAB.md")
    return iface


def missing_prerequisites(tools=("ip",)):
    """Reasons this host cannot run a lab (empty list when it can)."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("lab tests need root (network namespaces, veth, mounts)")
    for tool in tools:
        if shutil.which(tool) is None and not os.path.exists(tool):
            reasons.append(f"{tool} not installed")
    return reasons


class Netns:
    """One namespace of a lab; run commands in it with exec()."""

    def __init__(self, lab, name, tag):
        self.lab = lab
        self.name = name
        self.tag = tag

    def exec(self, *argv, check=True, timeout=30):
        return run(["ip", "netns", "exec", self.name, *argv],
                   check=check, timeout=timeout)

    def ip(self, *args, check=True):
        return run(["ip", "-n", self.name, *args], check=check)

    def add_addr(self, ifname, cidr):
        iface = check_lab_address(cidr)
        self.ip("addr", "add", str(iface), "dev", ifname)
        return iface

    def up(self, ifname):
        self.ip("link", "set", ifname, "up")

    def add_route(self, dest, via=None, dev=None):
        """Add a route; the destination must be a lab range (no default route)."""
        net = ipaddress.ip_network(dest)
        if not any(net.subnet_of(r) for r in LAB_RANGES.values()):
            raise LabError(f"route to {dest} is outside the lab ranges of LAB.md")
        args = ["route", "add", str(net)]
        if via:
            args += ["via", str(check_lab_address(via).ip)]
        if dev:
            args += ["dev", dev]
        self.ip(*args)

    def start(self, argv, name, **kwargs):
        """Start a tracked process in this namespace (see proc.Procs.start)."""
        return self.lab.procs.start(self, argv, name, **kwargs)

    def __repr__(self):
        return f"Netns({self.name})"


class Lab:
    """All namespaces, processes and temp dirs of one test or one fixture run.

    Use as a context manager or call close() in a finally: close() kills the
    processes this lab started (by PID), deletes the namespaces it created and
    removes its temp dir, and may be called any number of times.
    """

    def __init__(self, prefix=None, keep_dir=False, base_dir=None):
        self.prefix = prefix or f"hk{os.getpid()}-{next(_COUNTER)}"
        self.dir = tempfile.mkdtemp(prefix=f"{self.prefix}-", dir=base_dir)
        self.keep_dir = keep_dir
        self.namespaces = []
        self.procs = proc.Procs()
        self._closed = False
        self._sock_dir = None
        _OPEN_LABS.append(self)

    def netns(self, tag):
        """Create a namespace named <prefix><tag>, with loopback up."""
        name = f"{self.prefix}{tag}"
        run(["ip", "netns", "add", name])
        ns = Netns(self, name, tag)
        self.namespaces.append(ns)
        ns.up("lo")
        return ns

    def veth(self, ns_a, if_a, ns_b, if_b):
        """A veth pair created directly inside both namespaces, both ends up.

        Creating it with 'netns' on both ends means no interface ever appears in
        the host namespace, so names like wan0 cannot collide between runs.
        """
        run(["ip", "link", "add", if_a, "netns", ns_a.name, "type", "veth",
             "peer", "name", if_b, "netns", ns_b.name])
        ns_a.up(if_a)
        ns_b.up(if_b)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def socket_path(self, name):
        """A path for a unix socket: always short, whatever self.dir is.

        sun_path holds 108 bytes; a lab dir under pytest's tmp_path can exceed
        that (seen: charon's vici socket silently failing to bind), so sockets
        live in a small dir of their own under /tmp, removed by close().
        """
        if self._sock_dir is None:
            self._sock_dir = tempfile.mkdtemp(prefix=f"{self.prefix}-s", dir="/tmp")
        path = os.path.join(self._sock_dir, name)
        if len(path.encode()) >= 100:
            raise LabError(f"unix socket path too long ({len(path)}): {path}")
        return path

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self in _OPEN_LABS:
            _OPEN_LABS.remove(self)
        errors = []
        try:
            self.procs.stop_all()
        except Exception as exc:  # keep going: namespaces must still go
            errors.append(f"stopping processes: {exc}")
        for ns in reversed(self.namespaces):
            res = run(["ip", "netns", "delete", ns.name], check=False)
            if res.returncode != 0:
                errors.append(f"ip netns delete {ns.name}: {res.stderr.strip()}")
        self.namespaces.clear()
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._sock_dir:
            shutil.rmtree(self._sock_dir, ignore_errors=True)
        if errors:
            raise LabError("lab teardown: " + "; ".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
