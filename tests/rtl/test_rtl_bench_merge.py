"""bench/rtl.py --synth-only: re-synthesising some P keeps the recorded rows of the others."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "rtl.py"


def test_new_rows_replace_their_p_and_keep_the_others():
    spec = importlib.util.spec_from_file_location("bench_rtl", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    old = [{"P": 16, "LUT": 1}, {"P": 32, "LUT": 1}, {"P": 64, "LUT": 1}]
    new = [{"P": 64, "LUT": 2}, {"P": 8, "LUT": 2}]
    assert bench.merge_rows(old, new) == [
        {"P": 8, "LUT": 2}, {"P": 16, "LUT": 1}, {"P": 32, "LUT": 1}, {"P": 64, "LUT": 2},
    ]
    assert bench.merge_rows([], new) == sorted(new, key=lambda r: r["P"])


def test_ecp5_rows_merge_into_the_results_and_keep_everything_else(tmp_path, monkeypatch, capsys):
    """bench/rtl.py --ecp5: the engine of the recorded P row, one run per P, merged by P."""
    spec = importlib.util.spec_from_file_location("bench_rtl", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from flow.rtl import ecp5

    engine = {"P": 16, "MAXG": 8, "NL": 3, "NX": 832, "XW": 16, "WW": 16, "ACCW": 36}
    report = {"routed": True, "fmax_mhz": 50.0, "path": None, "shell_FF": 1, "tools": {"yosys": "x"},
              "yosys_cells": {"LUT4": 1, "CCU2C": 0, "FF": 2, "DP16KD": 3, "MULT18X18D": 16},
              "utilisation": {"TRELLIS_COMB": {"used": 10, "available": 100}}, "wall_s": {"total_s": 1.0}}  # fmt: skip
    out = tmp_path / "rtl.json"
    out.write_text(json.dumps({"models": [{"name": "m"}], "synth_xc7": [{"P": 16, "yosys": {"engine": engine}}],
                               "ecp5": [{"P": 32, "old": True, **report}]}))  # fmt: skip
    seen = []

    def fake_run(params, out_dir, target, route=True):
        seen.append((params.P, params.NX, target.seed, route, Path(out_dir).name))
        return report

    monkeypatch.setattr(ecp5, "run", fake_run)
    rc = bench.main(["--ecp5", "--pe", "16", "--seed", "7", "--out", str(out), "--p64", str(tmp_path / "none"),
                     "--ecp5-dir", str(tmp_path / "ecp5")])  # fmt: skip
    assert rc == 0 and seen == [(16, 832, 7, True, "P16")]
    res = json.loads(out.read_text())
    assert res["models"] == [{"name": "m"}] and [r["P"] for r in res["ecp5"]] == [16, 32]
    assert res["ecp5"][1]["old"] and "old" not in res["ecp5"][0]
    assert res["ecp5"][0]["engine_from"].startswith("engine of the recorded Yosys xc7 row P=16")
    assert "| 16 | True | 50.0 |" in capsys.readouterr().out
