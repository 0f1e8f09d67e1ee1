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
