"""hls4ml users reach the overlay: model.eie from a ModelGraph converted with backend="EIE"."""

from __future__ import annotations

import numpy as np
import pytest

from flow.errors import UsageError

PREC = "ap_fixed<16,6,AP_RND,AP_SAT>"


def _convert(tmp_path, layers, n_pe=16):
    import hls4ml
    import tensorflow as tf

    from flow.testing import shared_kernel

    rng = np.random.default_rng(0)
    model = tf.keras.Sequential([tf.keras.layers.Input(shape=(20,), name="x"), *layers])
    for ly in model.layers:
        if type(ly).__name__ == "Dense":
            k = ly.kernel.shape
            ly.set_weights([shared_kernel(rng, tuple(k), 0.4), rng.normal(0, 0.1, k[1])])
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision=PREC, backend="Vivado")
    cfg["Model"]["EIE"] = {"n_pe": n_pe}
    for name, c in cfg["LayerName"].items():  # Dense results at the activations' type (the PE array's output)
        if isinstance(c.get("Precision"), dict) and "result" in c["Precision"] and name.startswith("d"):
            c["Precision"]["result"] = PREC
    return hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, output_dir=str(tmp_path / "hls"),
                                                      backend="EIE", io_type="io_parallel")


def test_hls4ml_model_writes_the_image_flow_image_would(tmp_path):
    import tensorflow as tf

    from flow.hls.layer import eie_nodes
    from flow.overlay.hls4ml_image import write_overlay_image
    from flow.overlay.image import image_bytes
    from flow.overlay.sizing import preset
    from flow.board.boards import load_board
    from flow.runtime.eie_image import read_image

    L = tf.keras.layers
    g = _convert(tmp_path, [L.Dense(12, activation="relu", name="d1"), L.Dense(6, name="d2"),
                            L.Activation("softmax", name="sm")])
    out = write_overlay_image(g, tmp_path / "m.eie")
    data = (tmp_path / "m.eie").read_bytes()
    layers = [n.get_attr("eie_layer") for n in eie_nodes(g)]
    assert [ly.n_pe for ly in layers] == [16, 16]
    assert data == image_bytes(layers, preset(load_board("pynq-z2"), 16), softmax=True)  # the host's softmax
    img = read_image(data)
    assert out["bytes"] == len(data) and img.word_counts()["beats"] == out["beats"]


def test_hls4ml_model_with_other_layers_or_layouts_is_refused(tmp_path):
    import tensorflow as tf

    from flow.overlay.hls4ml_image import write_overlay_image

    L = tf.keras.layers
    g = _convert(tmp_path, [L.Dense(12, name="d1"), L.Activation("tanh", name="t"), L.Dense(6, name="d2")])
    with pytest.raises(UsageError, match=r"layers the RTL overlay does not run \(t: Activation\)"):
        write_overlay_image(g, tmp_path / "a.eie")
    g8 = _convert(tmp_path / "b", [L.Dense(12, name="d1"), L.Dense(6, name="d2")], n_pe=8)
    with pytest.raises(UsageError, match=r"no overlay preset for P=8"):
        write_overlay_image(g8, tmp_path / "b.eie")
    assert not (tmp_path / "a.eie").exists() and not (tmp_path / "b.eie").exists()
