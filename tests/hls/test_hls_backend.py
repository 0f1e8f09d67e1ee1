"""The EIE hls4ml backend: registration, Dense nodes on EIE (still hls4ml's Dense), other layers untouched,
generated files."""

from __future__ import annotations

import re

import numpy as np
import pytest

hls4ml = pytest.importorskip("hls4ml")
tf = pytest.importorskip("tensorflow")

from flow.errors import UsageError
from flow.testing import shared_kernel

L = tf.keras.layers
PREC = "ap_fixed<16,6,AP_RND,AP_SAT>"


def _mlp(seed=0, n_values_layer1=None):
    rng = np.random.default_rng(seed)
    model = tf.keras.Sequential(
        [
            L.Input(shape=(20,), name="x"),
            L.Dense(12, activation="relu", name="d1"),
            L.Dense(6, name="d2"),
            L.Activation("softmax", name="sm"),
        ]
    )
    k1 = shared_kernel(rng, (20, 12), 0.4)
    if n_values_layer1:
        k1 = rng.choice(np.arange(1, n_values_layer1 + 1) / 64.0, size=(20, 12))
    model.get_layer("d1").set_weights([k1, rng.normal(0, 0.1, 12)])
    model.get_layer("d2").set_weights([shared_kernel(rng, (12, 6), 0.5), np.zeros(6)])
    return model


def _config(model, **layer_eie):
    cfg = hls4ml.utils.config_from_keras_model(
        model, granularity="name", default_precision=PREC, backend="Vivado"
    )
    for lcfg in cfg["LayerName"].values():
        for key in lcfg.get("Precision", {}):
            lcfg["Precision"][key] = PREC
    for name, knobs in layer_eie.items():
        cfg["LayerName"][name]["EIE"] = knobs
    return cfg


def _convert(model, cfg, out):
    return hls4ml.converters.convert_from_keras_model(
        model, hls_config=cfg, output_dir=str(out), backend="EIE", io_type="io_parallel"
    )


def test_backend_registered_through_the_entry_point():
    from hls4ml.backends import get_available_backends, get_backend

    from flow.hls.backend import EIEBackend
    from flow.hls.writer import EIEWriter

    assert "eie" in get_available_backends()
    backend = get_backend("EIE")
    assert isinstance(backend, EIEBackend)
    assert isinstance(backend.writer, EIEWriter)
    assert backend.get_default_flow() == "eie:ip"


def test_dense_runs_on_eie_with_fused_relu_and_per_layer_knobs(tmp_path):
    model = _mlp()
    hm = _convert(
        model, _config(model, d1={"n_pe": 3, "fifo_depth": 2, "broadcast": 1, "detect_width": 16}), tmp_path / "prj"
    )
    kinds = [(n.name, n.class_name) for n in hm.get_layers()]
    # hls4ml's layer names, order and classes: the fused ReLU node stays (a cast after the PE array's ReLU)
    assert kinds == [("x", "Input"), ("d1", "Dense"), ("d1_relu", "Activation"), ("d2", "Dense"), ("sm", "Softmax")]
    assert list(hm.get_layers())[2].get_attr("eie_fused_into") == "d1"
    assert list(hm.get_layers())[1].get_attr("eie_fused_relu") == "d1_relu"
    d1, d2 = (n.get_attr("eie_layer") for n in hm.get_layers() if n.class_name == "Dense")
    assert (d1.n_pe, d1.fifo_depth, d1.broadcast, d1.activation) == (3, 2, 1, "relu")
    assert (d2.n_pe, d2.broadcast, d2.activation) == (8, 1, "linear")  # HLSConfig default, no ReLU after d2
    assert (d1.detect_width, d2.detect_width) == (16, 4)
    np.testing.assert_array_equal(d1.weights_float(), model.get_layer("d1").get_weights()[0].T)
    assert d1.output_t.cpp == PREC


@pytest.mark.parametrize(
    "knobs, message",
    [
        ({"n_pe": 0}, r"\['d1'\]\['EIE'\]: n_pe=0"),
        ({"pes": 4}, r"unknown EIE knob\(s\) \['pes'\]"),
        ({"code_bits": 9}, r"code_bits=9: must be an integer 1\.\.8"),
        ({"broadcast": 0}, r"\['d1'\]\['EIE'\]: broadcast=0"),
        ({"detect_width": 0}, r"\['d1'\]\['EIE'\]: detect_width=0"),
        ({"detect_width": 65}, r"\['d1'\]\['EIE'\]: detect_width=65"),
    ],
)
def test_bad_eie_knobs_name_the_layer(tmp_path, knobs, message):
    model = _mlp()
    with pytest.raises(UsageError, match=message):
        _convert(model, _config(model, d1=knobs), tmp_path / "prj")


def test_more_distinct_values_than_the_codebook_holds(tmp_path):
    model = _mlp(n_values_layer1=20)
    with pytest.raises(
        UsageError, match=r"layer 'd1' has 20 distinct non-zero weights.*4-bit codebook holds 15"
    ):
        _convert(model, _config(model), tmp_path / "prj")
    hm = _convert(model, _config(model, d1={"code_bits": 5}), tmp_path / "prj5")  # the fix works
    assert list(hm.get_layers())[1].get_attr("eie_layer").code_bits == 5


@pytest.mark.csim
def test_conv_and_dense_model_compiles_with_conv_left_to_hls4ml(tmp_path):
    rng = np.random.default_rng(1)
    model = tf.keras.Sequential(
        [
            L.Input(shape=(8, 8, 1), name="img"),
            L.Conv2D(3, 3, name="conv"),
            L.Activation("relu", name="crelu"),
            L.MaxPooling2D(2, name="pool"),
            L.Flatten(name="flat"),
            L.Dense(5, name="fc"),
        ]
    )
    model.get_layer("conv").set_weights([rng.normal(0, 0.3, (3, 3, 1, 3)), np.zeros(3)])
    model.get_layer("fc").set_weights([shared_kernel(rng, (27, 5), 0.5), rng.normal(0, 0.1, 5)])
    hm = _convert(model, _config(model), tmp_path / "prj")
    kinds = {n.name: n.class_name for n in hm.get_layers()}
    assert kinds["conv"] == "Conv2D" and kinds["pool"] == "Pooling2D" and kinds["fc"] == "Dense"
    assert next(n for n in hm.get_layers() if n.name == "fc").get_attr("eie_layer") is not None
    hm.compile()
    x = rng.random((16, 8, 8, 1))
    y = np.asarray(hm.predict(np.ascontiguousarray(x.reshape(16, -1)))).reshape(16, 5)
    np.testing.assert_allclose(y, model.predict(x, verbose=0), atol=0.05)
    weights = {p.name for p in (tmp_path / "prj" / "firmware" / "weights").glob("*.h")}
    fc = next(n for n in hm.get_layers() if n.name == "fc")
    conv = next(n for n in hm.get_layers() if n.name == "conv")
    assert f"w{conv.index}.h" in weights  # the conv keeps hls4ml's weight array
    assert f"w{fc.index}.h" not in weights and f"b{fc.index}.h" not in weights  # set aside while writing
    assert set(fc.weights) == {"weight", "bias"}  # ... and back on the node afterwards
    assert f"eie{fc.index}.h" in weights
    rom = (tmp_path / "prj" / "firmware" / "weights" / f"eie{fc.index}.h").read_text()
    assert "ap_fixed" not in rom
    assert re.search(r"uint8_t eie_entries\d+\[", rom)


def test_io_stream_calls_the_stream_kernel(tmp_path):
    """io_stream: the EIE layer reads and writes hls4ml's nnet::array packs (eie::dense_stream);
    csim parity with Vivado is in tests/hls/test_hls_parity.py."""
    model = _mlp()
    hm = hls4ml.converters.convert_from_keras_model(
        model, hls_config=_config(model), output_dir=str(tmp_path / "prj"), backend="EIE", io_type="io_stream"
    )
    hm.write()
    top = (tmp_path / "prj" / "firmware" / "myproject.cpp").read_text()
    assert len(re.findall(r"eie::dense_stream<", top)) == 2 and "eie::dense<" not in top
    assert "hls::stream" in (tmp_path / "prj" / "myproject_raw_bridge.cpp").read_text()


@pytest.mark.parametrize("first", ["flow.hls.writer", "flow.hls.backend", "flow.hls.csim"])
def test_backend_registered_whatever_module_is_imported_first(first):
    import subprocess
    import sys

    code = (
        f"import {first}; from hls4ml.backends import get_available_backends; print(get_available_backends())"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "'eie'" in out.stdout and "WARNING" not in out.stdout, out.stdout


def test_softmax_trap_of_auto_precision_is_named(tmp_path):
    """granularity='name' auto gives d2 an ap_fixed<37,17> output: hls4ml's softmax then outputs a
    constant (Vivado too). EIE converts (parity) and warns, naming the layer and the key."""
    import warnings

    model = _mlp()
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    with pytest.warns(UserWarning, match=r"layer 'sm'.*fixed<37,17.*config\['LayerName'\]\['d2'\]\['Precision'\]\['result'\]"):
        _convert(model, cfg, tmp_path / "auto")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _convert(model, _config(model), tmp_path / "explicit")  # ap_fixed<16,6>: no warning


def test_types_wider_than_62_bits(tmp_path):
    """A 64-bit accumulator that holds every sum changes nothing and converts; a 64-bit output is
    refused at conversion, naming the layer and the config key."""
    model = _mlp()
    cfg = _config(model)
    cfg["LayerName"]["d2"]["Precision"]["accum"] = "ap_fixed<64,34>"
    hm = _convert(model, cfg, tmp_path / "wide_accum")
    d2 = next(n for n in hm.get_layers() if n.name == "d2").get_attr("eie_layer")
    assert not d2.hls_accum and d2.accum_t.width <= 62
    cfg["LayerName"]["d2"]["Precision"]["result"] = "ap_fixed<64,34>"
    with pytest.raises(UsageError, match=r"layer 'd2' output.*wider than 62 bits.*\['d2'\]\['Precision'\]\['result'\]"):
        _convert(model, cfg, tmp_path / "wide_result")
