"""Step `vendor`: Vitis HLS (csynth, cosim, export) and Vivado (bitstream) when they are on PATH."""

from __future__ import annotations

import logging

from flow.build.context import step
from flow.build.steps.common import HLS

log = logging.getLogger(__name__)


@step("vendor", depends_on=("hls", "build", "vendor_tools"), outputs=())
def vendor(ctx) -> dict:
    """Run the vendor tools that are present; say once, clearly, which steps were skipped."""
    from flow.board.vendor import VendorStatus, run_hls, run_vivado

    status = VendorStatus.detect()
    cosim, bitstream = ctx.cfg.build.cosim, ctx.cfg.build.bitstream
    message = status.message(cosim=cosim, bitstream=bitstream)
    ran = []
    if status.hls:
        ran.append(str(run_hls(ctx.out / HLS, tool=status.hls)))
        if bitstream and status.can_bitstream:
            ran.append(str(run_vivado(ctx.out / "vivado", tool=status.vivado)))
    skipped = status.skipped(cosim=cosim, bitstream=bitstream)
    if skipped:
        log.warning(message)
        ctx.notes.append(message)
    ctx.summary["vendor tools"] = message
    return {"ran": ran, "skipped": skipped, "message": message}
