"""The kernel's XFRM state as `ip -s xfrm state` prints it (iproute2 6.1).

Only meaningful where the kernel has ESP: inside the user-mode-linux guest
(tests/uml/).  parse_states() keeps no key material: the algorithm lines
are reduced to their names.
"""

import os
import re

from . import netns as netns_mod

_HEADER = re.compile(r"^src (?P<src>\S+) dst (?P<dst>\S+)$")
_PROTO = re.compile(r"proto (?P<proto>\S+) spi 0x(?P<spi>[0-9a-f]{8})\S* reqid (?P<reqid>\d+)"
                    r"\S* mode (?P<mode>\S+)")
_FLAGS = re.compile(r"^replay-window (?P<rw>\d+) seq 0x[0-9a-f]+ flag (?P<flags>.*?)\s*\(0x")
_ALG = re.compile(r"^(?P<kind>aead|enc|auth-trunc|auth) (?P<name>\S+)")
_ENCAP = re.compile(r"^encap type (?P<type>\S+) sport (?P<sport>\d+) dport (?P<dport>\d+)")
# "anti-replay context: seq 0x14, oseq 0x0, bitmap 0x000fffff"
_CTX = re.compile(r"anti-replay context: seq 0x(?P<seq>[0-9a-f]+), oseq 0x(?P<oseq>[0-9a-f]+)")
# ESN: " seq-hi 0x0, seq 0x14, oseq-hi 0x0, oseq 0x0"
_ESN_CTX = re.compile(r"seq-hi 0x(?P<seq_hi>[0-9a-f]+), seq 0x(?P<seq>[0-9a-f]+), "
                      r"oseq-hi 0x(?P<oseq_hi>[0-9a-f]+), oseq 0x(?P<oseq>[0-9a-f]+)")
_ESN_WIN = re.compile(r"replay_window (?P<win>\d+), bitmap-length")
_CURRENT = re.compile(r"^(?P<bytes>\d+)\(bytes\), (?P<packets>\d+)\(packets\)$")
_STATS = re.compile(r"^replay-window (?P<rw_err>\d+) replay (?P<replay>\d+) failed (?P<failed>\d+)$")


def parse_states(text):
    """[{src, dst, proto, spi (8 hex digits), reqid, mode, flags, algs, encap,
    seq, oseq (64-bit with ESN), replay_window, bytes, packets, replay, failed}]."""
    states = []
    cur = None
    want_current = False
    for raw in text.splitlines():
        line = raw.strip()
        m = _HEADER.match(raw)
        if m:
            cur = {"src": m["src"], "dst": m["dst"], "algs": {}, "flags": [], "encap": None}
            states.append(cur)
            want_current = False
            continue
        if cur is None or not line:
            continue
        if want_current:
            want_current = False
            m = _CURRENT.match(line)
            if m:
                cur["bytes"], cur["packets"] = int(m["bytes"]), int(m["packets"])
                continue
        if line == "lifetime current:":
            want_current = True
            continue
        for rx, fn in ((_PROTO, _proto), (_FLAGS, _flags), (_ALG, _alg), (_ENCAP, _encap),
                       (_ESN_CTX, _esn_ctx), (_CTX, _ctx), (_ESN_WIN, _esn_win),
                       (_STATS, _stats)):
            m = rx.search(line)
            if m:
                fn(cur, m)
                break
    return states


def _proto(cur, m):
    cur.update(proto=m["proto"], spi=m["spi"], reqid=int(m["reqid"]), mode=m["mode"])


def _flags(cur, m):
    cur["replay_window"] = int(m["rw"])
    cur["flags"] = m["flags"].split()


def _alg(cur, m):
    cur["algs"][m["kind"]] = m["name"]


def _encap(cur, m):
    cur["encap"] = (m["type"], int(m["sport"]), int(m["dport"]))


def _ctx(cur, m):
    cur["seq"], cur["oseq"] = int(m["seq"], 16), int(m["oseq"], 16)


def _esn_ctx(cur, m):
    cur["seq"] = (int(m["seq_hi"], 16) << 32) | int(m["seq"], 16)
    cur["oseq"] = (int(m["oseq_hi"], 16) << 32) | int(m["oseq"], 16)


def _esn_win(cur, m):
    cur["replay_window"] = int(m["win"])


def _stats(cur, m):
    cur.update(replay=int(m["replay"]), failed=int(m["failed"]),
               replay_window_errors=int(m["rw_err"]))


def states(ns):
    """The ESP states of namespace ns (a labkit Netns)."""
    return [s for s in parse_states(ns.exec("ip", "-s", "xfrm", "state").stdout)
            if s.get("proto") == "esp"]


def by_spi(ns):
    """{spi: state} of namespace ns."""
    return {s["spi"]: s for s in states(ns)}


def policies(ns):
    """`ip xfrm policy` of ns as text (no keys in it)."""
    return ns.exec("ip", "xfrm", "policy").stdout


_POL_HEADER = re.compile(r"^src (?P<src>\S+) dst (?P<dst>\S+)")
_POL_DIR = re.compile(r"^dir (?P<dir>\S+)")
_POL_TMPL = re.compile(r"^tmpl src (?P<src>\S+) dst (?P<dst>\S+)")
_POL_TMPL2 = re.compile(r"proto (?P<proto>\S+) reqid (?P<reqid>\d+) mode (?P<mode>\S+)")


def parse_policies(text):
    """[{src, dst, dir, tmpl_src, tmpl_dst, proto, reqid, mode}] of `ip xfrm policy`."""
    out = []
    cur = None
    for raw in text.splitlines():
        line = raw.strip()
        m = _POL_HEADER.match(raw)
        if m:
            cur = {"src": m["src"], "dst": m["dst"]}
            out.append(cur)
            continue
        if cur is None:
            continue
        for rx in (_POL_DIR, _POL_TMPL, _POL_TMPL2):
            m = rx.search(line)
            if m:
                d = m.groupdict()
                if rx is _POL_TMPL:
                    d = {"tmpl_src": d["src"], "tmpl_dst": d["dst"]}
                elif rx is _POL_TMPL2:
                    d["reqid"] = int(d["reqid"])
                cur.update(d)
                break
    return out


def stats(ns):
    """/proc/net/xfrm_stat of namespace ns as {name: count} (e.g.
    XfrmInNoStates: ESP that arrived for an SPI with no state)."""
    out = {}
    for line in ns.exec("cat", "/proc/net/xfrm_stat").stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def kernel_has_esp():
    """True when an ESP state can be added here (a throwaway namespace is used)."""
    name = f"hk{os.getpid()}-espprobe"
    try:
        netns_mod.run(["ip", "netns", "add", name])
    except netns_mod.LabError:
        return False
    try:
        res = netns_mod.run(["ip", "-n", name, "xfrm", "state", "add", "src", "203.0.113.1",
                             "dst", "203.0.113.2", "proto", "esp", "spi", "0x100", "mode",
                             "tunnel", "aead", "rfc4106(gcm(aes))", "0x" + "00" * 20, "128"],
                            check=False)
        return res.returncode == 0
    finally:
        netns_mod.run(["ip", "netns", "delete", name], check=False)


__all__ = ["parse_states", "states", "by_spi", "policies", "parse_policies", "stats",
           "kernel_has_esp"]
