"""Tool runs that end with the flow: each in a process group of its own, stopped as a whole when the
flow is interrupted (Ctrl-C, SIGTERM: flow.cli.main turns it into an exception) or fails.

`subprocess.run` kills only its direct child on an exception, so the compilers a Verilator build
starts through make (g++, cc1plus, ld) went on for seconds after `flow` had exited.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

#: seconds a tool has to exit after SIGTERM before its group gets SIGKILL
GRACE_S = 0.5


def stop_group(proc: subprocess.Popen, grace: float = GRACE_S) -> None:
    """SIGTERM to the tool's process group, SIGKILL to what is left after `grace` seconds, then reap."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            if proc.poll() is None:
                proc.kill()
        deadline = time.monotonic() + grace
        while sig == signal.SIGTERM and time.monotonic() < deadline and _group_alive(proc.pid):
            time.sleep(0.02)
        if not _group_alive(proc.pid):
            break
    try:
        proc.communicate(timeout=5)
    except (subprocess.TimeoutExpired, ValueError, OSError, AttributeError):
        try:  # its pipes were closed by a Popen() that did not finish: reap it all the same
            proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError, AttributeError):
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def run_group(cmd, *, cwd=None, env: dict | None = None, log_file=None) -> subprocess.CompletedProcess:
    """Run `cmd` to the end in a new session (its own process group), capturing text output (or
    writing stdout and stderr to the open file `log_file`). Any exception while it runs
    (KeyboardInterrupt, the flow's Terminated) stops the whole group first."""
    out = subprocess.PIPE if log_file is None else log_file
    # made in two halves so that a signal arriving inside Popen(), after the fork (the tool already
    # running, the constructor not yet returned), still finds the process to stop
    proc = subprocess.Popen.__new__(subprocess.Popen)
    try:
        proc.__init__(
            [str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.PIPE if log_file is None else subprocess.STDOUT, text=True, start_new_session=True,
        )
        out, err = proc.communicate()
    except BaseException:
        if getattr(proc, "pid", None):
            stop_group(proc)
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
