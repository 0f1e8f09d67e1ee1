"""The RTL harness cache under concurrency and signals, with a fake `verilator` on PATH (a shell
script, chosen through FLOW_VERILATOR, that starts a slow child "compiler", then writes the binary): two runs building the same
entry take turns and both succeed; SIGTERM during a build leaves no compiler behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FAKE = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "Verilator 5.000 fake"; exit 0; fi
echo "start $$" >> "$FAKE_LOG"
sleep "$FAKE_SECONDS" &
echo "child $!" >> "$FAKE_LOG"
wait
mkdir -p obj && printf '#!/bin/sh\\n' > obj/eie_harness && chmod +x obj/eie_harness
echo "done $$" >> "$FAKE_LOG"
"""

CHILD = """
import sys
from flow.cli.main import Terminated, _terminate_as_interrupt
from flow.rtl import verilator
from flow.rtl.params import EngineParams
_terminate_as_interrupt()
try:
    print(verilator.build(EngineParams(P=2, OL=2)))
except Terminated:
    sys.exit(143)
"""


@pytest.fixture
def fake_env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "verilator"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    env = dict(os.environ)
    env.update(FLOW_VERILATOR=str(fake), EIE_RTL_CACHE=str(tmp_path / "cache"),
               FAKE_LOG=str(tmp_path / "fake.log"), PYTHONPATH=f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}")
    return env, tmp_path


def _start(env, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD], env={**env, "FAKE_SECONDS": str(seconds)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _log(tmp_path) -> list[list[str]]:
    path = tmp_path / "fake.log"
    return [ln.split() for ln in path.read_text().splitlines()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_two_runs_building_the_same_entry_take_turns_and_both_succeed(fake_env):
    env, tmp_path = fake_env
    a = _start(env, 2)
    deadline = time.monotonic() + 60
    while not _log(tmp_path) and time.monotonic() < deadline:  # `a` holds the lock and compiles
        time.sleep(0.05)
    b = _start(env, 2)
    out_a, err_a = a.communicate(timeout=120)
    out_b, err_b = b.communicate(timeout=120)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    assert out_a == out_b and Path(out_a.strip()).is_file()  # the same, complete binary
    starts = [ln for ln in _log(tmp_path) if ln[0] == "start"]
    assert len(starts) == 1  # `b` waited for `a`'s build instead of compiling into the same folder
    cache = tmp_path / "cache"
    entries = [p.name for p in cache.iterdir() if not p.name.endswith(".lock")]
    assert entries == [Path(out_a.strip()).parents[1].name]  # no temporary folder left


def test_sigterm_during_a_build_stops_the_compilers_too(fake_env):
    env, tmp_path = fake_env
    proc = _start(env, 60)
    deadline = time.monotonic() + 60
    while not any(ln[0] == "child" for ln in _log(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [int(ln[1]) for ln in _log(tmp_path)]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 143
    deadline = time.monotonic() + 2
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if _alive(p)]  # the compiler child did not outlive `flow`
    cache = tmp_path / "cache"
    assert not [p for p in cache.iterdir() if not p.name.endswith(".lock")]  # nothing half built kept
