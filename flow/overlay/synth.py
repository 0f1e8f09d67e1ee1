"""Yosys `synth_xilinx` of the whole overlay (engine + AXI wrapper + its FIFOs): measured figures
beside the sizing's model (flow.overlay.sizing, whose WRAPPER_LUT is this measurement).

flow.rtl.yosys synthesises the engine alone; the overlay's fit (issue 20: LUT <= 80 % of the
xc7z020 with room for the DMA) needs the wrapper too. Two entry points, one Yosys run:
`synthesize_overlay` takes a built bundle's rtl/ folder (its generated top `eie_axi_top` carries the
preset: what `flow overlay --yosys` ships), `synthesize_params` the wrapper `eie_axi` with engine
parameters set by chparam (bench/overlay.py --synth-overlay, any P). Hierarchical (one eie_pe
module for all PEs), without sta (the engine's timing figure is flow.rtl.yosys'), sources relative
to the working folder (the WebAssembly Yosys sees the host's /tmp as its own private one).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from flow.errors import FlowError
from flow.rtl import tools
from flow.rtl.params import EngineParams
from flow.rtl.yosys import DEVICES, FAMILIES, lut_total, module_breakdown, parse_stat


def _run(script: str, out: Path, top: str, family: str, record: dict) -> dict:
    """Run `script` in `out`; the counts, utilisation and fit on the family's device."""
    tool = tools.require("yosys")
    out.mkdir(parents=True, exist_ok=True)
    (out / "synth.ys").write_text(script)
    cmd = tool.cmd("-q", "-l", "yosys.log", "-s", "synth.ys")
    from flow.proc import run_group

    t0 = time.perf_counter()
    res = run_group(cmd, cwd=out, env=tool.child_env())
    if res.returncode != 0:
        log = (out / "yosys.log").read_text(errors="replace") if (out / "yosys.log").exists() else res.stderr
        tail = "\n".join(log.strip().splitlines()[-20:])
        raise FlowError(f"yosys failed on the overlay (exit {res.returncode}):\n{tail}\n"
                        f"reproduce: cd {out} && {' '.join(cmd)}")
    stat = (out / "stat.txt").read_text()
    c = parse_stat(stat)
    if not c["cells"]:
        raise FlowError(f"yosys reported no cells for {top} (see {out / 'stat.txt'})")
    dev = DEVICES[family]
    rep = {
        "family": family, "device": FAMILIES[family], "top": top, **record,
        "LUT": lut_total(c), "LUT_logic": c["LUT"], "FF": c["FF"], "RAMB18": c["RAMB18"],
        "RAMB36": c["RAMB36"], "BRAM36": c["BRAM36"], "DSP": c["DSP"],
        "modules": module_breakdown(stat),
        "yosys_s": round(time.perf_counter() - t0, 1),
        "tool": tool.record(),
        "source": f"{tool.label()} synth_xilinx -top {top} (wrapper + FIFOs + engine), hierarchical (no -flatten), "
                  "the Yosys default LUT mapping (abc9 in 0.70), no sta: measured",
    }  # fmt: skip
    rep["utilisation"] = {k: round(rep[k] / dev[k], 4) for k in ("LUT", "FF", "BRAM36", "DSP") if dev[k]}
    rep["fits"] = {"LUT_80pct": rep["LUT"] <= 0.8 * dev["LUT"], "BRAM36": rep["BRAM36"] <= dev["BRAM36"],
                   "DSP": rep["DSP"] <= dev["DSP"]}
    (out / f"overlay_{family}.json").write_text(json.dumps(rep, indent=1))
    return rep


def synth_script(rtl_dir: Path, cwd: Path, family: str = "xc7") -> str:
    """The script for a bundle's rtl/ folder (every .sv/.v in it, its generated top)."""
    from flow.overlay.project import TOP

    rel = lambda p: os.path.relpath(p, cwd)  # noqa: E731
    srcs = sorted(p for p in Path(rtl_dir).iterdir() if p.suffix in (".sv", ".v"))
    return (f"read_verilog -sv -DSYNTHESIS -I{rel(rtl_dir)} {' '.join(rel(p) for p in srcs)}\n"
            f"synth_xilinx -family {family} -top {TOP} -noiopad -noclkbuf\n"
            "tee -q -o stat.txt stat\n")


def synthesize_overlay(rtl_dir: Path, params: EngineParams, out_dir: Path, family: str = "xc7") -> dict:
    """Yosys on a bundle's rtl/ folder (its top carries the preset `params`); the counts as a dict."""
    from flow.overlay.project import TOP

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _run(synth_script(Path(rtl_dir).resolve(), out.resolve(), family), out, TOP, family,
                {"engine": params.generics()})


def params_script(p: EngineParams, family: str, cwd: Path, extra: dict | None = None) -> str:
    """The script for eie_axi from the repository's RTL with engine parameters `p` (and wrapper `extra`)."""
    from flow.overlay.rtlsim import RTL, WRAPPER_SOURCES
    from flow.overlay.sizing import IFIFO_D

    srcs = " ".join(os.path.relpath(s, cwd) for s in WRAPPER_SOURCES)
    params = {**p.generics(), "IFIFO_D": IFIFO_D, **(extra or {})}
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    return (f"read_verilog -sv -DSYNTHESIS -I{os.path.relpath(RTL / 'overlay', cwd)} {srcs}\n"
            f"chparam {chparam} eie_axi\n"
            f"synth_xilinx -family {family} -top eie_axi -noiopad -noclkbuf\n"
            "tee -q -o stat.txt stat\n")


def synthesize_params(p: EngineParams, out_dir, family: str = "xc7", extra: dict | None = None) -> dict:
    """Counts of eie_axi with engine parameters p (and wrapper parameters `extra`)."""
    from flow.overlay.sizing import IFIFO_D

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _run(params_script(p, family, out, extra), out, "eie_axi", family,
                {"engine": p.generics(), "wrapper": {"IFIFO_D": IFIFO_D, **(extra or {})}})
