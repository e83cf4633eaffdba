"""A stock strongSwan charon in a namespace, driven with swanctl over vici.

Each instance gets its own directory with strongswan.conf, swanctl.conf, a
filelog, a vici socket and a private /run (charon's pid file is compiled in as
/var/run/charon.pid).  kernel-libipsec provides ESP in user space (the host
kernel has no ESP); it must be loaded before kernel-netlink.
"""

import os
import re

from . import netns as netns_mod
from .proc import wait_for

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = "swanctl"

# LAB.md: a plugin list that works with kernel-libipsec on these hosts.
PLUGINS = ("openssl random nonce aes sha1 sha2 hmac kdf pem pkcs1 pkcs8 x509 "
           "pubkey gcm drbg kernel-libipsec kernel-netlink socket-default vici updown")

# Debug levels that make charon print every value the fixtures need:
#   ike 4: shared DH secret, SKEYSEED, Sk_* secrets, nonces/SPIs
#   chd 4: CHILD_SA key material (encryption/integrity keys per direction)
#   enc 4: decrypted payload contents, net 4: raw datagrams
DEFAULT_LOG_LEVELS = {"default": 1, "ike": 4, "chd": 4, "enc": 4, "net": 4,
                      "cfg": 2, "knl": 2, "lib": 1, "mgr": 1, "job": 1}


def _quote(value):
    text = str(value)
    if text == "" or re.search(r'[\s{}="#]', text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def render_conf(tree, indent=0):
    """Render a nested dict as strongswan.conf/swanctl.conf syntax."""
    pad = "    " * indent
    lines = []
    for key, value in tree.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key} {{")
            lines.append(render_conf(value, indent + 1))
            lines.append(f"{pad}}}")
        else:
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            lines.append(f"{pad}{key} = {_quote(value)}")
    return "\n".join(line for line in lines if line != "")


class Charon:
    """One charon instance in namespace ns.

    swanctl: the dict rendered into swanctl.conf ({"connections": ..., "secrets": ...}).
    """

    def __init__(self, lab, ns, name, swanctl, log_levels=None, charon_extra=None):
        self.lab = lab
        self.ns = ns
        self.name = name
        self.dir = lab.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf_path = os.path.join(self.dir, "strongswan.conf")
        self.swanctl_path = os.path.join(self.dir, "swanctl.conf")
        self.log_path = os.path.join(self.dir, "charon.log")
        self.socket_path = lab.socket_path(f"{name}.vici")
        self.uri = f"unix://{self.socket_path}"
        self.proc = None
        levels = dict(DEFAULT_LOG_LEVELS)
        levels.update(log_levels or {})
        charon = {
            "load": PLUGINS,
            "filelog": {"main": dict({"path": self.log_path, "time_format": "%H:%M:%S",
                                      "ike_name": "yes", "flush_line": "yes",
                                      "append": "no"}, **levels)},
            "syslog": {"daemon": {"default": -1}},
            "plugins": {"vici": {"socket": self.uri}},
        }
        charon.update(charon_extra or {})
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write(render_conf({"charon": charon}) + "\n")
        with open(self.swanctl_path, "w", encoding="utf-8") as f:
            f.write(render_conf(swanctl) + "\n")
        os.chmod(self.swanctl_path, 0o600)

    @property
    def env(self):
        return {"STRONGSWAN_CONF": self.conf_path}

    def start(self, timeout=15):
        """Start charon and wait until its vici socket answers."""
        self.proc = self.ns.start([CHARON], f"charon-{self.name}",
                                  private_run=os.path.join(self.dir, "run"),
                                  env=self.env)

        def ready():
            if not self.proc.alive():
                raise netns_mod.LabError(
                    f"charon {self.name} exited with {self.proc.popen.returncode}:\n"
                    f"{self.proc.log()}\n{self.log()[-3000:]}")
            if not os.path.exists(self.socket_path):
                return False
            return self.swanctl("--stats", check=False).returncode == 0

        try:
            wait_for(ready, timeout, f"charon {self.name} vici socket {self.socket_path}")
        except TimeoutError as exc:
            raise netns_mod.LabError(f"{exc}; charon log tail:\n{self.log()[-2000:]}") from exc
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.stop()

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def swanctl(self, *args, check=True, timeout=30):
        """swanctl COMMAND [ARGS] --uri <this instance> (the --uri goes after the command)."""
        env = dict(os.environ)
        env.update(self.env)
        return netns_mod.run([SWANCTL, *args, "--uri", self.uri], check=check,
                             timeout=timeout, env=env)

    def load_all(self):
        return self.swanctl("--load-all", "--file", self.swanctl_path)

    def initiate(self, child, ike=None, timeout=30):
        args = ["--initiate", "--child", child, "--timeout", str(timeout)]
        if ike:
            args += ["--ike", ike]
        return self.swanctl(*args, timeout=timeout + 5)

    def rekey_child(self, child):
        return self.swanctl("--rekey", "--child", child)

    def rekey_ike(self, ike):
        return self.swanctl("--rekey", "--ike", ike)

    def terminate_ike(self, ike, timeout=15):
        return self.swanctl("--terminate", "--ike", ike, "--timeout", str(timeout),
                            timeout=timeout + 5)

    def list_sas(self):
        """The IKE_SAs as {name: {key: value, ..., "child-sas": {...}}}."""
        return parse_raw(self.swanctl("--list-sas", "--raw").stdout)


_RAW_TOKEN = re.compile(r"\s*(?:(\}))|\s*([^\s={}]+)\s*(?:(\{)|=\[([^\]]*)\]|=(\S*))")


def parse_raw(text):
    """Parse `swanctl --raw` output: 'name {', '}', 'key=value', 'key=[a b]'.

    Each vici event is one line ('list-sa event {...}'); all events' sections
    are merged into one dict.  Values with spaces are not produced for the
    names and addresses the lab uses.
    """
    result = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^[\w-]+ (?:event|reply) \{(.*)\}$", line) or re.match(r"^\{(.*)\}$", line)
        body = m.group(m.lastindex) if m else line
        stack = [result]
        pos = 0
        while pos < len(body):
            tok = _RAW_TOKEN.match(body, pos)
            if tok is None:
                if body[pos:].strip() == "":
                    break
                raise ValueError(f"cannot parse swanctl raw output at {body[pos:pos+40]!r}")
            pos = tok.end()
            close, key, opened, listval, value = tok.groups()
            if close:
                stack.pop()
            elif opened:
                stack.append(stack[-1].setdefault(key, {}))
            elif listval is not None:
                stack[-1][key] = listval.split()
            else:
                stack[-1][key] = value
    return result
