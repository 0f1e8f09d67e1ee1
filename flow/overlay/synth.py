"""Yosys synthesis of the whole overlay top (eie_axi_top: AXI wrapper + FIFOs + engine) for the
board's family: the measured figures beside the sizing's model (flow.overlay.sizing, which
models the wrapper as WRAPPER_LUT). Hierarchical like flow.rtl.yosys (one eie_pe for all PEs),
no `sta` (the engine's timing is flow.rtl.yosys'); counts parsed by flow.rtl.yosys.parse_stat.
Sources are passed relative to the working folder (the WebAssembly Yosys sees only it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flow.errors import FlowError
from flow.overlay.project import TOP
from flow.rtl import tools
from flow.rtl.params import EngineParams
from flow.rtl.yosys import DEVICES, FAMILIES, lut_total, module_breakdown, parse_stat


def synth_script(rtl_dir: Path, cwd: Path, family: str = "xc7") -> str:
    rel = lambda p: os.path.relpath(p, cwd)  # noqa: E731
    srcs = sorted(p for p in Path(rtl_dir).iterdir() if p.suffix in (".sv", ".v"))
    return (f"read_verilog -sv -DSYNTHESIS -I{rel(rtl_dir)} {' '.join(rel(p) for p in srcs)}\n"
            f"synth_xilinx -family {family} -top {TOP} -noiopad -noclkbuf\n"
            "tee -q -o stat.txt stat\n")


def synthesize_overlay(rtl_dir: Path, params: EngineParams, out_dir: Path, family: str = "xc7") -> dict:
    """Run Yosys on the overlay's rtl/ folder (its top carries the preset); the counts as a dict."""
    tool = tools.require("yosys")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "synth.ys").write_text(synth_script(Path(rtl_dir).resolve(), out.resolve(), family))
    from flow.proc import run_group

    t0 = time.perf_counter()
    cmd = tool.cmd("-q", "-l", "yosys.log", "-s", "synth.ys")
    res = run_group(cmd, cwd=out, env=tool.child_env())
    if res.returncode != 0:
        log = (out / "yosys.log").read_text(errors="replace") if (out / "yosys.log").exists() else ""
        tail = "\n".join(log.strip().splitlines()[-15:])
        raise FlowError(f"yosys failed on the overlay (exit {res.returncode}):\n{tail}")
    stat = (out / "stat.txt").read_text()
    c = parse_stat(stat)
    if not c["cells"]:
        raise FlowError(f"yosys reported no cells for {TOP} (see {out / 'stat.txt'})")
    rep = {"family": family, "device": FAMILIES[family], "engine": params.generics(), "LUT": lut_total(c),
           "FF": c["FF"], "RAMB18": c["RAMB18"], "RAMB36": c["RAMB36"], "BRAM36": c["BRAM36"], "DSP": c["DSP"],
           "modules": module_breakdown(stat), "yosys_s": round(time.perf_counter() - t0, 1),
           "source": f"{tool.label()} synth_xilinx of {TOP} (wrapper + FIFOs + engine), hierarchical: measured",
           "tool": tool.record()}
    dev = DEVICES[family]
    rep["utilisation"] = {k: round(rep[k] / dev[k], 4) for k in ("LUT", "FF", "BRAM36", "DSP") if dev[k]}
    return rep
