"""bench/rtl.py --synth-only: re-synthesising some P keeps the recorded rows of the others, and the
rows of another Yosys version beside the new ones."""

from __future__ import annotations

import importlib.util
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
