"""Weight sharing: codebook shape, code 0 = pruned zero, fine-tuning lowers the loss, mask kept."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from flow.config.compress import CompressConfig
from flow.compress.prune import magnitude_mask, prune
from flow.compress.share import finetune, kmeans_codebook, share
from flow.compress.train import fit, logits_model
from flow.config import DataConfig
from flow.data import load_dataset
from flow.config import ModelConfig
from flow.models import build_model, weight_layers


@pytest.mark.parametrize("bits", [1, 2, 3, 5])
def test_codebook_layout(bits):
    rng = np.random.default_rng(bits)
    w = rng.normal(size=(40, 30)).astype(np.float32)
    mask = magnitude_mask(w, 0.6)
    s = kmeans_codebook(w * mask, mask, bits)
    assert s.centroids.shape == (2**bits,) and s.centroids[0] == 0
    assert ((s.codes == 0) == ~mask).all()
    shared = s.centroids[s.codes]
    assert len(np.unique(shared)) <= 2**bits and 0 in shared
    # k-means: each surviving weight sits at its nearest non-zero centroid
    nearest = np.abs(w[mask][:, None] - s.centroids[None, 1:]).argmin(axis=1) + 1
    assert np.allclose(s.centroids[nearest], s.centroids[s.codes[mask]], atol=1e-6)
    assert np.all(np.diff(s.centroids[1:]) >= 0)


def test_few_distinct_weights_and_empty_layer():
    w = np.array([[0.5, 0.5], [-1.0, 0.0]], dtype=np.float32)
    mask = w != 0
    s = kmeans_codebook(w, mask, 3)
    assert set(s.centroids[s.codes][mask]) == {0.5, -1.0}
    empty = kmeans_codebook(w, np.zeros_like(mask), 2)
    assert not empty.codes.any() and not empty.centroids.any()


def _loss(model, x, y):
    logits = logits_model(model)(x)
    return float(tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits))


def test_finetune_lowers_loss_and_keeps_mask_and_codes():
    tf.keras.utils.set_random_seed(0)
    ds = load_dataset(DataConfig(train_subset=400))
    model = build_model(ModelConfig(hidden=[32, 16]), ds.input_shape, 10)
    fit(model, ds.x_train, ds.y_train, epochs=6, batch_size=64, lr=3e-3, progress=False)
    cfg = CompressConfig(
        sparsity=0.6, prune_steps=1, prune_epochs=1, bits=2, finetune_epochs=8, finetune_learning_rate=1e-3
    )
    masks = prune(model, ds.x_train, ds.y_train, cfg, progress=False)
    shared = share(model, masks, cfg)
    codes_before = {n: s.codes.copy() for n, s in shared.items()}
    x, y = ds.x_train[:256], ds.y_train[:256]
    before = _loss(model, x, y)
    finetune(model, shared, x, y, cfg, progress=False)
    after = _loss(model, x, y)
    assert after < before
    for layer in weight_layers(model):
        k = layer.kernel.numpy()
        s = shared[layer.name]
        assert np.array_equal(s.codes, codes_before[layer.name])
        assert np.array_equal(k != 0, masks[layer.name]) or (s.centroids[1:] == 0).any()
        assert np.allclose(k, s.centroids[s.codes])
        assert len(np.unique(k)) <= 4 and s.centroids[0] == 0
