"""bench/rtl.py --synth-only: re-synthesising some P keeps the recorded rows of the others, and the
rows of another Yosys version beside the new ones."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "rtl.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_rtl", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_new_rows_replace_their_p_and_keep_the_others():
    bench = _bench()
    old = [{"P": 16, "LUT": 1}, {"P": 32, "LUT": 1}, {"P": 64, "LUT": 1}]
    new = [{"P": 64, "LUT": 2}, {"P": 8, "LUT": 2}]
    assert bench.merge_rows(old, new) == [
        {"P": 8, "LUT": 2}, {"P": 16, "LUT": 1}, {"P": 32, "LUT": 1}, {"P": 64, "LUT": 2},
    ]
    assert bench.merge_rows([], new) == sorted(new, key=lambda r: r["P"])


def test_rows_of_another_yosys_are_kept_beside():
    """A 0.70 row for P = 64 joins the 0.23 row (read from its source string: rows written before
    the tool was recorded); a second 0.70 row replaces the first; sorted by P, then version."""
    bench = _bench()
    old = [{"P": 64, "yosys": {"source": "Yosys 0.23 synth_xilinx, hierarchical"}, "LUT": 1},
           {"P": 16, "yosys": {"source": "Yosys 0.23 synth_xilinx, hierarchical"}, "LUT": 1}]
    new = [{"P": 64, "tool": {"name": "yosys", "version": "0.70"}, "LUT": 2}]
    merged = bench.merge_rows(old, new)
    assert [(r["P"], bench.row_yosys_version(r), r["LUT"]) for r in merged] == [
        (16, "0.23", 1), (64, "0.23", 1), (64, "0.70", 2)]
    again = bench.merge_rows(merged, [{"P": 64, "tool": {"version": "0.70"}, "LUT": 3}])
    assert [(r["P"], bench.row_yosys_version(r), r["LUT"]) for r in again] == [
        (16, "0.23", 1), (64, "0.23", 1), (64, "0.70", 3)]
    assert bench.row_yosys_version({"P": 8}) is None
    # version order is numeric: 0.9 before 0.23 before 0.70
    rows = bench.merge_rows([], [{"P": 1, "tool": {"version": v}} for v in ("0.70", "0.9", "0.23")])
    assert [bench.row_yosys_version(r) for r in rows] == ["0.9", "0.23", "0.70"]


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
    assert res["ecp5"][0]["rtl_rev"] == bench.rtl_revision() and res["ecp5"][0]["label"] == ""
    assert f"| 16 | {bench.rtl_revision()} |  | True | 50.0 |" in capsys.readouterr().out


def test_ecp5_rows_keep_each_rtl_revision():
    """The lever history: a run of another RTL revision is kept beside, one of the same replaced."""
    spec = importlib.util.spec_from_file_location("bench_rtl", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    t = {"target": {"seed": 1}}
    old = [{"P": 16, "rtl_rev": "a", "v": 1, **t}, {"P": 4, "rtl_rev": "a", "v": 2, **t}]
    new = [{"P": 4, "rtl_rev": "b", "v": 3, **t}, {"P": 16, "rtl_rev": "a", "v": 4, **t}]
    rows = bench.merge_ecp5(old, new)
    assert [(r["P"], r["rtl_rev"], r["v"]) for r in rows] == [(4, "a", 2), (4, "b", 3), (16, "a", 4)]
