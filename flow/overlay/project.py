"""The RTL overlay's Vivado project: the block design as data, its TCL and the Verilog top.

One board file (boards/<name>/board.yaml: part, PS family and ports, clock, DMA widths, the
engine preset `overlay: p<P>`) and one register map (flow/runtime/regmap.py: the AXI4-Lite
window's size) decide everything here; `design(board, params)` turns them into cells, AXI and
stream connections, clock/reset/interrupt nets and the address map, and
`write_overlay_project(...)` renders boards/_templates/overlay_bd.tcl.j2 and eie_axi_top.v.j2.
tests/overlay/test_overlay_tcl.py runs the TCL in a Tcl interpreter against strict stand-ins
for every Vivado command and checks what they received against the board and the register map.

The block design (docs/overlay.md, "Block design"): eie_0 = eie_axi as a module reference (its
plain-Verilog top `eie_axi_top`), s_axil from the PS GP/HPM master through an AXI interconnect,
irq through axi_intc_0 (what pynq's Interrupt needs) to the PS; axi_dma_0 MM2S -> s_axis_in and
m_axis_out -> S2MM; axi_dma_1 MM2S -> s_axis_ld; the DMAs' memory side through a SmartConnect
to the PS HP port; one clock (the PS fabric clock at board.clock_mhz) and one reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flow.board.boards import Board
from flow.board.vendor import _ps_context, render, resolve_clock, tcl_path
from flow.overlay.sizing import IFIFO_D
from flow.rtl.params import EngineParams
from flow.runtime import regmap as rm

SCRIPT = "build_overlay.tcl"
TOP = "eie_axi_top"
IP_CELL, DMA_CELL, LOAD_DMA_CELL, INTC_CELL = "eie_0", "axi_dma_0", "axi_dma_1", "axi_intc_0"
#: eie_axi's stream and interrupt interfaces (the AXI4-Lite one is s_axil)
STREAMS = {"s_axis_in": "slave", "m_axis_out": "master", "s_axis_ld": "slave"}


def build_hash(p: EngineParams) -> int:
    """The BUILD_HASH register: the first 32 bits of EngineParams.key()."""
    return int(p.key()[:8], 16)


def overlay_name(board: Board, P: int) -> str:
    """The overlay's file stem (<name>.bit, <name>.hwh): a Python identifier, as pynq's ip_dict likes."""
    return f"eie_{board.name.replace('-', '_')}_p{P}"


def generics(p: EngineParams) -> list[tuple[str, int]]:
    """eie_axi's parameters for the preset (the engine's, the input FIFO, the build hash)."""
    g = list(p.generics().items()) + [("IFIFO_D", IFIFO_D)]
    return g + [("BUILD_HASH", f"32'h{build_hash(p):08x}")]


# ---------------------------------------------------------------- the top's ports


@dataclass(frozen=True)
class Port:
    name: str
    dir: str
    width: int
    info: str  # X_INTERFACE_INFO
    first: bool = False  # the interface's first port carries X_INTERFACE_PARAMETER
    intf_param: str = ""


def _axil_ports() -> list[Port]:
    aw = rm.ADDR_BITS
    sig = [("awaddr", "input", aw), ("awvalid", "input", 1), ("awready", "output", 1), ("wdata", "input", 32),
           ("wstrb", "input", 4), ("wvalid", "input", 1), ("wready", "output", 1), ("bresp", "output", 2),
           ("bvalid", "output", 1), ("bready", "input", 1), ("araddr", "input", aw), ("arvalid", "input", 1),
           ("arready", "output", 1), ("rdata", "output", 32), ("rresp", "output", 2), ("rvalid", "output", 1),
           ("rready", "input", 1)]  # fmt: skip
    return [Port(f"s_axil_{s}", d, w, f"xilinx.com:interface:aximm:1.0 s_axil {s.upper()}", i == 0,
                 f"PROTOCOL AXI4LITE, ADDR_WIDTH {aw}, DATA_WIDTH 32") for i, (s, d, w) in enumerate(sig)]


def _axis_ports(name: str, role: str, stream_bits: int) -> list[Port]:
    out, inp = ("output", "input") if role == "master" else ("input", "output")
    sig = [("tdata", out, stream_bits), ("tvalid", out, 1), ("tready", inp, 1)]
    if name == "m_axis_out":
        sig.append(("tlast", out, 1))
    return [Port(f"{name}_{s}", d, w, f"xilinx.com:interface:axis:1.0 {name} {s.upper()}", i == 0,
                 f"TDATA_NUM_BYTES {stream_bits // 8}") for i, (s, d, w) in enumerate(sig)]


def top_ports(stream_bits: int) -> list[Port]:
    ports = _axil_ports()
    for name, role in STREAMS.items():
        ports += _axis_ports(name, role, stream_bits)
    ports.append(Port("irq", "output", 1, "xilinx.com:signal:interrupt:1.0 irq INTERRUPT", True,
                      "SENSITIVITY LEVEL_HIGH"))
    return ports


# ---------------------------------------------------------------- the block design as data


@dataclass(frozen=True)
class Cell:
    name: str
    vlnv: str  # an IP's VLNV, or a module reference's module name
    module: bool = False
    config: dict = field(default_factory=dict)
    user: tuple = ()  # CONFIG keys whose value source must be USER before they are set


@dataclass(frozen=True)
class Window:
    """One register window in the PS's address space."""

    cell: str
    segment: str
    base: int
    range: int

    @property
    def range_text(self) -> str:
        return f"{self.range >> 10}K"


@dataclass(frozen=True)
class Design:
    cells: list[Cell]
    intf_nets: list[tuple[str, str]]
    nets: list[tuple[str, list[str]]]  # driver pin -> loads
    windows: list[Window]
    ps: dict


def _dma(name: str, board: Board, s2mm: bool) -> Cell:
    d = board.dma
    cfg = {"c_include_sg": 0, "c_include_mm2s": 1, "c_include_s2mm": int(s2mm), "c_sg_length_width": d.length_bits,
           "c_addr_width": d.addr_bits, "c_m_axi_mm2s_data_width": d.mm_bits, "c_m_axis_mm2s_tdata_width": d.stream_bits,
           "c_mm2s_burst_size": d.burst}  # fmt: skip
    user = ["c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width"]
    if s2mm:
        cfg.update(c_m_axi_s2mm_data_width=d.mm_bits, c_s_axis_s2mm_tdata_width=d.stream_bits,
                   c_s2mm_burst_size=d.burst)
        user += ["c_m_axi_s2mm_data_width", "c_s_axis_s2mm_tdata_width"]
    return Cell(name, "xilinx.com:ip:axi_dma:7.1", config=cfg, user=tuple(user))


#: the AXI4-Lite slaves on the control interconnect, in M port order, and their windows
CONTROL = ((IP_CELL, "s_axil", "reg0", 0x1000), (DMA_CELL, "S_AXI_LITE", "Reg", 0x1_0000),
           (LOAD_DMA_CELL, "S_AXI_LITE", "Reg", 0x1_0000), (INTC_CELL, "s_axi", "Reg", 0x1_0000))


def design(board: Board, params: EngineParams, clock_mhz: float | None = None) -> Design:
    """The overlay's block design for `board` with the engine preset `params`."""
    clock = resolve_clock(board, clock_mhz)
    ps = _ps_context(board, clock)
    pst = board.ps_type
    ps["irq_pin"] = pst.irq_pin
    ps["config"] = {**ps["config"], **pst.irq_config}
    cell = ps["cell"]
    n_mi = len(CONTROL)
    cells = [
        Cell("rst_ps_0", "xilinx.com:ip:proc_sys_reset:5.0"),
        Cell(IP_CELL, TOP, module=True, config={k: v for k, v in params.generics().items()}),
        _dma(DMA_CELL, board, s2mm=True),
        _dma(LOAD_DMA_CELL, board, s2mm=False),
        Cell(INTC_CELL, "xilinx.com:ip:axi_intc:4.1", config={"C_IRQ_CONNECTION": 1}),
        Cell("ps_axi_periph", "xilinx.com:ip:axi_interconnect:2.1", config={"NUM_SI": 1, "NUM_MI": n_mi}),
        Cell("axi_mem_smc", "xilinx.com:ip:smartconnect:1.0", config={"NUM_SI": 3, "NUM_MI": 1}),
    ]
    intf = [(f"{cell}/{ps['gp_intf']}", "ps_axi_periph/S00_AXI")]
    intf += [(f"ps_axi_periph/M{i:02d}_AXI", f"{c}/{port}") for i, (c, port, _, _) in enumerate(CONTROL)]
    intf += [
        (f"{DMA_CELL}/M_AXIS_MM2S", f"{IP_CELL}/s_axis_in"),
        (f"{IP_CELL}/m_axis_out", f"{DMA_CELL}/S_AXIS_S2MM"),
        (f"{LOAD_DMA_CELL}/M_AXIS_MM2S", f"{IP_CELL}/s_axis_ld"),
        (f"{DMA_CELL}/M_AXI_MM2S", "axi_mem_smc/S00_AXI"),
        (f"{DMA_CELL}/M_AXI_S2MM", "axi_mem_smc/S01_AXI"),
        (f"{LOAD_DMA_CELL}/M_AXI_MM2S", "axi_mem_smc/S02_AXI"),
        ("axi_mem_smc/M00_AXI", f"{cell}/{ps['hp_intf']}"),
    ]
    clocks = [f"{cell}/{ps['gp_aclk']}", f"{cell}/{ps['hp_aclk']}", "rst_ps_0/slowest_sync_clk", f"{IP_CELL}/clk",
              *(f"{d}/{p}" for d in (DMA_CELL, LOAD_DMA_CELL) for p in ("s_axi_lite_aclk", "m_axi_mm2s_aclk")),
              f"{DMA_CELL}/m_axi_s2mm_aclk", f"{INTC_CELL}/s_axi_aclk", "ps_axi_periph/ACLK",
              "ps_axi_periph/S00_ACLK", *(f"ps_axi_periph/M{i:02d}_ACLK" for i in range(n_mi)),
              "axi_mem_smc/aclk"]  # fmt: skip
    resets = [f"{IP_CELL}/aresetn", f"{DMA_CELL}/axi_resetn", f"{LOAD_DMA_CELL}/axi_resetn",
              f"{INTC_CELL}/s_axi_aresetn", "ps_axi_periph/S00_ARESETN",
              *(f"ps_axi_periph/M{i:02d}_ARESETN" for i in range(n_mi)), "axi_mem_smc/aresetn"]
    nets = [
        (f"{cell}/{ps['clk_out']}", clocks),
        ("rst_ps_0/peripheral_aresetn", resets),
        ("rst_ps_0/interconnect_aresetn", ["ps_axi_periph/ARESETN"]),
        (f"{IP_CELL}/irq", [f"{INTC_CELL}/intr"]),
        (f"{INTC_CELL}/irq", [f"{cell}/{pst.irq_pin}"]),
    ]
    base = pst.gp_base[board.ps.gp_port]
    windows, offset = [], 0
    for c, port, seg, size in CONTROL:
        offset = -(-offset // size) * size  # aligned to its own size
        windows.append(Window(c, f"{c}/{port}/{seg}", base + offset, size))
        offset += size
    return Design(cells, intf, nets, windows, ps)


def write_top(out_dir, board: Board, params: EngineParams, clock_mhz: float | None = None) -> Path:
    """The plain-Verilog top `eie_axi_top.v` (module reference) with the preset as its defaults."""
    clock = resolve_clock(board, clock_mhz)
    text = render("eie_axi_top.v.j2", board=board.name, params=params, top=TOP, generics=generics(params),
                  busifs=["s_axil", *STREAMS], freq_hz=int(round(clock * 1e6)),
                  ports=top_ports(board.dma.stream_bits))
    path = Path(out_dir) / f"{TOP}.v"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_overlay_tcl(out_dir, board: Board, params: EngineParams, *, rtl_dir, sources: list[str], export_dir,
                      clock_mhz: float | None = None, jobs: int = 2, root=None) -> Path:
    """Write the Vivado script of the overlay into `out_dir` (run it there: `vivado -mode batch -source
    build_overlay.tcl`). `sources`: file names in `rtl_dir` (the top first is not required).
    Paths under `root` are written relative to the script (a moved folder runs as it is)."""
    out_dir = Path(out_dir).resolve()
    root = out_dir if root is None else Path(root).resolve()
    d = design(board, params, clock_mhz)
    text = render(
        "overlay_bd.tcl.j2", board=board, params=params, script_name=SCRIPT, top=TOP,
        overlay=overlay_name(board, params.P), project_name=f"{overlay_name(board, params.P)}_vivado",
        project_dir=tcl_path(out_dir / "vivado", out_dir, root), clock_mhz=f"{resolve_clock(board, clock_mhz):g}",
        rtl_dir=tcl_path(rtl_dir, out_dir, root), export_dir=tcl_path(export_dir, out_dir, root),
        sources=list(sources), ps=d.ps, cells=d.cells, intf_nets=d.intf_nets, nets=d.nets, windows=d.windows,
        jobs=int(jobs),
    )
    path = out_dir / SCRIPT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
