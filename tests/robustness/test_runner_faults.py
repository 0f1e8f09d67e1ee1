"""Faults inside a build (disk full, a failing step) with the real runner and quick fake steps."""

from __future__ import annotations

import errno

import pytest

import flow.build.steps
from flow.build.context import step
from flow.build.runner import run_build
from flow.config import FlowConfig
from flow.errors import FlowError
from robustness.helpers import tree_digest


def _steps(fail_with=None):
    @step("a", depends_on=("seed",), outputs=("a.txt",))
    def a(ctx):
        (ctx.out / "a.txt").write_text("a")

    @step("b", depends_on=("seed",), outputs=("b.txt",))
    def b(ctx):
        if fail_with is not None:
            raise fail_with
        (ctx.out / "b.txt").write_text("b")

    return (a, b)


def test_disk_full_during_a_force_rebuild_keeps_the_previous_build(tmp_path, monkeypatch):
    out = tmp_path / "b"
    monkeypatch.setattr(flow.build.steps, "STEPS", _steps())
    run_build(FlowConfig(), out)
    before = tree_digest(out)
    monkeypatch.setattr(flow.build.steps, "STEPS", _steps(OSError(errno.ENOSPC, "No space left on device", "x.o")))
    with pytest.raises(FlowError, match="No space left on device.*unchanged"):
        run_build(FlowConfig(), out, force=True)
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no staging, no lock


def test_unexpected_error_is_one_line_without_traceback(tmp_path, monkeypatch, capsys):
    from flow.cli.main import main
    import flow.cli.report as report

    def boom(args):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(report, "run", boom)
    rc = main(["report", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_killed_swap_is_recovered(tmp_path):
    """Killed between moving the old folder aside and moving the new one in: the old one comes back."""
    from flow.outdir import recover_swap

    out = tmp_path / "compressed"
    (tmp_path / ".compressed.old-abc" / "x").mkdir(parents=True)
    (tmp_path / ".compressed.old-abc" / "x" / "compression.json").write_text("{}")
    recover_swap(out)
    assert (out / "compression.json").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["compressed"]
    build = tmp_path / "b"
    (tmp_path / ".b.old-123").mkdir()
    (tmp_path / ".b.old-123" / "build_state.json").write_text("{}")
    recover_swap(build)
    assert (build / "build_state.json").exists()
    (tmp_path / ".b.old-456").mkdir()  # with the folder present, a stale backup is removed
    recover_swap(build)
    assert not (tmp_path / ".b.old-456").exists()


def test_compress_removes_a_killed_runs_half_written_folder(tmp_path, capsys, monkeypatch):
    """`flow compress` (here stopped right after its checks) removes `.NAME.tmp-*` of a killed run."""
    import flow.compress.pipeline as pipeline
    from flow.cli.main import main

    (tmp_path / ".c.tmp-xyz12345").mkdir()
    (tmp_path / ".c.tmp-xyz12345" / "model.keras").write_bytes(b"half")

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "compress", stop)
    assert main(["compress", "--out", str(tmp_path / "c")]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _counting_steps(calls: list, fail_in: str | None):
    """Steps a, b, c; `fail_in` writes half its output, then fails (as a late bad input would)."""

    def make(name):
        @step(name, depends_on=("seed",), outputs=(f"{name}.txt",))
        def run(ctx):
            calls.append(name)
            if name == fail_in:
                (ctx.out / f"{name}.txt").write_text("half-written")
                raise FlowError(f"step {name}: a damaged input (fix it and rerun)")
            (ctx.out / f"{name}.txt").write_text(f"{name} seed={ctx.cfg.seed}")

        return run

    return tuple(make(n) for n in "abc")


def test_failed_step_keeps_completed_steps_and_the_rerun_resumes(tmp_path, monkeypatch):
    out = tmp_path / "b"
    calls: list[str] = []
    monkeypatch.setattr(flow.build.steps, "STEPS", _counting_steps(calls, None))
    run_build(FlowConfig(), out)
    before = tree_digest(out)
    calls.clear()
    monkeypatch.setattr(flow.build.steps, "STEPS", _counting_steps(calls, "c"))
    with pytest.raises(FlowError, match="damaged input"):
        run_build(FlowConfig(seed=7), out)
    assert calls == ["a", "b", "c"]
    assert tree_digest(out) == before  # the previous good build is intact, nothing half-written moved in
    staging = [p for p in tmp_path.iterdir() if p.name.endswith(".building")]
    assert len(staging) == 1 and not (tmp_path / ".b.lock").exists()
    # a second failure resumes too (a, b are not redone) and keeps the progress
    calls.clear()
    with pytest.raises(FlowError):
        run_build(FlowConfig(seed=7), out)
    assert calls == ["c"]
    # the cause fixed: only c runs, and the build is whole
    calls.clear()
    monkeypatch.setattr(flow.build.steps, "STEPS", _counting_steps(calls, None))
    run_build(FlowConfig(seed=7), out)
    assert calls == ["c"]
    assert [(out / f"{n}.txt").read_text() for n in "abc"] == [f"{n} seed=7" for n in "abc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_failed_step_then_force_starts_afresh(tmp_path, monkeypatch):
    out = tmp_path / "b"
    calls: list[str] = []
    monkeypatch.setattr(flow.build.steps, "STEPS", _counting_steps(calls, "b"))
    with pytest.raises(FlowError):
        run_build(FlowConfig(), out)
    assert not out.exists()
    calls.clear()
    monkeypatch.setattr(flow.build.steps, "STEPS", _counting_steps(calls, None))
    run_build(FlowConfig(), out, force=True)
    assert calls == ["a", "b", "c"] and sorted(p.name for p in tmp_path.iterdir()) == ["b"]
