"""Tests of the lab kit itself: address guard, parsers, namespaces, processes,
captures and the guarantee that teardown removes exactly what a lab created."""

import os
import subprocess

import pytest

from conftest import require_lab
from labkit import charonlog
from labkit.capture import Capture, read_udp
from labkit.charon import parse_raw, render_conf
from labkit.netns import Lab, LabError, check_lab_address

pytestmark = pytest.mark.lab


def _namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("cidr", ["10.0.0.1/24", "192.0.2.200/32", "8.8.8.8/32",
                                  "203.0.113.5/24", "198.51.100.1/24", "192.0.2.129/25"])
def test_lab_address_guard(cidr):
    inside = cidr.split("/")[0] in ("203.0.113.5", "198.51.100.1", "192.0.2.129", "192.0.2.200")
    if inside:
        assert str(check_lab_address(cidr)) == cidr
    else:
        with pytest.raises(LabError, match="outside the lab ranges"):
            check_lab_address(cidr)


def test_parse_swanctl_raw():
    text = ("list-sa event {gw {uniqueid=1 version=2 state=ESTABLISHED "
            "initiator-spi=97f23fc38828332f responder-spi=09a1b9a7a3e95183 "
            "child-sas {net-1 {name=net state=INSTALLED spi-in=143cbe3c spi-out=8d036845 "
            "local-ts=[192.0.2.0/25] remote-ts=[192.0.2.128/25 192.0.2.0/26]}}}}\n"
            "list-sas reply {}\n")
    sas = parse_raw(text)
    child = sas["gw"]["child-sas"]["net-1"]
    assert sas["gw"]["state"] == "ESTABLISHED"
    assert sas["gw"]["initiator-spi"] == "97f23fc38828332f"
    assert (child["spi-in"], child["spi-out"]) == ("143cbe3c", "8d036845")
    assert child["remote-ts"] == ["192.0.2.128/25", "192.0.2.0/26"]
    with pytest.raises(ValueError):
        parse_raw("list-sa event {gw {=broken}}")


def test_render_conf_quotes_and_nests():
    text = render_conf({"a": {"b": "x y", "c": 1, "d": ["p", "q"]}})
    assert text == 'a {\n    b = "x y"\n    c = 1\n    d = p,q\n}'


def test_charonlog_per_thread_dumps():
    # Two threads interleave; a dump must only collect its own thread's lines.
    log = "\n".join([
        "07:39:23 11[IKE] <gw|1> SKEYSEED => 4 bytes @ 0x7f1",
        "07:39:23 09[ENC] <gw|1> generating payload of type NONCE",
        "07:39:23 11[IKE] <gw|1>    0: 4E 2B 21 86                                      N+!.",
        "07:39:23 09[ENC] <gw|1>   generating rule 10 CHUNK_DATA",
        "07:39:23 09[ENC] <gw|1>    => 2 bytes @ 0x7f2",
        "07:39:23 09[ENC] <gw|1>    0: AB CD                                            ..",
        "07:39:23 09[ENC] <gw|1> generating NONCE payload finished",
        "07:39:23 09[IKE] <gw|1> CHILD_SA net{1} established with SPIs 143cbe3c_i 8d036845_o and TS x",
    ])
    evts = list(charonlog.events(log))
    assert charonlog.dumps(evts, "SKEYSEED") == [bytes.fromhex("4e2b2186")]
    assert charonlog.payloads(evts, "generating", "NONCE") == [b"\xab\xcd"]
    assert charonlog.children(evts) == [("143cbe3c", "8d036845")]
    with pytest.raises(charonlog.LogFormatError):
        list(charonlog.events("07:39:23 11[IKE] <gw|1> SKEYSEED => 5 bytes @ 0x1\n"
                              "07:39:23 11[IKE] <gw|1>    0: 4E 2B    N+\n"))


def test_veth_ping_and_teardown(lab):
    a, b = lab.netns("a"), lab.netns("b")
    lab.veth(a, "ha0", b, "ha0")
    a.add_addr("ha0", "198.51.100.1/24")
    b.add_addr("ha0", "198.51.100.2/24")
    a.exec("ping", "-c", "1", "-W", "2", "198.51.100.2")
    assert {a.name, b.name} <= _namespaces()
    # No route leaves the lab: only the connected /24 exists.
    routes = a.ip("route", "show").stdout
    assert "default" not in routes
    lab.close()
    assert not {a.name, b.name} & _namespaces()
    assert not os.path.exists(lab.dir)


def test_private_run_and_pid_tracking(lab):
    ns = lab.netns("p")
    run_dir = lab.path("prun")
    proc = ns.start(["sh", "-c", "echo $$ > /run/marker.pid && exec sleep 60"], "sleeper",
                    private_run=run_dir)
    marker = os.path.join(run_dir, "marker.pid")
    for _ in range(100):
        if os.path.exists(marker) and os.path.getsize(marker):
            break
        subprocess.run(["sleep", "0.05"])
    with open(marker, encoding="utf-8") as f:
        assert int(f.read()) == proc.pid, "the tracked PID is the process itself"
    assert not os.path.exists("/run/marker.pid"), "the /run bind mount leaked to the host"
    lab.close()
    assert proc.popen.returncode is not None, "close() must stop the processes it started"


def test_teardown_after_exception():
    require_lab()
    names = []
    with pytest.raises(RuntimeError):
        with Lab() as lab:
            names.append(lab.netns("x").name)
            lab.netns("y").start(["sleep", "60"], "sleeper")
            raise RuntimeError("test body failed")
    assert names and not set(names) & _namespaces()
    assert not os.path.exists(lab.dir)


def test_capture_waits_and_pcapng_reader(lab):
    require_lab(("ip", "tshark"))
    a, b = lab.netns("a"), lab.netns("b")
    lab.veth(a, "wan0", b, "wan0")
    a.add_addr("wan0", "203.0.113.1/24")
    b.add_addr("wan0", "203.0.113.2/24")
    cap = Capture(a, "wan0", lab.path("c.pcapng"), bpf="udp port 9").start()
    # Sent immediately after start(): must be in the capture.
    a.exec("/usr/bin/python3", "-c",
           "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM);"
           "s.sendto(b'lab-probe', ('203.0.113.2', 9))")
    cap.stop()
    frames = list(read_udp(cap.path))
    assert [(f[1], f[3], f[4], f[5]) for f in frames] == \
        [("203.0.113.1", "203.0.113.2", 9, b"lab-probe")]
