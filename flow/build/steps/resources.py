"""Step `resources`: BRAM/DSP/LUT estimate against the board and modelled cycles; refuses what won't fit."""

from __future__ import annotations

import numpy as np

from flow.build.context import step
from flow.build.steps.common import board, hls_model, test_set, write_json


#: test inputs whose non-zero pattern drives the cycle model
SAMPLES = 100


@step("resources", depends_on=("hls", "build", "data"), outputs=("reports/resources.json",))
def resources(ctx) -> dict:
    """Estimate per board resource (FitError with numbers and advice when over the limit) and cycles."""
    from flow.eie import perf
    from flow.eie.plots import plot_pe_load
    from flow.board.resources import check_fit, estimate_eie_layers

    b = board(ctx)
    layers = hls_model(ctx).eie_layers
    est = estimate_eie_layers(layers)
    util = check_fit(est, b, ctx.cfg.build.fit_limit)
    # cycles on real inputs: each layer sees the previous layer's (reference) outputs
    from flow.eie.reference import eie_dense

    x, _ = test_set(ctx)
    x_raw = layers[0].input_t.quantize(x[:SAMPLES])
    chained = layers[0].n_in == x.shape[1] and all(u.n_out == v.n_in for u, v in zip(layers, layers[1:]))
    per_layer = []
    (ctx.out / "reports").mkdir(exist_ok=True)
    for ly in layers:
        if not chained:  # EIE layers behind hls4ml convolutions: model every input as non-zero
            x_raw = np.ones((1, ly.n_in), dtype=np.int64)
        rep = perf.layer_report(ly)  # worst case: every input non-zero
        runs = [perf.layer_cycles(ly, row) for row in x_raw]
        plot_pe_load(runs[0], ctx.out / "reports" / f"pe_load_{ly.name}.png")  # first test input
        rep["mean_total_cycles_on_test_inputs"] = float(np.mean([r.total_cycles for r in runs]))
        rep["mean_load_efficiency_on_test_inputs"] = float(np.mean([r.efficiency for r in runs]))
        per_layer.append(rep)
        x_raw = eie_dense(x_raw, ly)
    from flow.board.vendor import resolve_clock

    clock = resolve_clock(b, ctx.cfg.build.clock_mhz)
    cycles = round(sum(r["mean_total_cycles_on_test_inputs"] for r in per_layer))
    data = {
        "board": b.name,
        "clock_mhz": clock,
        "estimate": est.to_dict(b),
        "utilisation": util,
        "limit": ctx.cfg.build.fit_limit,
        "layers": per_layer,
        "cycles_per_inference": cycles,
        "inferences_per_s": clock * 1e6 / cycles if cycles else None,
    }
    write_json(ctx, "resources.json", data)
    total = est.total
    ctx.summary["resources (modelled)"] = (
        f"BRAM18 {total.bram18} ({util['bram18']:.0%}), DSP {total.dsp} ({util['dsp']:.0%}), "
        f"LUT {total.lut} ({util['lut']:.0%}) of {b.name}"
    )
    ctx.summary["speed (modelled)"] = f"{cycles} cycles/inference, {data['inferences_per_s']:.0f} inferences/s at {clock:g} MHz"
    return {"cycles": cycles, "utilisation": util}
