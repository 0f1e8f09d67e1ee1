"""`flow compress --seed S`: the seed moves initialisation and minibatch order, not the validation
split; one seed repeats bit for bit on one machine (digits, seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flow.cli import main
from flow.compress.io import load_compressed
from flow.compress.pipeline import prepare
from flow.config import FlowConfig, load_config
from flow.errors import ConfigError

CONFIG = """\
compress:
  epochs: 6
  sparsity: 0.5
  prune_steps: 1
  prune_epochs: 1
  finetune_epochs: 1
  plots: false
"""


def _run(tmp_path, name: str, *extra: str) -> tuple[dict, list[np.ndarray]]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    out = tmp_path / name
    argv = ["compress", "--config", str(cfg), "--out", str(out), "--no-progress", "--allow-accuracy-drop", *extra]
    assert main(argv) == 0
    rep = json.loads((out / "report.json").read_text())
    return rep, [w.copy() for w in load_compressed(out).model.get_weights()]


def test_seed_option_same_seed_repeats_other_seed_differs(tmp_path):
    rep_a, w_a = _run(tmp_path, "a", "--seed", "5")
    rep_b, w_b = _run(tmp_path, "b", "--seed", "5")
    rep_c, w_c = _run(tmp_path, "c", "--seed", "6")
    assert rep_a["determinism"]["seed"] == 5 and rep_c["determinism"]["seed"] == 6
    assert rep_a["determinism"]["op_determinism"] is True
    # same seed: identical weights and numbers, bit for bit
    assert all(np.array_equal(x, y) for x, y in zip(w_a, w_b))
    assert rep_a["accuracy"] == rep_b["accuracy"] and rep_a["total"] == rep_b["total"]
    # another seed: another initialisation and minibatch order, so other weights
    assert not all(np.array_equal(x, y) for x, y in zip(w_a, w_c))
    assert rep_a["accuracy"]["dense"] != rep_c["accuracy"]["dense"] or rep_a["history"] != rep_c["history"]
    # ... on the same validation split
    assert rep_a["selection"]["validation_range"] == rep_c["selection"]["validation_range"]
    cfg = load_config(tmp_path / "a" / "config.yaml")
    assert cfg.seed == 5


def test_validation_split_does_not_depend_on_the_seed():
    splits = []
    for seed in (0, 7):
        cfg = FlowConfig(seed=seed)
        _, _, sp = prepare(cfg)
        splits.append(sp)
    a, b = splits
    assert a.n_val > 0
    for key in ("x_train", "y_train", "x_val", "y_val"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_bad_seed_is_refused_naming_the_option(seed, tmp_path, capsys):
    assert main(["compress", "--seed", seed, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert f"--seed {seed}" in err and "out of range" in err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="seed"):
        from flow.config.schema import from_dict

        from_dict(FlowConfig, {"seed": int(seed)}, path="c.yaml")


@pytest.mark.slow  # three spawned TensorFlow processes: about 30 s quiet, 90 s on the loaded machine
def test_run_seeds_in_worker_processes_repeats_a_seed_and_summarizes(tmp_path):
    """Each seed in its own spawned process: seed 3 run twice (two workers, then one) gives the same
    row bit for bit, seed 4 another; the summary is over the rows."""
    from flow.compress.seeds import run_seeds, summarize

    cfg = FlowConfig()
    c = cfg.compress
    c.epochs, c.sparsity, c.prune_steps, c.prune_epochs, c.finetune_epochs, c.plots = 4, 0.5, 1, 1, 1, False
    seen = []
    rows = run_seeds(cfg, [4, 3], tmp_path / "w", workers=2, on_row=lambda r: seen.append(r["seed"]))
    assert [r["seed"] for r in rows] == [3, 4] and sorted(seen) == [3, 4]
    again = run_seeds(cfg, [3], tmp_path / "w2", workers=1)[0]
    keys = ("validation_error", "error", "dense_error", "ratio", "huffman_ratio", "layers")
    assert {k: again[k] for k in keys} == {k: rows[0][k] for k in keys}
    assert rows[0]["determinism"]["intra_op_threads"] == 2 and rows[0]["determinism"]["op_determinism"]
    assert rows[0]["errors"] != rows[1]["errors"] or rows[0]["bytes"] != rows[1]["bytes"]
    s = summarize(rows)
    errs = [r["error"] for r in rows]
    assert s["error"]["n"] == 2 and s["error"]["mean"] == pytest.approx(sum(errs) / 2)
    assert s["error"]["std"] == pytest.approx(float(np.std(errs, ddof=1)))
    assert s["error"]["min"] == min(errs) and s["wall_seconds"]["max"] > 0
    assert (tmp_path / "w" / "seed_3" / "report.json").is_file()


def test_summary_of_one_row_has_no_std():
    from flow.compress.seeds import summarize

    s = summarize([{"error": 0.02, "validation_error": None}])
    assert s["error"] == {"n": 1, "mean": 0.02, "std": None, "min": 0.02, "max": 0.02}
    assert "validation_error" not in s


def test_ray_address_without_ray_says_so_once(monkeypatch, caplog):
    import sys

    from flow.compress.seeds import ray_module

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as when not installed
    with caplog.at_level("WARNING"):
        assert ray_module("ray://head:10001") is None
        assert ray_module(None) is None
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["--ray-address ray://head:10001: ray is not installed (pip install 'eie-flow[ray]'); "
                    "running the seeds in local worker processes instead"]


def test_run_seeds_refuses_bad_arguments(tmp_path):
    from flow.compress.seeds import run_seeds

    with pytest.raises(ValueError, match="workers=0"):
        run_seeds(FlowConfig(), [0], tmp_path, workers=0)
    with pytest.raises(ValueError, match="repeat"):
        run_seeds(FlowConfig(), [1, 1], tmp_path)


@pytest.mark.slow
def test_run_seeds_on_a_local_ray_instance_repeats_the_worker_row(tmp_path):
    """The seeds as Ray tasks (a local instance, address "local") give the row a worker process gives."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'eie-flow[ray]'): Ray seeds not tested")
    from flow.compress.seeds import run_seeds

    cfg = FlowConfig()
    c = cfg.compress
    c.epochs, c.sparsity, c.prune_steps, c.prune_epochs, c.finetune_epochs, c.plots = 4, 0.5, 1, 1, 1, False
    try:
        on_ray = run_seeds(cfg, [3], tmp_path / "r", ray_address="local")[0]
    finally:
        ray.shutdown()
    local = run_seeds(cfg, [3], tmp_path / "w", workers=1)[0]
    keys = ("validation_error", "error", "dense_error", "ratio", "huffman_ratio", "layers")
    assert {k: on_ray[k] for k in keys} == {k: local[k] for k in keys}
    assert (tmp_path / "r" / "seed_3" / "report.json").is_file()
