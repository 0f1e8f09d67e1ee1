"""Pass: EIE knobs given for a layer that does not run on the EIE engine are refused at conversion.

Only Dense/QDense nodes run on EIE; every other layer (Conv1D/Conv2D, pooling, activations, ...)
stays hls4ml's, so `config['LayerName'][name]['EIE']` on it would be ignored without a word. hls4ml
also turns a Dense on a multi-dimensional input into a pointwise convolution before the EIE passes
run, and drops some layers (Dropout, linear quantizers): knobs on those are refused the same way,
naming the layer, what it became and the fix.
"""

from __future__ import annotations

from hls4ml.model.optimizer import ModelOptimizerPass

from flow.errors import UsageError


def misplaced_knobs(model) -> list[str]:
    """One message per config['LayerName'][name]['EIE'] that names no Dense node of the graph."""
    layer_cfg = model.config.config.get("HLSConfig", {}).get("LayerName", {}) or {}
    nodes = {node.name: node for node in model.get_layers()}
    messages = []
    for name, cfg in layer_cfg.items():
        if not isinstance(cfg, dict) or "EIE" not in cfg:
            continue
        key = f"config['LayerName']['{name}']['EIE']"
        node = nodes.get(name)
        if node is None:
            messages.append(
                f"{key}: the converted graph has no layer '{name}' (hls4ml removed it, or the name is wrong); "
                f"EIE knobs apply to Dense/QDense layers only: remove the key"
            )
        elif node.class_name != "Dense":
            messages.append(
                f"{key}: layer '{name}' is hls4ml's {node.class_name}, which does not run on the EIE engine "
                "(only Dense/QDense do); remove the key, or, for a Dense that hls4ml turned into a "
                "convolution because its input is multi-dimensional, Flatten its input in the model"
            )
    return messages


class EIEKnobsOnDenseOnly(ModelOptimizerPass):
    name = "eie_knobs_on_dense_only"

    def __init__(self):  # registered by class; hls4ml instantiates it without arguments
        pass

    def transform(self, model):
        messages = misplaced_knobs(model)
        if messages:
            raise UsageError(messages[0] + (f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""))
        return False
