"""Compressed model -> hls4ml ModelGraph on the EIE backend, with precisions chosen by the flow.

The hardware graph is a plain-Keras twin of the model: weight layers (Dense/QDense, Conv2D/QConv2D)
become linear Keras layers holding the (shared) weights, each followed by an `Activation('relu')`
when the layer has ReLU; input quantizers and `quantized_bits` QActivations disappear (their types
become hls4ml precisions); the final softmax is dropped, so the hardware ends at the logits.
Every precision is set explicitly from the recorded FixedTypes (a CompressedModel) or from
profiling on `calib_x` (a plain Keras model) - never hls4ml's 'auto'/'name' precision, which feeds
the softmax an ap_fixed<40,20> that outputs a constant.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flow.fixed import FixedType, integer_bits
from flow.errors import UsageError
from flow.config.hls import HLSConfig
from flow.hls.types import to_config_string

log = logging.getLogger(__name__)

WEIGHT_KINDS = {"Dense": "Dense", "QDense": "Dense", "Conv2D": "Conv2D", "QConv2D": "Conv2D"}
PASS_THROUGH = ("Flatten", "Reshape", "MaxPooling2D", "AveragePooling2D")
DROPPED = ("InputLayer", "Dropout")
#: recurrent layers: their gate activations (sigmoid, tanh) belong to the layer, not to the network's
#: activations, so the activation rules below never look at them; a recurrent layer has its own check
RECURRENT = ("LSTM", "QLSTM", "GRU", "QGRU", "SimpleRNN", "QSimpleRNN", "RNN", "Bidirectional")
#: width of the types chosen by profiling a plain Keras model
PROFILE_WIDTH = 16


@dataclass
class Converted:
    """What `convert` returns: hls4ml's ModelGraph and what the flow knows about it.

    graph: the ModelGraph (backend 'EIE'; compile()/predict() give csim, write()/build() the project);
    eie_layers: the EIELayers of its Dense nodes on EIE, in order; keras_twin: the float hardware twin
    (plain Keras, ends at the logits); input_t: the FixedType of the network input.
    """

    graph: Any
    eie_layers: list
    keras_twin: Any
    input_t: FixedType

    @property
    def project_name(self) -> str:
        return self.graph.config.get_project_name()


@dataclass
class WeightLayer:
    """One weight layer of the hardware graph with its fixed-point types."""

    name: str
    kind: str  # Dense | Conv2D
    activation: str  # relu | linear
    kernel: np.ndarray
    bias: np.ndarray | None
    input_t: FixedType | None = None
    weight_t: FixedType | None = None
    bias_t: FixedType | None = None
    output_t: FixedType | None = None
    code_bits: int | None = None
    index_bits: int | None = None


def _activation_name(layer) -> str:
    """'relu', 'linear', 'softmax', ... of an Activation/ReLU/QActivation or a layer's activation."""
    kind = type(layer).__name__
    conf = layer.get_config()
    if kind == "ReLU":
        plain = not conf.get("max_value") and not conf.get("negative_slope") and not conf.get("threshold")
        return "relu" if plain else "relu with max_value/negative_slope/threshold"
    act = conf.get("activation", "linear")
    if isinstance(act, dict):  # a serialised QKeras quantizer
        act = act.get("class_name", "linear")
    act = str(act)
    if "quantized_relu" in act or act == "relu":
        return "relu"
    if "quantized_bits" in act or act in ("linear", "None"):
        return "linear"
    return act


def _kernel_bias(layer) -> tuple[np.ndarray, np.ndarray | None]:
    weights = layer.get_weights()
    kernel = np.asarray(weights[0], dtype=np.float64)
    quantizer = getattr(layer, "kernel_quantizer_internal", None)
    if quantizer is not None:  # a user's QDense with a kernel quantizer: the hardware gets quantized values
        kernel = np.asarray(quantizer(kernel.astype(np.float32)), dtype=np.float64)
    bias = np.asarray(weights[1], dtype=np.float64) if len(weights) > 1 else None
    return kernel, bias


def hardware_layers(model, recurrent_ok: bool = False) -> list:
    """The layer sequence of the hardware twin: WeightLayer or ('pass', keras layer) items.

    ``recurrent_ok``: `flow compress`'s check: an LSTM the engine's reference runs (flow.models.check_recurrent)
    is accepted and left out of the items (its gates' sigmoid/tanh are its own, not activations to refuse).

    Raises UsageError naming the layer for an unsupported layer or activation.
    """
    items: list = []
    layers = list(model.layers)
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        last = i == len(layers) - 1
        if kind in WEIGHT_KINDS:
            act = _activation_name(layer)
            if act == "softmax" and last:
                act = "linear"  # the hardware ends at the logits
            if act not in ("relu", "linear"):
                raise UsageError(
                    f"layer '{layer.name}' has activation '{act}'; the EIE flow supports relu and linear "
                    "(and a final softmax); fix: retrain with relu"
                )
            kernel, bias = _kernel_bias(layer)
            items.append(WeightLayer(layer.name, WEIGHT_KINDS[kind], act, kernel, bias))
        elif kind in ("Activation", "ReLU", "QActivation"):
            act = _activation_name(layer)
            prev = items[-1] if items else None
            if act == "softmax" and last:
                continue
            if act == "linear":
                continue  # an input or output quantizer: its type becomes an hls4ml precision
            if act == "relu" and isinstance(prev, WeightLayer):
                prev.activation = "relu"
                continue
            raise UsageError(
                f"layer '{layer.name}': activation '{act}' "
                + (
                    "is only supported as the last layer"
                    if act == "softmax"
                    else "is not supported by the EIE flow"
                )
                + "; fix: use relu directly after a Dense/Conv2D layer and a final softmax"
            )
        elif kind in RECURRENT:
            check_recurrent(layer, recurrent_ok)
            if recurrent_ok:
                continue
        elif kind in PASS_THROUGH:
            items.append(("pass", layer))
        elif kind in DROPPED:
            continue
        else:
            raise UsageError(
                f"layer '{layer.name}' ({kind}) is not supported by the EIE flow; supported: Dense/QDense, "
                f"Conv2D/QConv2D, {', '.join(PASS_THROUGH)}, Dropout, relu and a final softmax"
            )
    if not any(isinstance(it, WeightLayer) for it in items):
        raise UsageError("the model has no Dense or Conv2D layer: nothing to put on the EIE engine")
    return items


def check_recurrent(layer, recurrent_ok: bool = False) -> None:
    """A recurrent layer's own check (its gates' sigmoid/tanh are part of it, not activations to refuse):
    `flow compress` takes an LSTM the engine's reference runs; `flow build` (hls4ml) runs none yet (the RTL
    engine runs one through flow.rtl.lstm_run, outside `flow build`)."""
    from flow.models import RECURRENT_LAYERS, UNSUPPORTED_RECURRENT
    from flow.models import check_recurrent as check_lstm

    kind = type(layer).__name__
    if kind in UNSUPPORTED_RECURRENT:
        raise UsageError(f"layer {layer.name!r} is a {kind}, which the engine cannot run: {UNSUPPORTED_RECURRENT[kind]}")
    if kind in RECURRENT_LAYERS:
        check_lstm(layer)
        if recurrent_ok:
            return
        raise UsageError(
            f"layer '{layer.name}' is an LSTM: `flow build` (hls4ml, RTL) does not run recurrent layers yet; "
            "`flow compress` compresses it, flow.compress.lstm_engine runs it on the engine's bit-exact "
            "numpy reference (flow.eie.lstm) and bench/lstm_seqmnist.py --rtl on the RTL engine's recurrent "
            "entry (flow.rtl.lstm_run)"
        )
    raise UsageError(
        f"layer '{layer.name}' ({type(layer).__name__}) is a recurrent layer, which the EIE engine does not "
        "run yet; supported: Dense/QDense, Conv2D/QConv2D with relu and a final softmax"
    )


def build_twin(model, items):
    """The plain-Keras hardware twin (float, ends at the logits) of `items`."""
    import tensorflow as tf

    L = tf.keras.layers
    x = inp = L.Input(shape=model.input_shape[1:], name="input_1")  # hls4ml reserves "input"
    for it in items:
        if isinstance(it, WeightLayer):
            conf = {"name": it.name, "use_bias": it.bias is not None, "activation": "linear"}
            if it.kind == "Dense":
                layer = L.Dense(it.kernel.shape[-1], **conf)
            else:
                src = model.get_layer(it.name).get_config()
                layer = L.Conv2D(
                    it.kernel.shape[-1],
                    src["kernel_size"],
                    strides=src["strides"],
                    padding=src["padding"],
                    **conf,
                )
            x = layer(x)
            layer.set_weights([it.kernel] + ([it.bias] if it.bias is not None else []))
            if it.activation == "relu":
                x = L.Activation("relu", name=f"{it.name}_relu")(x)
        else:
            layer = it[1]
            x = type(layer).from_config(layer.get_config())(x)
    return tf.keras.Model(inp, x, name=f"{model.name}_hw")


# -- fixed-point types ------------------------------------------------------------------------------
def profiled_type(max_abs: float, width: int = PROFILE_WIDTH, min_integer: int = 1) -> FixedType:
    integer = min(width, max(integer_bits(float(max_abs)), min_integer))
    return FixedType(width, integer, True, "RND", "SAT")


def types_from_records(compressed, wlayers: list[WeightLayer]) -> None:
    """Fill types, code_bits and index_bits of each weight layer from compression.json's records."""
    for w in wlayers:
        rec = compressed.layers.get(w.name)
        if rec is None:
            raise UsageError(
                f"layer '{w.name}' has no record in compression.json; run `flow compress` on this model again"
            )
        fields = rec if isinstance(rec, dict) else vars(rec)
        w.input_t, w.weight_t, w.bias_t, w.output_t = (
            FixedType.from_dict(fields[k]) for k in ("input_type", "weight_type", "bias_type", "output_type")
        )
        w.code_bits, w.index_bits = int(fields["code_bits"]), int(fields["index_bits"])


def types_from_dicts(layer_types: dict, wlayers: list[WeightLayer]) -> None:
    """Fill types from {layer name: {'input_type': FixedType dict, ...}} (a model without compression.json)."""
    for w in wlayers:
        if w.name not in layer_types:
            raise UsageError(f"layer_types has no entry for layer '{w.name}'; give its four FixedType dicts")
        rec = layer_types[w.name]
        w.input_t, w.weight_t, w.bias_t, w.output_t = (
            t if isinstance(t, FixedType) else FixedType.from_dict(t)
            for t in (rec["input_type"], rec["weight_type"], rec["bias_type"], rec["output_type"])
        )


def types_from_profile(twin, wlayers: list[WeightLayer], calib_x: np.ndarray) -> None:
    """16-bit RND/SAT types: integer bits from max |a| on calib_x (activations) or max |w| (weights)."""
    import tensorflow as tf

    names = [f"{w.name}_relu" if w.activation == "relu" else w.name for w in wlayers]
    probe = tf.keras.Model(twin.input, [twin.get_layer(n).output for n in names])
    outs = probe.predict(np.asarray(calib_x, dtype=np.float32), verbose=0, batch_size=256)
    outs = outs if isinstance(outs, list) else [outs]
    prev = profiled_type(np.max(np.abs(calib_x)))
    for w, a in zip(wlayers, outs):
        w.input_t = prev
        w.weight_t = profiled_type(np.max(np.abs(w.kernel)))
        acc_frac = w.input_t.frac + w.weight_t.frac
        max_b = float(np.max(np.abs(w.bias))) if w.bias is not None and w.bias.size else 0.0
        w.bias_t = profiled_type(max_b, min_integer=PROFILE_WIDTH - acc_frac)
        w.output_t = prev = profiled_type(float(np.max(np.abs(a))))


def _check_chain(wlayers: list[WeightLayer]) -> None:
    for a, b in itertools.pairwise(wlayers):
        if a.output_t != b.input_t:
            log.warning(
                "layer '%s' records input %s but '%s' outputs %s; the hardware uses %s",
                b.name,
                b.input_t.cpp,
                a.name,
                a.output_t.cpp,
                a.output_t.cpp,
            )


# -- hls4ml config ---------------------------------------------------------------------------------
def hls_config(twin, wlayers: list[WeightLayer], hls_cfg: HLSConfig, layer_knobs: dict | None = None) -> dict:
    """hls4ml config with every precision explicit (no 'auto')."""
    import hls4ml

    default = to_config_string(wlayers[0].input_t)
    cfg = hls4ml.utils.config_from_keras_model(
        twin, granularity="name", default_precision=default, backend="Vivado"
    )
    cfg["Model"].update({"Strategy": "Latency", "ReuseFactor": 1, "EIE": hls_cfg.eie_defaults()})
    by_name = {w.name: w for w in wlayers}
    current = wlayers[0].input_t  # the type flowing along the chain
    for name, lcfg in cfg["LayerName"].items():
        prec = lcfg.setdefault("Precision", {})
        if name in by_name:
            w = by_name[name]
            prec.update(
                weight=to_config_string(w.weight_t),
                bias=to_config_string(w.bias_t),
                result=to_config_string(w.output_t),
            )
            acc_frac = current.frac + w.weight_t.frac  # exact products; the EIE layer derives its own accum_t
            prec["accum"] = f"ap_fixed<48,{48 - acc_frac}>"
            knobs = {
                k: v for k, v in (("code_bits", w.code_bits), ("index_bits", w.index_bits)) if v is not None
            }
            knobs.update(hls_cfg.layers.get(name, {}))
            knobs.update((layer_knobs or {}).get(name, {}))
            if w.kind == "Dense" and knobs:
                lcfg["EIE"] = knobs
            current = w.output_t
        elif name.endswith("_relu") and name[: -len("_relu")] in by_name:
            prec["result"] = to_config_string(by_name[name[: -len("_relu")]].output_t)
        else:  # input, flatten, reshape, pooling: keep the type flowing in
            had_accum = "accum" in prec
            prec.clear()
            prec["result"] = to_config_string(current)
            if had_accum:  # e.g. average pooling: room for the sum of a window
                prec["accum"] = f"ap_fixed<32,{32 - current.frac}>"
        for key, value in list(prec.items()):
            if value == "auto":
                raise UsageError(f"layer '{name}': precision '{key}' is still 'auto'; the flow must set it")
    for where, given in (("hls.layers", hls_cfg.layers), ("layer_knobs", layer_knobs or {})):
        unknown = set(given) - set(by_name)
        if unknown:
            raise UsageError(
                f"{where}: EIE knobs given for unknown layers {sorted(unknown)}; the layers are {sorted(by_name)}"
            )
    return cfg


def convert(
    compressed,
    hls_cfg: HLSConfig | None,
    output_dir,
    calib_x=None,
    *,
    layer_types: dict | None = None,
    layer_knobs: dict | None = None,
    io_type: str = "io_parallel",
):
    """The hls4ml ModelGraph (backend 'EIE', `io_type` io_parallel or io_stream) of a compressed model;
    ends at the logits.

    compressed: a flow.compress.io.CompressedModel (types from its records), or a Keras model
      with `layer_types` ({name: {input_type, weight_type, bias_type, output_type}}) or `calib_x`
      (16-bit types profiled on it).
    layer_knobs: optional {layer name: {'n_pe', 'fifo_depth', 'code_bits', 'index_bits',
      'col_groups', 'detect_width'}}, over `hls_cfg.layers`.
    Returns a Converted: the ModelGraph (`.graph`) with `.eie_layers`, `.keras_twin` and `.input_t`
    beside it (nothing is attached to hls4ml's object).
    """
    import hls4ml

    from flow.hls.plugin import ensure_registered

    ensure_registered()
    hls_cfg = hls_cfg or HLSConfig()
    model = getattr(compressed, "model", compressed)
    items = hardware_layers(model)
    wlayers = [it for it in items if isinstance(it, WeightLayer)]
    twin = build_twin(model, items)
    if hasattr(compressed, "layers") and isinstance(compressed.layers, dict):
        types_from_records(compressed, wlayers)
    elif layer_types is not None:
        types_from_dicts(layer_types, wlayers)
    elif calib_x is not None:
        types_from_profile(twin, wlayers, calib_x)
    else:
        raise UsageError(
            "a plain Keras model needs calib_x (samples to profile activation ranges) or layer_types; "
            "or pass a compressed model from `flow compress`"
        )
    _check_chain(wlayers)
    cfg = hls_config(twin, wlayers, hls_cfg, layer_knobs)
    hls_model = hls4ml.converters.convert_from_keras_model(
        twin,
        hls_config=cfg,
        output_dir=str(Path(output_dir)),
        project_name=hls_cfg.project_name,
        backend="EIE",
        part=hls_cfg.part,
        clock_period=hls_cfg.clock_period,
        io_type=io_type,
    )
    from flow.hls.layer import eie_nodes
    from flow.hls.types import from_hls

    return Converted(
        graph=hls_model,
        eie_layers=[n.get_attr("eie_layer") for n in eie_nodes(hls_model)],
        keras_twin=twin,
        input_t=from_hls(hls_model.get_input_variables()[0].type.precision, "model input"),
    )
