"""Trained ternary quantization (flow.compress.ternary): codes, gradients, training, config (seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from flow.config.compress import CompressConfig
from flow.compress.pipeline import compress
from flow.compress.ternary import NEG, POS, Ternary
from flow.config import FlowConfig


def test_init_codes_and_scales():
    rng = np.random.default_rng(0)
    k = rng.normal(size=(20, 10)).astype(np.float32)
    mask = np.abs(k) > 0.5
    t = Ternary.init(k, mask, threshold=0.05)
    codes = t.codes()
    assert set(np.unique(codes)) <= {0, NEG, POS}
    assert not codes[~mask].any()  # pruned weights stay pruned
    assert np.array_equal(codes == POS, (k > 0) & mask)  # every survivor is above 5 % of max
    assert t.w_pos == pytest.approx(k[(k > 0) & mask].mean())
    assert t.w_neg == pytest.approx(-k[(k < 0) & mask].mean())
    book = t.codebook()
    assert book[0] == 0 and book[NEG] == -t.w_neg and book[POS] == t.w_pos and len(book) == 4
    assert set(np.unique(t.kernel())) <= {0.0, -t.w_neg, t.w_pos}
    s = t.shared()
    assert np.array_equal(s.centroids[s.codes], t.kernel())


def test_threshold_zeroes_small_latent_weights():
    k = np.array([[1.0, 0.04, -0.03, -2.0]], np.float32)
    t = Ternary.init(k, np.ones_like(k, bool), threshold=0.05)  # delta = 0.1
    assert t.codes().tolist() == [[POS, 0, 0, NEG]]


def test_gradients_follow_the_chain_rule():
    k = np.array([[0.5, -0.4, 0.01, 0.3]], np.float32)
    mask = np.array([[True, True, True, False]])
    t = Ternary.init(k, mask, threshold=0.05)
    lat, wp, wn, m = t.variables(tf.Variable(k))
    g = tf.constant([[1.0, 2.0, 3.0, 4.0]])
    g_lat, g_wp, g_wn = t.gradients_tf(g, lat, wp, wn, m)
    # q = wp*pos - wn*neg: dq/dwp = pos, dq/dwn = -neg; latent: straight-through scaled by the side's scale
    assert float(g_wp) == pytest.approx(1.0)
    assert float(g_wn) == pytest.approx(-2.0)
    np.testing.assert_allclose(g_lat.numpy(), [[1.0 * t.w_pos, 2.0 * t.w_neg, 3.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(t.kernel_tf(lat, wp, wn, m).numpy(), t.kernel(), rtol=1e-6)


def test_config_method_keys():
    c = CompressConfig(layer_method={"fc3": "ternary"}, bits=4)
    assert c.bits_of("fc3") == 2 and c.bits_of("fc1") == 4 and c.method_of("fc1") == "kmeans"
    with pytest.raises(ValueError, match="ternary layer has 2-bit codes"):
        CompressConfig(layer_method={"fc3": "ternary"}, layer_bits={"fc3": 4})
    with pytest.raises(ValueError, match="layer_method"):
        CompressConfig(layer_method={"nope": "ternary"}).check_layers(["fc1"])


def test_config_ternary_switch(tmp_path):
    """`layer_ternary: {fc3: true}` with `layer_bits: {fc3: 2}` is the same as layer_method ternary;
    a ternary switch with other code bits, or one contradicting layer_method, is refused."""
    from flow.config import load_config
    from flow.errors import ConfigError

    c = CompressConfig(layer_ternary={"fc3": True}, layer_bits={"fc3": 2}, bits=4)
    assert c.method_of("fc3") == "ternary" and c.bits_of("fc3") == 2 and c.method_of("fc1") == "kmeans"
    c = CompressConfig(ternary=True, bits=2, layer_ternary={"fc1": False})
    assert c.method_of("fc2") == "ternary" and c.method_of("fc1") == "kmeans" and c.bits_of("fc1") == 2
    with pytest.raises(ValueError, match="ternary codes are 2 bits; set layer_bits.fc3: 2"):
        CompressConfig(layer_ternary={"fc3": True}, layer_bits={"fc3": 4})
    with pytest.raises(ValueError, match="layer_ternary.fc3=true with bits=4"):
        CompressConfig(layer_ternary={"fc3": True}, bits=4)
    with pytest.raises(ValueError, match="ternary: true with bits=4"):
        CompressConfig(ternary=True, bits=4)
    with pytest.raises(ValueError, match="contradicts layer_method.fc3=kmeans"):
        CompressConfig(layer_ternary={"fc3": True}, layer_bits={"fc3": 2}, layer_method={"fc3": "kmeans"})
    with pytest.raises(ValueError, match="layer_ternary"):
        CompressConfig(layer_ternary={"nope": True}, bits=2).check_layers(["fc1"])
    path = tmp_path / "t.yaml"
    path.write_text("compress:\n  layer_bits: {fc3: 2}\n  layer_ternary: {fc3: true}\n")
    assert load_config(path).compress.method_of("fc3") == "ternary"
    path.write_text("compress:\n  layer_bits: {fc3: 3}\n  layer_ternary: {fc3: true}\n")
    with pytest.raises(ConfigError, match="ternary codes are 2 bits"):
        load_config(path)


@pytest.fixture(scope="module")
def ternary_digits(tmp_path_factory):
    cfg = FlowConfig()
    c = cfg.compress
    c.epochs, c.prune_steps, c.prune_epochs, c.finetune_epochs = 8, 1, 2, 3
    c.sparsity, c.plots = 0.5, False
    c.layer_method = {"fc1": "ternary", "fc2": "ternary"}
    out = tmp_path_factory.mktemp("t") / "digits"
    return compress(cfg, out, progress=False), out


def test_ternary_layers_train_end_to_end(ternary_digits):
    cm, _ = ternary_digits
    for name in ("fc1", "fc2"):
        layer = cm.layers[name]
        assert layer.code_bits == 2 and len(layer.codebook) == 4
        kernel = cm.model.get_layer(name).get_weights()[0]
        values = set(np.unique(kernel).tolist())
        assert values <= {0.0, float(layer.codebook[1]), float(layer.codebook[2])}
        assert layer.codebook[1] < 0 < layer.codebook[2]
        assert np.array_equal(kernel != 0, layer.mask) and layer.mask.mean() <= 0.5 + 1e-3
    assert cm.layers["fc3"].code_bits == 4
    rep = cm.report
    assert [d["method"] for d in rep["layers"]] == ["ternary", "ternary", "kmeans"]
    assert rep["accuracy"]["quantized"] > 0.6  # a 64-32 MLP, 8 epochs, two ternary layers


@pytest.mark.csim
def test_ternary_layers_build_on_the_eie_engine_bit_exact(ternary_digits, tmp_path):
    """2-bit ternary codebooks go through hls4ml's EIE backend; csim equals the numpy reference."""
    pytest.importorskip("hls4ml")
    from flow.compress.io import load_compressed
    from flow.data import load_dataset
    from flow.hls import csim
    from flow.config.hls import HLSConfig
    from flow.hls.convert import convert

    _, folder = ternary_digits
    cm = load_compressed(folder)
    ds = load_dataset()
    hm = convert(cm, HLSConfig(n_pe=4, fifo_depth=2, project_name="ternary_eie"), tmp_path / "hls", ds.x_train[:300])
    csim.compile_model(hm)
    res = csim.check_agreement(hm, cm.model, ds.x_test[:200], hm.eie_layers)
    assert res["reference_checked"] is True and res["bit_mismatches"] == 0
    assert [lyr.code_bits for lyr in hm.eie_layers][:2] == [2, 2]
