"""bench/rtl.py --synth-only: re-synthesising some P keeps the recorded rows of the others."""

from __future__ import annotations

import importlib.util
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
