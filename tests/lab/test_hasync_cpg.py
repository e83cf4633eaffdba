"""hasync's CPG channel between two corosync nodes in namespaces (issue 5).

Two namespaces on a veth (198.51.100.1/.2, the HA range of LAB.md), a corosync
per namespace with knet crypto (aes256/sha256, a corosync-keygen key), token
1000; hasync_probe (tests/hasync/) in each namespace:
- A sends N messages (the next ones from its loop, or from inside the acked
  callback); B receives all, in order, and acks; A sees every ack;
  throughput and ack round trip of ~200-octet bodies are printed (-s).
- kill -9 of B's corosync: A sees the membership change within ~2x the
  token; B's probe gets CS_ERR_LIBRARY and rejoins when corosync is back, and
  a new batch from A is acked again.
- garbage, a wrong format version, a spoofed sender and stale sequence numbers
  put on the group are dropped, logged and counted, and the receiver keeps
  going; the raw CPG rate next to it, for comparison (-s).
- the plaintext-ring refusal of hasync_crypto against a running corosync.
Teardown: processes by PID, namespaces, and the qb-* files in /dev/shm that
our corosyncs left.
"""

import os
import re
import time

import pytest

from conftest import require_lab
from labkit.corosync import TOOLS, Corosync, cleanup_shm, make_key
from labkit.haiked import find_binary
from labkit.proc import wait_for

pytestmark = pytest.mark.lab

N_MSGS = int(os.environ.get("HASYNC_N", "5000"))
N_LATENCY = 1000
TOKEN_MS = 1000


def probe_binary():
    path = find_binary("tests/hasync/hasync_probe")
    if not path:
        pytest.skip("hasync_probe is not built (build/*/tests/hasync/hasync_probe)")
    return path


def wait_logged(procs, predicate, timeout, what):
    """wait_for, but a timeout shows the logs of procs."""
    try:
        return wait_for(predicate, timeout, what)
    except TimeoutError as exc:
        logs = "\n".join(f"--- {p.name}\n{p.log()[-3000:]}" for p in procs)
        raise AssertionError(f"{exc}\n{logs}") from None


def lines(proc, prefix):
    return [l for l in proc.log().splitlines() if l.startswith(prefix)]


def field(line, name):
    m = re.search(rf"\b{name}=(\S+)", line)
    return m.group(1) if m else None


def last_field(proc, prefix, name):
    found = lines(proc, prefix)
    return field(found[-1], name) if found else None


@pytest.fixture
def cluster(lab):
    require_lab(TOOLS)
    a, b = lab.netns("a"), lab.netns("b")
    lab.veth(a, "ha0", b, "ha0")
    a.add_addr("ha0", "198.51.100.1/24")
    b.add_addr("ha0", "198.51.100.2/24")
    key = make_key(lab.path("authkey"))
    nodes = [(1, "a", "198.51.100.1"), (2, "b", "198.51.100.2")]
    cs_a = Corosync(lab, a, 1, nodes, key, token=TOKEN_MS)
    cs_b = Corosync(lab, b, 2, nodes, key, token=TOKEN_MS)
    try:
        cs_a.start()
        cs_b.start()
        yield a, b, cs_a, cs_b
    finally:
        lab.close()  # processes by PID, then namespaces
        cleanup_shm([cs_a, cs_b])
        left = [n for n in os.listdir("/dev/shm") if n.startswith("qb-")
                and set(n.split("-")) & {str(p) for p in cs_a.pids + cs_b.pids}]
        assert not left, f"qb-* files of our corosyncs left in /dev/shm: {left}"


@pytest.mark.parametrize("mode", ["loop", "inline"])
def test_stream_acks_failover_and_rejoin(cluster, lab, mode):
    """mode: A sends the next messages from its event loop, or from inside
    hasync's acked callback (within cpg_dispatch), as haiked's write-ahead will."""
    a, b, cs_a, cs_b = cluster
    probe = probe_binary()
    group = f"hasync-{lab.prefix}"
    rx = b.start([probe, "recv", group], "probe-b")
    wait_logged([rx], lambda: lines(rx, "CONNECTED up=1"), 10, "B's probe to join")
    tx = a.start([probe, "send", group, str(N_MSGS), str(N_LATENCY),
                  os.environ.get("HASYNC_WINDOW", "256"), mode], "probe-a")
    wait_for(lambda: lines(tx, "DONE") or not tx.alive(), 60, "A to finish sending")
    assert tx.alive(), tx.log()[-3000:]

    # Every message acked (the send phases only end when all are), B got all
    # of them, in order, nothing dropped.
    thr, lat = lines(tx, "THROUGHPUT")[0], lines(tx, "LATENCY")[0]
    assert int(field(thr, "msgs")) == N_MSGS
    assert int(field(lat, "n")) == N_LATENCY
    total = N_MSGS + N_LATENCY
    wait_for(lambda: last_field(rx, "RECV", "total") == str(total), 10,
             f"B to report {total} messages")
    assert last_field(rx, "RECV", "order_errors") == "0"
    assert last_field(rx, "RECV", "last") == str(total)
    assert not lines(tx, "LOG 1 HA drop") and not lines(rx, "LOG 1 HA drop")
    print(f"\nhasync CPG ({mode}): {thr}\nhasync CPG: {lat}\nhasync CPG: {lines(tx, 'DONE')[0]}")

    # kill -9 B's corosync: A sees B leave within about two tokens (LAB.md:
    # token 1000 -> ~2.0 s); B's probe sees CS_ERR_LIBRARY.
    t_kill = time.time()
    cs_b.kill()
    leave = wait_logged([tx], lambda: [l for l in lines(tx, "MEMBERS")
                                       if field(l, "peers") == "0"
                                       and int(field(l, "t")) / 1000 >= t_kill],
                        TOKEN_MS * 4 / 1000 + 2, "A to see B leave")[0]
    detect_s = int(field(leave, "t")) / 1000 - t_kill
    print(f"hasync CPG: membership change seen by A {detect_s:.2f} s after kill -9 "
          f"(token {TOKEN_MS} ms)")
    assert detect_s < TOKEN_MS * 3.5 / 1000
    wait_for(lambda: lines(rx, "CONNECTED up=0"), 5, "B's probe to lose corosync")
    assert lines(rx, "LOG 0 HA cpg_dispatch: error 2")  # CS_ERR_LIBRARY

    # corosync back: B's probe re-initialises and rejoins by itself, A sees it
    # and its next batch is received and acked.
    cs_b.start()
    wait_for(lambda: len(lines(rx, "CONNECTED up=1")) >= 2, 15, "B's probe to rejoin")
    batch = wait_for(lambda: lines(tx, "BATCH"), 15, "A's batch after the rejoin")[0]
    assert field(batch, "acked") == "100" and field(batch, "peers") == "1"
    wait_for(lambda: last_field(rx, "RECV", "total") == str(total + 100), 10,
             "B to receive the batch")
    assert last_field(rx, "RECV", "order_errors") == "0"

    # Clean exit on SIGTERM (with an ASan build: no leak, no error report).
    for p in (tx, rx):
        rc = p.stop()
        assert rc == 0 and "Sanitizer" not in p.log() and "runtime error" not in p.log(), \
            f"{p.name} exit {rc}:\n{p.log()[-3000:]}"
        assert lines(p, "EXIT")


def test_bad_input_dropped_and_raw_rate(cluster, lab):
    """Garbage and crafted bad envelopes on the group are dropped and counted
    by the receiver, which keeps working; the raw CPG rate for comparison."""
    a, b, _, _ = cluster
    probe = probe_binary()
    group = f"hasync-{lab.prefix}"
    rx = b.start([probe, "recv", group], "probe-b")
    wait_logged([rx], lambda: lines(rx, "CONNECTED up=1"), 10, "B's probe to join")

    inj = a.exec(probe, "inject", group, check=False, timeout=60)
    assert inj.returncode == 0, inj.stdout + inj.stderr
    want = {"malformed": "1", "version": "1", "sender": "1", "order": "2", "received": "2"}
    wait_logged([rx], lambda: all(last_field(rx, "RECV", k) == v for k, v in want.items()),
                10, f"B to count {want}")
    assert lines(rx, "LOG 1 HA drop message from node 1")  # logged, as WARN
    assert lines(rx, "LOG 1 HA drop msgid_update from node 1")

    n_raw = 20000
    raw = a.exec(probe, "raw", group, str(n_raw), "200", check=False, timeout=120)
    assert raw.returncode == 0, raw.stdout + raw.stderr
    print(f"\nhasync CPG: {raw.stdout.strip()}")
    # B dropped every one of them as malformed and is still fine.
    wait_logged([rx], lambda: last_field(rx, "RECV", "malformed") == str(n_raw + 1), 30,
                "B to drop the raw messages")
    assert rx.alive()
    rc = rx.stop()
    assert rc == 0 and "Sanitizer" not in rx.log(), rx.log()[-3000:]


@pytest.mark.parametrize("crypto", [True, False], ids=["knet-crypto", "plaintext"])
def test_plaintext_ring_refused(lab, crypto):
    require_lab(TOOLS)
    probe = probe_binary()
    a = lab.netns("p")
    key = make_key(lab.path("authkey"))
    cs = Corosync(lab, a, 1, [(1, "p", "127.0.0.1")], key, crypto=crypto)
    try:
        cs.start()
        strict = a.exec(probe, "crypto-check", check=False)
        allowed = a.exec(probe, "crypto-check", "allow", check=False)
    finally:
        lab.close()
        cleanup_shm([cs])
    if crypto:
        assert strict.returncode == 0, strict.stdout
        assert "aes256" in strict.stdout
    else:
        assert strict.returncode == 3, strict.stdout
        assert "refusing to run HA" in strict.stdout
        assert allowed.returncode == 0, allowed.stdout
        assert "allow_plaintext_sync" in allowed.stdout


def test_no_corosync_is_unknown(lab):
    """Without a corosync in the namespace the check says so (exit 4)."""
    require_lab(TOOLS)
    a = lab.netns("n")
    res = a.exec(probe_binary(), "crypto-check", check=False)
    assert res.returncode == 4, res.stdout
