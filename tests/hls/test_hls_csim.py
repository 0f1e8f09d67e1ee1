"""End to end on a compressed-like digits MLP (64-32-16-10): csim == reference bit for bit, agreement with Keras."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("hls4ml")
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flow.eie.reference import eie_network
from flow.errors import FlowError, UsageError
from flow.hls import csim
from flow.config.hls import HLSConfig
from flow.hls.convert import convert
from flow.testing import as_compressed, shared_mlp

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def digits():
    from flow.data import load_dataset

    return load_dataset()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory, digits):
    """One compiled project shared by the module's tests."""
    model, types = shared_mlp([64, 32, 16, 10], (0.3, 0.4, 0.6), calib_x=digits.x_train[:500], seed=3)
    cm = as_compressed(model, types)
    out = tmp_path_factory.mktemp("digits_mlp")
    hm = convert(cm, HLSConfig(n_pe=4, fifo_depth=2, project_name="digits_eie"), out / "hls")
    csim.compile_model(hm)
    return cm, hm, out / "hls"


def test_csim_matches_reference_bit_for_bit_and_keras_top1(compiled, digits):
    cm, hm, _ = compiled
    res = csim.check_agreement(hm, cm.model, digits.x_test, hm.eie_layers)
    assert res["reference_checked"] is True
    assert res["bit_mismatches"] == 0 and res["mismatched_samples"] == 0
    assert res["top1_agreement"] >= 0.99
    assert res["n"] == len(digits.x_test)
    assert [lyr.name for lyr in hm.eie_layers] == ["fc1", "fc2", "fc3"]
    assert [lyr.n_pe for lyr in hm.eie_layers] == [4, 4, 4]
    assert hm.eie_layers[0].input_t.to_dict() == cm.layers["fc1"].input_type  # recorded types, unchanged


def _raw_batches():
    lo, hi = -(1 << 15), (1 << 15) - 1  # input type: 16-bit signed
    return arrays(np.int64, st.tuples(st.integers(1, 6), st.just(64)), elements=st.integers(lo, hi))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=_raw_batches())
@example(x=np.zeros((1, 64), dtype=np.int64))
@example(x=np.full((2, 64), (1 << 15) - 1, dtype=np.int64))
@example(x=np.full((2, 64), -(1 << 15), dtype=np.int64))
def test_raw_csim_equals_reference_on_any_input(compiled, x):
    _, hm, _ = compiled
    assert hm.input_t.width == 16 and hm.input_t.signed
    np.testing.assert_array_equal(csim.predict_raw(hm, x), eie_network(x, hm.eie_layers))


def test_float_predict_is_the_raw_path_with_saturation(compiled, digits):
    _, hm, _ = compiled
    x = np.concatenate(
        [digits.x_test[:20], digits.x_test[:5] * 1e4, -digits.x_test[:5] * 1e4, np.zeros((1, 64))]
    )
    x_raw = hm.input_t.quantize(x)
    assert (
        x_raw.max() == hm.input_t.max_raw and x_raw.min() == hm.input_t.min_raw
    )  # saturating inputs present
    out_t = hm.eie_layers[-1].output_t
    np.testing.assert_array_equal(csim.predict(hm, x), out_t.to_float(csim.predict_raw(hm, x_raw)))


def test_generated_project_has_no_ap_fixed_weight_arrays(compiled):
    _, hm, prj = compiled
    weights = sorted(p.name for p in (prj / "firmware" / "weights").glob("*"))
    assert weights == sorted(f"eie{n.index}.h" for n in hm.graph.get_layers() if n.get_attr("eie_layer") is not None)
    for name in weights:
        rom = (prj / "firmware" / "weights" / name).read_text()
        assert "ap_fixed" not in rom and "eie_entries" in rom and "eie_colptr" in rom
    params = (prj / "firmware" / "parameters.h").read_text()
    top = (prj / "firmware" / "digits_eie.cpp").read_text()
    assert "weights/w" not in params and "weights/b" not in params
    assert "load_weights_from_txt" not in top
    assert 'extern "C"' in (prj / "digits_eie_raw_bridge.cpp").read_text()


def test_bad_inputs_are_usage_errors(compiled):
    _, hm, _ = compiled
    with pytest.raises(UsageError, match=r"shape \(3, 63\).*64 values per sample"):
        csim.predict(hm, np.zeros((3, 63)))
    with pytest.raises(UsageError, match=r"64 values per sample"):
        hm.graph.predict(np.zeros((2, 65)))  # hls4ml's own predict goes through the backend's check
    with pytest.raises(UsageError, match="raw integers"):
        csim.predict_raw(hm, np.zeros((2, 64)))
    with pytest.raises(UsageError, match="outside ap_fixed<16"):
        csim.predict_raw(hm, np.full((1, 64), 1 << 20, dtype=np.int64))


def test_check_agreement_reports_a_wrong_layer(compiled, digits):
    cm, hm, _ = compiled
    layers = list(hm.eie_layers)
    bad_bias = layers[-1].bias_raw.copy()
    bad_bias[3] += 7
    layers[-1] = dataclasses.replace(layers[-1], bias_raw=bad_bias)
    with pytest.raises(
        FlowError,
        match=r"differs from the reference at the output of layer 'fc3'.*output 3.*"
        r"every layer alone matches",
    ):
        csim.check_agreement(hm, cm.model, digits.x_test[:50], layers)
    res = csim.check_agreement(hm, cm.model, digits.x_test[:50], layers, raise_on_failure=False)
    assert res["mismatched_samples"] == 50 and res["failures"]


def test_unsupported_activation_is_named(tmp_path):
    L = tf.keras.layers
    model = tf.keras.Sequential(
        [L.Input(shape=(8,)), L.Dense(4, name="h"), L.Activation("tanh", name="t"), L.Dense(2, name="o")]
    )
    with pytest.raises(UsageError, match=r"layer 't': activation 'tanh'.*relu"):
        convert(model, HLSConfig(), tmp_path / "prj", calib_x=np.ones((4, 8)))
    leaky = tf.keras.Sequential(
        [L.Input(shape=(8,)), L.Dense(4, name="h"), L.ReLU(negative_slope=0.1, name="r")]
    )
    with pytest.raises(UsageError, match=r"layer 'r': activation 'relu with max_value/negative_slope"):
        convert(leaky, HLSConfig(), tmp_path / "prj1", calib_x=np.ones((4, 8)))
    with pytest.raises(UsageError, match="calib_x"):
        convert(tf.keras.Sequential([L.Input(shape=(8,)), L.Dense(2)]), HLSConfig(), tmp_path / "prj2")
