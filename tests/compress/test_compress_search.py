"""compress.target: per-layer settings searched on the validation split (digits, seconds)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flow.compress import pipeline
from flow.config.compress import TargetConfig
from flow.compress.pipeline import compress
from flow.compress.search import SPARSITIES, best_index_bits, choose, sparsity_at, _storage_bits
from flow.config import FlowConfig
from flow.errors import ConfigError


def quick_cfg(target: TargetConfig) -> FlowConfig:
    cfg = FlowConfig()
    c = cfg.compress
    c.epochs, c.prune_steps, c.prune_epochs, c.finetune_epochs = 8, 1, 2, 2
    c.target = target
    return cfg


def test_target_config_needs_exactly_one_goal():
    with pytest.raises(ValueError, match="exactly one"):
        TargetConfig()
    with pytest.raises(ValueError, match="exactly one"):
        TargetConfig(max_error=1.0, storage_bytes=100)
    with pytest.raises(ValueError, match="max_error_increase=-0.1"):
        TargetConfig(max_error_increase=-0.1)
    with pytest.raises(ValueError, match="max_error=0"):
        TargetConfig(max_error=0)


def test_choose_smallest_within_budget_or_most_accurate_within_storage():
    pts = [
        {"bytes": 100, "validation_error": 3.0},
        {"bytes": 50, "validation_error": 4.0},
        {"bytes": 20, "validation_error": 9.0},
    ]
    assert choose(pts, TargetConfig(max_error_increase=2.5), dense_error_pct=2.0) == (1, True)
    assert choose(pts, TargetConfig(max_error=3.5), dense_error_pct=2.0) == (0, True)
    assert choose(pts, TargetConfig(max_error=1.0), dense_error_pct=0.5) == (0, False)
    assert choose(pts, TargetConfig(storage_bytes=60), dense_error_pct=2.0) == (1, True)
    assert choose(pts, TargetConfig(storage_bytes=10), dense_error_pct=2.0) == (2, False)


def test_sparsity_at_and_index_bits():
    curve = [0.0] * 6 + [0.4, 0.8, 1.5, 3.0, 6.0, 12.0, 30.0]
    assert sparsity_at(curve, 1.0) == SPARSITIES[7] and sparsity_at([5.0] * 13, 1.0) == 0.0
    rng = np.random.default_rng(0)
    codes = np.where(rng.random((300, 40)) < 0.08, rng.integers(1, 16, (300, 40)), 0)
    ib, bits = best_index_bits(codes, 40, 4, huffman=False)
    assert bits == min(_storage_bits(codes, 40, 4, b, False) for b in range(2, 9))
    assert bits == _storage_bits(codes, 40, 4, ib, False)


def test_impossible_storage_budget_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "fit", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(ConfigError, match="storage_bytes=10 cannot be met.*at least"):
        compress(quick_cfg(TargetConfig(storage_bytes=10)), tmp_path / "o", progress=False)


def test_error_budget_below_dense_refused_before_compression(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "prune", lambda *a, **k: pytest.fail("compressed before refusing"))
    with pytest.raises(ConfigError, match=r"max_error=0.01 % cannot be met: the dense model already has [\d.]+ %"):
        compress(quick_cfg(TargetConfig(max_error=0.01)), tmp_path / "o", progress=False)


def test_search_end_to_end(tmp_path):
    t = TargetConfig(max_error_increase=3.0, levels=[1.0, 8.0, 30.0], bits=[3, 4], epochs=1, refine=1)
    cm = compress(quick_cfg(t), tmp_path / "o", progress=False)
    s = cm.report["search"]
    assert s["split"] == "validation" and 1 <= len(s["curve"]) <= 4
    chosen = s["curve"][s["chosen"]]
    for d in cm.report["layers"]:
        assert d["code_bits"] == chosen["bits"][d["name"]]
        assert d["index_bits"] == chosen["index_bits"][d["name"]]
        assert d["kept"] == pytest.approx(1 - chosen["sparsity"][d["name"]], abs=0.01)
    assert set(s["final"]) == {"validation_error", "bytes", "met"}
    assert "compress.target" in cm.report["selection"]["chosen_on_validation"][-1]
    assert (tmp_path / "o" / "plots" / "tradeoff.png").is_file()
    assert json.loads((tmp_path / "o" / "report.json").read_text())["search"]["chosen"] == s["chosen"]


def test_refinement_bisects_across_the_budget():
    from flow.compress.search import neighbours

    pts = [
        {"bytes": 100, "validation_error": 3.0},
        {"bytes": 50, "validation_error": 4.0},
        {"bytes": 20, "validation_error": 9.0},
    ]
    assert neighbours(pts, TargetConfig(storage_bytes=60), 2.0) == (1, 0)
    assert neighbours(pts, TargetConfig(max_error=5.0), 2.0) == (1, 2)
    assert neighbours(pts, TargetConfig(storage_bytes=10), 2.0) is None  # nothing within
    assert neighbours(pts, TargetConfig(storage_bytes=1000), 2.0) is None  # everything within
    with pytest.raises(ValueError, match="refine=-1"):
        TargetConfig(storage_bytes=10, refine=-1)


def test_search_offers_ternary_codes_and_keeps_configured_ternary_layers(monkeypatch):
    """target.ternary puts TTQ's 2-bit codes first among a layer's code options; a layer the config
    makes ternary stays ternary; the chosen methods go into layer_method."""
    from flow.compress import search
    from flow.compress.pipeline import prepare, train_dense

    t = TargetConfig(max_error_increase=50.0, levels=[1.0], bits=[3, 5], epochs=0, refine=0, ternary=True)
    cfg = quick_cfg(t)
    cfg.compress.epochs = 2
    ds, model, sp = prepare(cfg)
    train_dense(cfg, model, sp, progress=False)
    dense_w = model.get_weights()
    c = cfg.compress
    assert search.code_options(c, "fc1") == [("ternary", 2), ("kmeans", 3), ("kmeans", 5)]
    monkeypatch.setattr(search, "BIT_TOLERANCE", 1000.0)  # the first option always passes
    s = search.search_settings(model, sp.x_train, sp.y_train, sp.validation, c, cfg, progress=False)
    p = s["curve"][s["chosen"]]
    assert p["methods"] == {"fc1": "ternary", "fc2": "ternary", "fc3": "ternary"}
    assert p["bits"] == {"fc1": 2, "fc2": 2, "fc3": 2}
    assert all(c.method_of(n) == "ternary" and c.bits_of(n) == 2 for n in p["methods"])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), dense_w))  # dense restored

    cfg2 = quick_cfg(TargetConfig(max_error_increase=50.0, levels=[1.0], bits=[3, 5], epochs=0, refine=0))
    c2 = cfg2.compress
    c2.layer_method = {"fc3": "ternary"}
    monkeypatch.setattr(search, "BIT_TOLERANCE", -1000.0)  # no option passes: the last one is kept
    s = search.search_settings(model, sp.x_train, sp.y_train, sp.validation, c2, cfg2, progress=False)
    p = s["curve"][s["chosen"]]
    assert p["methods"] == {"fc1": "kmeans", "fc2": "kmeans", "fc3": "ternary"}
    assert p["bits"] == {"fc1": 5, "fc2": 5, "fc3": 2}
    assert c2.method_of("fc3") == "ternary" and c2.bits_of("fc1") == 5


def test_search_masks_are_load_balanced_when_the_pipeline_balances():
    """Under compress.load_balance the search prunes as the pipeline will: every row-PE of the engine
    layout keeps the same count in every column (Dense); without it, by magnitude."""
    import tensorflow as tf

    from flow.compress.pipeline import row_pes_of
    from flow.compress.prune import magnitude_mask
    from flow.compress.search import prune_mask

    cfg = FlowConfig()
    cfg.hls.n_pe = 4
    model = tf.keras.Sequential([tf.keras.Input((12,)), tf.keras.layers.Dense(8, name="fc1")])
    kernel = np.random.default_rng(1).normal(size=(12, 8)).astype(np.float32)
    layer = model.layers[0]
    assert row_pes_of(cfg, model) is None
    assert np.array_equal(prune_mask(layer, kernel, 0.5, row_pes_of(cfg, model)), magnitude_mask(kernel, 0.5))
    cfg.compress.load_balance = True
    rp = row_pes_of(cfg, model)
    assert rp == {"fc1": 4}
    m = prune_mask(layer, kernel, 0.5, rp)
    counts = np.stack([m[:, q::4].sum(axis=1) for q in range(4)])  # (row-PE, column): rows o with o % 4 == q
    assert (counts == counts[0]).all() and abs(int(m.sum()) - 48) <= 2
    assert not np.array_equal(m, magnitude_mask(kernel, 0.5))  # magnitude alone is unbalanced here
