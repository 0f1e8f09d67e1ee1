"""`flow report` never drops reports/rtl.json in silence: missing, damaged, of the wrong shape or
edited after the build, it says so in a line naming the file and the fix (and in --json `rtl_report`)."""

from __future__ import annotations

import copy
import json

import pytest

from flow.build.runner import STATE_FILE
from flow.cli.main import main

RTL = {
    "rtlsim": {"n": 300, "accuracy_rtl": 0.9767, "bit_mismatches": 0, "cycles_mean": 351.9, "cycles_p99": 384.0,
               "model_checked": 200, "model_cycle_mismatches": 0, "source": "RTL simulation (Verilator)"},
    "yosys": {"xc7": {"family": "xc7", "device": "xc7z020", "LUT": 5320, "FF": 3508, "BRAM36": 7.0, "DSP": 8}},
}
#: what the rtl step records in build_state.json (the summary's numbers)
INFO = {"bit_mismatches": 0, "cycles_mean": 351.9, "LUT": 5320, "BRAM36": 7.0, "DSP": 8}


def _build(tmp_path, rtl_text: str | None, with_step: bool = True):
    b = tmp_path / "b"
    (b / "reports").mkdir(parents=True)
    steps = {"rtl": {"status": "done", "info": INFO, "summary": {}, "notes": []}} if with_step else {}
    (b / STATE_FILE).write_text(json.dumps({"complete": True, "steps": steps, "summary": {}, "notes": []}))
    if rtl_text is not None:
        (b / "reports" / "rtl.json").write_text(rtl_text)
    return b


def _report(capsys, *args) -> str:
    assert main(["report", *args]) == 0
    return capsys.readouterr().out


def _mismatching() -> str:
    rtl = copy.deepcopy(RTL)
    rtl["rtlsim"]["bit_mismatches"] = 7
    return json.dumps(rtl)


@pytest.mark.parametrize("text, says", [
    (None, "reports/rtl.json is missing"),
    ('{"rtlsim": {"n": 3', "reports/rtl.json is damaged"),
    ("", "reports/rtl.json is damaged"),
    ("[1, 2]", "reports/rtl.json has the wrong shape (a JSON list instead of an object)"),
    ('{"rtlsim": {"bit_mismatches": "none"}}', "has the wrong shape (rtlsim.bit_mismatches is 'none', not a count)"),
    ('{"yosys": {}}', "has the wrong shape (no 'rtlsim' object"),
    ('{"rtlsim": {"n": [1]}}', "has the wrong shape (rtlsim.n is [1], not a count)"),
    (_mismatching(), "reports/rtl.json disagrees with the build's record (bit_mismatches 7 in the file, 0 in "
                     "the build's record)"),
])
def test_a_bad_rtl_json_is_named_with_its_fix(tmp_path, capsys, monkeypatch, text, says):
    monkeypatch.setenv("COLUMNS", "400")
    b = _build(tmp_path, text)
    out = _report(capsys, str(b))
    line = next(ln for ln in out.splitlines() if ln.startswith("rtl:"))
    assert says in line and "fix: rerun the `flow build` that made this folder" in line
    state = json.loads(_report(capsys, str(b), "--json"))
    rep = state["rtl_report"]
    assert says in rep["error"] and rep["file"] == "reports/rtl.json" and "flow build" in rep["fix"]
    if text == _mismatching():  # the tables show the file's numbers, next to the warning
        assert rep["report"]["rtlsim"]["bit_mismatches"] == 7 and "RTL engine: simulation" in out


def test_a_good_rtl_json_has_no_warning_and_json_keeps_the_report(tmp_path, capsys):
    b = _build(tmp_path, json.dumps(RTL))
    assert "rtl:" not in _report(capsys, str(b))
    assert json.loads(_report(capsys, str(b), "--json"))["rtl_report"] == RTL


def test_a_build_without_an_rtl_step_says_nothing_of_it(tmp_path, capsys):
    """An older build, or a custom step list: no rtl step, no rtl.json, nothing to warn about."""
    b = _build(tmp_path, None, with_step=False)
    assert "rtl:" not in _report(capsys, str(b))
    assert "rtl_report" not in json.loads(_report(capsys, str(b), "--json"))
