"""pytest fixtures for the tests that run inside the user-mode-linux guest.

The lab kit is tests/lab/labkit (namespaces, charon, haiked, teardown
guarantees: see tests/lab/README.md); here it runs on a kernel with ESP.
Outside the guest (or on a guest whose kernel cannot add an ESP state) the
tests skip with the reason: run them through uml-run.sh.
"""

import os
import signal
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from labkit import xfrm  # noqa: E402
from labkit.netns import Lab, missing_prerequisites  # noqa: E402

CHARON_TOOLS = ("ip", "swanctl", "/usr/lib/ipsec/charon")

_esp = None


def _sigterm(_signum, _frame):
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def in_guest():
    """True inside a guest started by uml-run.sh (its init exports UML_JOB)."""
    return bool(os.environ.get("UML_JOB")) and os.path.isdir(
        f"/usr/lib/uml/modules/{os.uname().release}")


def require_kernel_esp(tools=("ip",)):
    """Skip unless root, the tools, and a kernel that takes ESP states."""
    global _esp
    missing = missing_prerequisites(tools)
    if missing:
        pytest.skip("lab unavailable: " + "; ".join(missing))
    if not in_guest():
        pytest.skip("needs the ESP kernel: run through tests/uml/uml-run.sh "
                    "(scripts/test.sh uml)")
    if _esp is None:
        _esp = xfrm.kernel_has_esp()
    if not _esp:
        pytest.fail("inside the UML guest but the kernel refuses ESP states "
                    "(modules not loaded? see uml-init.sh)")


@pytest.fixture
def uml_lab(request, tmp_path):
    """A fresh Lab inside the guest, torn down after the test."""
    require_kernel_esp(CHARON_TOOLS)
    the_lab = Lab(base_dir=str(tmp_path))
    try:
        yield the_lab
    finally:
        rep = getattr(request.node, "rep_call", None)
        the_lab.keep_dir = rep is not None and rep.failed
        the_lab.close()
