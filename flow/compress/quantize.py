"""Fixed-point types chosen from the data, and the QKeras model that carries them.

Types are ap_fixed-style dicts (docs/internals.md, "Compressed-model fixed-point types"):
`{"width", "integer" (sign bit included), "signed", "rounding", "saturation"}`.
- activations (the input and every weight layer's output): profiled on a calibration set,
  integer bits cover max |activation| plus `integer_margin`, RND + SAT;
- weights: per layer from the codebook range, the codebook rounded to that type;
- biases: per layer from the bias range.
The QKeras model (QDense/QConv2D with kernel_quantizer=None holding the rounded shared
values, quantized_bits biases, QActivation quantized_relu / quantized_bits on every
activation tensor, softmax apart) is the network that is evaluated and saved, so the one
that reaches hls4ml is the one whose accuracy is reported. QKeras's `integer` excludes the
sign bit: ap_fixed<W, I> is quantized_bits(W, I - 1, 1, alpha=1) and, for non-negative
ReLU outputs of the same signed type, quantized_relu(W - 1, I - 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flow.compress.matrices import is_recurrent, split_rows
from flow.fixed import bias_integer_bits, integer_bits
from flow.models import INPUT_NAME, RECURRENT_LAYERS, WEIGHT_LAYERS


def fixed_type(
    width: int, integer: int, signed: bool = True, rounding: str = "RND", saturation: str = "SAT"
) -> dict:
    return {
        "width": int(width),
        "integer": int(integer),
        "signed": bool(signed),
        "rounding": rounding,
        "saturation": saturation,
    }


def quantize_values(x: np.ndarray, t: dict) -> np.ndarray:
    """Round to the type's grid (RND: half towards +inf, TRN: floor) and saturate; returns floats."""
    frac = t["width"] - t["integer"]
    scaled = np.asarray(x, dtype=np.float64) * 2.0**frac
    raw = np.floor(scaled + 0.5) if t["rounding"] == "RND" else np.floor(scaled)
    lo = -(2 ** (t["width"] - 1)) if t["signed"] else 0
    hi = 2 ** (t["width"] - 1) - 1 if t["signed"] else 2 ** t["width"] - 1
    raw = np.clip(raw, lo, hi)
    return (raw * 2.0**-frac).astype(np.float32)


@dataclass
class LayerTypes:
    input_type: dict
    weight_type: dict
    bias_type: dict
    output_type: dict
    activation: str  # relu | linear | lstm
    gate_type: dict | None = None  # LSTM: the gate pre-activations (flow.eie.lstm)
    cell_type: dict | None = None  # LSTM: the cell state


def _followers(model) -> dict[str, str]:
    """For each weight layer, the activation right after it ('relu' or 'linear')."""
    out, layers = {}, model.layers
    for i, layer in enumerate(layers):
        if type(layer).__name__ in RECURRENT_LAYERS:
            out[layer.name] = "lstm"
        elif type(layer).__name__ in WEIGHT_LAYERS:
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            act = (
                nxt.get_config().get("activation")
                if nxt is not None and type(nxt).__name__ == "Activation"
                else None
            )
            out[layer.name] = "relu" if act == "relu" or type(nxt).__name__ == "ReLU" else "linear"
    return out


def profile(model, x_calib: np.ndarray) -> dict[str, float]:
    """max |output| of each weight layer after its ReLU (if any), and of the input."""
    import tensorflow as tf

    acts = _followers(model)
    taps, names, layers = [], [], model.layers
    for i, layer in enumerate(layers):
        if layer.name in acts:
            tap = layers[i + 1].output if acts[layer.name] == "relu" else layer.output
            taps.append(tap)
            names.append(layer.name)
    probe = tf.keras.Model(model.inputs, taps)
    outs = probe.predict(x_calib, batch_size=1024, verbose=0)
    outs = outs if isinstance(outs, list) else [outs]
    result = {"input": float(np.abs(x_calib).max())}
    for name, o in zip(names, outs):
        if not np.isfinite(o).all():
            from flow.errors import FlowError

            raise FlowError(f"quantize: layer {name!r} produces NaN/Inf on the calibration data")
        result[name] = float(np.abs(o).max())
    return result


def choose_types(model, codebooks: dict[str, np.ndarray], x_calib: np.ndarray, cfg) -> dict[str, LayerTypes]:
    ranges = profile(model, x_calib)
    acts = _followers(model)
    aw = cfg.activation_width
    prev = fixed_type(aw, integer_bits(ranges["input"], cfg.integer_margin))
    types = {}
    for layer in model.layers:
        if layer.name not in acts:
            continue
        if is_recurrent(layer):
            types[layer.name] = _lstm_types(model, layer, prev, codebooks[layer.name], x_calib, cfg)
            prev = types[layer.name].output_type
            continue
        out_t = fixed_type(aw, integer_bits(ranges[layer.name], cfg.integer_margin))
        cb = codebooks[layer.name]
        w_t = fixed_type(cfg.weight_width, integer_bits(float(np.abs(cb).max())))
        bias = layer.bias.numpy() if layer.use_bias else np.zeros(1)
        acc_frac = (prev["width"] - prev["integer"]) + (w_t["width"] - w_t["integer"])
        b_t = fixed_type(cfg.bias_width, bias_integer_bits(float(np.abs(bias).max()), cfg.bias_width, acc_frac))
        types[layer.name] = LayerTypes(prev, w_t, b_t, out_t, acts[layer.name])
        prev = out_t
    return types


def _lstm_types(model, layer, prev: dict, cb, x_calib, cfg) -> LayerTypes:
    """An LSTM's types (flow.eie.lstm.LSTMTypes): x and h share one type (h is fed back as inputs;
    |h| < 1), which is also its output type; the gate pre-activations and the cell state are profiled
    on the calibration set (float LSTM, flow.compress.lstm.profile_lstm); the gate type needs no more
    than 6 integer bits (the sigmoid and tanh tables are flat beyond +-16)."""
    import tensorflow as tf

    from flow.compress.lstm import profile_lstm

    xin = tf.keras.Model(model.inputs, layer.input).predict(x_calib, batch_size=1024, verbose=0)
    kernel, rec = (v.numpy() for v in (layer.cell.kernel, layer.cell.recurrent_kernel))
    bias = layer.cell.bias.numpy() if layer.cell.use_bias else np.zeros(kernel.shape[1])
    r = profile_lstm(kernel, rec, bias, xin)
    aw = cfg.activation_width
    in_t = fixed_type(aw, max(prev["integer"], 2))
    gate_t = fixed_type(aw, min(integer_bits(r["gate"], cfg.integer_margin), 6))
    cell_t = fixed_type(aw, integer_bits(r["cell"], cfg.integer_margin))
    w_t = fixed_type(cfg.weight_width, integer_bits(float(np.abs(cb).max())))
    acc_frac = (in_t["width"] - in_t["integer"]) + (w_t["width"] - w_t["integer"])
    b_t = fixed_type(cfg.bias_width, bias_integer_bits(float(np.abs(bias).max()), cfg.bias_width, acc_frac))
    return LayerTypes(in_t, w_t, b_t, in_t, "lstm", gate_t, cell_t)


def _qbits(t: dict) -> str:
    # a string, not an object: Keras's .keras format reloads QActivation only from strings
    return f"quantized_bits(bits={t['width']},integer={t['integer'] - 1},symmetric=0,keep_negative=1,alpha=1)"


def _qrelu(t: dict) -> str:
    return f"quantized_relu(bits={t['width'] - 1},integer={t['integer'] - 1})"


def quantized_model(model, shared: dict, types: dict[str, LayerTypes]):
    """The QKeras twin of `model` with rounded codebooks and the chosen activation/bias types.

    Returns (qmodel, rounded codebooks per layer).
    """
    import logging

    logging.disable(logging.INFO)  # QKeras logs every quantizer it builds on the root logger
    try:
        return _quantized_model(model, shared, types)
    finally:
        logging.disable(logging.NOTSET)


def _quantized_model(model, shared: dict, types: dict[str, LayerTypes]):
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense

    L = tf.keras.layers
    first = next(iter(types.values()))
    out = [
        L.Input(shape=model.input_shape[1:], name=INPUT_NAME),
        QActivation(_qbits(first.input_type), name="input_quant"),
    ]
    weights, codebooks = [], {}
    layers = model.layers
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        conf = layer.get_config()
        if layer.name in types and is_recurrent(layer):
            # the shared weights, the input and h quantized; the gates and cell state are quantized in
            # the engine's reference (flow.eie.lstm), not in this Keras model
            t = types[layer.name]
            for key in [k for k in conf if k.endswith(("_regularizer", "_constraint"))]:
                conf.pop(key)
            new = type(layer).from_config(conf)
            cb = quantize_values(shared[layer.name].centroids, t.weight_type)
            cb[0] = 0.0
            codebooks[layer.name] = cb
            w = split_rows(layer, cb[shared[layer.name].codes])
            if layer.cell.use_bias:
                w.append(quantize_values(layer.cell.bias.numpy(), t.bias_type))
            out += [new, QActivation(_qbits(t.output_type), name=f"{layer.name}_quant")]
            weights.append((new, w))
        elif layer.name in types:
            t = types[layer.name]
            conf.update(kernel_quantizer=None, bias_quantizer=_qbits(t.bias_type))
            for key in (
                "kernel_regularizer",
                "bias_regularizer",
                "activity_regularizer",
                "kernel_constraint",
                "bias_constraint",
            ):
                conf.pop(key, None)
            new = (QDense if kind == "Dense" else QConv2D).from_config(conf)
            cb = quantize_values(shared[layer.name].centroids, t.weight_type)
            cb[0] = 0.0
            codebooks[layer.name] = cb
            w = [cb[shared[layer.name].codes]]
            if layer.use_bias:
                w.append(quantize_values(layer.bias.numpy(), t.bias_type))
            out.append(new)
            weights.append((new, w))
            if t.activation == "linear":
                out.append(QActivation(_qbits(t.output_type), name=f"{layer.name}_quant"))
        elif kind in ("Activation", "ReLU") and conf.get("activation", "relu") == "relu":
            owner = [lyr.name for lyr in layers[:i] if lyr.name in types][-1]
            out.append(QActivation(_qrelu(types[owner].output_type), name=layer.name))
        else:
            out.append(type(layer).from_config(conf))
    qmodel = tf.keras.Sequential(out, name=model.name)
    for layer, w in weights:
        layer.set_weights(w)
    return qmodel, codebooks
