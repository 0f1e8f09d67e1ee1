"""A small Dense network converted with the EIE backend through hls4ml's own API (tests only)."""

from __future__ import annotations

import numpy as np

PREC = "ap_fixed<16,6,AP_RND,AP_SAT>"


def mlp(seed: int = 0):
    import tensorflow as tf

    from flow.testing import shared_kernel

    L = tf.keras.layers
    rng = np.random.default_rng(seed)
    model = tf.keras.Sequential([L.Input(shape=(20,), name="x"), L.Dense(12, activation="relu", name="d1"),
                                 L.Dense(6, name="d2")])
    model.get_layer("d1").set_weights([shared_kernel(rng, (20, 12), 0.4), rng.normal(0, 0.1, 12)])
    model.get_layer("d2").set_weights([shared_kernel(rng, (12, 6), 0.5), np.zeros(6)])
    return model


def convert_mlp(out, layer_eie=None, model_eie=None):
    """hls4ml.converters.convert_from_keras_model(..., backend='EIE') of mlp(); the EIE blocks as given."""
    import hls4ml

    model = mlp()
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision=PREC, backend="Vivado")
    if layer_eie is not None:
        cfg["LayerName"]["d1"]["EIE"] = layer_eie
    if model_eie is not None:
        cfg["Model"]["EIE"] = model_eie
    return hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, output_dir=str(out), backend="EIE",
                                                      io_type="io_parallel")
