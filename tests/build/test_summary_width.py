"""The end-of-build tables (`flow build`, `flow report`) read well at 80 and at 200 columns: no header
cut ("accura…"), no word split, no line past the width; and a non-UTF-8 terminal gets ASCII, not a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flow.build.runner import STATE_FILE
from flow.cli.main import main

REPO = Path(__file__).resolve().parents[2]
RTL = {
    "rtlsim": {"n": 300, "accuracy_rtl": 0.9767, "bit_mismatches": 0, "cycles_mean": 351.9, "cycles_p99": 384.0,
               "model_checked": 200, "model_cycle_mismatches": 0,
               "source": "RTL simulation (Verilator); cycles = inference period at back-to-back starts"},
    "yosys": {"xc7": {"family": "xc7", "device": "xc7z020 (PYNQ-Z2)", "LUT": 5320, "FF": 3508, "BRAM36": 7.0,
                      "DSP": 8, "URAM": 0, "sta_ns": 3.855, "source": "Yosys 0.23 synth_xilinx"}},
    "estimate": {"LUT": 8051, "FF": 3607, "BRAM36": 8.0, "DSP": 8, "source": "flow.rtl.estimate (structural)"},
}
SUMMARY = {
    "accuracy by stage": "dense 0.9722, pruned 0.9694, shared 0.9667, quantized 0.9667",
    "compression": "12.3x (19.8x with Huffman), 8.1% of the weights kept",
    "rtl (measured: simulation, Yosys)": "bit-exact on 300 samples, 351.9 cycles/inference, 5,320 LUT",
    "bundle": "bundle/ (no bitstream: Vivado did not run)",
}
#: every word of every header of the tables (a cut header loses one of them)
HEADER_WORDS = ["step", "status", "seconds", "item", "value", "source", "samples", "accuracy", "bit", "mismatches",
                "cycles/inf", "mean", "p99", "inf/s", "MHz", "cycle", "model", "(flow.eie.perf_rtl)", "device", "LUT",
                "FF", "BRAM36", "DSP", "URAM", "critical", "path", "(flow.rtl.estimate)", "(Verilator)"]


def _build(tmp_path: Path, summary: dict = SUMMARY) -> Path:
    b = tmp_path / "b"
    (b / "reports").mkdir(parents=True)
    steps = {s: {"status": "done", "seconds": 1.5} for s in ("compress", "hls", "csim", "rtl", "bundle")}
    (b / STATE_FILE).write_text(json.dumps({"complete": True, "steps": steps, "summary": summary, "notes": []}))
    (b / "reports" / "rtl.json").write_text(json.dumps(RTL))
    (b / "reports" / "resources.json").write_text(json.dumps({"board": "pynq-z2", "clock_mhz": 125.0}))
    return b


@pytest.mark.parametrize("width", [80, 200, 60])
def test_report_reads_well_at_any_width(tmp_path, capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["report", str(_build(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "\u2026" not in out and "..." not in out  # nothing cut
    assert max(len(line) for line in out.splitlines()) <= width
    words = set(out.replace("\u2502", " ").replace("\u2503", " ").split())
    missing = [w for w in HEADER_WORDS if w not in words]
    assert not missing, (missing, out)
    for value in ("0.9767", "355,215", "5,320 (10%)", "8,051 (15%)", "3.855", "0 of 200 differ"):
        assert value in out, (value, out)


def test_wide_terminal_keeps_one_row_per_result(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    main(["report", str(_build(tmp_path))])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "RTL simulation (Verilator)" in line)
    assert "0.9767" in row and "355,215" in row  # the classic table: a result per row


def test_narrow_terminal_turns_the_wide_tables_on_their_side(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    main(["report", str(_build(tmp_path))])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any("accuracy" in ln and "0.9767" in ln for ln in lines)  # key-value rows
    assert any("LUT" in ln and "5,320 (10%)" in ln and "8,051 (15%)" in ln for ln in lines)


@pytest.mark.parametrize("envs", [{"PYTHONIOENCODING": "latin-1"}, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C"}])
def test_non_utf8_terminal_gets_ascii(tmp_path, envs):
    b = _build(tmp_path, {**SUMMARY, "note": "5.2 \u00b1 0.1 \u2264 6 \u2026 \u2013 \u00d7 \u2192 \u2603"})
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80", **envs}
    code = "import sys; from flow.cli import main; sys.exit(main(sys.argv[1:]))"
    res = subprocess.run([sys.executable, "-c", code, "report", str(b)], capture_output=True, env=env)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    assert b"error" not in res.stderr
    out = res.stdout.decode("latin-1")
    flat = " ".join(out.replace("|", " ").split())
    assert "\u2026" not in out and "0.9767" in out
    for spelled in ("<= 6 ...", "->", "?"):  # (latin-1 has its own ± and ×)
        assert spelled in flat, (spelled, out)
    assert "+--" in out  # rich's ASCII boxes
