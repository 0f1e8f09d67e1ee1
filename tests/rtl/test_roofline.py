"""bench/roofline.py: the work count behind every roofline point (MACs and entry words read)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "bench" / "roofline.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_roofline", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_work_counts_the_nonzeros_of_the_broadcast_columns_and_the_fillers():
    from flow.testing import dense_layer

    rng = np.random.default_rng(3)
    kernel = np.where(rng.random((40, 24)) < 0.3, rng.choice([-0.5, 0.25, 0.5], size=(40, 24)), 0.0)
    kernel[5, :] = 0.0
    kernel[7, 0] = 0.5  # a long zero run below row 0 on column 7: fillers with 2 index bits
    layer = dense_layer("d", kernel, None, n_pe=4, col_groups=2, index_bits=2)
    x = np.zeros((2, 40), np.int64)
    x[0, [1, 5, 7, 30]] = [3, 9, 1, 2]
    x[1, :] = 1
    macs, entries = _bench().work(layer, x)
    assert macs.tolist() == [int(np.count_nonzero(kernel[x[i] != 0])) for i in range(2)]
    assert entries[1] == layer.encoding.n_entries > macs[1]  # all columns: every entry, fillers included
    assert entries[0] >= macs[0] > 0
