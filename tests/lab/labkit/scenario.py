"""strongSwan <-> strongSwan IKEv2 PSK exchange, captured for fixtures.

run_exchange() builds a gateway pair, starts one stock charon per side,
establishes one CHILD_SA between the LANs, rekeys the CHILD_SA (PFS, so the
CREATE_CHILD_SA carries KE payloads), which also produces the INFORMATIONAL
that deletes the old CHILD_SA, then closes the IKE_SA (another INFORMATIONAL).
"""

import time

from . import topo
from .capture import Capture
from .charon import Charon
from .netns import LabError

# Test-only pre-shared key; it appears in the fixtures on purpose.
PSK = "haiked-lab-test-psk-not-secret"
ID_I = "moon.lab.example"
ID_R = "sun.lab.example"
IKE_NAME = "gw"
CHILD_NAME = "net"

# suite name -> (IKE proposal, ESP proposal with the PFS group)
SUITES = {
    "aes256-sha512-ecp521": ("aes256-sha512-ecp521", "aes256-sha512-ecp521"),
    "aes256gcm16-prfsha512-ecp521": ("aes256gcm16-prfsha512-ecp521", "aes256gcm16-ecp521"),
}


def swanctl_conf(local, remote, local_id, remote_id, ike_prop, esp_prop):
    return {
        "connections": {
            IKE_NAME: {
                "version": 2,
                "local_addrs": local.wan_ip,
                "remote_addrs": remote.wan_ip,
                "proposals": ike_prop,
                # Rekeys and DPD only when the test asks: deterministic captures.
                "rekey_time": 0, "reauth_time": 0, "dpd_delay": 0,
                "mobike": "no",
                "local": {"auth": "psk", "id": local_id},
                "remote": {"auth": "psk", "id": remote_id},
                "children": {
                    CHILD_NAME: {
                        "local_ts": local.lan_net,
                        "remote_ts": remote.lan_net,
                        "esp_proposals": esp_prop,
                        "mode": "tunnel",
                        "rekey_time": 0, "life_time": 0,
                        "start_action": "none",
                    },
                },
            },
        },
        "secrets": {"ike-psk": {"id-1": ID_I, "id-2": ID_R, "secret": PSK}},
    }


def child_spis(sas):
    """(ike spi_i, spi_r, child spi_in, spi_out) of the one IKE_SA/CHILD_SA in sas."""
    if IKE_NAME not in sas:
        raise LabError(f"no IKE_SA {IKE_NAME} in list-sas: {sas}")
    ike = sas[IKE_NAME]
    if ike.get("state") != "ESTABLISHED":
        raise LabError(f"IKE_SA {IKE_NAME} not established: {ike.get('state')}")
    children = [c for c in ike.get("child-sas", {}).values() if c.get("state") == "INSTALLED"]
    if len(children) != 1:
        raise LabError(f"expected 1 installed CHILD_SA, got {len(children)}: {ike}")
    child = children[0]
    return ike["initiator-spi"], ike["responder-spi"], child["spi-in"], child["spi-out"]


def wait_child_changed(charon, old, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        try:
            now = child_spis(charon.list_sas())
            if now[2:] != old[2:]:
                return now
        except LabError:
            if time.monotonic() >= deadline:
                raise
        if time.monotonic() >= deadline:
            raise LabError(f"CHILD_SA rekey not seen on {charon.name}: SPIs still {old}")
        time.sleep(0.1)


def run_exchange(lab, suite, capture_path):
    """Run the exchange inside lab; return a dict of observations for the caller."""
    if suite not in SUITES:
        raise LabError(f"unknown suite {suite}; known: {', '.join(SUITES)}")
    ike_prop, esp_prop = SUITES[suite]
    gw_i, gw_r = topo.gateway_pair(lab)
    ini = Charon(lab, gw_i.ns, "initiator",
                 swanctl_conf(gw_i, gw_r, ID_I, ID_R, ike_prop, esp_prop))
    res = Charon(lab, gw_r.ns, "responder",
                 swanctl_conf(gw_r, gw_i, ID_R, ID_I, ike_prop, esp_prop))
    cap = Capture(gw_i.ns, gw_i.wan_if, capture_path)
    obs = {"initiator": ini, "responder": res, "gw_i": gw_i, "gw_r": gw_r}
    try:
        res.start()
        ini.start()
        res.load_all()
        ini.load_all()
        cap.start()
        ini.initiate(CHILD_NAME)
        obs["established_i"] = child_spis(ini.list_sas())
        obs["established_r"] = child_spis(res.list_sas())
        # One datagram through the tunnel proves the CHILD_SA carries traffic.
        ping = gw_i.ns.exec("ping", "-c", "1", "-W", "3", "-I", gw_i.lan_ip, gw_r.lan_ip,
                            check=False)
        obs["ping_ok"] = ping.returncode == 0
        ini.rekey_child(CHILD_NAME)
        obs["rekeyed_i"] = wait_child_changed(ini, obs["established_i"])
        obs["rekeyed_r"] = wait_child_changed(res, obs["established_r"])
        # Let the INFORMATIONAL deleting the old CHILD_SA finish.
        time.sleep(0.5)
        ini.terminate_ike(IKE_NAME)
    finally:
        cap.stop()
        res.stop()
        ini.stop()
    obs["log_i"] = ini.log()
    obs["log_r"] = res.log()
    return obs
