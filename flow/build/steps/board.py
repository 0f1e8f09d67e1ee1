"""Step `board`: the IP top with AXI-stream ports, its testbench, and the Vitis HLS + Vivado scripts."""

from __future__ import annotations

from flow.build.context import step
from flow.build.steps.common import BUNDLE, HLS, board, compiler_identity, expected_raw, hls_model, io_types, test_set, write_json

#: samples streamed through the IP testbench (csim here, cosim under Vitis HLS)
TB_SAMPLES = 32


#: joins the step's fingerprint: builds whose scripts held absolute paths (before they were relative to
#: themselves) rewrite them once
SCRIPTS = "paths relative to the script"


@step("board", depends_on=("hls", "build", "data"), outputs=(f"{HLS}/build_hls.tcl", "vivado/build_bd.tcl"),
      also_depends=lambda cfg: SCRIPTS, inputs=lambda ctx: compiler_identity())
def board_project(ctx) -> dict:
    """Write `<project>_axi`, run its testbench under g++, and generate the vendor TCL from board.yaml."""
    from flow.board.axi_tb import run_axi_testbench, write_axi_testbench
    from flow.board.axi_top import write_axi_top
    from flow.runtime.packing import StreamLayout
    from flow.board.vendor import VendorStatus, hls_ip_repo, write_bd_tcl, write_hls_tcl

    b = board(ctx)
    in_t, out_t = io_types(ctx)
    model = hls_model(ctx)
    from flow.hls.csim import n_inputs, n_outputs

    project = model.project_name
    hls_dir = ctx.out / HLS
    n_in, n_out = n_inputs(model), n_outputs(model)
    stream_bits = b.dma.stream_bits
    write_axi_top(hls_dir, project, n_in, n_out, stream_bits)

    x, _ = test_set(ctx)
    x_raw = in_t.quantize(x[:TB_SAMPLES])
    y_raw, oracle = expected_raw(ctx, x_raw)
    words_in = StreamLayout(n_in, in_t.width, stream_bits).pack(x_raw)
    words_out = StreamLayout(n_out, out_t.width, stream_bits).pack(y_raw)
    tb = write_axi_testbench(hls_dir, project, words_in, words_out, len(x_raw))
    tb_result = run_axi_testbench(hls_dir, project)

    fw = hls_dir / "firmware"
    sources = sorted(p for p in fw.rglob("*") if p.suffix in (".cpp", ".h") and p.is_file())
    status = VendorStatus.detect(probe_versions=False)
    tool = status.hls.name if status.hls else "vitis_hls"
    from flow.paths import ap_types_dir

    write_hls_tcl(hls_dir, b, project, [p for p in sources if p.suffix == ".cpp"], tb,
                  include_dirs=[fw, hls_dir], clock_mhz=ctx.cfg.build.clock_mhz, cosim=ctx.cfg.build.cosim,
                  tool=tool, root=ctx.out)
    write_bd_tcl(ctx.out / "vivado", b, project, ip_repo=hls_ip_repo(hls_dir, project),
                 export_dir=ctx.out / BUNDLE, clock_mhz=ctx.cfg.build.clock_mhz, jobs=ctx.cfg.build.vivado_jobs,
                 root=ctx.out)
    info = {"project": project, "top": f"{project}_axi", "stream_bits": stream_bits, "n_in": n_in,
            "n_out": n_out, "testbench": tb_result, "oracle": oracle, "ap_types": str(ap_types_dir())}
    write_json(ctx, "board.json", info)
    ctx.summary["IP testbench (g++)"] = tb_result
    return info
