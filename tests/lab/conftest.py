"""pytest fixtures for namespace labs.

Every fixture that creates something tears it down in a finally, whatever the
test did: it kills only the PIDs it started, deletes only the namespaces it
created and removes its temp dir (kept under pytest's tmp_path when the test
failed, for the logs).  SIGTERM is turned into KeyboardInterrupt so an
interrupted run still goes through pytest's teardown.
"""

import os
import signal
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labkit.netns import Lab, missing_prerequisites  # noqa: E402

CHARON_TOOLS = ("ip", "swanctl", "/usr/lib/ipsec/charon")
CAPTURE_TOOLS = CHARON_TOOLS + ("tshark",)


def _sigterm(_signum, _frame):
    raise KeyboardInterrupt("SIGTERM")


def pytest_configure(config):
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Remember each phase's outcome on the item so teardown can see failures.
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def require_lab(tools=("ip",)):
    """Skip (never fail) when this host cannot run the lab."""
    missing = missing_prerequisites(tools)
    if missing:
        pytest.skip("lab unavailable: " + "; ".join(missing))


def _failed(node):
    rep = getattr(node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.fixture
def lab(request, tmp_path):
    """A fresh Lab (namespaces hk<pid>-<n><tag>) torn down after the test."""
    require_lab()
    the_lab = Lab(base_dir=str(tmp_path))
    try:
        yield the_lab
    finally:
        the_lab.keep_dir = _failed(request.node)
        the_lab.close()


@pytest.fixture
def charon_lab(lab):
    """A Lab on a host that also has charon and swanctl."""
    require_lab(CHARON_TOOLS)
    return lab
