"""Writer of the EIE backend: hls4ml's Vivado project plus the EIE ROMs, kernel and raw csim bridge.

Dense nodes on EIE keep hls4ml's weight/bias variables (for graph inspection, flow.hls.layer), but
their data goes into integer ROM headers (firmware/weights/eie<index>.h, from
flow.eie.codegen.rom_header): while Vivado's writer runs, those variables are set aside
(`_eie_weights_set_aside`), so it writes no ap_fixed weight array, include or txt loader for them. The build script and the raw
bridge are rendered from Jinja2 templates in flow/hls/templates/.
"""

from __future__ import annotations

import shutil
import stat
from contextlib import contextmanager
from pathlib import Path

from hls4ml.writer.vivado_writer import VivadoWriter

from flow.errors import UsageError
from flow.hls.layer import eie_nodes
from flow.paths import kernels_dir
from flow.templating import environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: g++ optimisation level of the csim library (-O3 gains nothing measurable on the PE loops here)
CSIM_CFLAGS = "-O2"


def _env():
    return environment(str(TEMPLATES))


@contextmanager
def _eie_weights_set_aside(model):
    """Within the block the EIE nodes have no weight variables (hls4ml's writer finds them through
    `layer.get_weights()`); they are put back afterwards, in their places, whatever happens."""
    stash = {}
    for node in eie_nodes(model):
        raw = node.attributes.attributes  # the plain dict under hls4ml's AttributeDict
        stash[node] = (list(raw), {k: raw.pop(k) for k in list(node.weights.keys())})
    try:
        yield
    finally:
        for node, (order, weights) in stash.items():
            raw = node.attributes.attributes
            current = dict(raw)
            raw.clear()
            raw.update((k, weights[k] if k in weights else current[k]) for k in order if k in weights or k in current)
            raw.update((k, v) for k, v in current.items() if k not in raw)


def raw_io(var) -> dict:
    """Template fields of one top-level I/O variable for the raw bridge."""
    p = var.type.precision
    width = int(p.width)
    signed = bool(p.signed)
    return {
        "name": var.name,
        "type": var.type.name,
        "size": var.size_cpp(),
        "width": width,
        "frac": width - int(p.integer),
        "bits_t": f"ap_int<{width}>" if signed else f"ap_uint<{width}>",
        "to_int": "to_int64" if signed else "to_uint64",
        "cpp": str(p.definition_cpp()),
    }


class EIEWriter(VivadoWriter):
    def write_hls(self, model, is_multigraph=False):
        if is_multigraph:
            raise UsageError(
                "the EIE backend does not support multi-graph (stitched) models; convert one graph"
            )
        self.write_project_dir(model)
        with _eie_weights_set_aside(model):
            self.write_project_cpp(model)
            self.write_project_header(model)
            self.write_weights(model)
            self.write_defines(model)
            self.write_parameters(model)
        self.write_eie_roms(model)
        self.write_test_bench(model)
        self.write_bridge(model)
        self.write_raw_bridge(model)
        self.write_build_script(model)
        self.write_nnet_utils(model)
        self.write_kernels(model)
        self.write_generated_code(model)
        self.write_yml(model)
        self.write_tar(model)

    # -- EIE additions ---------------------------------------------------------------------------
    def write_eie_roms(self, model):
        """One integer ROM header per Dense node on EIE (codes, indices, pointers, codebook, bias)."""
        from flow.eie import codegen
        from flow.hls.passes.eie_dense_templates import rom_header_name, rom_suffix

        firmware = Path(model.config.get_output_dir()) / "firmware"
        for node in eie_nodes(model):
            path = firmware / rom_header_name(node)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(codegen.rom_header(node.get_attr("eie_layer"), rom_suffix(node)))

    def write_kernels(self, model):
        """Copy the EIE kernel headers (kernels/hls/*.h) into firmware/."""
        firmware = Path(model.config.get_output_dir()) / "firmware"
        for header in sorted(kernels_dir().glob("*.h")):
            shutil.copyfile(header, firmware / header.name)

    def write_raw_bridge(self, model):
        """<project>_raw_bridge.cpp: `extern "C" void <project>_raw(const int64_t*, int64_t*, int)`."""
        inputs, outputs = model.get_input_variables(), model.get_output_variables()
        out_dir = Path(model.config.get_output_dir())
        project = model.config.get_project_name()
        target = out_dir / f"{project}_raw_bridge.cpp"
        if len(inputs) != 1 or len(outputs) != 1:
            target.unlink(missing_ok=True)  # predict_raw supports one input and one output only
            return
        i, o = raw_io(inputs[0]), raw_io(outputs[0])
        text = (
            _env()
            .get_template("raw_bridge.cpp.j2")
            .render(
                project=project,
                namespace=model.config.get_writer_config().get("Namespace", None),
                n_in=inputs[0].size(),
                n_out=outputs[0].size(),
                in_name=i["name"],
                in_type=i["type"],
                in_size=i["size"],
                in_width=i["width"],
                in_frac=i["frac"],
                in_bits_t=i["bits_t"],
                in_cpp=i["cpp"],
                out_name=o["name"],
                out_type=o["type"],
                out_size=o["size"],
                out_width=o["width"],
                out_frac=o["frac"],
                out_bits_t=o["bits_t"],
                out_to_int=o["to_int"],
                out_cpp=o["cpp"],
                stream=model.config.get_config_value("IOType") == "io_stream",
            )
        )
        target.write_text(text)

    def write_build_script(self, model):
        super().write_build_script(model)  # project.tcl, build_prj.tcl, vivado_synth.tcl
        out_dir = Path(model.config.get_output_dir())
        project = model.config.get_project_name()
        sources = [f"firmware/{project}.cpp", f"{project}_bridge.cpp"]
        if (out_dir / f"{project}_raw_bridge.cpp").exists():
            sources.append(f"{project}_raw_bridge.cpp")
        unity = f"{project}_csim.cpp"
        (out_dir / unity).write_text(
            _env().get_template("csim_unity.cpp.j2").render(project=project, sources=sources)
        )
        script = out_dir / "build_lib.sh"
        script.write_text(
            _env()
            .get_template("build_lib.sh.j2")
            .render(
                project=project, stamp=model.config.get_config_value("Stamp"), unity=unity, cflags=CSIM_CFLAGS
            )
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
