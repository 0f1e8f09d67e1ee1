"""Random translations of training images (flow.compress.augment) and their use in training."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.compress.augment import image_shape, random_shift
from flow.config import FlowConfig
from flow.config.compress import CompressConfig
from flow.errors import ConfigError


def _offset(src: np.ndarray, out: np.ndarray) -> tuple[int, int] | None:
    """The (dy, dx) with out[r, c] == src[r - dy, c - dx] wherever that is inside, else 0."""
    h, w = src.shape
    for dy in range(-h + 1, h):
        for dx in range(-w + 1, w):
            want = np.zeros_like(src)
            want[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = src[
                max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
            ]
            if np.array_equal(want, out):
                return dy, dx
    return None


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 6),
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    shift=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_every_image_is_a_translation_within_the_shift(n, h, w, shift, seed):
    shift = min(shift, (min(h, w) - 1) // 2)
    x = (np.arange(n * h * w, dtype=np.float32) + 1).reshape(n, h, w, 1)  # every pixel unique, non-zero
    out = random_shift(x, shift, np.random.default_rng(seed))
    assert out.shape == x.shape and out.dtype == x.dtype
    for i in range(n):
        off = _offset(x[i, :, :, 0], out[i, :, :, 0])
        assert off is not None and max(abs(off[0]), abs(off[1])) <= shift


def test_flat_images_shift_as_their_image_shape_and_the_seed_decides():
    rng = np.random.default_rng(0)
    x = rng.random((50, 8 * 8 * 2), dtype=np.float32)
    flat = random_shift(x, 2, np.random.default_rng(5), shape=(8, 8, 2))
    cube = random_shift(x.reshape(50, 8, 8, 2), 2, np.random.default_rng(5))
    assert flat.shape == x.shape and np.array_equal(flat.reshape(cube.shape), cube)
    assert np.array_equal(flat, random_shift(x, 2, np.random.default_rng(5), shape=(8, 8, 2)))
    assert not np.array_equal(flat, random_shift(x, 2, np.random.default_rng(6), shape=(8, 8, 2)))
    moved = (flat != x).any(axis=1).mean()
    assert moved > 0.8  # 24 of 25 offsets move the image
    assert random_shift(x, 0, np.random.default_rng(5)) is x


def _tiny_conv(reshape: bool = True):
    import tensorflow as tf

    layers = [tf.keras.layers.Reshape((8, 8, 1))] if reshape else []
    return tf.keras.Sequential(
        [
            tf.keras.Input((64,)),
            *layers,
            *(
                [tf.keras.layers.Conv2D(4, 3, name="conv1"), tf.keras.layers.Flatten()]
                if reshape
                else []
            ),
            tf.keras.layers.Dense(10, name="ip1"),
        ]
    )


def test_image_shape_reads_the_models_reshape_and_refuses_what_it_cannot_shift():
    x = np.zeros((4, 64), np.float32)
    assert image_shape(_tiny_conv(), x, 2) == (8, 8, 1)
    assert image_shape(_tiny_conv(), x, 0) is None
    assert image_shape(None, np.zeros((4, 8, 8, 1), np.float32), 1) == (8, 8, 1)
    with pytest.raises(ConfigError, match="does not start by reshaping .*augment_image .*augment_shift: 0"):
        image_shape(_tiny_conv(reshape=False), x, 2)
    with pytest.raises(ConfigError, match="too large for 8x8 images; use at most 3"):
        image_shape(_tiny_conv(), x, 4)
    with pytest.raises(ValueError, match="augment_shift=9 must be 0..8"):
        CompressConfig(augment_shift=9)


def test_augment_image_shapes_flat_data_for_an_mlp_and_is_checked():
    x = np.zeros((4, 64), np.float32)
    assert image_shape(None, x, 1, [8, 8, 1]) == (8, 8, 1)
    assert image_shape(None, x, 0, [8, 8, 1]) is None
    with pytest.raises(ConfigError, match=r"augment_image=\[28, 28, 1\] has 784 values, but one training sample has shape \(64,\)"):
        image_shape(None, x, 1, [28, 28, 1])
    with pytest.raises(ConfigError, match="too large for 8x8 images"):
        image_shape(None, x, 4, [8, 8, 1])
    with pytest.raises(ValueError, match=r"augment_image=\[8, 8\] must be \[H, W, C\]"):
        CompressConfig(augment_image=[8, 8])


def test_training_with_shifts_is_reproducible_and_differs_from_without():
    import tensorflow as tf

    from flow.compress.train import fit
    from flow.data import load_dataset

    ds = load_dataset(FlowConfig().data)  # digits: 8x8, offline

    def run(shift: int) -> list[np.ndarray]:
        tf.keras.utils.set_random_seed(3)
        model = _tiny_conv()
        fit(model, ds.x_train[:400], ds.y_train[:400], epochs=2, batch_size=32, lr=1e-2,
            progress=False, seed=3, augment_shift=shift)
        return model.get_weights()

    a, b, plain = run(1), run(1), run(0)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, plain))


def test_compress_refuses_a_shift_on_a_model_without_images_before_training(tmp_path):
    from flow.compress.pipeline import compress

    cfg = FlowConfig()
    cfg.compress.augment_shift = 1  # digits_mlp: Dense layers on flat vectors
    with pytest.raises(ConfigError, match="augment_shift=1 translates images"):
        compress(cfg, tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def test_an_mlp_on_flat_images_trains_with_shifts_given_augment_image():
    import tensorflow as tf

    from flow.compress.train import fit
    from flow.data import load_dataset

    ds = load_dataset(FlowConfig().data)  # digits: flat 64-vectors of 8x8 images

    def run(shift: int) -> list[np.ndarray]:
        tf.keras.utils.set_random_seed(3)
        model = tf.keras.Sequential([tf.keras.Input((64,)), tf.keras.layers.Dense(10, name="ip1")])
        fit(model, ds.x_train[:400], ds.y_train[:400], epochs=2, batch_size=32, lr=1e-2,
            progress=False, seed=3, augment_shift=shift, augment_image=[8, 8, 1])
        return model.get_weights()

    a, b, plain = run(1), run(1), run(0)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, plain))
