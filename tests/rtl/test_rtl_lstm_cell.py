"""The RTL LSTM element-wise unit (kernels/rtl/eie_lstm_cell.sv) in Verilator against
flow.eie.elementwise, bit for bit, and its latency against flow.eie.perf_lstm's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flow.eie.elementwise import ElementwiseUnit
from flow.eie.perf_lstm import EW_LATENCY
from flow.errors import UsageError
from flow.fixed import FixedType
from flow.rtl.lstm_cell import build_cell, cell_generics, run_units

pytestmark = pytest.mark.verilator

UNIT = ElementwiseUnit.build(FixedType(16, 6, True, "RND", "SAT"), FixedType(16, 5, True, "RND", "SAT"),
                             FixedType(16, 4, True, "RND", "SAT"))


@pytest.fixture(scope="module")
def cell_exe():
    return build_cell(UNIT)


def _check(unit, gates, c, exe, gap=0):
    h_rtl, c_rtl, lat = run_units(unit, gates, c, exe=exe, gap=gap)
    h_ref, c_ref = unit.step(np.asarray(gates).T[None], np.asarray(c)[None])
    bad = np.flatnonzero((h_rtl != h_ref[0]) | (c_rtl != c_ref[0]))
    assert bad.size == 0, (f"unit {bad[0]}: gates {gates[bad[0]]} c {c[bad[0]]}: rtl h {h_rtl[bad[0]]} "
                           f"c {c_rtl[bad[0]]}, reference h {h_ref[0, bad[0]]} c {c_ref[0, bad[0]]}")
    return lat


def test_every_16bit_gate_and_cell_value(cell_exe):
    """Every 16-bit value through each gate's sigmoid / tanh and as the cell state (65536 units,
    the other gates random): h' and c' equal the reference's, the latency is the model's."""
    rng = np.random.default_rng(0)
    v = np.arange(-(1 << 15), 1 << 15, dtype=np.int64)
    gates = rng.integers(-(1 << 15), 1 << 15, size=(v.size, 4))
    gates[np.arange(v.size), rng.integers(0, 4, v.size)] = 0  # one gate of each unit at 0 (sigmoid 1/2)
    for k in range(4):
        gates[k::4, k] = v[k::4]  # each value once in each gate position across the four passes
    c = rng.permutation(v)
    lat = _check(UNIT, gates, c, cell_exe)
    g2 = np.stack([v, v, v, v], 1)  # each value in all four gates at once
    lat2 = _check(UNIT, g2, v[::-1].copy(), cell_exe)
    assert set(lat) == set(lat2) == {EW_LATENCY}


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), gap=st.integers(0, 3))
def test_random_streams_with_gaps(cell_exe, seed, gap):
    """Random units with idle cycles between them: the same bits and latency."""
    rng = np.random.default_rng(seed)
    n = 300
    gates = rng.integers(-(1 << 15), 1 << 15, size=(n, 4))
    small = rng.random((n, 4)) < 0.5  # values near the tables' range, where the segments matter
    gates[small] = rng.integers(-(1 << 11), 1 << 11, size=small.sum())
    c = rng.integers(-(1 << 15), 1 << 15, size=n)
    assert set(_check(UNIT, gates, c, cell_exe, gap=gap)) == {EW_LATENCY}


@pytest.mark.parametrize("gate_t,cell_t,h_t", [
    (FixedType(12, 4, True, "TRN", "WRAP"), FixedType(10, 3, True, "TRN", "WRAP"), FixedType(8, 2, True, "RND", "WRAP")),
    (FixedType(20, 8, True, "RND", "SAT"), FixedType(18, 2, True, "RND", "SAT"), FixedType(16, 1, True, "TRN", "SAT")),
])  # fmt: skip
def test_other_types(gate_t, cell_t, h_t):
    """Other widths, fractions, rounding and overflow modes (a build each): bit-exact."""
    unit = ElementwiseUnit.build(gate_t, cell_t, h_t)
    rng = np.random.default_rng(1)
    n = 4000
    gates = rng.integers(gate_t.min_raw, gate_t.max_raw + 1, size=(n, 4))
    c = rng.integers(cell_t.min_raw, cell_t.max_raw + 1, size=n)
    _check(unit, gates, c, build_cell(unit))


def test_unsupported_types_are_refused():
    unit = ElementwiseUnit.build(FixedType(16, 6, True, "RND_CONV", "SAT"), FixedType(16, 5, True, "RND_CONV", "SAT"),
                                 FixedType(16, 4, True, "RND", "SAT"))
    with pytest.raises(UsageError, match="cell_t"):
        cell_generics(unit)


@pytest.mark.parametrize("gen", [cell_generics(UNIT), {"GW": 12, "GF": 5, "CLW": 10, "CLF": 5, "C_SAT": 0, "H_RND": 0}])
def test_lint_clean(gen):
    """verilator --lint-only -Wall: no warning in the element-wise unit."""
    from flow.rtl import tools
    from flow.rtl.lstm_cell import CELL_SOURCES
    from flow.rtl.verilator import RTL_DIR, _run

    tool = tools.require("verilator")
    _run(tool.cmd("--lint-only", "-Wall", "--top-module", "eie_lstm_cell", *(f"-G{k}={v}" for k, v in gen.items()),
                  *(str(RTL_DIR / s) for s in CELL_SOURCES)), what="lint of eie_lstm_cell", env=tool.env)
