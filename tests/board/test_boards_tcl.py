"""The generated Vivado / Vitis HLS TCL: its board numbers read back equal board.yaml, and the block
design has the cells and connections a PYNQ overlay needs.

Two readers: a regex over the parameter block (always), and tclsh running the script with every
Vivado command stubbed to record its call (when tclsh is installed), so the values checked are the
ones the commands would really receive after TCL substitution.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess

import pytest

from flow.board.boards import list_boards, load_board
from flow.errors import UsageError
from flow.board.vendor import hls_ip_repo, tcl_quote, write_bd_tcl, write_hls_tcl

BOARDS = [b.name for b in list_boards()]
needs_tclsh = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh is not installed")

PRELUDE = r"""
set ::calls {}
set ::board_parts_result {BOARD_PARTS}
proc unknown {args} { lappend ::calls $args; return [join $args " "] }
proc get_board_parts {args} { lappend ::calls [linsert $args 0 get_board_parts]; return $::board_parts_result }
proc get_property {args} {
    lappend ::calls [linsert $args 0 get_property]
    switch -- [lindex $args 0] { PROGRESS { return "100%" } SLACK { return 0.25 } default { return "/run" } }
}
proc set_property {args} {
    if {[lindex $args 0] eq "-dict"} {
        foreach {k v} [lindex $args 1] { lappend ::calls [list set_config [lindex $args 2] $k $v] }
    } else { lappend ::calls [linsert $args 0 set_property] }
}
rename file _tcl_file
proc file {sub args} {
    if {$sub in {copy mkdir delete}} { lappend ::calls [concat [list file $sub] $args]; return "" }
    return [_tcl_file $sub {*}$args]
}
proc exit {args} { lappend ::calls exit }
source {SCRIPT}
set fh [open {OUT} w]
foreach c $::calls { puts $fh [join $c "\x1f"] }
close $fh
"""


def run_stubbed(script, tmp_path, board_parts="found"):
    out = tmp_path / "calls.txt"
    prelude = PRELUDE.replace("{SCRIPT}", tcl_quote(str(script))).replace("{OUT}", tcl_quote(str(out)))
    prelude = prelude.replace("{BOARD_PARTS}", tcl_quote(board_parts))
    driver = tmp_path / "driver.tcl"
    driver.write_text(prelude)
    subprocess.run(["tclsh", str(driver)], check=True, capture_output=True, text=True)
    return [line.split("\x1f") for line in out.read_text().splitlines()]


def bd_script(tmp_path, board, **kw):
    return write_bd_tcl(
        tmp_path / "vivado", board, "lenet", ip_repo=hls_ip_repo(tmp_path / "hls", "lenet"),
        export_dir=tmp_path / "bundle", **kw,
    )


def params(text):
    return dict(re.findall(r"^set (\w+) +\{?([^}\n]*)\}?$", text, flags=re.M))


@pytest.mark.parametrize("name", BOARDS)
def test_bd_parameters_read_back(tmp_path, name):
    board = load_board(name)
    p = params(bd_script(tmp_path, board).read_text())
    assert p["part"] == board.part
    assert float(p["clock_mhz"]) == board.clock_mhz
    assert int(p["stream_bits"]) == board.dma.stream_bits
    assert int(p["mm_bits"]) == board.dma.mm_bits
    assert int(p["length_bits"]) == board.dma.length_bits
    assert p["ip_vlnv"] == "xilinx.com:hls:lenet_axi:1.0"


@pytest.mark.parametrize("name", BOARDS)
def test_hls_parameters_read_back(tmp_path, name):
    board = load_board(name)
    src = tmp_path / "lenet_axi.cpp"
    text = write_hls_tcl(tmp_path, board, "lenet", [src], [tmp_path / "tb.cpp"]).read_text()
    p = params(text)
    assert p["part"] == board.part
    assert float(p["period_ns"]) == pytest.approx(board.clock_period_ns)
    assert p["top"] == "lenet_axi"


def intf_nets(calls):
    strip = lambda s: s.split(" ", 1)[1]  # noqa: E731  "get_bd_intf_pins a/b" -> "a/b"
    return {(strip(c[1]), strip(c[2])) for c in calls if c[0] == "connect_bd_intf_net"}


def nets(calls):
    return [{s.split(" ", 1)[1] for s in c[1:]} for c in calls if c[0] == "connect_bd_net"]


def configs(calls, cell):
    return {c[2]: c[3] for c in calls if c[0] == "set_config" and c[1] == f"get_bd_cells {cell}"}


@needs_tclsh
@pytest.mark.parametrize("name", BOARDS)
def test_block_design_cells_and_connections(tmp_path, name):
    board = load_board(name)
    calls = run_stubbed(bd_script(tmp_path, board), tmp_path)
    ps = board.ps_type.cell
    hp, gp = board.ps_port(board.ps_type.hp_intf), board.ps_port(board.ps_type.gp_intf, "gp")

    create = [c for c in calls if c[0] == "create_project"][0]
    assert create[create.index("-part") + 1] == board.part

    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in calls if c[0] == "create_bd_cell"}
    assert cells[ps] == board.ps_type.vlnv
    assert cells["axi_dma_0"].startswith("xilinx.com:ip:axi_dma:")
    assert cells["eie_0"] == "xilinx.com:hls:lenet_axi:1.0"
    assert {"rst_ps_0", "ps_axi_periph", "axi_mem_smc"} <= set(cells)

    links = intf_nets(calls)
    assert ("axi_dma_0/M_AXIS_MM2S", "eie_0/in_stream") in links
    assert ("eie_0/out_stream", "axi_dma_0/S_AXIS_S2MM") in links
    assert (f"{ps}/{gp}", "ps_axi_periph/S00_AXI") in links
    assert ("ps_axi_periph/M00_AXI", "axi_dma_0/S_AXI_LITE") in links
    assert ("ps_axi_periph/M01_AXI", "eie_0/s_axi_control") in links
    assert ("axi_dma_0/M_AXI_MM2S", "axi_mem_smc/S00_AXI") in links
    assert ("axi_dma_0/M_AXI_S2MM", "axi_mem_smc/S01_AXI") in links
    assert ("axi_mem_smc/M00_AXI", f"{ps}/{hp}") in links

    clock = next(n for n in nets(calls) if f"{ps}/{board.ps_type.clk_out}" in n)
    assert {"eie_0/ap_clk", "axi_dma_0/s_axi_lite_aclk", "axi_dma_0/m_axi_mm2s_aclk",
            "axi_dma_0/m_axi_s2mm_aclk", "rst_ps_0/slowest_sync_clk", "axi_mem_smc/aclk",
            f"{ps}/{board.ps_port(board.ps_type.hp_aclk)}"} <= clock
    resets = next(n for n in nets(calls) if "rst_ps_0/peripheral_aresetn" in n)
    assert {"eie_0/ap_rst_n", "axi_dma_0/axi_resetn"} <= resets

    dma = configs(calls, "axi_dma_0")
    assert dma["CONFIG.c_include_sg"] == "0"
    assert int(dma["CONFIG.c_m_axis_mm2s_tdata_width"]) == board.dma.stream_bits
    assert int(dma["CONFIG.c_s_axis_s2mm_tdata_width"]) == board.dma.stream_bits
    assert int(dma["CONFIG.c_m_axi_mm2s_data_width"]) == board.dma.mm_bits
    assert int(dma["CONFIG.c_m_axi_s2mm_data_width"]) == board.dma.mm_bits
    assert int(dma["CONFIG.c_sg_length_width"]) == board.dma.length_bits

    psc = configs(calls, ps)
    assert float(psc[f"CONFIG.{board.ps_type.clock_freq_key}"]) == board.clock_mhz
    assert psc[f"CONFIG.{board.ps_port(board.ps_type.hp_enable)}"] == "1"
    assert int(psc[f"CONFIG.{board.ps_port(board.ps_type.hp_width)}"]) == board.dma.mm_bits

    order = [c[0] for c in calls]
    for step in ("assign_bd_address", "validate_bd_design", "make_wrapper", "launch_runs", "wait_on_run"):
        assert step in order, step
    assert order.index("assign_bd_address") < order.index("validate_bd_design") < order.index("launch_runs")
    launch = calls[order.index("launch_runs")]
    assert launch[launch.index("-to_step") + 1] == "write_bitstream"
    copies = [c for c in calls if c[:2] == ["file", "copy"]]
    assert [c[-1] for c in copies] == [str(tmp_path / "bundle" / "lenet.bit"), str(tmp_path / "bundle" / "lenet.hwh")]


@needs_tclsh
def test_stream_and_memory_widths_are_not_swapped(tmp_path):
    """Distinct stream and MM widths land in their own DMA parameters (hls4ml 1.3.0 swaps in/out)."""
    base = load_board("pynq-z2")
    board = dataclasses.replace(base, dma=dataclasses.replace(base.dma, stream_bits=32, mm_bits=64))
    dma = configs(run_stubbed(bd_script(tmp_path, board), tmp_path), "axi_dma_0")
    assert dma["CONFIG.c_m_axis_mm2s_tdata_width"] == dma["CONFIG.c_s_axis_s2mm_tdata_width"] == "32"
    assert dma["CONFIG.c_m_axi_mm2s_data_width"] == dma["CONFIG.c_m_axi_s2mm_data_width"] == "64"


@needs_tclsh
def test_no_board_files_configures_ps_from_yaml(tmp_path):
    board = load_board("pynq-z2")
    calls = run_stubbed(bd_script(tmp_path, board), tmp_path, board_parts="")
    assert not any(c[0] == "apply_bd_automation" for c in calls)
    external = [c[1] for c in calls if c[0] == "make_bd_intf_pins_external"]
    assert external == ["get_bd_intf_pins processing_system7_0/DDR", "get_bd_intf_pins processing_system7_0/FIXED_IO"]
    assert configs(calls, "processing_system7_0")["CONFIG.PCW_UIPARAM_DDR_PARTNO"] == "MT41K256M16 RE-125"


@needs_tclsh
def test_clock_override_reaches_ps_and_hls(tmp_path):
    board = load_board("pynq-z2")
    calls = run_stubbed(bd_script(tmp_path, board, clock_mhz=125), tmp_path)
    assert configs(calls, "processing_system7_0")["CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ"] == "125"
    hls = write_hls_tcl(tmp_path / "hls", board, "lenet", [tmp_path / "a.cpp"], csim=False, cosim=False,
                        clock_mhz=125)
    clock = [c for c in run_stubbed(hls, tmp_path) if c[0] == "create_clock"][0]
    assert clock[clock.index("-period") + 1] == "8"


@needs_tclsh
@pytest.mark.parametrize("cosim", [True, False])
def test_hls_script_steps(tmp_path, cosim):
    board = load_board("pynq-z2")
    srcs = [tmp_path / "fw" / "lenet_axi.cpp", tmp_path / "fw" / "eie_dense.h"]
    tb = [tmp_path / "lenet_test.cpp", tmp_path / "tb_data"]
    script = write_hls_tcl(tmp_path / "hls", board, "lenet", srcs, tb, include_dirs=[tmp_path / "inc"],
                           cosim=cosim)
    calls = run_stubbed(script, tmp_path)
    order = [c[0] for c in calls]
    assert calls[order.index("open_project")][1:] == ["-reset", "lenet_prj"]
    assert calls[order.index("set_top")][1:] == ["lenet_axi"]
    added = [c for c in calls if c[0] == "add_files"]
    assert [c[1] for c in added[:2]] == [str(s) for s in srcs]
    assert f'-I"{tmp_path / "inc"}"' in added[0][added[0].index("-cflags") + 1]  # quoted: split like a shell
    assert ["add_files", "-tb", str(tb[1])] in added  # data folder: no -cflags
    assert calls[order.index("set_part")][1:] == [board.part]
    clock = calls[order.index("create_clock")]
    assert float(clock[clock.index("-period") + 1]) == board.clock_period_ns
    expected = ["csim_design", "csynth_design"] + (["cosim_design"] if cosim else []) + ["export_design"]
    assert [s for s in order if s.endswith("_design")] == expected
    export = calls[order.index("export_design")]
    assert export[export.index("-format") + 1] == "ip_catalog"
    assert order[-1] == "exit"


def test_hls_needs_a_testbench_for_csim(tmp_path):
    with pytest.raises(UsageError, match="testbench"):
        write_hls_tcl(tmp_path, load_board("pynq-z2"), "lenet", [tmp_path / "a.cpp"])


def test_tcl_quote_refuses_unsafe_strings():
    assert tcl_quote("a b") == "{a b}" and tcl_quote(64) == "64"
    for bad in ("a}b", "{a", "a\\b", "a\nb"):
        with pytest.raises(UsageError):
            tcl_quote(bad)


def test_ps_config_may_not_override_derived_values(tmp_path):
    base = load_board("pynq-z2")
    ps = dataclasses.replace(base.ps, config={**base.ps.config, "PCW_FPGA0_PERIPHERAL_FREQMHZ": "50"})
    with pytest.raises(UsageError, match="PCW_FPGA0_PERIPHERAL_FREQMHZ"):
        bd_script(tmp_path, dataclasses.replace(base, ps=ps))


@needs_tclsh
def test_scripts_name_the_build_folder_relative_to_themselves(tmp_path):
    """Paths under the build folder (root) are relative to the script ([info script]) and quoted, so a
    moved or copied build (with a space in its name) runs as it is."""
    board = load_board("pynq-z2")
    b = tmp_path / "b"
    fw = b / "hls" / "firmware"
    srcs, tb = [fw / "lenet_axi.cpp"], [b / "hls" / "lenet_tb.cpp"]
    hls = write_hls_tcl(b / "hls", board, "lenet", srcs, tb, include_dirs=[fw, b / "hls"], root=b)
    bd = write_bd_tcl(b / "vivado", board, "lenet", ip_repo=hls_ip_repo(b / "hls", "lenet"),
                      export_dir=b / "bundle", root=b)
    for script in (hls, bd):
        assert str(tmp_path) not in script.read_text() and "[info script]" in script.read_text()
    moved = tmp_path / "moved build"
    b.rename(moved)
    calls = run_stubbed(moved / "hls" / "build_hls.tcl", tmp_path)
    added = [c for c in calls if c[0] == "add_files"]
    assert added[0][1] == str(moved / "hls" / "firmware" / "lenet_axi.cpp")
    assert added[0][added[0].index("-cflags") + 1] == f'-std=c++14 -I"{moved}/hls/firmware" -I"{moved}/hls"'
    assert ["add_files", "-tb", str(moved / "hls" / "lenet_tb.cpp"), "-cflags"] == added[1][:4]
    calls = run_stubbed(moved / "vivado" / "build_bd.tcl", tmp_path)
    project = next(c for c in calls if c[0] == "create_project")
    assert project[2] == str(moved / "vivado" / "vivado")
    repo = next(c for c in calls if c[0] == "set_property" and c[1] == "ip_repo_paths")
    assert repo[2] == "{" + str(moved / "hls" / "lenet_prj" / "solution1" / "impl" / "ip") + "}"  # a list of one
    mkdir = next(c for c in calls if c[:2] == ["file", "mkdir"])
    assert mkdir[2] == str(moved / "bundle")
