"""Pass: a Dense (and QDense) [+ ReLU] node is mapped onto the EIE engine: it gets an EIELayer.

The node stays hls4ml's Dense (flow.hls.layer: class_name, n_in/n_out, weight/bias variables and
precision types as in backend Vivado); the EIE implementation is the attributes `eie_layer` and
`eie_fused_relu`. A ReLU activation that follows the Dense node (hls4ml splits
`Dense(activation='relu')` into two nodes) is applied by the PE array too, so its output is sparse
for the next layer's non-zero detector; the kernel writes relu(result_t(acc)) into the Dense's own
result_t and hls4ml's ReLU node stays (attribute `eie_fused_into`), casting into its type as in
Vivado. Other activations stay hls4ml nodes. The per-layer knobs are `config['LayerName'][name]['EIE']` with model defaults in
`config['Model']['EIE']`, else flow.eie.knobs.DEFAULTS.
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.optimizer import OptimizerPass

from flow.eie import knobs as knob_rules
from flow.errors import UsageError
from flow.fixed import MAX_WIDTH
from flow.hls.passes.dense_weights import checked_input, dense_weights, fit_62, hls4ml_loaded_values, too_wide
from flow.hls.types import from_hls


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


class MapDenseToEIE(OptimizerPass):
    name = "map_dense_to_eie"

    def match(self, node):
        return node.class_name == "Dense" and node.get_attr("eie_layer") is None

    def transform(self, model, node):
        from flow.eie.layer import EIELayer

        name = node.name
        knobs = eie_knobs(model.config, name)
        where = f"layer '{name}'"
        key = f"config['LayerName']['{name}']['Precision']"
        if model.config.get_compression(node):
            raise UsageError(
                f"{where}: config['LayerName']['{name}']['Compression'] = True asks for hls4ml's compressed "
                "weight format; the EIE engine stores its own sparse format (CSC per PE) and needs the plain "
                f"weights: remove config['LayerName']['{name}']['Compression']"
            )
        kernel, weight_t = dense_weights(node, where, from_hls)  # binary, ternary, po2 or fixed point
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
        out_precision = node.get_output_variable().type.precision  # hls4ml's result_t, kept
        if int(getattr(out_precision, "width", 0)) > MAX_WIDTH:
            raise too_wide(f"{where} output", out_precision, f"{key}['result']")
        # hls4ml parity: Vivado casts each product into accum_t and rounds to the Dense output type
        # before the ReLU layer; the EIE layer keeps either only where it changes a result
        accum_precision = node.get_attr("accum_t").precision
        hls_accum_t, accum_trimmed = fit_62(accum_precision, f"{where} accum", from_hls)
        output_t = from_hls(out_precision, f"{where} output")
        pre_t = output_t if relu is not None else None  # relu(result_t(acc)): result_t may wrap
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
            input_t=checked_input(node.get_input_variable().type.precision, where, from_hls),
            weight_t=weight_t,
            bias_t=from_hls(node.get_attr("bias_t").precision, f"{where} bias"),
            output_t=output_t,
            hls_accum_t=hls_accum_t,
            pre_t=pre_t,
        )
        if eie.hls_accum and eie.accum_t.saturation != "WRAP" and str(model.config.get_strategy(node)).lower() != "latency":
            raise UsageError(
                f"{where}: hls4ml's accum_t {eie.accum_t.cpp} saturates partial sums, and with strategy "
                f"'{model.config.get_strategy(node)}' Vivado adds them in an order the EIE engine does not share; "
                f"set {key}['accum'] to an AP_WRAP type (or one that holds every sum), or "
                f"config['LayerName']['{name}']['Strategy'] = 'Latency'"
            )
        if accum_trimmed and eie.hls_accum:
            raise too_wide(f"{where} accum", accum_precision, f"{key}['accum']")
        node.set_attr("eie_layer", eie)
        if relu is not None:
            # The PE array applies the ReLU; hls4ml's ReLU layer stays (names and order as in Vivado), sees
            # only non-negative values and casts them into its own type, as Vivado's ReLU does.
            node.set_attr("eie_fused_relu", relu.name)
            relu.set_attr("eie_fused_into", name)
        return False  # attributes only: the graph is unchanged
