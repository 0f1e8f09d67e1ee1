"""A compressed LSTM network on the engine's bit-exact reference, against its Keras model.

`engine_network` turns a CompressedModel of the form [preprocessing] -> LSTM -> Dense ... into the
engine's layers (flow.eie.lstm.EIELSTM for the LSTM with its recorded types, flow.eie.EIELayer for
each Dense); `compare` runs both on inputs and reports the agreement of their predictions. The
Keras model quantizes the LSTM's input, weights and output h only; the engine also quantizes the
gates and the cell state every step and uses PWL sigmoid/tanh, so the two may differ on some inputs:
the agreement rate measures by how much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flow.compress.matrices import get_kernel, is_recurrent, n_inputs, split_rows
from flow.errors import UsageError
from flow.fixed import FixedType


@dataclass
class EngineNetwork:
    lstm: object  # flow.eie.lstm.EIELSTM
    dense: list  # flow.eie.EIELayer, in order
    front: object  # Keras model: the network input -> the LSTM's input (reshape, input quantizer)


def engine_network(cm, *, n_pe: int = 8, fifo_depth: int = 8, col_groups: int = 1) -> EngineNetwork:
    """The engine's layers of a compressed LSTM network (CompressedModel `cm`)."""
    import tensorflow as tf

    from flow.eie import EIELayer
    from flow.eie.lstm import EIELSTM, LSTMTypes

    model = cm.model
    order = [layer for layer in model.layers if layer.name in cm.layers]
    if not order or not is_recurrent(order[0]) or any(is_recurrent(layer) for layer in order[1:]):
        raise UsageError("engine_network takes an LSTM followed by Dense layers (one LSTM, first)")
    lstm_k, rest = order[0], order[1:]
    rec = cm.layers[lstm_k.name]
    ft = {k: FixedType.from_dict(getattr(rec, k), f"{lstm_k.name} {k}")
          for k in ("input_type", "weight_type", "bias_type", "gate_type", "cell_type")}
    types = LSTMTypes(ft["input_type"], ft["weight_type"], ft["bias_type"], ft["gate_type"], ft["cell_type"])
    W = np.asarray(rec.codebook, np.float64)[rec.codes]
    kernel, recurrent = split_rows(lstm_k, W)
    bias = lstm_k.cell.bias.numpy() if lstm_k.cell.use_bias else None
    per_gate = len(rec.codebook) > (1 << rec.code_bits)
    lstm = EIELSTM.from_keras(lstm_k.name, kernel, recurrent, bias, types=types, n_pe=n_pe, fifo_depth=fifo_depth,
                              code_bits=rec.code_bits, index_bits=rec.index_bits, col_groups=col_groups,
                              per_gate=per_gate)
    dense = []
    for layer in rest:
        r = cm.layers[layer.name]
        if type(layer).__name__ not in ("Dense", "QDense"):
            raise UsageError(f"layer {layer.name!r}: only Dense layers may follow the LSTM here")
        w = layer.get_weights()
        dense.append(EIELayer.from_dense(
            layer.name, get_kernel(layer), w[1] if len(w) > 1 else None, n_pe=n_pe, fifo_depth=fifo_depth,
            code_bits=r.code_bits, index_bits=r.index_bits, activation=r.activation,
            input_t=FixedType.from_dict(r.input_type), weight_t=FixedType.from_dict(r.weight_type),
            bias_t=FixedType.from_dict(r.bias_type), output_t=FixedType.from_dict(r.output_type),
            codebook=r.codebook,
        ))
    front = tf.keras.Model(model.inputs, lstm_k.input)
    if n_inputs(lstm_k) != lstm.n_in:
        raise UsageError(f"layer {lstm_k.name!r}: {lstm.n_in} inputs on the engine, {n_inputs(lstm_k)} in Keras")
    return EngineNetwork(lstm, dense, front)


def engine_logits(net: EngineNetwork, x) -> tuple[np.ndarray, np.ndarray]:
    """(logits raw of the last Dense, h_T raw) of the bit-exact reference for network inputs x."""
    from flow.eie.lstm import lstm_sequence
    from flow.eie.reference import eie_network

    xin = net.front.predict(x, batch_size=1024, verbose=0)
    x_raw = net.lstm.types.input_t.quantize(xin)
    hs, _ = lstm_sequence(x_raw, net.lstm)
    h = hs[:, -1]
    return (eie_network(h, net.dense) if net.dense else h), h


def compare(cm, x, y=None, **knobs) -> dict:
    """Predictions of the compressed Keras model and of the engine's reference on x (float inputs)."""
    from flow.compress.train import logits_model

    net = engine_network(cm, **knobs)
    logits, _ = engine_logits(net, x)
    keras = np.concatenate([logits_model(cm.model)(x[i : i + 1024]).numpy() for i in range(0, len(x), 1024)])
    pe, pk = logits.argmax(axis=1), keras.argmax(axis=1)
    out = {"samples": int(len(x)), "agreement": float(np.mean(pe == pk)), "source": "numpy reference vs Keras"}
    if y is not None:
        out["engine_accuracy"] = float(np.mean(pe == np.asarray(y)))
        out["keras_accuracy"] = float(np.mean(pk == np.asarray(y)))
    return out
