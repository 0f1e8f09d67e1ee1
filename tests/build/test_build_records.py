"""The runner's record of what each step wrote: content fingerprints (a changed input or output reruns
the step and every step that read it), outputs verified before a skip, and a user's files kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import flow.build.runner as build
import flow.build.steps
from flow.build.context import step
from flow.config import FlowConfig


@pytest.fixture
def steps(monkeypatch, tmp_path):
    """Three steps: `first` reads an outside file (a model), `second` reads what `first` wrote,
    `third` writes a JSON report."""
    calls: list[str] = []
    source = tmp_path / "model.txt"
    source.write_text("net A")

    @step("first", depends_on=("seed",), outputs=("a/model.txt",), inputs=lambda ctx: [source])
    def first(ctx):
        calls.append("first")
        (ctx.out / "a").mkdir(exist_ok=True)
        (ctx.out / "a" / "model.txt").write_text(source.read_text() + ctx.options.get("stamp", ""))
        return {}

    @step("second", depends_on=("hls",), outputs=("b.txt",))
    def second(ctx):
        calls.append("second")
        (ctx.out / "b.txt").write_text("built from " + (ctx.out / "a" / "model.txt").read_text())
        return {}

    def check(folder: Path):
        return None if "n" in json.loads((folder / "r.json").read_text()) else "r.json has no n"

    @step("third", depends_on=("hls",), outputs=("r.json",), check=check)
    def third(ctx):
        calls.append("third")
        (ctx.out / "r.json").write_text(json.dumps({"n": 3, "from": (ctx.out / "b.txt").read_text()}))
        return {}

    monkeypatch.setattr(flow.build.steps, "STEPS", (first, second, third))
    return calls, source


def _statuses(out: Path) -> list[str]:
    return [s["status"] for s in json.loads((out / build.STATE_FILE).read_text())["steps"].values()]


def test_an_output_replaced_in_the_build_reruns_its_step_and_the_steps_after(tmp_path, steps, caplog):
    """The bug: `flow compress --force --out <build>/compressed` replaced a step's output and the next
    build called every step up to date (the fingerprint covered the config only)."""
    calls, _ = steps
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    (out / "a" / "model.txt").write_text("net B, compressed elsewhere")
    # `first` makes its output again (Keras files differ from run to run: "stamp" plays that part)
    build.run_build(FlowConfig(), out, options={"stamp": " (run 2)"})
    assert "step first runs again: a/model.txt changed since this build wrote it" in caplog.text
    assert calls == ["first", "second", "third"] * 2
    assert (out / "b.txt").read_text() == "built from net A (run 2)"  # the build is consistent again
    build.run_build(FlowConfig(), out, options={"stamp": " (run 2)"})
    assert _statuses(out) == ["skipped"] * 3


def test_a_changed_outside_input_reruns_the_steps_that_depend_on_it(tmp_path, steps):
    """A model given by path (--model) changed in place: same path, same config, new content."""
    calls, source = steps
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    source.write_text("net C")
    build.run_build(FlowConfig(), out)
    assert calls == ["first", "second", "third"] * 2
    assert (out / "b.txt").read_text() == "built from net C"


def test_a_step_rerun_with_the_same_output_leaves_the_next_steps_up_to_date(tmp_path, steps):
    """The steps after it read the same content as before: nothing to redo."""
    calls, _ = steps
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    (out / "a" / "model.txt").write_text("net A")  # rewritten, same content
    build.run_build(FlowConfig(), out)
    assert calls == ["first", "second", "third"]


@pytest.mark.parametrize("damage", ["truncate", "empty", "wrong shape", "remove"])
def test_a_damaged_report_is_rewritten_not_skipped(tmp_path, steps, damage):
    """The bug: a truncated reports/rtl.json or bundle/model.json was reported "up to date, skipped"
    (only its presence was checked), so the repair `flow run` names did not repair it."""
    calls, _ = steps
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    r = out / "r.json"
    if damage == "truncate":
        r.write_text(r.read_text()[:9])
    elif damage == "empty":
        r.write_text("")
    elif damage == "wrong shape":
        r.write_text("[1, 2]")
    else:
        r.unlink()
    build.run_build(FlowConfig(), out)
    assert calls == ["first", "second", "third", "third"]
    assert json.loads(r.read_text())["n"] == 3


def test_the_step_check_reruns_a_report_of_the_wrong_shape_it_wrote_itself(tmp_path, steps):
    """A record from before the file records (an older flow) has no hashes: the JSON is still parsed
    and checked. Here the record's hash is made to match the bad file: only `check` can catch it."""
    calls, _ = steps
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    (out / "r.json").write_text(json.dumps({"m": 1}))
    state = json.loads((out / build.STATE_FILE).read_text())
    from flow import manifest

    state["steps"]["third"]["files"] = manifest.scan(out, ["r.json"])
    (out / build.STATE_FILE).write_text(json.dumps(state))
    build.run_build(FlowConfig(), out)
    assert calls[-1] == "third" and len(calls) == 4


def test_the_record_lists_what_each_step_wrote_and_no_user_file(tmp_path, steps):
    out = tmp_path / "b"
    out.mkdir()
    build.run_build(FlowConfig(), out)
    (out / "my notes.txt").write_text("mine")
    build.run_build(FlowConfig(), out, force=True)
    state = json.loads((out / build.STATE_FILE).read_text())
    assert {n: sorted(s["files"]) for n, s in state["steps"].items()} == {
        "first": ["a/model.txt"], "second": ["b.txt"], "third": ["r.json"]}
    assert (out / "my notes.txt").read_text() == "mine"  # --force keeps a file the flow did not write


def test_a_moved_build_stays_up_to_date(tmp_path, steps):
    """Relocation rewrites generated text files at the end of a build: the record is of the files
    as they are after it, so a copy is up to date."""
    calls, _ = steps
    out = tmp_path / "b"
    build.run_build(FlowConfig(), out)
    moved = tmp_path / "elsewhere"
    out.rename(moved)
    build.run_build(FlowConfig(), moved)
    assert calls == ["first", "second", "third"] and _statuses(moved) == ["skipped"] * 3


def test_a_step_failing_after_rewriting_an_earlier_steps_file_resumes_after_that_step(tmp_path, monkeypatch):
    """Steps re-make earlier products on first use (the HLS project): when such a step fails, the
    resumed build must not redo the steps before it because their files were rewritten."""
    calls: list[str] = []

    @step("first", depends_on=("seed",), outputs=("a.txt",))
    def first(ctx):
        calls.append("first")
        (ctx.out / "a.txt").write_text(f"a {ctx.out}")  # names the staging folder, as hls4ml's files do
        return {}

    @step("second", depends_on=("seed",), outputs=("b.txt",))
    def second(ctx):
        calls.append("second")
        (ctx.out / "a.txt").write_text(f"a {ctx.out} (re-made)")
        if ctx.options.get("fail"):
            raise RuntimeError("late failure")
        (ctx.out / "b.txt").write_text("b")
        return {}

    monkeypatch.setattr(flow.build.steps, "STEPS", (first, second))
    out = tmp_path / "b"
    with pytest.raises(RuntimeError):
        build.run_build(FlowConfig(), out, options={"fail": True})
    build.run_build(FlowConfig(), out)
    assert calls == ["first", "second", "second"]
    state = json.loads((out / build.STATE_FILE).read_text())
    assert sorted(state["steps"]["second"]["files"]) == ["a.txt", "b.txt"]  # the re-maker owns it now
    build.run_build(FlowConfig(), out)
    assert calls == ["first", "second", "second"] and _statuses(out) == ["skipped", "skipped"]


def test_the_real_steps_fold_what_they_read_outside_the_build_into_their_key(tmp_path, monkeypatch):
    """The compiler, the simulator and the model/data files are inputs as much as the config."""
    from flow.build.context import BuildContext
    from flow.build.steps import by_name

    model = tmp_path / "model.keras"
    model.write_bytes(b"one")
    ctx = BuildContext(cfg=FlowConfig(), out=tmp_path, options={"model_path": str(model)})

    def keys():
        return {n: build._step_key(ctx, by_name(n)) for n in ("compress", "hls", "csim", "rtl", "board", "bundle")}

    before = keys()
    model.write_bytes(b"two")  # same path, same config
    monkeypatch.setenv("CXX", "no-such-compiler++")
    monkeypatch.setenv("FLOW_VERILATOR", str(tmp_path / "verilator"))
    after = keys()
    assert [n for n in before if before[n] == after[n]] == []
