"""Nothing fails late: what the EIE backend cannot run is refused at conversion (convert_from_keras_model),
with the layer, the reason and the hls4ml config key or model change that fixes it; and the fix works."""

from __future__ import annotations

import numpy as np
import pytest

hls4ml = pytest.importorskip("hls4ml")
tf = pytest.importorskip("tensorflow")

from flow.errors import UsageError  # noqa: E402

L = tf.keras.layers
PREC = "ap_fixed<16,6>"


def _weights(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        w = layer.get_weights()
        if w:
            kernel = np.where(rng.random(w[0].shape) < 0.5, rng.choice(np.arange(-3, 4) / 8, w[0].shape), 0.0)
            layer.set_weights([kernel] + [np.zeros(x.shape) for x in w[1:]])
    return model


def _mlp():
    return _weights(tf.keras.Sequential([L.Input(shape=(8,), name="x"), L.Dense(6, activation="relu", name="d1"),
                                         L.Dense(3, name="d2")]))


def _conv():
    return _weights(tf.keras.Sequential([L.Input(shape=(6, 6, 1), name="img"), L.Conv2D(2, 3, name="conv"),
                                         L.Flatten(name="flat"), L.Dense(3, name="fc")]))


def _dense_on_2d():
    return _weights(tf.keras.Sequential([L.Input(shape=(4, 8), name="seq"), L.Dense(3, name="td")]))


def _config(model, **edits):
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision=PREC, backend="Vivado")
    for lcfg in cfg["LayerName"].values():
        for key, value in list(lcfg.get("Precision", {}).items()):
            if value == "auto":
                lcfg["Precision"][key] = PREC
    for path, value in edits.items():  # "d1/EIE" -> cfg['LayerName']['d1']['EIE']
        *keys, last = path.split("/")
        node = cfg["LayerName"] if keys[0] != "Model" else cfg
        for k in keys:
            node = node.setdefault(k, {})
        node[last] = value
    return cfg


def _convert(model, cfg, out, io_type="io_parallel"):
    return hls4ml.converters.convert_from_keras_model(
        model, hls_config=cfg, output_dir=str(out), backend="EIE", io_type=io_type
    )


# (model, config edits, message, config edits that fix it or None)
CASES = {
    "eie_knobs_on_a_conv": (
        _conv, {"conv/EIE": {"n_pe": 4}},
        r"config\['LayerName'\]\['conv'\]\['EIE'\]: layer 'conv' is hls4ml's Conv2D, which does not run on the EIE "
        r"engine \(only Dense/QDense do\); remove the key",
        {"fc/EIE": {"n_pe": 4}},
    ),
    "eie_knobs_on_an_unknown_layer": (
        _mlp, {"d9/EIE": {"n_pe": 4}},
        r"config\['LayerName'\]\['d9'\]\['EIE'\]: the converted graph has no layer 'd9'",
        {"d2/EIE": {"n_pe": 4}},
    ),
    "eie_knobs_on_a_dense_hls4ml_made_a_convolution": (
        _dense_on_2d, {"td/EIE": {"n_pe": 2}},
        r"\['td'\]\['EIE'\]: layer 'td' is hls4ml's (Pointwise)?Conv1D.*Flatten its input",
        None,
    ),
    "hls4ml_compression": (
        _mlp, {"d1/Compression": True},
        r"layer 'd1': config\['LayerName'\]\['d1'\]\['Compression'\] = True asks for hls4ml's compressed weight "
        r"format.*remove config\['LayerName'\]\['d1'\]\['Compression'\]",
        {"d1/Compression": False},
    ),
    "saturation_bits": (
        _mlp, {"d2/Precision/result": "ap_fixed<16,6,AP_RND,AP_SAT,2>"},
        r"layer 'd2' output: precision .* has 2 saturation bits; the EIE engine supports 0",
        {"d2/Precision/result": "ap_fixed<16,6,AP_RND,AP_SAT>"},
    ),
    "saturating_accum_with_resource_strategy": (
        _mlp, {"d2/Precision/accum": "ap_fixed<12,4,AP_TRN,AP_SAT>", "Model/Strategy": "Resource"},
        r"layer 'd2': hls4ml's accum_t .* saturates partial sums.*\['d2'\]\['Precision'\]\['accum'\] to an AP_WRAP "
        r"type.*\['Strategy'\] = 'Latency'",
        {"d2/Precision/accum": "ap_fixed<12,4,AP_TRN,AP_WRAP>", "Model/Strategy": "Resource"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_at_conversion_naming_the_fix(tmp_path, case):
    make, edits, message, fix = CASES[case]
    model = make()
    with pytest.raises(UsageError, match=message):
        _convert(model, _config(model, **edits), tmp_path / "refused")
    if fix is not None:  # the named fix converts, and the layers are on EIE
        hm = _convert(model, _config(model, **fix), tmp_path / "fixed")
        assert any(n.get_attr("eie_layer") is not None for n in hm.get_layers())


def test_unsupported_io_type_is_refused_at_config_time(tmp_path):
    model = _mlp()
    with pytest.raises(UsageError, match=r"io_type='io_serial': the EIE backend supports io_parallel and io_stream"):
        _convert(model, _config(model), tmp_path / "serial", io_type="io_serial")


def test_binary_xnor_input_is_refused_naming_the_fix():
    """hls4ml's xnor type (uint<1> meaning -1/+1) as a Dense input: the engine multiplies fixed-point
    inputs, so it is refused with the QKeras change that fixes it (a binary QActivation that hls4ml
    types as int<2> converts and matches Vivado)."""
    from hls4ml.model.types import XnorPrecisionType

    from flow.hls.passes.dense_weights import checked_input
    from flow.hls.types import from_hls

    with pytest.raises(UsageError, match=r"layer 'q1' input: a binary \(xnor.*quantized_bits\(2, 1\)"):
        checked_input(XnorPrecisionType(), "layer 'q1'", from_hls)
