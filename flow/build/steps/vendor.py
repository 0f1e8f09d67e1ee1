"""Step `vendor`: Vitis HLS (csynth, cosim, export) and Vivado (bitstream) when they are on PATH.

After the Vitis HLS run the step reads csynth.xml (flow.board.csynth) into vendor.json beside the
model's cycles and estimated resources, and stops the build with the numbers when the PE array
misses II=1 (`flow build --allow-ii` goes on, with a warning); with cosim on it records the cosim
report's Pass/Fail and latency. Without Vitis HLS it says once what it skipped.
"""

from __future__ import annotations

import logging

from flow.build.context import step
from flow.build.steps.common import HLS, hls_model, write_json

log = logging.getLogger(__name__)


def _model_figures(ctx) -> dict:
    """The model's PE-array cycles per layer (all inputs non-zero: the worst case) and resources."""
    from flow.eie.perf import layer_cycles

    layers = getattr(hls_model(ctx), "eie_layers", []) or []
    out = {"cycles (model, all inputs non-zero)": {ly.name: layer_cycles(ly).cycles for ly in layers}}
    est = ctx.summary.get("resources")
    if est is not None:
        out["resources (model)"] = est
    return out


def read_hls_reports(ctx, project: str, *, allow_ii: bool, cosim: bool) -> dict:
    """csynth (gated on the PE array's II) and cosim results of the HLS run in ctx.out/HLS."""
    from flow.board import csynth

    hls_dir = ctx.out / HLS
    rep = csynth.parse_report_dir(csynth.find_report_dir(hls_dir, project))
    verdict = csynth.gate(rep, allow_ii=allow_ii)  # IIMissed (a FlowError) stops the build
    if verdict["warning"]:
        log.warning(verdict["warning"])
        ctx.notes.append(verdict["warning"] + " (--allow-ii)")
    info = {"csynth": csynth.beside_model(rep, _model_figures(ctx)), "ii_gate": verdict}
    ctx.summary["csynth (measured)"] = {"pe_array": verdict["loops"], **rep.resources}
    if cosim:
        res = csynth.parse_cosim_rpt(csynth.find_cosim_rpt(hls_dir, project, f"{project}_axi"))
        info["cosim"] = {"status": res.status, "latency_min": res.latency_min,
                         "latency_avg": res.latency_avg, "latency_max": res.latency_max}
        ctx.summary["cosim (measured)"] = f"{res.status}, latency {res.latency_min}..{res.latency_max} cycles"
    return info


@step("vendor", depends_on=("hls", "build", "vendor_tools", "allow_ii"), outputs=())
def vendor(ctx) -> dict:
    """Run the vendor tools that are present; say once, clearly, which steps were skipped."""
    from flow.board.vendor import VendorStatus, run_hls, run_vivado

    status = VendorStatus.detect()
    cosim, bitstream = ctx.cfg.build.cosim, ctx.cfg.build.bitstream
    message = status.message(cosim=cosim, bitstream=bitstream)
    ran = []
    reports = {}
    if status.hls:
        ran.append(str(run_hls(ctx.out / HLS, tool=status.hls)))
        project = hls_model(ctx).project_name
        reports = read_hls_reports(ctx, project, allow_ii=bool(ctx.options.get("allow_ii")), cosim=cosim)
        write_json(ctx, "vendor.json", reports)
        if bitstream and status.can_bitstream:
            ran.append(str(run_vivado(ctx.out / "vivado", tool=status.vivado)))
    skipped = status.skipped(cosim=cosim, bitstream=bitstream)
    if skipped:
        log.warning(message)
        ctx.notes.append(message)
    ctx.summary["vendor tools"] = message
    return {"ran": ran, "skipped": skipped, "message": message, **reports}
