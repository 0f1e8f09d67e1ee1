"""Kills: SIGINT, SIGTERM and SIGKILL at several points of a build; the rerun resumes after the last
completed step, no staging folder or lock is left, and a previous build is byte-identical until the
new one is complete. Fast ones drive the real runner with quick fake steps; the real build is slow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robustness.helpers import build_args, env, flow_cmd, tree_digest

HERE = Path(__file__).resolve().parent


def _default_sigint() -> None:
    """A shell's background job (`cmd &`, nohup) inherits SIGINT ignored, and Python then keeps
    ignoring it: the child under test gets the default disposition, as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(out: Path, log: Path, pause: float, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "fake_build.py"), str(out), str(log), str(pause), *extra],
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def _wait_started(log: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if log.exists() and len(log.read_text().split()) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"step {n} never started")


def _litter(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("at_step", [1, 3])
def test_kill_then_rerun_resumes(tmp_path, sig, code, at_step):
    out, log = tmp_path / "b", tmp_path / "log"
    proc = _start(out, log, 2.0)
    _wait_started(log, at_step, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing swapped in half done
    log.write_text("")
    rerun = _start(out, log, 0.0)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    # steps completed before the kill are not redone
    assert log.read_text().split() == list("abcd")[at_step - 1:], err
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "build_state.json", "c.txt", "d.txt"]
    assert _litter(out) == []  # no staging folder, no lock file
    assert ".building" not in (out / "a.txt").read_text()  # paths name the final folder


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_killed_force_rebuild_leaves_previous_build_identical(tmp_path, sig):
    out, log = tmp_path / "b", tmp_path / "log"
    assert _start(out, log, 0.0).wait(60) == 0
    before = tree_digest(out)
    log.write_text("")
    proc = _start(out, log, 2.0, "--force")
    _wait_started(log, 2, proc)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert tree_digest(out) == before
    log.write_text("")
    assert _start(out, log, 0.0).wait(60) == 0
    assert _litter(out) == []


def test_second_run_into_the_same_folder_exits_2_naming_the_pid(tmp_path):
    out, log = tmp_path / "b", tmp_path / "log"
    first = _start(out, log, 3.0)
    _wait_started(log, 1, first)
    second = _start(out, tmp_path / "log2", 0.0)
    _, err = second.communicate(timeout=60)
    first.communicate(timeout=60)
    assert second.returncode == 2, err
    assert f"PID {first.pid}" in err and "Traceback" not in err, err
    assert first.returncode == 0 and (out / "d.txt").exists()


def test_second_flow_build_exits_2_naming_the_pid(tmp_path, capsys, compressed_dir):
    from flow.cli import main
    from flow.outdir import OutputLock

    out = tmp_path / "b"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from flow.outdir import OutputLock\n"
        f"with OutputLock(Path({str(out)!r}), 'build'):\n    print('held', flush=True); time.sleep(30)")],
        env=env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        rc = main(build_args(compressed_dir, out))
        err = capsys.readouterr().err
        assert rc == 2 and f"PID {holder.pid}" in err and "Traceback" not in err, err
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: its lock is stale and taken over
    with OutputLock(out, "build"):
        pass


def test_stale_lock_file_from_a_dead_pid_is_taken_over(tmp_path):
    out, log = tmp_path / "b", tmp_path / "log"
    (tmp_path / ".b.lock").write_text("999999 build\n")
    assert _start(out, log, 0.0).wait(60) == 0
    assert _litter(out) == []


def test_leftover_staging_without_progress_is_removed(tmp_path):
    out, log = tmp_path / "b", tmp_path / "log"
    junk = tmp_path / ".b.x1y2z3w4.building"
    junk.mkdir()
    (junk / "half.txt").write_text("x")
    other = tmp_path / ".b.x.abcdefgh.building"  # the staging folder of another output, b.x: not ours
    other.mkdir()
    assert _start(out, log, 0.0).wait(60) == 0
    assert _litter(out) == [other.name] and log.read_text().split() == list("abcd")


@pytest.mark.slow
@pytest.mark.csim
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT], ids=lambda s: s.name)
def test_real_build_killed_after_hls_resumes(tmp_path, compressed_dir, sig):
    out = tmp_path / "flow-build"
    proc = subprocess.Popen(flow_cmd(*build_args(compressed_dir, out)), env=env(), preexec_fn=_default_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    for line in proc.stdout:
        seen += line
        if line.startswith("resources"):
            proc.send_signal(sig)
            break
    rest, _ = proc.communicate(timeout=600)
    assert proc.returncode in (130, 143, -9), seen + rest
    assert "Traceback" not in seen + rest
    assert not out.exists()
    rerun = subprocess.run(flow_cmd(*build_args(compressed_dir, out)), env=env(), capture_output=True, text=True,
                           timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    for name in ("compress", "quality", "hls", "resources"):
        assert f"{name}" in rerun.stdout and "skipped" in [ln for ln in rerun.stdout.splitlines()
                                                            if ln.startswith(name)][0], rerun.stdout
    assert _litter(out) == []
