"""Magnitude pruning: exact per-layer sparsity, smallest weights first, masks only shrink."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from flow.compress.config import CompressConfig
from flow.compress.prune import magnitude_mask, prune, schedule
from flow.compress.train import evaluate, fit
from flow.data import DataConfig, load_dataset
from flow.models import ModelConfig, build_model, weight_layers


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
