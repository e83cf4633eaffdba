"""Helpers shared by the UML tests: charon with ESP in the kernel, pings."""

import re
import time

from labkit import scenario
from labkit.charon import Charon
from labkit.proc import wait_for

# LAB.md's list without kernel-libipsec: ESP goes through the kernel.
PLUGINS_KERNEL = ("openssl random nonce aes sha1 sha2 hmac kdf pem pkcs1 pkcs8 x509 "
                  "pubkey gcm drbg kernel-netlink socket-default vici updown")
LOG_LEVELS = {"ike": 1, "chd": 1, "enc": 0, "net": 0, "knl": 2}
PINGS = 20


def kernel_charon(lab, gw, peer, name, local_id, remote_id, ike, esp):
    conf = scenario.swanctl_conf(gw, peer, local_id, remote_id, ike, esp)
    return Charon(lab, gw.ns, name, conf, log_levels=LOG_LEVELS,
                  charon_extra={"load": PLUGINS_KERNEL})


def ping(ns, src, dst, count=PINGS, interval="0.05"):
    res = ns.exec("ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", "2", "-I", src, dst,
                  check=False, timeout=count + 20)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    assert m, f"ping output: {res.stdout} {res.stderr}"
    return int(m[1]), int(m[2])


TRAIN = 2000  # -i 0.002: 4 s; a gap of 2 ms between two SA switches loses a ping


def ping_train(gl, gr, rekeys, child=scenario.CHILD_NAME):
    """ping -i 0.002 TRAIN times from gl's LAN address to gr's while each of
    rekeys(child) runs, 1 s apart from 1 s on; (sent, received, output)."""
    pinger = gl.ns.start(["ping", "-n", "-q", "-c", str(TRAIN), "-i", "0.002", "-W", "2", "-I",
                          gl.lan_ip, gr.lan_ip], "ping-train")
    for rekey in rekeys:
        time.sleep(1)
        rekey(child)
    wait_for(lambda: not pinger.alive(), 60, "ping train finished")
    out = pinger.log()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    assert m, out
    return int(m[1]), int(m[2]), out
