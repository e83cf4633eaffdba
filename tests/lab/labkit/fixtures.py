"""Turn a captured strongSwan exchange into the fixture files of one suite.

Layout written into OUTDIR (see tests/fixtures/strongswan/README.md):
  capture.pcapng, initiator.log, responder.log
  messages/NN_<EXCHANGE>_<req|resp>.bin, messages/index.txt
  values.txt   'key = value' (hex, lowercase, except suite and psk)
Every value is taken from one source and, where a second source exists,
checked against it (the other charon's log, the capture, the CHILD seed), so a
fixture that is written is a consistent one.
"""

import os
import shutil

from . import capture as capture_mod
from . import charonlog
from . import ike
from .netns import LabError

IKE_KEYS = ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")


class FixtureError(LabError):
    pass


def ike_messages(pcap_path, initiator_ip):
    """[(frame, direction, sport, dport, Header, bytes)] for every IKE datagram."""
    out = []
    for frame, src, sport, _dst, dport, payload in capture_mod.read_udp(pcap_path):
        data = ike.strip_marker(payload, dport)
        if data is None or len(data) < ike.HDR_LEN:
            continue
        direction = ("initiator->responder" if src == initiator_ip
                     else "responder->initiator")
        out.append((frame, direction, sport, dport, ike.Header(data), data))
    return out


def message_name(index, hdr):
    kind = "resp" if hdr.is_response else "req"
    return f"{index:02d}_{hdr.exchange_name}_{kind}.bin"


def _one(values, what):
    if len(values) == 0:
        raise FixtureError(f"value missing from the log: {what}")
    return values[0]


def _same(name, a, b):
    if a != b:
        raise FixtureError(f"{name} differs between sources: {a.hex()} vs {b.hex()}")


def _sa_init_values(msgs):
    """spi_i, spi_r, ni, nr, ke_i, ke_r from the IKE_SA_INIT pair in the capture."""
    init = [m for m in msgs if m[4].exchange == 34]
    reqs = [m for m in init if not m[4].is_response]
    resps = [m for m in init if m[4].is_response]
    if not reqs or not resps:
        raise FixtureError("capture lacks the IKE_SA_INIT request or response")
    vals = {}
    for tag, (_f, _d, _s, _p, hdr, data) in (("i", reqs[-1]), ("r", resps[-1])):
        pl = dict(ike.payloads(data))
        if ike.PLD_NONCE not in pl or ike.PLD_KE not in pl:
            raise FixtureError(f"IKE_SA_INIT {tag} lacks KE or Nonce")
        vals["n" + tag] = pl[ike.PLD_NONCE]
        vals["ke_group"], vals["ke_" + tag] = ike.ke_data(pl[ike.PLD_KE])
        if tag == "r":
            vals["spi_i"], vals["spi_r"] = hdr.spi_i, hdr.spi_r
    return vals


def derive_values(log_i, log_r, msgs):
    """The values.txt dict (bytes values) from both logs and the capture."""
    ev_i = list(charonlog.events(log_i))
    ev_r = list(charonlog.events(log_r))
    v = _sa_init_values(msgs)
    v.pop("ke_group")

    # IKE SA keys: the first of each in the initiator's log; the responder must agree.
    labels = {"g_ir": "shared Diffie Hellman secret", "skeyseed": "SKEYSEED"}
    labels.update({k: "Sk_" + k[3:] + " secret" for k in IKE_KEYS})
    aead = not charonlog.dumps(ev_i, "Sk_ai secret")
    for key, label in labels.items():
        if aead and key in ("sk_ai", "sk_ar"):
            v[key] = b""  # AEAD: no integrity keys are derived (RFC 5282)
            continue
        v[key] = _one(charonlog.dumps(ev_i, label), f"initiator '{label}'")
        _same(key, v[key], _one(charonlog.dumps(ev_r, label), f"responder '{label}'"))

    # Nonces and KE data as charon generated/parsed them: IKE_SA_INIT first,
    # then the CREATE_CHILD_SA of the CHILD rekey (both inside SK there).
    n_i = charonlog.payloads(ev_i, "generating", "NONCE")
    n_r = charonlog.payloads(ev_i, "parsing", "NONCE")
    ke_i = charonlog.payloads(ev_i, "generating", "KEY_EXCHANGE")
    ke_r = charonlog.payloads(ev_i, "parsing", "KEY_EXCHANGE")
    if min(len(n_i), len(n_r), len(ke_i), len(ke_r)) < 2:
        raise FixtureError("initiator log lacks the CREATE_CHILD_SA nonces/KE "
                           f"({len(n_i)}/{len(n_r)} nonces, {len(ke_i)}/{len(ke_r)} KE)")
    for key, logged in (("ni", n_i[0]), ("nr", n_r[0]), ("ke_i", ke_i[0]), ("ke_r", ke_r[0])):
        _same(key + " (capture vs initiator log)", v[key], logged)
    _same("child_ni (initiator vs responder log)", n_i[1],
          charonlog.payloads(ev_r, "parsing", "NONCE")[1])
    _same("child_nr (initiator vs responder log)", n_r[1],
          charonlog.payloads(ev_r, "generating", "NONCE")[1])
    v["child_ni"], v["child_nr"] = n_i[1], n_r[1]
    v["child_ke_i"], v["child_ke_r"] = ke_i[1], ke_r[1]

    _child_values(v, ev_i, ev_r, aead)
    return v


CHILD_LABELS = {"encr_i": "encryption initiator key", "encr_r": "encryption responder key",
                "integ_i": "integrity initiator key", "integ_r": "integrity responder key"}


def _child_values(v, ev_i, ev_r, aead):
    """auth_child_* (CHILD_SA of IKE_AUTH) and child_* (the PFS rekey)."""
    kids_i = charonlog.children(ev_i)
    kids_r = charonlog.children(ev_r)
    if len(kids_i) < 2 or len(kids_r) < 2:
        raise FixtureError(f"expected 2 CHILD_SAs established (IKE_AUTH + rekey), "
                           f"initiator log has {len(kids_i)}, responder log {len(kids_r)}")
    for n, prefix in ((0, "auth_child_"), (1, "child_")):
        spi_in, spi_out = kids_i[n]
        if kids_r[n] != (spi_out, spi_in):
            raise FixtureError(f"CHILD_SA {n} SPIs disagree: initiator {kids_i[n]}, "
                               f"responder {kids_r[n]}")
        v[prefix + "spi_i"] = bytes.fromhex(spi_in)   # chosen by the initiator
        v[prefix + "spi_r"] = bytes.fromhex(spi_out)  # chosen by the responder
        for key, label in CHILD_LABELS.items():
            got = charonlog.dumps(ev_i, label)
            if aead and key.startswith("integ"):
                if got:
                    raise FixtureError(f"AEAD suite but the log has '{label}'")
                v[prefix + key] = b""
                continue
            if len(got) < 2:
                raise FixtureError(f"value missing from the initiator log: '{label}' #{n + 1}")
            v[prefix + key] = got[n]
            _same(prefix + key, got[n], charonlog.dumps(ev_r, label)[n])
    v["child_g_ir"] = _one(charonlog.dumps(ev_i, "DH secret"), "initiator CHILD 'DH secret'")
    _same("child_g_ir", v["child_g_ir"], _one(charonlog.dumps(ev_r, "DH secret"),
                                              "responder CHILD 'DH secret'"))
    seeds = charonlog.dumps(ev_i, "seed")
    if len(seeds) < 2:
        raise FixtureError(f"expected 2 CHILD 'seed' dumps in the initiator log, got {len(seeds)}")
    # RFC 7296 2.17: KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr): the logged seeds
    # prove the nonces/secret above are the ones that went into the CHILD keys.
    _same("auth CHILD seed vs ni|nr", seeds[0], v["ni"] + v["nr"])
    _same("rekey CHILD seed vs child_g_ir|child_ni|child_nr", seeds[1],
          v["child_g_ir"] + v["child_ni"] + v["child_nr"])


# Labels of charon dumps that hold key material or secrets.  Everything in a
# fixture log must be one of these: test-only PSK or a value of values.txt
# (or derived from them only, like SK_p / AUTH).
ALLOWED_SECRET_LABELS = {
    "shared Diffie Hellman secret", "SKEYSEED", "Sk_d secret", "Sk_ai secret",
    "Sk_ar secret", "Sk_ei secret", "Sk_er secret", "Sk_pi secret", "Sk_pr secret",
    "SK_p", "secret", "prf(secret, keypad)", "AUTH = prf(prf(secret, keypad), octets)",
    "octets = message + nonce + prf(Sk_px, IDx')",
    "DH secret", "seed", "encryption initiator key", "encryption responder key",
    "integrity initiator key", "integrity responder key",
}
_SECRETISH = ("secret", "key", "seed", "sk_", "private", "psk", "skeyseed")


def unexpected_secret_labels(log_text):
    """Dump labels that look like secrets but are not ones we publish."""
    labels = {e[2] for e in charonlog.events(log_text) if e[0] == "dump"}
    return sorted(lbl for lbl in labels
                  if any(w in lbl.lower() for w in _SECRETISH)
                  and lbl not in ALLOWED_SECRET_LABELS)


VALUE_ORDER = ("suite", "psk", "spi_i", "spi_r", "ni", "nr", "ke_i", "ke_r", "g_ir",
               "skeyseed") + IKE_KEYS + tuple(
    p + k for p in ("auth_child_",) for k in ("spi_i", "spi_r", "encr_i", "encr_r",
                                              "integ_i", "integ_r")) + (
    "child_spi_i", "child_spi_r", "child_ni", "child_nr", "child_ke_i", "child_ke_r",
    "child_g_ir", "child_encr_i", "child_encr_r", "child_integ_i", "child_integ_r")


def format_values(values):
    lines = []
    for key in VALUE_ORDER:
        val = values[key]
        # An empty value is written as 'key =' (no trailing blank).
        lines.append(f"{key} = {val if isinstance(val, str) else val.hex()}".rstrip())
    return "\n".join(lines) + "\n"


def parse_values(text):
    """values.txt -> {key: str} (hex left as text)."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, val = line.partition(" = ")
        if not sep:
            key, _, val = line.partition("=")
        out[key.strip()] = val.strip()
    return out


def write_messages(msgdir, msgs):
    os.makedirs(msgdir, exist_ok=True)
    index = ["# file direction udp_src_port udp_dst_port message_id length"]
    for n, (_frame, direction, sport, dport, hdr, data) in enumerate(msgs):
        name = message_name(n, hdr)
        with open(os.path.join(msgdir, name), "wb") as f:
            f.write(data)
        index.append(f"{name} {direction} {sport} {dport} {hdr.msg_id} {len(data)}")
    with open(os.path.join(msgdir, "index.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(index) + "\n")


def write_suite(outdir, suite, psk, capture_path, log_i, log_r, initiator_ip):
    """Write all fixture files of one suite into outdir (replacing what was there)."""
    msgs = ike_messages(capture_path, initiator_ip)
    values = derive_values(log_i, log_r, msgs)
    values["suite"], values["psk"] = suite, psk
    for who, text in (("initiator", log_i), ("responder", log_r)):
        bad = unexpected_secret_labels(text)
        if bad:
            raise FixtureError(f"{who} log holds unexpected secrets: {bad}")
    tmp = outdir.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        _fill(tmp, suite, capture_path, log_i, log_r, msgs, values)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Replace the old fixtures only once the new set is complete.
    shutil.rmtree(outdir, ignore_errors=True)
    os.replace(tmp, outdir)
    return values, msgs


def _fill(tmp, suite, capture_path, log_i, log_r, msgs, values):
    shutil.copyfile(capture_path, os.path.join(tmp, "capture.pcapng"))
    for name, text in (("initiator.log", log_i), ("responder.log", log_r)):
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write(text)
    write_messages(os.path.join(tmp, "messages"), msgs)
    with open(os.path.join(tmp, "values.txt"), "w", encoding="utf-8") as f:
        f.write(format_values(values))
    with open(os.path.join(tmp, "README.md"), "w", encoding="utf-8") as f:
        f.write(suite_readme(suite, values, msgs))


# key -> where it comes from (written into each suite's README.md).
VALUE_DOCS = {
    "suite": "the suite name (text): IKE proposal; ESP uses the same algorithms with the same DH group as PFS",
    "psk": "the test-only pre-shared key (text), both sides, IDs moon.lab.example / sun.lab.example",
    "spi_i": "IKE SPIi: IKE header of the IKE_SA_INIT response in the capture",
    "spi_r": "IKE SPIr: IKE header of the IKE_SA_INIT response in the capture",
    "ni": "Nonce data of the IKE_SA_INIT request (capture); equals the initiator log's generated NONCE CHUNK_DATA",
    "nr": "Nonce data of the IKE_SA_INIT response (capture); equals the initiator log's parsed NONCE CHUNK_DATA",
    "ke_i": "KE data (after group+reserved) of the IKE_SA_INIT request (capture; checked against the log)",
    "ke_r": "KE data of the IKE_SA_INIT response (capture; checked against the log)",
    "g_ir": "log 'shared Diffie Hellman secret' [IKE, level 4] (both logs agree)",
    "skeyseed": "log 'SKEYSEED' [IKE 4] = prf(Ni | Nr, g^ir)",
    "sk_d": "log 'Sk_d secret' [IKE 4]; SK_d..SK_pr = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)",
    "sk_ai": "log 'Sk_ai secret' [IKE 4]; empty for AEAD (GCM) suites, which derive no integrity key",
    "sk_ar": "log 'Sk_ar secret' [IKE 4]; empty for AEAD suites",
    "sk_ei": "log 'Sk_ei secret' [IKE 4]; for GCM the 32-octet key followed by the 4-octet salt",
    "sk_er": "log 'Sk_er secret' [IKE 4]; for GCM key + 4-octet salt",
    "sk_pi": "log 'Sk_pi secret' [IKE 4]",
    "sk_pr": "log 'Sk_pr secret' [IKE 4]",
    "auth_child_spi_i": "ESP SPI chosen by the initiator (its inbound SA) of the CHILD_SA created in IKE_AUTH: log 'CHILD_SA net{1} established with SPIs <spi>_i'",
    "auth_child_spi_r": "ESP SPI chosen by the responder for that CHILD_SA ('<spi>_o' in the initiator log)",
    "auth_child_encr_i": "log 'encryption initiator key' [CHD 4], first CHILD_SA: KEYMAT = prf+(SK_d, Ni | Nr) (log 'seed' = ni|nr, checked)",
    "auth_child_encr_r": "log 'encryption responder key' [CHD 4], first CHILD_SA",
    "auth_child_integ_i": "log 'integrity initiator key' [CHD 4], first CHILD_SA; empty for AEAD",
    "auth_child_integ_r": "log 'integrity responder key' [CHD 4], first CHILD_SA; empty for AEAD",
    "child_spi_i": "ESP SPI chosen by the initiator in the CHILD rekey (CREATE_CHILD_SA): log 'CHILD_SA net{2} established with SPIs <spi>_i'",
    "child_spi_r": "ESP SPI chosen by the responder in the CHILD rekey",
    "child_ni": "Nonce data of the CREATE_CHILD_SA request: decrypted-payload parse in the logs (ENC 4, 'generating/parsing rule 10 CHUNK_DATA' of the NONCE payload)",
    "child_nr": "Nonce data of the CREATE_CHILD_SA response (ENC 4, as above)",
    "child_ke_i": "KE data of the CREATE_CHILD_SA request (ENC 4, KEY_EXCHANGE payload CHUNK_DATA)",
    "child_ke_r": "KE data of the CREATE_CHILD_SA response (ENC 4)",
    "child_g_ir": "log 'DH secret' [CHD 4]: the PFS shared secret of the rekey",
    "child_encr_i": "log 'encryption initiator key' [CHD 4], second CHILD_SA: KEYMAT = prf+(SK_d, g^ir(new) | Ni | Nr) (log 'seed' = child_g_ir|child_ni|child_nr, checked); GCM: key + 4-octet salt",
    "child_encr_r": "log 'encryption responder key' [CHD 4], second CHILD_SA",
    "child_integ_i": "log 'integrity initiator key' [CHD 4], second CHILD_SA; empty for AEAD",
    "child_integ_r": "log 'integrity responder key' [CHD 4], second CHILD_SA; empty for AEAD",
}


def suite_readme(suite, values, msgs):
    lines = [
        f"# strongSwan IKEv2 capture: {suite}",
        "",
        "Generated by `scripts/capture-strongswan tests/fixtures/strongswan " + suite + "`",
        "(stock charon 5.9.8 <-> charon, two network namespaces, kernel-libipsec,",
        "IKEv2 PSK; see tests/lab/README.md).  Do not edit: regenerate.",
        "",
        "Exchange: IKE_SA_INIT, IKE_AUTH (CHILD_SA 192.0.2.0/25 === 192.0.2.128/25),",
        "`swanctl --rekey --child` (CREATE_CHILD_SA with PFS KE), the INFORMATIONAL deleting",
        "the old CHILD_SA, then `swanctl --terminate --ike` (INFORMATIONAL deleting the IKE_SA).",
        "The initiator (203.0.113.1) started every exchange; the responder is 203.0.113.2.",
        "kernel-libipsec fakes NAT detection, so all after IKE_SA_INIT runs on UDP 4500.",
        "",
        "## Files",
        "- `capture.pcapng`: the capture on the initiator's WAN veth (udp 500/4500).",
        "- `initiator.log`, `responder.log`: charon filelogs (ike/chd/enc/net 4, cfg 2).",
        "  They hold the test-only PSK and the keys of values.txt (plus values derived only",
        "  from those, e.g. SK_p and AUTH), nothing else secret.",
        "- `messages/NN_<EXCHANGE>_<req|resp>.bin`: every IKE datagram from the IKE header on,",
        "  the 4-octet non-ESP marker stripped, in capture order; req/resp from the R flag.",
        "  `messages/index.txt`: file, direction, UDP source/destination port, message ID, length.",
        "- `values.txt`: `key = value`; hex lowercase without separators except `suite` and",
        "  `psk` (text).  An empty value means the suite has no such key (AEAD integrity).",
        "",
        "## Messages",
        "",
    ]
    for n, (_f, direction, sport, dport, hdr, data) in enumerate(msgs):
        lines.append(f"- `{message_name(n, hdr)}` {direction}, {sport}->{dport}, "
                     f"message ID {hdr.msg_id}, {len(data)} octets")
    lines += ["", "## values.txt keys", "", "| key | octets | source |", "|---|---|---|"]
    for key in VALUE_ORDER:
        val = values[key]
        size = "text" if isinstance(val, str) else str(len(val))
        lines.append(f"| `{key}` | {size} | {VALUE_DOCS[key]} |")
    return "\n".join(lines) + "\n"


def generate(lab, outdir, suite):
    """Run the strongSwan exchange for suite inside lab and write outdir/suite.

    Returns (values, msgs, obs): obs are the scenario's observations
    (list-sas SPIs before/after the rekey, ping result, logs).
    """
    from . import scenario, topo  # local: scenario pulls in charon/capture
    cap = lab.path("capture.pcapng")
    obs = scenario.run_exchange(lab, suite, cap)
    values, msgs = write_suite(os.path.join(outdir, suite), suite, scenario.PSK,
                               cap, obs["log_i"], obs["log_r"], topo.WAN_I)
    return values, msgs, obs
