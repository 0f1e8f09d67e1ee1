"""Pass: a model with Dense layers (on EIE) uses the DATAFLOW pipeline style.

hls4ml's io_parallel default is `#pragma HLS PIPELINE` on the top function, which would ask HLS to
unroll the EIE kernel's data-dependent loops; DATAFLOW keeps each layer a process with its own
pipelined PE loops. An explicit user choice (config['Model']['PipelineStyle']) is kept.
"""

from __future__ import annotations

from hls4ml.model.optimizer import ModelOptimizerPass


class EIEDataflow(ModelOptimizerPass):
    name = "dataflow_style"

    def __init__(self):  # registered by class; hls4ml instantiates it without arguments
        pass

    def transform(self, model):
        if model.config.pipeline_style not in (None, "auto"):
            return False
        if any(layer.class_name == "Dense" for layer in model.get_layers()):
            model.config.pipeline_style = "dataflow"
        return False
