"""Example networks and user models: canonical form, sizes, unsupported layers."""

from __future__ import annotations

import pytest
import tensorflow as tf

from flow.errors import UsageError
from flow.config import ModelConfig
from flow.models import build_model, weight_layers


def _kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def test_digits_mlp_default():
    m = build_model(ModelConfig(), (64,), 10)
    assert [tuple(w.kernel.shape) for w in weight_layers(m)] == [(64, 64), (64, 32), (32, 10)]
    assert _kinds(m)[-1] == "Activation" and m.layers[-1].get_config()["activation"] == "softmax"
    assert all(layer.get_config()["activation"] == "linear" for layer in weight_layers(m))


def test_lenet300_and_lenet5_shapes():
    m = build_model(ModelConfig("lenet300"), (784,), 10)
    assert sum(int(tf.size(layer.kernel)) for layer in weight_layers(m)) == 784 * 300 + 300 * 100 + 100 * 10
    m5 = build_model(ModelConfig("lenet5"), (784,), 10)
    shapes = [tuple(layer.kernel.shape) for layer in weight_layers(m5)]
    assert shapes == [(5, 5, 1, 20), (5, 5, 20, 50), (800, 500), (500, 10)]
    with pytest.raises(UsageError, match="12x12"):
        build_model(ModelConfig("lenet5"), (64,), 10)


def test_user_model_split_and_reloaded(tmp_path):
    u = tf.keras.Sequential(
        [
            tf.keras.Input((8,)),
            tf.keras.layers.Dense(4, activation="relu", name="a"),
            tf.keras.layers.Dense(3, activation="softmax", name="b"),
        ]
    )
    path = tmp_path / "u.keras"
    u.save(path)
    m = build_model(ModelConfig(str(path)), (8,), 3)
    assert _kinds(m) == ["Dense", "Activation", "Dense", "Activation"]
    x = tf.random.uniform((5, 8))
    assert float(tf.reduce_max(tf.abs(m(x) - u(x)))) < 1e-6
    with pytest.raises(UsageError, match="inputs of shape"):
        build_model(ModelConfig(str(path)), (9,), 3)


def test_unsupported_layer_named(tmp_path):
    u = tf.keras.Sequential(
        [
            tf.keras.Input((8,)),
            tf.keras.layers.Dense(4, name="a"),
            tf.keras.layers.BatchNormalization(name="bn"),
            tf.keras.layers.Dense(3, name="b"),
        ]
    )
    path = tmp_path / "bn.h5"
    u.save(path)
    with pytest.raises(UsageError, match=r"'bn'.*BatchNormalization"):
        build_model(ModelConfig(str(path)), (8,), 3)


def test_bad_model_name():
    with pytest.raises(ValueError, match="built-in"):
        ModelConfig("resnet")
    with pytest.raises(UsageError, match="does not exist"):
        build_model(ModelConfig("/nonexistent/m.keras"), (8,), 3)
