"""The step runner: fingerprints skip up-to-date steps, failures leave the previous build intact."""

from __future__ import annotations

import dataclasses
import json

import pytest

import flow.build.runner as build
import flow.build.steps
from flow.build.context import step
from flow.config import FlowConfig
from flow.errors import UsageError


@pytest.fixture
def fake_steps(monkeypatch):
    calls: list[str] = []

    @step("first", depends_on=("seed",), outputs=("a.txt",))
    def first(ctx):
        calls.append("first")
        (ctx.out / "a.txt").write_text(str(ctx.cfg.seed))
        (ctx.out / "script.tcl").write_text(f"source {ctx.out}/x.tcl\n")
        return {"seed": ctx.cfg.seed}

    @step("second", depends_on=("hls",), outputs=("b.txt",))
    def second(ctx):
        calls.append("second")
        if ctx.options.get("fail"):
            raise RuntimeError("boom")
        (ctx.out / "b.txt").write_text((ctx.out / "a.txt").read_text() + "+")
        return {}

    monkeypatch.setattr(flow.build.steps, "STEPS", (first, second))  # run_build's default order
    return calls


def test_rebuild_skips_up_to_date_steps(tmp_path, fake_steps):
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    assert fake_steps == ["first", "second"]
    build.run_build(FlowConfig(), out)
    assert fake_steps == ["first", "second"]  # both skipped
    state = json.loads((out / build.STATE_FILE).read_text())
    assert [s["status"] for s in state["steps"].values()] == ["skipped", "skipped"]


def test_changed_config_reruns_the_step_and_everything_after(tmp_path, fake_steps):
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    cfg = FlowConfig(seed=1)
    build.run_build(cfg, out)
    assert fake_steps == ["first", "second", "first", "second"]
    assert (out / "b.txt").read_text() == "1+"
    cfg2 = dataclasses.replace(cfg, hls=dataclasses.replace(cfg.hls, n_pe=3))
    build.run_build(cfg2, out)
    assert fake_steps[4:] == ["second"]


def test_missing_output_reruns(tmp_path, fake_steps):
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    (out / "b.txt").unlink()
    build.run_build(FlowConfig(), out)
    assert fake_steps == ["first", "second", "second"]


def test_failed_build_leaves_previous_build_intact(tmp_path, fake_steps):
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    before = {p.name: p.read_text() for p in out.iterdir()}
    with pytest.raises(RuntimeError, match="boom"):
        build.run_build(FlowConfig(seed=5), out, options={"fail": True})
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    staging = [p.name for p in tmp_path.iterdir() if p.name != "b"]
    assert len(staging) == 1 and staging[0].endswith(".building")  # the completed step `first` is kept
    build.run_build(FlowConfig(seed=5), out)  # the cause fixed: resumes after `first`
    assert fake_steps == ["first", "second", "first", "second", "second"]
    assert (out / "b.txt").read_text() == "5+"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # the staging folder became the build


def test_failure_in_the_first_step_leaves_nothing_behind(tmp_path, monkeypatch):
    @step("first", depends_on=("seed",), outputs=("a.txt",))
    def first(ctx):
        (ctx.out / "a.txt").write_text("half")
        raise RuntimeError("boom")

    monkeypatch.setattr(flow.build.steps, "STEPS", (first,))
    with pytest.raises(RuntimeError, match="boom"):
        build.run_build(FlowConfig(), tmp_path / "b")
    assert list(tmp_path.iterdir()) == []  # no progress to keep: no staging folder, no lock, no `b`


def test_refuses_to_clobber_a_foreign_folder(tmp_path, fake_steps):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="not an eie-flow build"):
        build.run_build(FlowConfig(), out)
    assert (out / "thesis.tex").read_text() == "precious"


def test_generated_scripts_point_at_the_final_folder(tmp_path, fake_steps):
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    assert (out / "script.tcl").read_text() == f"source {out.resolve()}/x.tcl\n"
