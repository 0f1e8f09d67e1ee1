"""Step `hls`: convert with the hls4ml backend 'EIE', write the HLS project, build its csim library."""

from __future__ import annotations

from flow.build.context import step
from flow.build.steps.common import HLS, compiler_identity, hls_model
from flow.hls.layer import is_eie_node


def _inputs(ctx) -> list:
    """The HLS kernel templates the project is made of, and the compiler of its csim library."""
    from flow.paths import kernels_dir

    return [kernels_dir(), *compiler_identity()]


@step("hls", depends_on=("hls", "build"), outputs=(f"{HLS}/firmware",), inputs=_inputs)
def hls(ctx) -> dict:
    """Dense on EIE (CSC per PE in integer ROMs); the project and its g++ csim library."""
    model = hls_model(ctx)
    layers = [ly.summary() for ly in model.eie_layers]
    other = [
        n.class_name
        for n in model.graph.get_layers()
        if not is_eie_node(n) and n.class_name not in ("Input", "InputLayer") and not n.get_attr("eie_fused_into")
    ]
    ctx.summary["EIE layers"] = ", ".join(f"{d['name']} {d['n_in']}x{d['n_out']} on {d['n_pe']} PE" for d in layers)
    return {"eie_layers": layers, "other_layers": other, "csim_compile_s": round(ctx.csim_compile_s, 2)}
