"""`hactl status`'s corosync part against a real corosync (issue 5, operator
surface).

Two namespaces on a veth (198.51.100.1/.2), a corosync per namespace named
vpn-a/vpn-b like packaging/config/corosync.conf.example (knet crypto, token
300 with the fast knet heartbeat). The control handler tests and hactl's
(tests/cli) run in vpn-a's namespace, where libcfg/libvotequorum/cmap reach
that corosync:
- both up: the node names come from corosync's nodelist, the knet links to
  node 2 are connected, the cluster is quorate (two_node, 2 of 2 votes);
- vpn-a's corosync stopped (SIGSTOP, a hung corosync): every status answers
  within the 1 s bound, "unavailable: corosync did not answer within 1000 ms",
  and stuck queries do not pile up threads;
- vpn-a's corosync killed: status still answers at once, every corosync part
  saying "unavailable: ..." (the same binaries, their no-corosync checks).
Teardown: processes by PID, namespaces, /dev/shm qb-* files of our corosyncs.
"""

import signal
import time

import pytest

from conftest import require_lab
from labkit.corosync import TOOLS, Corosync, cleanup_shm, make_key
from labkit.haiked import find_binary

pytestmark = pytest.mark.lab


def built(rel):
    path = find_binary(rel)
    if not path:
        pytest.skip(f"{rel} is not built (build/*/{rel})")
    return path


@pytest.fixture
def cluster(lab):
    require_lab(TOOLS)
    a, b = lab.netns("a"), lab.netns("b")
    lab.veth(a, "ha0", b, "ha0")
    a.add_addr("ha0", "198.51.100.1/24")
    b.add_addr("ha0", "198.51.100.2/24")
    key = make_key(lab.path("authkey"))
    nodes = [(1, "vpn-a", "198.51.100.1"), (2, "vpn-b", "198.51.100.2")]
    cs_a = Corosync(lab, a, 1, nodes, key, token=300)
    cs_b = Corosync(lab, b, 2, nodes, key, token=300)
    try:
        cs_a.start()
        cs_b.start()
        yield a, b, cs_a, cs_b
    finally:
        lab.close()
        cleanup_shm([cs_a, cs_b])


def wait_quorate(ns, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        out = ns.exec("corosync-quorumtool", "-s", check=False).stdout
        if "Quorate:          Yes" in out:
            return
        time.sleep(0.2)
    raise AssertionError(f"vpn-a never quorate:\n{out}")


def test_status_reads_corosync(cluster):
    a, _b, cs_a, _cs_b = cluster
    test = built("tests/cli/cli_test_ctl_ha")
    hactl_test = built("tests/cli/cli_test_hactl_ha")
    wait_quorate(a)
    t0 = time.time()
    res = a.exec("env", "HA_TEST_COROSYNC_SELF=vpn-a", test, check=False, timeout=60)
    assert res.returncode == 0, f"{res.stdout}{res.stderr}"
    print(f"\nhandler tests against a live corosync: {time.time() - t0:.2f} s")
    # hactl's layout of it (HACTL_TEST_SHOW: the outputs on stderr, for -s).
    res = a.exec("env", "HA_TEST_COROSYNC_SELF=vpn-a", "HACTL_TEST_SHOW=1", hactl_test,
                 check=False, timeout=60)
    assert res.returncode == 0, f"{res.stdout}{res.stderr}"
    shown = [l for l in res.stderr.splitlines() if l.startswith(("corosync link", "quorum:"))]
    print("\n".join(shown[:3]))

    # Our corosync hung (SIGSTOP): libqb would wait forever; every status
    # answers within the 1 s bound, and after 4 stuck queries new ones do
    # not even start a thread.
    cs_a.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.time()
        res = a.exec("env", "HA_TEST_COROSYNC_HUNG=1", test, check=False, timeout=60)
        took = time.time() - t0
    finally:
        cs_a.proc.send_signal(signal.SIGCONT)
    assert res.returncode == 0, f"{res.stdout}{res.stderr}"
    # 7 status requests: at most 4 wait their second (the in-flight limit).
    assert took < 10, f"handler tests took {took:.1f} s against a hung corosync"
    print(f"handler tests against a hung corosync: {took:.2f} s")

    # Our corosync gone: every request still answers, saying why.
    cs_a.kill()
    t0 = time.time()
    res = a.exec(test, check=False, timeout=60)
    took = time.time() - t0
    assert res.returncode == 0, f"{res.stdout}{res.stderr}"
    # 13 requests with a status each; none waits for the 1 s bound.
    assert took < 10, f"handler tests took {took:.1f} s without corosync"
