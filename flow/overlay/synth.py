"""Yosys `synth_xilinx` of the whole overlay (eie_axi: engine + AXI wrapper + its FIFOs).

flow.rtl.yosys synthesises the engine alone; the overlay's fit (issue 20: LUT <= 80 % of the
xc7z020 with room for the DMA) needs the wrapper too. Hierarchical (one eie_pe module for all
PEs), without sta (the engine's timing figure is flow.rtl.yosys'), sources relative to the
working folder (the WebAssembly Yosys sees the host's /tmp as its own private one).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from flow.errors import FlowError
from flow.overlay.rtlsim import RTL, WRAPPER_SOURCES
from flow.overlay.sizing import IFIFO_D
from flow.rtl import tools
from flow.rtl.params import EngineParams
from flow.rtl.yosys import DEVICES, FAMILIES, lut_total, module_breakdown, parse_stat


def script(p: EngineParams, family: str, cwd: Path, extra: dict | None = None) -> str:
    srcs = " ".join(os.path.relpath(s, cwd) for s in WRAPPER_SOURCES)
    params = {**p.generics(), "IFIFO_D": IFIFO_D, **(extra or {})}
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    return (f"read_verilog -sv -DSYNTHESIS -I{os.path.relpath(RTL / 'overlay', cwd)} {srcs}\n"
            f"chparam {chparam} eie_axi\n"
            f"synth_xilinx -family {family} -top eie_axi -noiopad -noclkbuf\n"
            "tee -q -o stat.txt stat\n")


def synthesize_overlay(p: EngineParams, out_dir, family: str = "xc7", extra: dict | None = None) -> dict:
    """Counts of the overlay with engine parameters p (and wrapper parameters `extra`)."""
    tool = tools.require("yosys")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "synth.ys").write_text(script(p, family, out, extra))
    cmd = tool.cmd("-q", "-l", "yosys.log", "-s", "synth.ys")
    from flow.proc import run_group

    t0 = time.perf_counter()
    res = run_group(cmd, cwd=out, env=tool.child_env())
    if res.returncode != 0:
        log = (out / "yosys.log").read_text() if (out / "yosys.log").exists() else res.stderr
        tail = "\n".join(log.strip().splitlines()[-20:])
        raise FlowError(f"yosys failed (exit {res.returncode}):\n{tail}\nreproduce: cd {out} && {' '.join(cmd)}")
    stat = (out / "stat.txt").read_text()
    c = parse_stat(stat)
    dev = DEVICES[family]
    rep = {
        "family": family, "device": FAMILIES[family], "top": "eie_axi", "engine": p.generics(),
        "wrapper": {"IFIFO_D": IFIFO_D, **(extra or {})},
        "LUT": lut_total(c), "LUT_logic": c["LUT"], "FF": c["FF"], "RAMB18": c["RAMB18"],
        "RAMB36": c["RAMB36"], "BRAM36": c["BRAM36"], "DSP": c["DSP"],
        "modules": module_breakdown(stat),
        "yosys_s": round(time.perf_counter() - t0, 1),
        "tool": tool.record(),
        "source": f"{tool.label()} synth_xilinx -top eie_axi, hierarchical (no -flatten), the Yosys default LUT "
                  "mapping (abc9 in 0.70), no sta",
    }
    rep["utilisation"] = {"LUT": rep["LUT"] / dev["LUT"], "BRAM36": rep["BRAM36"] / dev["BRAM36"],
                          "DSP": rep["DSP"] / dev["DSP"], "FF": rep["FF"] / dev["FF"]}
    rep["fits"] = {"LUT_80pct": rep["LUT"] <= 0.8 * dev["LUT"], "BRAM36": rep["BRAM36"] <= dev["BRAM36"],
                   "DSP": rep["DSP"] <= dev["DSP"]}
    (out / f"overlay_{family}.json").write_text(json.dumps(rep, indent=1))
    return rep
