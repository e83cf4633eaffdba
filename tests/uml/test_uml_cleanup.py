"""haiked --cleanup's kernel side where the kernel has ESP and VTI:
tests/daemon/test_dp_xfrm_cleanup.c, whose state and device cases skip on
the development hosts. A CHILD SA installed by the kernel backend (reqid in
haiked's range) goes with its policies while a state added with
`ip xfrm state add ... reqid 5` stays; hk-* VTI devices with haiked's keys
go, an administrator's hk-* with another key and a device of another name
stay; a second run removes nothing. Then haiked itself (kernel data plane,
add-route, policy- and route-based) killed with -9 and cleaned up after."""

import re
import signal

import pytest

from conftest import require_kernel_esp
from labkit import xfrm
from labkit.haiked import find_binary
from test_uml_haiked_kernel import KernelTunnel
from test_uml_kernel_vti import GCM, PINGS, link, policies_with_marks, vti_lab  # noqa: F401

pytestmark = [pytest.mark.uml, pytest.mark.lab]


def test_cleanup_unit_test_with_esp_and_vti(uml_lab):
    require_kernel_esp(("ip",))
    binary = find_binary("tests/daemon/daemon_test_dp_xfrm_cleanup")
    if binary is None:
        pytest.skip("daemon_test_dp_xfrm_cleanup not built (set HAIKED_BUILD_DIR)")
    res = uml_lab.netns("c").exec(binary, check=False, timeout=60)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    for name in ("test_reqid_range", "test_policies_and_routes", "test_states",
                 "test_vti_devices"):
        assert f"[       OK ] {name}" in out, out
    assert "SKIPPED" not in out, out


# ---- end to end: kill -9 of haiked with the kernel data plane ------------------------------

def _proto104(ns):
    return (ns.ip("-4", "route", "show", "proto", "104").stdout
            + ns.ip("-6", "route", "show", "proto", "104").stdout).strip()


@pytest.mark.slow
@pytest.mark.parametrize("route_based", [False, True], ids=["policy-based", "route-based"])
def test_cleanup_after_kill9_kernel(vti_lab, route_based):  # noqa: F811
    """haiked (kernel data plane, add-route; route-based: a VTI) is killed
    with -9: its states, policies, add-route routes and device stay in the
    kernel. `haiked --cleanup` removes exactly those: a state added with
    `ip xfrm state add ... reqid 5` and an administrator's route stay, and
    a second run finds nothing."""
    t = KernelTunnel(vti_lab, GCM, "initiator",
                     gw_extra={"route_based": True} if route_based else None).start()
    gi = t.gi
    assert t.ping() == (PINGS, PINGS)
    t.haiked.proc.send_signal(signal.SIGKILL)
    t.haiked.proc.popen.wait(timeout=5)
    assert len(xfrm.by_spi(gi.ns)) == 2, xfrm.states(gi.ns)
    pols = policies_with_marks(gi.ns)
    assert len(pols) == 3, pols
    if route_based:
        assert link(gi.ns) is not None, "the dead haiked's VTI is gone already"
    else:
        assert gr_lan(t) in _proto104(gi.ns), gi.ns.ip("route").stdout
    gi.ns.exec("ip", "xfrm", "state", "add", "src", gi.wan_ip, "dst", "203.0.113.99", "proto",
               "esp", "spi", "0xc1ea0009", "reqid", "5", "mode", "tunnel", "aead",
               "rfc4106(gcm(aes))", "0x0102030405060708090a0b0c0d0e0f1011121314", "128")
    gi.ns.exec("ip", "route", "add", "198.51.100.0/24", "dev", "lo", "proto", "static")

    binary = find_binary("daemon/haiked")
    res = gi.ns.exec(binary, "--cleanup", "--config", t.haiked.conf_path, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    want = (rf"vdom root: removed 2 XFRM state\(s\), 3 XFRM policy\(ies\), \d+ route\(s\), "
            rf"{1 if route_based else 0} VTI device\(s\)")
    assert re.search(want, res.stdout), res.stdout
    assert set(xfrm.by_spi(gi.ns)) == {"c1ea0009"}, xfrm.states(gi.ns)
    assert policies_with_marks(gi.ns) == [], xfrm.policies(gi.ns)
    assert _proto104(gi.ns) == "", gi.ns.ip("route").stdout
    assert link(gi.ns) is None
    assert "198.51.100.0/24" in gi.ns.ip("route").stdout
    assert t.charon_child() is not None  # the peer's kernel is another namespace: untouched

    res = gi.ns.exec(binary, "--cleanup", "--config", t.haiked.conf_path, check=False)
    assert (res.returncode, res.stdout.strip()) == (0, "nothing left behind"), res
    gi.ns.exec("ip", "xfrm", "state", "flush")


def gr_lan(t):
    return t.gr.lan_net.split("/")[0]
