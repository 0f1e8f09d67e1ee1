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
