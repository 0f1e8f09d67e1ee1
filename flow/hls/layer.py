"""Which hls4ml nodes run on the EIE sparse PE array, and where their EIE implementation is recorded.

A Dense/QDense mapped to EIE stays hls4ml's own Dense node (class_name 'Dense', n_in, n_out, the
weight/bias variables and every precision type exactly as backend Vivado makes them), so code that
inspects an hls4ml graph keeps working. The EIE implementation is extra attributes on that node:
- `eie_layer`: the flow.eie.layer.EIELayer (CSC per PE, codebook, types) the kernel runs; the EIE
  templates and writer select on it (`is_eie_node`);
- `eie_fused_relu`: the name of the ReLU node the PE array applies (the ReLU node stays, attribute
  `eie_fused_into`, and casts into its own type as in Vivado).
The weight/bias variables are for inspection only: the writer puts the layer's data into integer
ROMs (flow.eie.codegen) and writes no ap_fixed weight array for it.
"""

from __future__ import annotations


def is_eie_node(node) -> bool:
    """True for a Dense node that runs on the EIE engine (it carries an EIELayer)."""
    return node.get_attr("eie_layer") is not None


def eie_nodes(model) -> list:
    """The Dense nodes of an hls4ml ModelGraph that run on the EIE engine, in graph order."""
    return [node for node in model.get_layers() if is_eie_node(node)]

