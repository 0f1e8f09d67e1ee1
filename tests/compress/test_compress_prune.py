"""Magnitude pruning: exact per-layer sparsity, smallest weights first, masks only shrink.

Load-balance-aware pruning (balanced_mask): one count per column on every row-PE, the largest
weights of each (column, PE), the kept total within min(R, n_out) // 2 of the target.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.config.compress import CompressConfig
from flow.compress.prune import balanced_mask, magnitude_mask, prune, schedule
from flow.compress.train import evaluate, fit
from flow.config import DataConfig
from flow.data import load_dataset
from flow.config import ModelConfig
from flow.models import build_model, weight_layers


def test_magnitude_mask_prunes_smallest():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(20, 10))
    m = magnitude_mask(w, 0.8)
    assert (~m).sum() == 160
    assert np.abs(w[m]).min() >= np.abs(w[~m]).max()


def test_masks_only_shrink():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(50, 4))
    prev = magnitude_mask(w, 0.5)
    w2 = w.copy()
    w2[~prev] = 100.0  # large values at pruned places must stay pruned
    m = magnitude_mask(w2, 0.7, prev)
    assert not (m & ~prev).any()
    assert (~m).sum() == 140


def test_schedule_reaches_target_monotonically():
    s = schedule(0.9, 4)
    assert s[-1] == pytest.approx(0.9) and all(a < b for a, b in itertools.pairwise(s))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(DataConfig(train_subset=600))


def test_prune_reaches_per_layer_sparsity_and_keeps_masks(digits):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(hidden=[32, 16]), digits.input_shape, 10)
    fit(model, digits.x_train, digits.y_train, epochs=15, batch_size=64, lr=3e-3, progress=False)
    cfg = CompressConfig(sparsity=0.5, layer_sparsity={"fc1": 0.9}, prune_steps=2, prune_epochs=2)
    masks = prune(model, digits.x_train, digits.y_train, cfg, progress=False)
    for layer in weight_layers(model):
        k = layer.kernel.numpy()
        target = cfg.sparsity_of(layer.name)
        assert (~masks[layer.name]).sum() == round(target * k.size)
        assert not k[~masks[layer.name]].any()  # retraining did not revive pruned weights
    assert evaluate(model, digits.x_test, digits.y_test) > 0.5


# ---- load-balance-aware pruning -------------------------------------------------------------


def pe_counts(mask: np.ndarray, r: int) -> np.ndarray:
    """Kept weights per (row-PE, input column) of a kernel-layout mask: shape (r, n_in)."""
    keep = mask.T  # W layout (n_out, n_in)
    return np.stack([keep[q::r].sum(axis=0) for q in range(r)])


def pe_rows(n_out: int, r: int) -> np.ndarray:
    return np.array([len(range(q, n_out, r)) for q in range(r)])


def assert_balanced(mask: np.ndarray, r: int) -> None:
    """Column j has one count c_j; row-PE q keeps min(c_j, its rows) of it."""
    counts, rows = pe_counts(mask, r), pe_rows(mask.shape[1], r)
    c = counts.max(axis=0)
    np.testing.assert_array_equal(counts, np.minimum(c[None, :], rows[:, None]))


def assert_largest_per_pe(w: np.ndarray, mask: np.ndarray, r: int, live: np.ndarray | None = None) -> None:
    a, keep = np.abs(w.T), mask.T
    live = np.ones_like(keep) if live is None else live.T
    for q in range(r):
        for j in range(a.shape[1]):
            col, k, ok = a[q::r, j], keep[q::r, j], live[q::r, j]
            if k.any() and (ok & ~k).any():
                assert col[k].min() >= col[ok & ~k].max()


def target(sparsity: float, size: int) -> int:
    return round((1.0 - sparsity) * size)


@st.composite
def kernels(draw, max_r=16):
    n_in, n_out = draw(st.integers(1, 60)), draw(st.integers(1, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        w = rng.normal(size=(n_in, n_out))
    else:  # few distinct values: many ties
        w = rng.integers(-2, 3, size=(n_in, n_out)).astype(float)
    return w, draw(st.integers(1, max_r))


sparsities = st.floats(0.0, 0.99)


@settings(max_examples=50, deadline=None)
@given(kernels(), sparsities)
def test_balanced_mask_properties(wr, sparsity):
    w, r = wr
    m = balanced_mask(w, sparsity, r)
    assert m.shape == w.shape and m.dtype == bool
    assert_balanced(m, r)
    assert_largest_per_pe(w, m, r)
    assert abs(int(m.sum()) - target(sparsity, w.size)) <= min(r, w.shape[1]) // 2


@settings(max_examples=50, deadline=None)
@given(kernels(), sparsities, sparsities, st.integers(0, 2**32 - 1))
def test_balanced_mask_only_shrinks_with_previous(wr, s1, s2, seed):
    w, r = wr
    prev = balanced_mask(w, s1, r)
    rng = np.random.default_rng(seed)
    w2 = w + 0.1 * rng.normal(size=w.shape)
    w2[~prev] = 100.0  # large values at pruned places must stay pruned
    m = balanced_mask(w2, s2, r, prev)
    assert not (m & ~prev).any()
    assert_balanced(m, r)  # a balanced previous keeps the result balanced
    assert_largest_per_pe(w2, m, r, prev)
    t, v = target(s2, w.size), int(prev.sum())
    if t >= v:
        np.testing.assert_array_equal(m, prev)
    else:
        assert abs(int(m.sum()) - t) <= min(r, w.shape[1]) // 2


@settings(max_examples=50, deadline=None)
@given(kernels())
def test_balanced_mask_sparsity_zero_keeps_everything(wr):
    w, r = wr
    assert balanced_mask(w, 0.0, r).all()


def test_balanced_mask_fewer_outputs_than_row_pes():
    """n_out < R: every PE holds at most one row, so a column is kept whole or not at all."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=(40, 3))
    w[:10] *= 10  # the strongest columns (inputs)
    m = balanced_mask(w, 0.75, 8)
    per_col = m.sum(axis=1)
    assert set(per_col.tolist()) <= {0, 3}
    assert per_col.sum() == 30  # target round(0.25 * 120) = 30 is a multiple of the block size 3
    assert m[:10].all()
    assert_balanced(m, 8)


def test_balanced_mask_one_row_pe_is_magnitude_pruning():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(20, 10))
    np.testing.assert_array_equal(balanced_mask(w, 0.7, 1), magnitude_mask(w, 0.7))


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_balanced_mask_levels_in_order_with_ragged_rows(value):
    """R does not divide n_out: PEs with one row fewer sit the last level out, ties included.

    With all weights 0 every block scores 0, so only the tie rule (lower level first) keeps a
    column's partial last level from being taken before the full level above it.
    """
    w = np.full((60, 10), value)  # PEs 0, 1 of R=4 hold 3 rows, PEs 2, 3 hold 2
    for s in np.linspace(0, 0.95, 20):
        m = balanced_mask(w, s, 4)
        assert_balanced(m, 4)
        assert abs(int(m.sum()) - target(s, 600)) <= 2


def test_balanced_mask_dead_weight_does_not_promote_a_lower_level():
    """A pruned weight (-1) in a full level must not let the partial level below outrank it."""
    w = np.array([[0.5, 9.0, 0.4]])  # R=2: PE 0 holds rows 0, 2; PE 1 holds row 1 (pruned)
    prev = np.array([[True, False, True]])
    # level 0 = 0.5 - 1 = -0.5, level 1 = 0.4: level 1 must still come after level 0
    np.testing.assert_array_equal(balanced_mask(w, 0.67, 2, prev), [[True, False, False]])


@settings(max_examples=50, deadline=None)
@given(kernels(), sparsities, st.floats(0.0, 0.9), st.integers(0, 2**32 - 1))
def test_balanced_mask_with_unbalanced_previous(wr, sparsity, dead, seed):
    """Any previous (e.g. from magnitude_mask): one level count k_j per column, PE q keeps its
    min(k_j, live_qj) largest live weights; the total is still within min(R, n_out) // 2."""
    w, r = wr
    prev = np.random.default_rng(seed).random(w.shape) >= dead
    m = balanced_mask(w, sparsity, r, prev)
    assert not (m & ~prev).any()
    assert_largest_per_pe(w, m, r, prev)
    counts, live = pe_counts(m, r), pe_counts(prev, r)
    for j in range(w.shape[0]):
        ks = [k for k in range(w.shape[1] + 1) if (counts[:, j] == np.minimum(k, live[:, j])).all()]
        assert ks, (j, counts[:, j], live[:, j])
    t, v = target(sparsity, w.size), int(prev.sum())
    if t >= v:
        np.testing.assert_array_equal(m, prev)
    else:
        assert abs(int(m.sum()) - t) <= min(r, w.shape[1]) // 2


def test_balanced_mask_speed_784x300():
    import time

    w = np.random.default_rng(5).normal(size=(784, 300))
    t0 = time.perf_counter()
    m = balanced_mask(w, 0.92, 8)
    assert time.perf_counter() - t0 < 1.0
    assert_balanced(m, 8)


def test_balanced_mask_rejects_bad_input():
    with pytest.raises(ValueError):
        balanced_mask(np.ones((3, 3, 1, 2)), 0.5, 2)
    with pytest.raises(ValueError):
        balanced_mask(np.ones((3, 3)), 0.5, 0)
    with pytest.raises(ValueError):
        balanced_mask(np.ones((3, 3)), 0.5, 2, np.ones((3, 4), dtype=bool))


def test_prune_with_row_pes_gives_balanced_masks(digits):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = build_model(ModelConfig(hidden=[32, 16]), digits.input_shape, 10)
    cfg = CompressConfig(sparsity=0.7, prune_steps=2, prune_epochs=1)
    row_pes = {"fc1": 4, "fc2": 3}
    masks = prune(model, digits.x_train[:200], digits.y_train[:200], cfg, progress=False, row_pes=row_pes)
    for layer in weight_layers(model):
        k, m = layer.kernel.numpy(), masks[layer.name]
        assert not k[~m].any()
        if layer.name in row_pes:
            r = row_pes[layer.name]
            assert_balanced(m, r)
            assert abs(int(m.sum()) - target(0.7, k.size)) <= r // 2
        else:
            assert (~m).sum() == round(0.7 * k.size)  # fc3: plain magnitude pruning
    with pytest.raises(ValueError, match="unknown"):
        prune(model, digits.x_train[:10], digits.y_train[:10], cfg, progress=False, row_pes={"nope": 2})
