"""Live strongSwan <-> strongSwan capture, once per suite, checked end to end.

Runs the same generator as scripts/capture-strongswan into a temp dir and
checks the tunnel, the CHILD rekey, the values (lengths and an independent
RFC 7296 re-derivation), the IKE messages and tshark's dissection.  With
IKE_KAT_CHECK=<program> set, also runs `<program> <suite dir>` (libike's C
known-answer check) and requires exit 0.
"""

import os
import subprocess

import pytest

from conftest import CAPTURE_TOOLS, require_lab
from labkit import checks, scenario
from labkit.fixtures import generate
from labkit.netns import Lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module", params=sorted(scenario.SUITES))
def live(request, tmp_path_factory):
    """(suite, suite_dir, values, obs) of one live run; lab always torn down."""
    require_lab(CAPTURE_TOOLS)
    suite = request.param
    outdir = str(tmp_path_factory.mktemp("cap"))
    lab = Lab(base_dir=outdir)
    try:
        _values, _msgs, obs = generate(lab, outdir, suite)
    finally:
        lab.close()
    yield suite, os.path.join(outdir, suite), obs


def test_tunnel_established_both_sides(live):
    _suite, _d, obs = live
    ike_i, ike_r = obs["established_i"][:2], obs["established_r"][:2]
    assert ike_i == ike_r, f"IKE SPIs differ: initiator {ike_i}, responder {ike_r}"
    # The initiator's inbound SPI is the responder's outbound one and vice versa.
    assert obs["established_i"][2:] == obs["established_r"][:1:-1]
    assert obs["ping_ok"], "no ping through the CHILD_SA (192.0.2.1 -> 192.0.2.129)"


def test_child_rekey_new_spis_same_ike_sa(live):
    _suite, d, obs = live
    before, after = obs["established_i"], obs["rekeyed_i"]
    assert after[:2] == before[:2], f"IKE SPIs changed in a CHILD rekey: {before} -> {after}"
    assert after[2] != before[2] and after[3] != before[3], \
        f"CHILD SPIs unchanged after rekey: {before[2:]} -> {after[2:]}"
    assert obs["rekeyed_r"][2:] == after[:1:-1]
    v = checks.load_values(d)
    assert (v["child_spi_i"].hex(), v["child_spi_r"].hex()) == after[2:]
    assert (v["auth_child_spi_i"].hex(), v["auth_child_spi_r"].hex()) == before[2:]
    assert (v["spi_i"].hex(), v["spi_r"].hex()) == after[:2]


def test_values_present_with_suite_lengths(live):
    suite, d, _obs = live
    checks.check_value_lengths(checks.load_values(d), suite)


def test_values_rederive_rfc7296(live):
    suite, d, _obs = live
    checks.check_derivation(checks.load_values(d), suite)


def test_capture_dissects_cleanly(live):
    _suite, d, _obs = live
    checks.check_capture(d)


def test_message_files_are_ike_messages(live):
    _suite, d, _obs = live
    checks.check_messages(d, checks.load_values(d))


def test_logs_hold_no_other_secrets(live):
    _suite, d, _obs = live
    checks.check_logs(d, checks.load_values(d))


def test_kat_check_hook(live):
    """$IKE_KAT_CHECK <suite dir> must exit 0 (libike's C check, added later)."""
    prog = os.environ.get("IKE_KAT_CHECK")
    if not prog:
        pytest.skip("IKE_KAT_CHECK not set")
    if not os.access(prog, os.X_OK):
        pytest.skip(f"IKE_KAT_CHECK={prog} is not an executable (not built yet)")
    _suite, d, _obs = live
    res = subprocess.run([prog, d], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"{prog} {d} exited {res.returncode}:\n{res.stdout}{res.stderr}"


@pytest.mark.parametrize("suite", sorted(scenario.SUITES))
def test_stored_fixtures_consistent(suite):
    """The fixtures in the repo pass the same offline checks (no root needed)."""
    d = os.path.join(os.path.dirname(__file__), "..", "fixtures", "strongswan", suite)
    if not os.path.isdir(d):
        pytest.fail(f"missing fixtures {d}: run scripts/capture-strongswan "
                    f"tests/fixtures/strongswan {suite}")
    checks.check_suite_dir(d, suite)
