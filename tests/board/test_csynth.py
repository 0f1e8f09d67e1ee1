"""flow.board.csynth on report fixtures written to the Vitis HLS 2023.x/2024.x schema: the PE
array's II gate (met, missed, missing loop), resources and latency, the cosim report, the TCL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flow.board import csynth
from flow.errors import FlowError

FIX = Path(__file__).parent / "fixtures" / "csynth"


def _report_dir(tmp_path, engine: str) -> Path:
    d = tmp_path / "myproject_prj" / "solution1" / "syn" / "report"
    d.mkdir(parents=True)
    shutil.copy(FIX / "met_csynth.xml", d / "csynth.xml")
    shutil.copy(FIX / engine, d / "engine_ap_fixed_config2_s_csynth.xml")
    return d


def test_top_report_fields():
    rep = csynth.parse_csynth_xml(FIX / "met_csynth.xml")
    assert (rep.top, rep.version, rep.part) == ("myproject_axi", "2023.2", "xc7z020-clg400-1")
    assert (rep.target_ns, rep.estimated_ns) == (10.0, 7.412)
    assert (rep.latency_min, rep.latency_max, rep.interval_min, rep.interval_max) == (812, 2431, 813, 2432)
    assert rep.resources == {"BRAM_18K": 36, "DSP": 16, "FF": 21874, "LUT": 30112, "URAM": 0}
    (loop,) = rep.loops
    assert (loop.name, loop.ii, loop.trip_min, loop.trip_max, loop.depth) == ("ReadWords", 1, 196, 196, 2)


def test_ii_met(tmp_path):
    d = _report_dir(tmp_path, "engine_met.xml")
    assert d == csynth.find_report_dir(tmp_path, "myproject")
    rep = csynth.parse_report_dir(d)
    (pe,) = rep.loops_named("pe_array")
    assert (pe.ii, pe.trip_min, pe.trip_max, pe.latency_max) == (1, 1, 1801, 1806)
    verdict = csynth.gate(rep)
    assert verdict["ok"] and not verdict["warning"] and "II=1" in verdict["loops"]
    side = csynth.beside_model(rep, {"cycles": 1700})
    assert side["model (flow.eie.perf / flow.board.resources)"] == {"cycles": 1700}
    assert side["csynth (measured by Vitis HLS)"]["resources"]["LUT"] == 30112


def test_ii_missed_stops_with_the_numbers(tmp_path):
    rep = csynth.parse_report_dir(_report_dir(tmp_path, "engine_missed.xml"))
    with pytest.raises(csynth.IIMissed, match=r"II=3, trip count 1\.\.1801, latency 6\.\.1806.*--allow-ii"):
        csynth.gate(rep)
    verdict = csynth.gate(rep, allow_ii=True)
    assert not verdict["ok"] and "II=3" in verdict["warning"]


def test_missing_pe_loop_is_an_error(tmp_path):
    rep = csynth.parse_report_dir(_report_dir(tmp_path, "engine_missing.xml"))
    with pytest.raises(csynth.IIMissed, match="no loop named 'pe_array'"):
        csynth.gate(rep, allow_ii=True)


def test_bad_reports_name_the_file(tmp_path):
    with pytest.raises(FlowError, match="no csynth.xml"):
        csynth.parse_report_dir(tmp_path)
    bad = tmp_path / "x.xml"
    bad.write_text("<other/>")
    with pytest.raises(FlowError, match="not a Vitis HLS csynth report"):
        csynth.parse_csynth_xml(bad)
    bad.write_text("<profile")
    with pytest.raises(FlowError, match="cannot read"):
        csynth.parse_csynth_xml(bad)


def test_cosim_report():
    res = csynth.parse_cosim_rpt(FIX / "cosim.rpt")
    assert res.passed and res.language == "Verilog"
    assert (res.latency_min, res.latency_avg, res.latency_max, res.interval_max) == (15902, 15902, 15902, 15903)
    assert not csynth.parse_cosim_rpt(FIX / "cosim_fail.rpt").passed


def test_hls_tcl_runs_cosim_with_the_testbench(tmp_path):
    from flow.board.boards import load_board
    from flow.board.vendor import write_hls_tcl

    src, tb = tmp_path / "top.cpp", tmp_path / "tb.cpp"
    src.write_text("")
    tb.write_text("")
    text = write_hls_tcl(tmp_path, load_board("pynq-z2"), "myproject", [src], [tb]).read_text()
    assert "csynth_design" in text and "cosim_design" in text and "add_files -tb [file join $here {tb.cpp}]" in text
    assert text.index("csynth_design") < text.index("cosim_design") < text.index("export_design")
    off = write_hls_tcl(tmp_path, load_board("pynq-z2"), "myproject", [src], [tb], cosim=False).read_text()
    assert "cosim_design" not in off
