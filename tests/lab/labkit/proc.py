"""Processes started inside namespaces, tracked by PID.

Each process is started in its own session (so its process group id is its
PID) and is only ever signalled through that group while the Popen object has
not been reaped: the PID cannot have been recycled for something else then.
"""

import os
import signal
import subprocess
import time


class Proc:
    """A process started by a lab: its Popen, its log file and its name."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.log_path = log_path

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def send_signal(self, sig):
        """Signal the process group we created, if the process is still ours."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Ask politely, then SIGKILL; returns the exit status."""
        self.send_signal(sig)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            return self.popen.wait(timeout=timeout)

    def __repr__(self):
        return f"Proc({self.name}, pid={self.pid})"


class Procs:
    """The processes of one lab, stopped in reverse start order by stop_all()."""

    def __init__(self):
        self.procs = []

    def start(self, ns, argv, name, private_run=None, env=None, log_path=None,
              cwd=None):
        """Start argv inside namespace ns.

        private_run: a directory bind-mounted over /run for this process only
        (ip netns exec gives each command its own mount namespace), so daemons
        with compiled-in pid files (charon, corosync) do not collide.
        """
        log_path = log_path or ns.lab.path(f"{name}.out")
        prefix = ["ip", "netns", "exec", ns.name]
        if private_run:
            os.makedirs(private_run, exist_ok=True)
            # $0 is the directory to mount; "$@" is the real command.
            prefix += ["sh", "-c", 'mount --bind "$0" /run && exec "$@"', private_run]
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(prefix + list(argv), stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=full_env, cwd=cwd, start_new_session=True)
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def stop_all(self):
        while self.procs:
            self.procs.pop().stop()


def wait_for(predicate, timeout, what, interval=0.05):
    """Poll predicate() until it returns a true value; raise TimeoutError naming what."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
