"""Parse a charon filelog written with ike/chd/enc at level 4.

charon prints binary values as a header line 'LABEL => N bytes @ 0xADDR'
followed by hex dump lines '  OFF: XX XX ...  ascii'.  Lines of different
threads interleave, so everything is tracked per thread id.

events() yields, in log order:
  ("dump", ctx, label, data)        a labelled dump, e.g. "Sk_d secret"
  ("payload", ctx, op, type, data)  the CHUNK_DATA of a NONCE or KEY_EXCHANGE
                                    payload; op is "generating" or "parsing"
  ("child", ctx, spi_i, spi_o)      'CHILD_SA ... established with SPIs'
ctx is the IKE_SA context '<name|id>' (or '' outside an IKE_SA).
"""

import re

_LINE = re.compile(r"^\S+ (\d+)\[(\w+)\] (?:(<[^>]*>) )?(.*)$")
_HEADER = re.compile(r"^\s*(.*?)\s*=> (\d+) bytes @ 0x[0-9a-f]+$")
# Offset, then 1..16 hex pairs separated by single spaces; the padding before
# the ASCII column is wider, so ASCII text is never taken for hex.
_HEXLINE = re.compile(r"^\s*(\d+): ((?:[0-9A-F]{2} ){0,15}[0-9A-F]{2})(?:\s|$)")
_SECTION_START = re.compile(r"^(?:generating payload of type (\w+)|starting parsing a (\w+) payload"
                            r"|parsing (\w+) payload, \d+ bytes left)$")
_SECTION_END = re.compile(r"^(?:generating|parsing) (\w+) payload finished$")
_RULE = re.compile(r"^\s*(generating|parsing) rule \d+ (\w+)$")
_CHILD = re.compile(r"CHILD_SA \S+ established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o")

WATCHED_PAYLOADS = ("NONCE", "KEY_EXCHANGE")


class LogFormatError(ValueError):
    pass


class _Thread:
    def __init__(self):
        self.dump = None        # [ctx, label, expected_len, bytearray]
        self.section = None     # payload type being generated/parsed
        self.rule = None        # (op, rule type) just announced


def events(text):
    threads = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _LINE.match(line)
        if not m:
            continue
        tid, _group, ctx, msg = m.groups()
        ctx = ctx or ""
        th = threads.setdefault(tid, _Thread())
        if th.dump is not None:
            hexm = _HEXLINE.match(msg)
            if hexm:
                th.dump[3] += bytes.fromhex(hexm.group(2))
                continue
            yield from _finish_dump(th, lineno)
        yield from _handle_line(th, ctx, msg, lineno)
    for th in threads.values():
        if th.dump is not None:
            yield from _finish_dump(th, "end")


def _handle_line(th, ctx, msg, lineno):
    header = _HEADER.match(msg)
    if header:
        th.dump = [ctx, header.group(1), int(header.group(2)), bytearray()]
        if th.dump[2] == 0:
            yield from _finish_dump(th, lineno)
        return
    start = _SECTION_START.match(msg)
    if start:
        th.section = start.group(start.lastindex)
        th.rule = None
        return
    if _SECTION_END.match(msg):
        th.section = None
        th.rule = None
        return
    rule = _RULE.match(msg)
    if rule:
        th.rule = (rule.group(1), rule.group(2))
        return
    child = _CHILD.search(msg)
    if child:
        yield ("child", ctx, child.group(1), child.group(2))


def _finish_dump(th, where):
    ctx, label, length, data = th.dump
    th.dump = None
    if len(data) != length:
        raise LogFormatError(f"dump '{label}' before line {where}: "
                             f"{len(data)} bytes of {length}")
    if label:
        yield ("dump", ctx, label, bytes(data))
    elif th.section in WATCHED_PAYLOADS and th.rule and th.rule[1] == "CHUNK_DATA":
        yield ("payload", ctx, th.rule[0], th.section, bytes(data))
    th.rule = None


def dumps(evts, label):
    """All data of labelled dumps named label, in order."""
    return [e[3] for e in evts if e[0] == "dump" and e[2] == label]


def payloads(evts, op, ptype):
    return [e[4] for e in evts if e[0] == "payload" and e[2] == op and e[3] == ptype]


def children(evts):
    """(spi_i, spi_o) of each CHILD_SA established, in order, without repeats."""
    out = []
    for e in evts:
        if e[0] == "child" and (e[2], e[3]) not in out:
            out.append((e[2], e[3]))
    return out
