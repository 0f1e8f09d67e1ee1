"""`flow compress` resumes after a SIGKILL (flow.compress.resume): a subprocess is killed right after
a stage is saved; the rerun loads it, recomputes nothing before it, and ends with the same folder as
an uninterrupted run (digits; the end-to-end test is slow: minutes on 2 loaded cores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flow.cli import main
from flow.compress import pipeline, prune, resume

REPO = Path(__file__).resolve().parents[2]

CONFIG = """
seed: 3
compress:
  epochs: 2
  prune_steps: 2
  prune_epochs: 1
  finetune_epochs: 1
  sparsity: 0.5
  plots: false
"""

# the killed run: SIGKILL (no handler, no cleanup) the moment the stage `kill_after` is in place
KILLED = """
import os, signal, sys
from flow.compress import resume
from flow.cli import main
save = resume.StageStore.save
def save_then_die(self, stage, meta, arrays):
    save(self, stage, meta, arrays)
    if stage == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)
resume.StageStore.save = save_then_die
sys.exit(main(["compress", "--config", sys.argv[2], "--out", sys.argv[3], "--no-progress"]))
"""


def _npz(folder: Path) -> dict:
    with np.load(folder / "compression.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.mark.slow  # three compress runs, one in a subprocess: minutes on a loaded 2-core machine
def test_killed_run_resumes_after_the_last_completed_stage(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, "-c", KILLED, "prune-1", str(cfg), str(out)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=900)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not out.exists()  # nothing half-written in place
    root = resume.stages_root(out)
    (fp,) = [p.name for p in root.iterdir()]
    assert sorted(p.name for p in (root / fp).iterdir()) == ["dense", "prune-1"]

    calls = []
    monkeypatch.setattr(pipeline, "train_dense", lambda *a, **k: calls.append("dense") or (_ for _ in ()).throw(
        AssertionError("dense training recomputed")))
    fit = prune.fit
    monkeypatch.setattr(prune, "fit", lambda *a, **k: calls.append(k["label"]) or fit(*a, **k))
    monkeypatch.chdir(tmp_path)
    assert main(["compress", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    assert calls == ["prune 2/2"]  # neither dense training nor the first pruning step again
    rep = json.loads((out / "report.json").read_text())
    assert rep["resumed_after"] == "prune-1"
    assert not root.exists()  # the kept stages are gone once the output is in place

    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    whole = tmp_path / "whole"
    assert main(["compress", "--config", str(cfg), "--out", str(whole), "--no-progress"]) == 0
    a, b = _npz(out), _npz(whole)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    rep2 = json.loads((whole / "report.json").read_text())
    assert "resumed_after" not in rep2
    assert rep["accuracy"] == rep2["accuracy"] and rep["validation_accuracy"] == rep2["validation_accuracy"]


def test_stale_and_half_written_stages_are_dropped(tmp_path):
    out = tmp_path / "out"
    store = resume.StageStore(out, "a" * 16)
    store.save("dense", {"x": 1}, {"w": np.arange(3)})
    (store.root / ".prune-1.part-zzzz").mkdir()  # a save killed half-way
    (store.root / "prune-2").mkdir()  # no `done`: never read back
    again = resume.StageStore(out, "a" * 16)
    assert again.completed() == ["dense"] and not (again.root / ".prune-1.part-zzzz").exists()
    i, meta, arrays = resume.latest(again, ["dense", "prune-1", "prune-2", "share"])
    assert i == 0 and meta == {"x": 1} and arrays["w"].tolist() == [0, 1, 2]
    other = resume.StageStore(out, "b" * 16)  # an edited config: the old stages are deleted
    assert not store.root.exists() and other.completed() == []


def test_cli_resumes_by_default_and_fresh_starts_over(tmp_path, monkeypatch):
    from flow.errors import FlowError

    out = tmp_path / "out"
    monkeypatch.setattr(resume, "fingerprint", lambda cfg: "f" * 16)
    seen = []

    def fake_compress(cfg, out_dir, *, stages, **kw):
        seen.append(stages.completed())
        raise FlowError("stop here")

    monkeypatch.setattr(pipeline, "compress", fake_compress)
    monkeypatch.chdir(tmp_path)
    for fresh in ([], ["--fresh"]):
        resume.StageStore(out, "f" * 16).save("dense", {}, {"w": np.zeros(2)})
        assert main(["compress", "--out", str(out), "--no-progress", *fresh]) == 1
    assert seen == [["dense"], []]
