"""EIEBackend: hls4ml's Vivado backend with Dense layers on the EIE sparse PE array.

Flows (all registered under the 'eie:' prefix):
- `eie:dense_to_eie`  (after hls4ml's 'optimize'): eie_knobs_on_dense_only (EIE knobs on any other
  layer refused), map_dense_to_eie, each Dense[+ReLU] node gets its
  EIELayer (it stays hls4ml's Dense node, flow.hls.layer), and dataflow_style (DATAFLOW pipeline
  style when the model has Dense layers);
- `eie:apply_templates` (after Vivado's): the EIE config struct and function call of those nodes;
- `eie:ip`: Vivado's IP flow with the two above inserted;
- `eie:write`: the EIE writer (Vivado project + ROMs + kernel + raw csim bridge).
Everything else (Conv, pooling, Flatten, Softmax, ...) runs Vivado's passes and templates.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from pathlib import Path

import numpy as np
from hls4ml.backends import VivadoBackend
from hls4ml.model.flow import get_flow, register_flow

from flow.errors import ToolMissing, UsageError

log = logging.getLogger(__name__)

EIE_LAYER_PASSES = ["eie:eie_knobs_on_dense_only", "eie:map_dense_to_eie", "eie:dataflow_style", "eie:softmax_trap_warning"]
EIE_TEMPLATES = ["eie:eie_dense_config_template", "eie:eie_dense_function_template"]


class EIEBackend(VivadoBackend):
    def __init__(self):
        # As hls4ml's Vitis backend: skip VivadoBackend.__init__ (it hard-codes the name 'Vivado').
        super(VivadoBackend, self).__init__(name="EIE")
        self._register_layer_attributes()
        self._register_flows()

    def _register_flows(self):
        eie_flow = register_flow("dense_to_eie", EIE_LAYER_PASSES, requires=["optimize"], backend=self.name)
        template_flow = register_flow(
            "apply_templates", EIE_TEMPLATES, requires=["vivado:init_layers"], backend=self.name
        )
        requires = get_flow("vivado:ip").requires.copy()
        requires.insert(requires.index("vivado:init_layers"), eie_flow)
        requires.insert(requires.index("vivado:apply_templates") + 1, template_flow)
        self._default_flow = register_flow("ip", None, requires=requires, backend=self.name)
        self._writer_flow = register_flow(
            "write", ["make_stamp", "eie:write_hls"], requires=[self._default_flow], backend=self.name
        )

    def get_default_flow(self):
        return self._default_flow

    def get_writer_flow(self):
        return self._writer_flow

    def create_initial_config(self, part="xc7z020clg400-1", clock_period=10, io_type="io_parallel", **kwargs):
        if io_type not in ("io_parallel", "io_stream"):
            raise UsageError(f"io_type={io_type!r}: the EIE backend supports io_parallel and io_stream")
        config = super().create_initial_config(
            part=part, clock_period=clock_period, io_type=io_type, **kwargs
        )
        return config

    # -- csim ------------------------------------------------------------------------------------
    def compile(self, model):
        """Build the csim library with build_lib.sh and the compiler of flow.cxx ($CXX, else g++, passed
        to the script as CXX; the script's own flags), under flow.cxx's time limit; returns its path."""
        from flow import cxx

        compiler = cxx.compiler(purpose="to run csim")
        out_dir = Path(model.config.get_output_dir())
        cxx.run_compiler(
            ["bash", "build_lib.sh"],
            cwd=out_dir,
            env={**os.environ, cxx.CXX_ENV: shlex.join(compiler)},
            what=f"the csim library of {out_dir}",
            tool=f"build_lib.sh ({Path(compiler[0]).name})",
        )
        lib = (
            out_dir
            / "firmware"
            / f"{model.config.get_project_name()}-{model.config.get_config_value('Stamp')}.so"
        )
        return str(lib)

    def predict(self, model, x):
        """hls4ml's float predict, with the input width checked first (hls4ml's own check is broken)."""
        n_in = int(model.get_input_variables()[0].size())
        x = np.asarray(x)
        if len(model.get_input_variables()) == 1:
            if x.ndim == 0 or (x.shape[-1] if x.ndim == 1 else int(np.prod(x.shape[1:]))) != n_in:
                raise UsageError(
                    f"predict(): input of shape {x.shape} does not match the model input "
                    f"{model.get_input_variables()[0].name} of {n_in} values per sample; pass (n, {n_in})"
                )
            if x.dtype not in (np.float32, np.float64):
                x = x.astype(np.float64)
            x = np.ascontiguousarray(x)
            outs = model.get_output_variables()
            if x.ndim > 1 and x.shape[0] == 0 and len(outs) == 1:  # hls4ml gives (0,): keep (0, n_out)
                return np.zeros((0, int(outs[0].size())), dtype=x.dtype)
        return model._predict(x)

    def build(self, model, **kwargs):
        if shutil.which("vivado_hls") is None and shutil.which("vitis_hls") is None:
            raise ToolMissing(
                "neither vivado_hls nor vitis_hls is on PATH; source the Xilinx settings script"
            )
        return super().build(model, **kwargs)
