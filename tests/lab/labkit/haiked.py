"""haiked in a lab namespace: config rendering, start/stop, log parsing, hactl.

Haiked(lab, ns, name, gateways=[...]) writes haiked.conf (libconfig) and a
0600 secrets file into the lab dir, start() runs `haiked --foreground` in
the namespace (own session, tracked by PID through the lab's Procs) and
waits for its "started" line.  The log is haiked's stderr.
"""

import glob
import json
import os
import re
import shutil
import signal

from . import netns as netns_mod
from .proc import wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def find_binary(rel):
    """A built binary (rel e.g. "daemon/haiked"): $HAIKED_BUILD_DIR first,
    then build/default, build/developer, then any build/*/; None if absent."""
    dirs = []
    if os.environ.get("HAIKED_BUILD_DIR"):
        dirs.append(os.environ["HAIKED_BUILD_DIR"])
    dirs += [os.path.join(REPO, "build", d) for d in ("default", "developer")]
    dirs += sorted(glob.glob(os.path.join(REPO, "build", "*")))
    for d in dirs:
        path = os.path.join(d, rel)
        if os.access(path, os.X_OK):
            return path
    return None


def _q(value):
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render(value, indent):
    pad = "    " * indent
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        inner = "".join(f"{pad}    {k} = {_render(v, indent + 1)};\n" for k, v in value.items())
        return "{\n" + inner + pad + "}"
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], dict):
            items = ",\n".join(f"{pad}    " + _render(v, indent + 1) for v in value)
            return "(\n" + items + "\n" + pad + ")"
        return "[ " + ", ".join(_render(v, indent) for v in value) + " ]"
    return _q(value)


def render_conf(tree):
    """A nested dict as libconfig text (lists of dicts become lists `( )`)."""
    return "".join(f"{k} = {_render(v, 0)};\n" for k, v in tree.items())


def gateway(name, local, remote, proposal, selectors, local_id=None, remote_id=None,
            passive=False, **extra):
    gw = {"name": name, "local-gw": local, "remote-gw": remote, "proposal": proposal}
    if passive:
        gw["passive"] = True
    else:
        gw["auto-negotiate"] = extra.pop("auto_negotiate", True)
    if local_id:
        gw["local-id"] = local_id
    if remote_id:
        gw["remote-id"] = remote_id
    gw.update({k.replace("_", "-"): v for k, v in extra.items()})
    gw["selectors"] = selectors
    return gw


def selector(name, local_subnet, remote_subnet, proposal, **extra):
    sel = {"name": name, "local-subnet": local_subnet, "remote-subnet": remote_subnet,
           "proposal": proposal}
    sel.update({k.replace("_", "-"): v for k, v in extra.items()})
    return sel


# "ike 0:gw:3: 0123456789abcdef/fedcba9876543210: IKE SA established as ..."
ESTABLISHED = re.compile(r"^(?:\S+ )?ike \d+:(?P<gw>[^:]+):(?P<serial>\d+): "
                         r"(?P<spi_i>[0-9a-f]{16})/(?P<spi_r>[0-9a-f]{16}): "
                         r"IKE SA (?:established|rekeyed) as")
CHILD_INSTALLED = re.compile(r"^(?:\S+ )?dp \d+:(?P<gw>[^:]+):(?P<serial>\d+): CHILD SA "
                             r"(?P<child>\S+) installed \([^)]*\): spi in=(?P<spi_in>[0-9a-f]{8}) "
                             r"out=(?P<spi_out>[0-9a-f]{8})")


class Haiked:
    """One haiked in namespace ns."""

    def __init__(self, lab, ns, name, gateways, psks, log_levels=None, global_extra=None,
                 binary=None, vdoms=None):
        self.lab = lab
        self.vdoms = vdoms or []  # the top-level `vdoms` section, if any
        self.ns = ns
        self.name = name
        self.binary = binary or find_binary("daemon/haiked")
        if self.binary is None:
            raise netns_mod.LabError("haiked is not built (build/*/daemon/haiked)")
        self.hactl_bin = find_binary("cli/hactl")
        self.dir = lab.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf_path = os.path.join(self.dir, "haiked.conf")
        self.secrets_path = os.path.join(self.dir, "secrets.conf")
        self.socket_path = lab.socket_path(f"{name}.ctl")
        self.log_path = os.path.join(self.dir, "haiked.log")
        self.proc = None
        self.gateways = gateways
        self.psks = psks
        self.log_levels = {"level": "info", "ike": "debug", "net": "debug", "dataplane": "info"}
        self.log_levels.update(log_levels or {})
        self.global_extra = global_extra or {}
        self.write_config()

    def write_config(self):
        glob_ = {"control-socket": self.socket_path, "secrets-file": self.secrets_path,
                 "dataplane": "record", "log": dict({"target": "stderr"}, **self.log_levels)}
        glob_.update(self.global_extra)
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(render_conf({"global": glob_, "gateways": self.gateways}))
            if self.vdoms:
                f.write(render_conf({"vdoms": self.vdoms}))
        fd = os.open(self.secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render_conf({"secrets": [{"gateway": g, "psk": p}
                                             for g, p in self.psks.items()]}))
        os.chmod(self.secrets_path, 0o600)

    def start(self, timeout=10):
        self.proc = self.ns.start([self.binary, "--config", self.conf_path, "--foreground"],
                                  f"haiked-{self.name}", log_path=self.log_path)

        def ready():
            if not self.proc.alive():
                raise netns_mod.LabError(f"haiked exited with {self.proc.popen.returncode}:\n"
                                         f"{self.log()[-3000:]}")
            return " started: " in self.log()

        wait_for(ready, timeout, f"haiked {self.name} start")
        return self

    def stop(self):
        """SIGTERM; returns the exit status."""
        return self.proc.stop() if self.proc is not None else None

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def lines(self, pattern):
        rx = re.compile(pattern)
        return [line for line in self.log().splitlines() if rx.search(line)]

    def wait_log(self, pattern, timeout=15, count=1):
        rx = re.compile(pattern)

        def seen():
            if self.proc is not None and not self.proc.alive():
                raise netns_mod.LabError(f"haiked died:\n{self.log()[-3000:]}")
            hits = [line for line in self.log().splitlines() if rx.search(line)]
            return hits if len(hits) >= count else None

        try:
            return wait_for(seen, timeout, f"haiked log /{pattern}/")
        except TimeoutError as exc:
            raise netns_mod.LabError(f"{exc}; log tail:\n{self.log()[-3000:]}") from exc

    def established(self):
        """[(gw, spi_i, spi_r)] of every IKE SA established (or made by a rekey)."""
        out = []
        for line in self.log().splitlines():
            m = ESTABLISHED.search(line)
            if m:
                out.append((m["gw"], m["spi_i"], m["spi_r"]))
        return out

    def children(self):
        """[(gw, child, spi_in, spi_out)] of every CHILD SA installed line."""
        out = []
        for line in self.log().splitlines():
            m = CHILD_INSTALLED.search(line)
            if m:
                out.append((m["gw"], m["child"], m["spi_in"], m["spi_out"]))
        return out

    def hactl(self, *args, check=True, timeout=15):
        """hactl --socket <ours> ARGS (run from the host: the socket is a path)."""
        if self.hactl_bin is None:
            raise netns_mod.LabError("hactl is not built")
        return netns_mod.run([self.hactl_bin, "--socket", self.socket_path, *args],
                             check=check, timeout=timeout)

    def hactl_json(self, *args):
        return json.loads(self.hactl("--json", *args).stdout)


def tshark_sent_by(path, src_ip):
    """(frames sent by src_ip, malformed frames among them) in a capture."""
    def count(display_filter):
        res = netns_mod.run(["tshark", "-n", "-r", path, "-Y", display_filter, "-T", "fields",
                             "-e", "frame.number"], timeout=60)
        return [x for x in res.stdout.split() if x]
    sent = count(f"ip.src=={src_ip} && udp")
    bad = count(f"ip.src=={src_ip} && _ws.malformed")
    return sent, bad


def have_tools():
    return shutil.which("tshark") is not None and shutil.which("swanctl") is not None


__all__ = ["Haiked", "find_binary", "render_conf", "gateway", "selector", "tshark_sent_by",
           "have_tools"]
