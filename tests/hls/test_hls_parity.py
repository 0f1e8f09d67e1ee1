"""hls4ml parity: a model and config that hls4ml's Vivado backend converts also convert on `EIE`, and
EIE csim == Vivado csim bit for bit on random inputs (hls4ml's Vivado csim is the oracle; nothing is
hand-copied), and EIE csim == flow.eie.reference where the graph is EIE layers only.

Each (model, granularity, strategy) case converts and compiles both backends once per session
(module-scoped cache; ~10-60 s per hls4ml compile here). A small subset runs by default; the full
matrix is marked slow (`pytest -m slow tests/hls/test_hls_parity.py`).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

hls4ml = pytest.importorskip("hls4ml")
tf = pytest.importorskip("tensorflow")
qkeras = pytest.importorskip("qkeras")

from qkeras import (  # noqa: E402
    QActivation,
    QDense,
    binary,
    quantized_bits,
    quantized_po2,
    quantized_relu,
    stochastic_ternary,
    ternary,
)

from flow.errors import UsageError  # noqa: E402

pytestmark = pytest.mark.csim
L = tf.keras.layers
N_IN = 16


def _seq(layers, seed=0):
    """A Sequential model whose kernels are sparse with few distinct values (what EIE stores)."""
    model = tf.keras.Sequential([L.Input(shape=(N_IN,), name="x"), *layers])
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        w = layer.get_weights()
        if w:
            kernel = np.where(rng.random(w[0].shape) < 0.5, rng.choice(np.arange(-7, 8) / 16, w[0].shape), 0.0)
            layer.set_weights([kernel] + [rng.normal(0, 0.3, x.shape) for x in w[1:]])
    return model


def _qbits(bits, integer):
    return quantized_bits(bits, integer, alpha=1)


MODELS = {
    "dense": lambda: _seq([L.Dense(8, name="d1")]),
    "mlp_relu": lambda: _seq([L.Dense(12, activation="relu", name="d1"), L.Dense(6, name="d2")]),
    "mlp_softmax": lambda: _seq(
        [L.Dense(12, activation="relu", name="d1"), L.Dense(6, name="d2"), L.Activation("softmax", name="sm")]
    ),
    "qdense_relu": lambda: _seq(
        [
            QDense(10, kernel_quantizer=_qbits(6, 0), bias_quantizer=_qbits(8, 3), name="q1"),
            QActivation(quantized_relu(6, 2), name="a1"),
            QDense(4, kernel_quantizer=_qbits(4, 0), bias_quantizer=_qbits(8, 3), name="q2"),
        ]
    ),
    "qdense_qbits_act": lambda: _seq(
        [
            QDense(10, kernel_quantizer=_qbits(5, 0), bias_quantizer=_qbits(8, 3), name="q1"),
            QActivation(quantized_bits(8, 3, alpha=1), name="a1"),
            QDense(4, kernel_quantizer=_qbits(4, 0), bias_quantizer=_qbits(8, 3), name="q2"),
        ]
    ),
    "qdense_softmax": lambda: _seq(
        [
            QDense(10, kernel_quantizer=_qbits(6, 0), bias_quantizer=_qbits(8, 3), name="q1"),
            QActivation(quantized_relu(8, 3), name="a1"),
            QDense(5, kernel_quantizer=_qbits(6, 0), bias_quantizer=_qbits(8, 3), name="q2"),
            L.Activation("softmax", name="sm"),
        ]
    ),
    "qdense_binary": lambda: _seq(
        [QDense(8, kernel_quantizer=binary(alpha=1), bias_quantizer=_qbits(8, 3), name="q1")]
    ),
    "qdense_ternary": lambda: _seq(
        [
            QDense(8, kernel_quantizer=ternary(alpha=1), bias_quantizer=_qbits(8, 3), name="q1"),
            QActivation(quantized_relu(8, 3), name="a1"),
            QDense(4, kernel_quantizer=stochastic_ternary(alpha=1), bias_quantizer=_qbits(8, 3), name="q2"),
        ]
    ),
    "qdense_po2": lambda: _seq(
        [QDense(8, kernel_quantizer=quantized_po2(4), bias_quantizer=_qbits(8, 3), name="q1")]
    ),
    "qdense_auto_po2_alpha": lambda: _seq(
        [QDense(8, kernel_quantizer=quantized_bits(6, 0, alpha="auto_po2"), bias_quantizer=_qbits(8, 3), name="q1")]
    ),
}

#: (model, granularity, strategy, io_type): the default subset, then the rest of the matrix (slow)
FAST = [
    ("mlp_relu", "name", "Latency", "io_parallel"),
    ("qdense_relu", "name", "Latency", "io_parallel"),
    ("qdense_relu", "model", "Latency", "io_stream"),
]
#: every model in both granularities (io_parallel, Latency); the Resource strategy (another dense
#: kernel in Vivado, another summation order) on models that reach it with narrow accumulators; io_stream
#: on a model of each kind
SLOW = (
    [
        (m, g, "Latency", "io_stream")
        for m in ("mlp_relu", "mlp_softmax", "qdense_qbits_act", "qdense_ternary", "qdense_po2")
        for g in ("name", "model")
    ]
    + [(m, g, "Resource", "io_parallel") for m in ("mlp_softmax", "qdense_relu", "qdense_binary") for g in ("name", "model")]
    + [(m, g, "Latency", "io_parallel") for m in MODELS for g in ("name", "model")]
)
SLOW = [c for c in SLOW if c not in FAST]
CASES = [pytest.param(*c, id="-".join(c)) for c in FAST] + [
    pytest.param(*c, id="-".join(c), marks=(pytest.mark.slow, pytest.mark.parity)) for c in SLOW
]

_cache: dict = {}


def _config(model, granularity, strategy):
    cfg = hls4ml.utils.config_from_keras_model(model, granularity=granularity, backend="Vivado")
    cfg["Model"]["Strategy"] = strategy
    return cfg


def _pair(tmp_path_factory, name, granularity, strategy, io_type):
    """(Vivado model, EIE model), converted from the same Keras model and config and compiled."""
    key = (name, granularity, strategy, io_type)
    if key not in _cache:
        keras_model = MODELS[name]()
        built = []
        for backend in ("Vivado", "EIE"):
            out = tmp_path_factory.mktemp(f"{name}_{granularity}_{strategy}_{io_type}_{backend}")
            hm = hls4ml.converters.convert_from_keras_model(
                keras_model,
                hls_config=_config(keras_model, granularity, strategy),
                output_dir=str(out),
                backend=backend,
                io_type=io_type,
            )
            hm.compile()
            built.append(hm)
        _cache[key] = tuple(built)
    return _cache[key]


@pytest.mark.parametrize("name,granularity,strategy,io_type", CASES)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.5, 2.0, 8.0]))
def test_eie_csim_equals_vivado_csim(tmp_path_factory, name, granularity, strategy, io_type, seed, scale):
    vivado, eie = _pair(tmp_path_factory, name, granularity, strategy, io_type)
    x = np.random.default_rng(seed).normal(0, scale, (32, N_IN))
    y_viv, y_eie = np.asarray(vivado.predict(x)), np.asarray(eie.predict(x))
    assert y_viv.shape == y_eie.shape
    diff = np.argwhere(y_viv != y_eie)
    assert diff.size == 0, (
        f"{name}/{granularity}/{strategy}/{io_type}: {len(diff)} outputs differ, first at {tuple(diff[0])}: "
        f"Vivado {y_viv[tuple(diff[0])]} EIE {y_eie[tuple(diff[0])]}"
    )


@pytest.mark.parametrize("name,granularity,strategy,io_type", CASES)
def test_eie_csim_equals_reference(tmp_path_factory, name, granularity, strategy, io_type):
    """Where the graph is EIE layers only, the raw csim equals flow.eie.reference bit for bit."""
    from flow.eie.reference import eie_network
    from flow.hls.csim import predict_raw, reference_covers
    from flow.hls.types import from_hls

    _, eie = _pair(tmp_path_factory, name, granularity, strategy, io_type)
    layers = [n.get_attr("eie_layer") for n in eie.get_layers() if n.get_attr("eie_layer") is not None]
    assert layers, "no Dense layer on EIE"
    in_t = from_hls(eie.get_input_variables()[0].type.precision, "model input")
    x_raw = in_t.quantize(np.random.default_rng(1).normal(0, 2, (64, N_IN)))
    if reference_covers(eie):
        np.testing.assert_array_equal(predict_raw(eie, x_raw), eie_network(x_raw, layers))
    else:  # hls4ml layers in between: the first EIE layer still sees the model input
        first = layers[0]
        assert first.input_t == in_t
        assert np.asarray(eie_network(x_raw, layers[:1])).shape == (64, first.n_out)


#: node attributes the EIE templates set (the EIE kernel's config struct, call and headers)
TEMPLATE_ATTRS = {"config_cpp", "function_cpp", "include_header"}
#: the attributes that record the EIE implementation (flow.hls.layer)
EIE_ATTRS = {"eie_layer", "eie_fused_relu", "eie_fused_into"}


def _comparable(value):
    """A node attribute as something == compares: types by name and precision, variables by name,
    type, shape (and a weight's data), scalars as they are, anything else by its class name."""
    from hls4ml.model.types import NamedType, TensorVariable, WeightVariable

    if isinstance(value, NamedType):
        return ("type", value.name, str(value.precision))
    if isinstance(value, WeightVariable):
        data = np.asarray(value.data)
        return ("weight", value.name, str(value.type.precision), data.shape, data.tobytes())
    if isinstance(value, TensorVariable):
        return ("tensor", value.name, str(value.type.precision), tuple(value.shape))
    if isinstance(value, (list, tuple)):
        return tuple(_comparable(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return type(value).__name__


def graph_differences(vivado, eie) -> list[str]:
    """How the EIE graph differs from Vivado's, beyond the EIE templates' output and the EIE attributes:
    names and order, class_name, every attribute of every node (n_in, n_out, the precision types,
    weight/bias variables with their data, output variables), get_weights(); [] when none."""
    from flow.hls.layer import is_eie_node

    v_nodes, e_nodes = list(vivado.get_layers()), list(eie.get_layers())
    if [n.name for n in e_nodes] != [n.name for n in v_nodes]:
        return [f"layer names/order {[n.name for n in e_nodes]} != Vivado's {[n.name for n in v_nodes]}"]
    out = []
    for v, e in zip(v_nodes, e_nodes):
        if e.class_name != v.class_name:
            out.append(f"{v.name}: class_name {e.class_name} != {v.class_name}")
        if v.class_name == "Dense" and not is_eie_node(e):
            out.append(f"{v.name}: Dense not on EIE")
        for key, value in v.attributes.items():
            if key in TEMPLATE_ATTRS:
                continue
            if key not in e.attributes:
                out.append(f"{v.name}: attribute {key} missing")
            elif _comparable(e.attributes[key]) != _comparable(value):
                out.append(f"{v.name}: {key} = {_comparable(e.attributes[key])!r:.120} != {_comparable(value)!r:.120}")
        extra = set(e.attributes) - set(v.attributes) - EIE_ATTRS
        if extra:
            out.append(f"{v.name}: unexpected attributes {sorted(extra)}")
        if [_comparable(w) for w in e.get_weights()] != [_comparable(w) for w in v.get_weights()]:
            out.append(f"{v.name}: get_weights() differs")
    return out


@pytest.mark.parametrize("name,granularity,strategy,io_type", CASES)
def test_graph_structure_is_hls4mls(tmp_path_factory, name, granularity, strategy, io_type):
    """After compile (the writer sets the EIE nodes' weight variables aside while it writes): the graph
    is Vivado's attribute for attribute, plus the EIE attributes."""
    vivado, eie = _pair(tmp_path_factory, name, granularity, strategy, io_type)
    assert graph_differences(vivado, eie) == []
    assert any(n.get_attr("eie_layer") is not None for n in eie.get_layers())


#: conversion only (no compile): every model, both granularities and both I/O types, two strategies
STRUCTURE = [
    (m, g, s, io)
    for m in MODELS
    for g in ("name", "model")
    for s, io in (("Latency", "io_parallel"), ("Latency", "io_stream"), ("Resource", "io_parallel"))
]
STRUCTURE_FAST = [("mlp_softmax", "name", "Latency", "io_parallel"), ("qdense_ternary", "name", "Latency", "io_stream"),
                  ("qdense_auto_po2_alpha", "model", "Resource", "io_parallel")]
STRUCTURE_CASES = [pytest.param(*c, id="-".join(c)) for c in STRUCTURE_FAST] + [
    pytest.param(*c, id="-".join(c), marks=pytest.mark.slow) for c in STRUCTURE if c not in STRUCTURE_FAST
]


@pytest.mark.parametrize("name,granularity,strategy,io_type", STRUCTURE_CASES)
def test_converted_graph_is_vivados_attribute_for_attribute(tmp_path, name, granularity, strategy, io_type):
    """What hls4ml users inspect: hls_model.get_layers() names and order, class_name ('Dense' for a
    Dense/QDense on EIE), n_in/n_out, weight_t/bias_t/accum_t/result_t, weight/bias variables and data,
    as backend Vivado converts the same model and config; the EIE implementation is extra attributes."""
    keras_model = MODELS[name]()
    graphs = [
        hls4ml.converters.convert_from_keras_model(
            keras_model, hls_config=_config(keras_model, granularity, strategy), output_dir=str(tmp_path / b),
            backend=b, io_type=io_type,
        )
        for b in ("Vivado", "EIE")
    ]
    assert graph_differences(*graphs) == []
    dense = [n for n in graphs[1].get_layers() if n.class_name == "Dense"]
    assert dense and all(n.get_attr("eie_layer").n_out == n.get_attr("n_out") for n in dense)
    for n in dense:  # what inspection code reads
        assert n.get_weights("weight") is n.weights["weight"] and n.get_attr("weight_t") is not None
        assert n.get_attr("result_t").precision == n.get_output_variable().type.precision
