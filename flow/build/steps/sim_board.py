"""Step `sim_board`: the bundle on the simulated board (driver + packing + AXI top + kernel) vs the
expected outputs stored in the bundle (the numpy reference, or csim where hls4ml layers run)."""

from __future__ import annotations

from flow.build.context import step
from flow.errors import FlowError
from flow.build.steps.common import BUNDLE, write_json


@step("sim_board", depends_on=("hls", "build", "data"), outputs=("reports/sim_board.json",))
def sim_board(ctx) -> dict:
    """Run every test vector through EIEOverlay on the simulated board; any differing bit fails the build."""
    from flow.runtime.bundle import BundleMeta
    from flow.runtime.sim import load_test_vectors, run_vectors, sim_overlay

    bundle = ctx.out / BUNDLE
    meta = BundleMeta.load(bundle)
    vectors = load_test_vectors(bundle / meta.test_vectors, meta)
    overlay = sim_overlay(bundle)
    try:
        report = run_vectors(overlay, vectors)
    finally:
        overlay.close()
    write_json(ctx, "sim_board.json", report)
    if report.get("bit_agreement") != 1.0:
        raise FlowError(
            f"the simulated board differs from the bundle's expected outputs: "
            f"{report.get('bit_agreement', 0):.2%} of "
            f"{report['samples']} samples agree bit for bit (first mismatch at sample {report.get('first_mismatch')}); "
            "see reports/sim_board.json"
        )
    ctx.summary["simulated board (measured)"] = (
        f"{report['samples']} samples bit-exact with the expected outputs (reference, or csim where hls4ml layers run), accuracy {report.get('accuracy', float('nan')):.4f}"
    )
    return {"samples": report["samples"], "bit_agreement": report["bit_agreement"]}
