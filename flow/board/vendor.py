"""Vendor tools: write the Vitis HLS and Vivado TCL from a Board, find the tools, run them.

The TCL comes from Jinja2 templates in `boards/_templates/` rendered with StrictUndefined, every
board number (part, clock, DMA widths) taken from the `Board` (boards/<name>/board.yaml) and every
string brace-quoted by the `tcl` filter. The tools are found with `shutil.which`; when one is
missing, the build skips its steps and `VendorStatus.message()` says so once. Runs use
`flow.proc.run_group` (a process group of their own, stopped with the flow on Ctrl-C or SIGTERM)
with output in a log file; a failure raises FlowError naming the log and quoting its tail.

Public API (called by the build steps flow/build/steps/board.py and flow/build/steps/vendor.py):
    write_hls_tcl(out_dir, board, project, sources, testbench=(), ...) -> Path
    write_bd_tcl(out_dir, board, project, ip_repo=..., export_dir=..., ...) -> Path
    find_tools() -> {"hls": Tool | None, "vivado": Tool | None}
    VendorStatus.detect() -> VendorStatus (.hls, .vivado, .message(...))
    run_hls(project_dir, script) / run_vivado(project_dir, script) -> Path of the log
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from flow.board.boards import Board
from flow.errors import FlowError, ToolMissing, UsageError
from flow.paths import boards_dir
from flow.templating import environment

log = logging.getLogger(__name__)

HLS_TOOLS = ("vitis_hls", "vivado_hls")
HLS_SCRIPT = "build_hls.tcl"
_CODE_SUFFIXES = {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp"}
BD_SCRIPT = "build_bd.tcl"


# ----------------------------------------------------------------------------- TCL rendering


def tcl_quote(value) -> str:
    """One TCL word: numbers as they are, strings in braces (no substitution inside)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    depth = 0
    for ch in text:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0 or "\\" in text or "\n" in text:
        raise UsageError(f"{text!r} cannot be put in a TCL script (unbalanced braces, backslash or newline)")
    return "{" + text + "}"


def render(template: str, **context) -> str:
    env = environment(str(boards_dir() / "_templates"), blocks_own_lines=False)
    env.filters["tcl"] = tcl_quote
    return env.get_template(template).render(**context)


@dataclass(frozen=True)
class IPInfo:
    """How the HLS IP is named in the IP catalog (export_design) and found by the block design."""

    vendor: str = "xilinx.com"
    library: str = "hls"
    version: str = "1.0"

    def vlnv(self, top: str) -> str:
        return f"{self.vendor}:{self.library}:{top}:{self.version}"


def resolve_clock(board: Board, clock_mhz: float | None = None) -> float:
    """The fabric clock: an explicit override (BuildConfig.clock_mhz) or the board's."""
    return float(board.clock_mhz if clock_mhz is None else clock_mhz)


def top_name(project: str) -> str:
    """The IP top function: `<project>_axi` (docs/internals.md)."""
    return f"{project}_axi"


def _abs(paths: Iterable) -> list[str]:
    return [str(Path(p).resolve()) for p in paths]


def tcl_path(path, here: Path, root: Path | None) -> str:
    """A TCL word for `path` in a script in the folder `here`: under `root` (the build folder) relative to
    the script's folder (`$here`, from [info script]): a moved build runs as it is; else absolute."""
    p = Path(path).resolve()
    if root is not None and p.is_relative_to(Path(root).resolve()):
        rel = os.path.relpath(p, Path(here).resolve())
        if rel == ".":
            return "$here"
        word = f"[file join $here {tcl_quote(rel)}]"
        return f"[file normalize {word}]" if rel.startswith("..") else word
    return tcl_quote(str(p))




def write_hls_tcl(
    out_dir,
    board: Board,
    project: str,
    sources: Iterable,
    testbench: Iterable = (),
    *,
    include_dirs: Iterable = (),
    clock_mhz: float | None = None,
    csim: bool = True,
    cosim: bool = True,
    tool: str = "vitis_hls",
    ip: IPInfo = IPInfo(),
    std: str = "c++14",
    script_name: str = HLS_SCRIPT,
    root=None,
) -> Path:
    """Write the Vitis HLS (or Vivado HLS) script into `out_dir`; run it there with `run_hls`.

    `sources`: the firmware files (top, kernels, weights headers); `testbench`: the C++ testbench
    and its test-vector files, needed for csim and cosim. `root` (default `out_dir`): see tcl_path.
    """
    if tool not in HLS_TOOLS:
        raise UsageError(f"HLS tool {tool!r} is unknown; use one of {', '.join(HLS_TOOLS)}")
    if not re.fullmatch(r"[a-z0-9+]+", std):
        raise UsageError(f"std {std!r} is not a C++ standard name such as c++14")
    here = Path(out_dir).resolve()
    root = here if root is None else Path(root).resolve()
    sources, testbench = _abs(sources), _abs(testbench)
    if not sources:
        raise UsageError("write_hls_tcl: no source files given; pass the firmware .cpp/.h files")
    if (csim or cosim) and not testbench:
        raise UsageError("csim/cosim need a testbench; pass testbench=[...] or csim=False, cosim=False")
    clock = resolve_clock(board, clock_mhz)
    # a TCL double-quoted string: every include folder in (escaped) double quotes, because the HLS tool
    # splits cflags like a shell does
    words = [tcl_path(p, here, root) for p in include_dirs]  # braced absolute: a command in quotes
    includes = [f'-I\\"{f"[file join {w}]" if w.startswith("{") else w}\\"' for w in words]
    cflags = '"' + " ".join([f"-std={std}", *includes]) + '"'
    text = render(
        "hls.tcl.j2",
        board=board,
        tool=tool,
        script_name=script_name,
        project=project,
        top=top_name(project),
        clock_mhz=f"{clock:g}",
        period_ns=f"{1000.0 / clock:.4g}",
        cflags=cflags,
        tb_cflags=cflags,
        sources=[tcl_path(f, here, root) for f in sources],
        testbench=[(tcl_path(f, here, root), Path(f).suffix in _CODE_SUFFIXES) for f in testbench],
        csim=csim,
        cosim=cosim,
        flow_target=tool == "vitis_hls",
        ip=ip,
    )
    return _write(Path(out_dir) / script_name, text)


def hls_ip_repo(hls_dir, project: str) -> Path:
    """Where export_design puts the IP catalog entry of `<project>_prj/solution1`."""
    return Path(hls_dir).resolve() / f"{project}_prj" / "solution1" / "impl" / "ip"


def _ps_context(board: Board, clock_mhz: float) -> dict:
    ps = board.ps_type
    hp = lambda t: board.ps_port(t, "hp")  # noqa: E731
    gp = lambda t: board.ps_port(t, "gp")  # noqa: E731
    generated = {
        **ps.base_config,
        gp(ps.gp_enable): "1",
        hp(ps.hp_enable): "1",
        hp(ps.hp_width): str(board.dma.mm_bits),
        ps.clock_freq_key: f"{clock_mhz:g}",
    }
    clash = sorted(set(generated) & set(board.ps.config))
    if clash:
        raise UsageError(
            f"boards/{board.name}/board.yaml: ps.config sets {', '.join(clash)}, which eie-flow derives from"
            " clock_mhz and dma; remove them there"
        )
    return {
        "vlnv": ps.vlnv,
        "cell": ps.cell,
        "automation_rule": ps.automation_rule,
        "automation_config": ps.automation_config,
        "external_intfs": ps.external_intfs,
        "gp_intf": gp(ps.gp_intf),
        "gp_aclk": gp(ps.gp_aclk),
        "hp_intf": hp(ps.hp_intf),
        "hp_aclk": hp(ps.hp_aclk),
        "clk_out": ps.clk_out,
        "resetn_out": ps.resetn_out,
        "config": {**board.ps.config, **generated},
    }


def write_bd_tcl(
    out_dir,
    board: Board,
    project: str,
    *,
    ip_repo,
    export_dir,
    overlay: str | None = None,
    clock_mhz: float | None = None,
    jobs: int = 2,
    ip: IPInfo = IPInfo(),
    script_name: str = BD_SCRIPT,
    root=None,
) -> Path:
    """Write the Vivado block design + bitstream + export script into `out_dir`.

    `ip_repo`: the exported HLS IP (see `hls_ip_repo`); `export_dir`: where `<overlay>.bit` and
    `<overlay>.hwh` land (the bundle). The Vivado project goes to `out_dir/vivado`. `root`: see tcl_path.
    """
    clock = resolve_clock(board, clock_mhz)
    ps = _ps_context(board, clock)
    cell = ps["cell"]
    clock_pins = [
        f"{cell}/{ps['gp_aclk']}",
        f"{cell}/{ps['hp_aclk']}",
        "rst_ps_0/slowest_sync_clk",
        "axi_dma_0/s_axi_lite_aclk",
        "axi_dma_0/m_axi_mm2s_aclk",
        "axi_dma_0/m_axi_s2mm_aclk",
        "eie_0/ap_clk",
        "ps_axi_periph/ACLK",
        "ps_axi_periph/S00_ACLK",
        "ps_axi_periph/M00_ACLK",
        "ps_axi_periph/M01_ACLK",
        "axi_mem_smc/aclk",
    ]
    peripheral_resets = [
        "axi_dma_0/axi_resetn",
        "eie_0/ap_rst_n",
        "ps_axi_periph/S00_ARESETN",
        "ps_axi_periph/M00_ARESETN",
        "ps_axi_periph/M01_ARESETN",
        "axi_mem_smc/aresetn",
    ]
    out_dir = Path(out_dir).resolve()
    root = out_dir if root is None else Path(root).resolve()
    text = render(
        "block_design.tcl.j2",
        board=board,
        script_name=script_name,
        project_name=f"{project}_vivado",
        project_dir=tcl_path(out_dir / "vivado", out_dir, root),
        top=top_name(project),
        overlay=overlay or project,
        clock_mhz=f"{clock:g}",
        ip_repo=tcl_path(ip_repo, out_dir, root),
        ip_vlnv=ip.vlnv(top_name(project)),
        export_dir=tcl_path(export_dir, out_dir, root),
        ps=ps,
        clock_pins=clock_pins,
        peripheral_resets=peripheral_resets,
        jobs=int(jobs),
    )
    return _write(out_dir / script_name, text)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    log.debug("wrote %s", path)
    return path


# ----------------------------------------------------------------------------- tools


@dataclass(frozen=True)
class Tool:
    name: str
    path: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.name} {self.version or '(version unknown)'} at {self.path}"


_VERSION = re.compile(r"(20\d\d\.\d)")


def _version(path: str, probe: bool) -> str | None:
    if probe:
        try:
            out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=120, check=False)
            m = _VERSION.search(out.stdout + out.stderr)
            if m:
                return m.group(1)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.debug("%s -version failed: %s", path, exc)
    m = _VERSION.search(str(Path(path).resolve()))  # /tools/Xilinx/Vivado/2023.1/bin/vivado
    return m.group(1) if m else None


def find_tools(probe_versions: bool = True) -> dict[str, Tool | None]:
    """{"hls": vitis_hls or vivado_hls, "vivado": vivado}, each a Tool or None when not on PATH."""
    tools: dict[str, Tool | None] = {"hls": None, "vivado": None}
    for name in HLS_TOOLS:
        path = shutil.which(name)
        if path:
            tools["hls"] = Tool(name, path, _version(path, probe_versions))
            break
    path = shutil.which("vivado")
    if path:
        tools["vivado"] = Tool("vivado", path, _version(path, probe_versions))
    return tools


@dataclass(frozen=True)
class VendorStatus:
    """Which vendor steps can run; the build prints `message()` once."""

    hls: Tool | None
    vivado: Tool | None

    @classmethod
    def detect(cls, probe_versions: bool = True) -> "VendorStatus":
        tools = find_tools(probe_versions)
        return cls(hls=tools["hls"], vivado=tools["vivado"])

    @property
    def can_bitstream(self) -> bool:
        return self.hls is not None and self.vivado is not None

    def skipped(self, *, cosim: bool = True, bitstream: bool = True) -> list[str]:
        steps = [] if self.hls else ["csynth"] + (["cosim"] if cosim else []) + ["export"]
        if bitstream and not self.can_bitstream:
            steps.append("bitstream")
        return steps

    def message(self, *, cosim: bool = True, bitstream: bool = True) -> str:
        parts = []
        if self.hls:
            parts.append(f"HLS: {self.hls}")
        else:
            hls_steps = self.skipped(cosim=cosim, bitstream=False)
            parts.append(f"Vitis HLS not found on PATH: skipped {', '.join(hls_steps)}")
        if self.vivado and bitstream:
            parts.append(f"Vivado: {self.vivado}" + ("" if self.hls else " (no bitstream without the HLS IP)"))
        elif bitstream:
            parts.append("Vivado not found on PATH: skipped bitstream")
        if self.skipped(cosim=cosim, bitstream=bitstream):
            parts.append("everything else done")
        return "; ".join(parts)


def _run(cmd: list[str], cwd: Path, log_path: Path, what: str) -> Path:
    log.info("running %s in %s (log: %s)", " ".join(cmd), cwd, log_path)
    with open(log_path, "w") as fh:
        from flow.proc import run_group

        # its own process group: Ctrl-C or SIGTERM stops the tool and everything it started
        res = run_group(cmd, cwd=cwd, log_file=fh)
        if res.returncode != 0:
            fh.flush()
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise FlowError(
                f"{what} failed with exit code {res.returncode}; see {log_path}\n--- last lines ---\n{tail}"
            ) from None
    return log_path


def _script(project_dir, script: str) -> tuple[Path, Path]:
    project_dir = Path(project_dir).resolve()
    path = project_dir / script
    if not path.is_file():
        raise FlowError(f"{path} does not exist; write it first (write_hls_tcl / write_bd_tcl)")
    return project_dir, path


def run_hls(project_dir, script: str = HLS_SCRIPT, *, tool: Tool | None = None, log_name: str = "hls_run.log"):
    """Run `<vitis_hls|vivado_hls> -f <script>` in project_dir; returns the log path."""
    tool = tool or find_tools(probe_versions=False)["hls"]
    if tool is None:
        raise ToolMissing("Vitis HLS (vitis_hls or vivado_hls) is not on PATH; source the Xilinx settings64.sh")
    cwd, path = _script(project_dir, script)
    return _run([tool.path, "-f", path.name], cwd, cwd / log_name, f"{tool.name} -f {path.name}")


def run_vivado(project_dir, script: str = BD_SCRIPT, *, tool: Tool | None = None, log_name: str = "vivado_run.log"):
    """Run `vivado -mode batch -source <script>` in project_dir; returns the log path."""
    tool = tool or find_tools(probe_versions=False)["vivado"]
    if tool is None:
        raise ToolMissing("Vivado is not on PATH; source the Xilinx settings64.sh")
    cwd, path = _script(project_dir, script)
    cmd = [tool.path, "-mode", "batch", "-nojournal", "-nolog", "-notrace", "-source", path.name]
    return _run(cmd, cwd, cwd / log_name, f"vivado -source {path.name}")
