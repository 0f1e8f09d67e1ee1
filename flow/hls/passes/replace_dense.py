"""Pass: Dense (and QDense) [+ ReLU] -> EIEDense carrying an EIELayer.

A ReLU activation that follows the Dense node (hls4ml splits `Dense(activation='relu')` into two
nodes) is fused, since the EIE PE applies ReLU before re-quantization. Other activations stay hls4ml
nodes. The per-layer knobs are `config['LayerName'][name]['EIE']` with model defaults in
`config['Model']['EIE']`, else flow.eie.knobs.DEFAULTS.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.optimizer import OptimizerPass

from flow.eie import knobs as knob_rules
from flow.errors import UsageError
from flow.hls.layer import EIEDense
from flow.hls.types import from_hls


def hls4ml_loaded_values(var) -> np.ndarray:
    """The values hls4ml's Vivado csim (and synthesis) assigns to a weight variable's type: hls4ml
    writes each weight as decimal text with its `precision_fmt` ('{:.Ff}', F = the type's fractional
    bits; '{:.0f}' for integer types) and the C++ reads that text back. A value on the type's grid
    survives exactly; one between grid points may move (e.g. a half-LSB tie printed as 7 decimals is
    no longer a tie), and bit-exact parity needs the same moved value."""
    data = np.asarray(var.data, dtype=np.float64)
    fmt = getattr(var, "precision_fmt", "")
    if not fmt:
        return data
    flat = [float(fmt.format(v)) for v in data.reshape(-1)]
    return np.asarray(flat, dtype=np.float64).reshape(data.shape)


def eie_knobs(model_config, layer_name: str) -> dict:
    """EIE knobs of one layer from an hls4ml ModelConfig: layer > model > flow.eie.knobs.DEFAULTS."""
    hls = model_config.config.get("HLSConfig", {})
    knobs = dict(knob_rules.DEFAULTS)
    for source, where in (
        (hls.get("Model", {}).get("EIE", {}), "config['Model']['EIE']"),
        (hls.get("LayerName", {}).get(layer_name, {}).get("EIE", {}), f"config['LayerName']['{layer_name}']['EIE']"),
    ):
        knob_rules.check(source, where)
        knobs.update(source)
    return knob_rules.check(knobs, f"layer '{layer_name}'")


def _single_consumer(model, node):
    out = node.outputs[0]
    if out in model.outputs:
        return None
    users = [n for n in model.graph.values() if out in n.inputs]
    return users[0] if len(users) == 1 else None


def _fusable_relu(model, node):
    nxt = _single_consumer(model, node)
    if nxt is None or nxt.class_name != "Activation":
        return None
    if str(nxt.get_attr("activation", "")).lower() != "relu":
        return None
    return nxt


class ReplaceDenseWithEIE(OptimizerPass):
    name = "replace_dense_with_eie"

    def match(self, node):
        return node.class_name == "Dense"

    def transform(self, model, node):
        from flow.eie.layer import EIELayer

        name = node.name
        knobs = eie_knobs(model.config, name)
        kernel = hls4ml_loaded_values(node.get_weights("weight"))
        if kernel.ndim != 2:
            raise UsageError(
                f"layer '{name}': Dense kernel of shape {kernel.shape}; the EIE engine needs a 2-D kernel "
                "(flatten the input first)"
            )
        bias_var = node.get_weights("bias")
        bias = np.zeros(kernel.shape[1]) if bias_var is None else hls4ml_loaded_values(bias_var)
        n_values = int(np.unique(kernel[kernel != 0]).size)
        capacity = 2 ** knobs["code_bits"] - 1
        if n_values > capacity:
            raise UsageError(
                f"layer '{name}' has {n_values} distinct non-zero weights but a {knobs['code_bits']}-bit "
                f"codebook holds {capacity}; fix: compress the model with weight sharing (flow compress) "
                f"or raise code_bits for this layer to {int(np.ceil(np.log2(n_values + 1)))}"
            )
        relu = _fusable_relu(model, node)
        out_node = relu if relu is not None else node
        where = f"layer '{name}'"
        eie = EIELayer.from_dense(
            name,
            kernel,
            bias,
            n_pe=knobs["n_pe"],
            fifo_depth=knobs["fifo_depth"],
            broadcast=knobs["broadcast"],
            col_groups=knobs["col_groups"],
            detect_width=knobs["detect_width"],
            code_bits=knobs["code_bits"],
            index_bits=knobs["index_bits"],
            activation="relu" if relu is not None else "linear",
            input_t=from_hls(node.get_input_variable().type.precision, f"{where} input"),
            weight_t=from_hls(node.get_attr("weight_t").precision, f"{where} weight"),
            bias_t=from_hls(node.get_attr("bias_t").precision, f"{where} bias"),
            output_t=from_hls(out_node.get_output_variable().type.precision, f"{where} output"),
            # hls4ml parity: Vivado casts each product into accum_t and rounds to the Dense output type
            # before the ReLU layer; the EIE layer keeps either only where it changes a result
            hls_accum_t=from_hls(node.get_attr("accum_t").precision, f"{where} accum"),
            pre_t=from_hls(node.get_output_variable().type.precision, f"{where} result")
            if relu is not None
            else None,
        )
        if relu is not None:
            model.remove_node(relu)
        new = model.make_node(
            EIEDense,
            name,
            {"n_in": eie.n_in, "n_out": eie.n_out, "eie_layer": eie},
            list(node.inputs),
            list(node.outputs),
        )
        model.replace_node(node, new)
        return True
