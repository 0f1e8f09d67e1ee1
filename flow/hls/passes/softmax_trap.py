"""Pass: warn when a Softmax cannot resolve its input (hls4ml's 'auto' precision trap).

hls4ml's table-based softmax (nnet_activation.h) indexes its exp table with the top
log2(exp_table_size) bits of its input. With granularity='name', 'auto' gives a Dense output such as
ap_fixed<37,17>: the index then steps by 2**(17 - 10) = 128 and every realistic logit falls in one
entry, so the softmax outputs a constant 1/n (measured: 0.167 for 6 classes, in Vivado's csim too).
The EIE backend keeps Vivado's result bit for bit, so it converts, but says so, naming the layer and
the config key that fixes it.
"""

from __future__ import annotations

import logging
import math
import warnings

from hls4ml.model.optimizer import ModelOptimizerPass

log = logging.getLogger(__name__)


def softmax_trap(node) -> str | None:
    """The warning for a Softmax node whose exp-table index steps by >= 1.0, else None."""
    precision = node.get_input_variable().type.precision
    integer = getattr(precision, "integer", None)
    if integer is None:
        return None
    table_bits = math.ceil(math.log2(int(node.get_attr("exp_table_size", 1024))))
    step = 2.0 ** (int(integer) - table_bits)
    if step < 1.0:
        return None
    producer = node.get_input_node()
    name = producer.name if producer is not None else "the input"
    return (
        f"layer '{node.name}': its input precision {precision} has {integer} integer bits, so hls4ml's softmax "
        f"indexes its {2 ** table_bits}-entry exp table in steps of {step:g} and outputs (nearly) a constant, in "
        f"Vivado's csim as in EIE's; set config['LayerName']['{name}']['Precision']['result'] to e.g. "
        f"'ap_fixed<16,6>' (the input of '{node.name}')"
    )


class SoftmaxTrapWarning(ModelOptimizerPass):
    """Runs once over the model (a node pass would have to mark the nodes it checked)."""

    name = "softmax_trap_warning"

    def __init__(self):  # registered by class; hls4ml instantiates it without arguments
        pass

    def transform(self, model):
        for node in model.get_layers():
            message = softmax_trap(node) if node.class_name == "Softmax" else None
            if message is not None:
                log.warning(message)
                warnings.warn(message, UserWarning, stacklevel=2)
        return False
