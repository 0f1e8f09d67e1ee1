"""Cycle model sanity, memory and energy accounting, the per-PE load plot."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import FixedType
from flow.testing import Q16, dense_layer, random_layer
from flow.eie.perf import detect_cycles, energy, layer_cycles, layer_report, pe_memory, rtl_run_cycles
from flow.eie.knobs import KnobDeprecation
from flow.eie.plots import plot_pe_load



def _layer(kernel, n_pe, fifo_depth=8):
    return dense_layer("l", kernel, None, n_pe=n_pe, fifo_depth=fifo_depth,
                       activation="linear", weight_t=FixedType(8, 1))


def test_hand_schedules():
    # one PE, one entry per column, D = 8: column k broadcast at k, pushed at k + 1, popped at k + 2
    # (pointer pair read), walked at k + 3 (pair taken), its entry issued at k + 4 and out of the
    # C, D, E stages by k + 7; the loop sees everything idle at 4 + 3 + 5 = 12
    cyc = layer_cycles(_layer(np.full((5, 1), 0.5), 1))
    assert (cyc.cycles, cyc.ideal, cyc.entries) == (12, 5, 5)
    # two PEs, column 0 has 3 entries on PE0 (rows 0, 2, 4), nothing on PE1; column 1 one entry each
    k = np.zeros((2, 6))
    k[0, [0, 2, 4]] = 0.5
    k[1, [0, 1]] = 0.5
    cyc = layer_cycles(_layer(k, 2))
    # PE0: col 0 taken at 3, entries 4-6, col 1 taken at 6 (with the last entry), entry 7 -> 7 + 4
    assert cyc.cycles == 11 and list(cyc.pe_busy) == [4, 2] and list(cyc.pe_entries) == [4, 1]
    assert layer_cycles(_layer(k, 2), x_raw=[0, 7]).cycles == 8  # only column 1: taken at 3, entry at 4
    assert layer_cycles(_layer(k, 2), x_raw=[0, 0]).cycles == 1  # the iteration reading the end


def test_hand_schedules_every_nonzero_is_broadcast():
    # as in EIE and the RTL, every non-zero input is broadcast, also columns without weights:
    # 8 columns, entries only in 0 and 5; an empty column costs the PE one cycle of B
    k1 = np.zeros((8, 1))
    k1[[0, 5], 0] = 0.5
    cyc = layer_cycles(_layer(k1, 1))
    assert cyc.n_nonzero == 8 and cyc.cycles == 13  # column k taken at k + 3; column 5's entry at 9
    with pytest.warns(KnobDeprecation, match="broadcast=4 is deprecated and ignored"):
        assert layer_cycles(_layer(k1, 1), broadcast=4).cycles == 13  # one broadcast per cycle
    # depth D: the gate holds column k until column k - D is popped; D = 1: column k taken at
    # 3k + 3, column 5's entry leaves at 22, column 7 taken at 24
    assert layer_cycles(_layer(k1, 1, fifo_depth=1)).cycles == 25
    assert layer_cycles(_layer(k1, 1, fifo_depth=2)).cycles < layer_cycles(_layer(k1, 1, fifo_depth=1)).cycles


def test_rtl_run_cycles_is_the_rtl_model_and_the_hls_schedule_is_not():
    """rtl_run_cycles is flow.eie.perf_rtl (== Verilator); since the registered gate (one slot of
    slack per queue) and the emit stage, the HLS kernel's schedule is no longer the RTL's: with
    depth-1 queues and sparse input the RTL is faster than the HLS schedule + 2 it used to equal."""
    from flow.eie.perf_rtl import run_cycles

    rng = np.random.default_rng(7)
    layer = random_layer(rng, 256, 20, density=0.3, n_pe=4, fifo_depth=8)
    x = rng.integers(1, 50, layer.n_in)
    assert rtl_run_cycles(layer, x) == run_cycles(layer, x, False)[0]
    assert rtl_run_cycles(layer, np.zeros(256, np.int64)) == run_cycles(layer, np.zeros(256, np.int64), False)[0]


@settings(max_examples=40, deadline=None)
@given(
    n_in=st.integers(1, 80),
    n_out=st.integers(1, 80),
    density=st.floats(0, 1),
    n_pe=st.integers(1, 70),
    seed=st.integers(0, 2**31),
    x_density=st.floats(0, 1),
)
def test_efficiency_bounded_deeper_fifo_never_slower(n_in, n_out, density, n_pe, seed, x_density):
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, n_in, n_out, density=density, n_pe=n_pe)
    x = (rng.random(n_in) < x_density).astype(np.int64)
    cyc = {d: layer_cycles(layer, x, fifo_depth=d) for d in (1, 2, 3, 8)}
    for d, c in cyc.items():
        assert 0 <= c.efficiency <= 1
        assert c.cycles >= c.n_nonzero  # one broadcast per cycle
        assert c.cycles >= c.pe_busy.max(initial=0) >= c.pe_entries.max(initial=0)
        assert c.cycles >= c.ideal
    assert cyc[8].cycles <= cyc[3].cycles <= cyc[2].cycles <= cyc[1].cycles


@pytest.mark.parametrize("width", [1, 3, 4, 16, 64])
@pytest.mark.parametrize("n_in, n_out, n_pe, col_groups", [(784, 300, 64, 2), (100, 10, 8, 8), (5, 7, 3, 1)])
def test_overhead_cycles_detector_and_gather(width, n_in, n_out, n_pe, col_groups):
    rng = np.random.default_rng(n_in)
    layer = random_layer(
        rng, n_in, n_out, density=0.1, n_pe=n_pe, col_groups=col_groups, detect_width=width
    )
    n_local = -(-n_out // (n_pe // col_groups))
    assert layer.encoding.max_local_rows == n_local
    n_win = -(-n_in // width)
    zero = np.zeros(n_in, dtype=np.int64)
    assert layer_cycles(layer, zero).overhead_cycles == n_win + n_local  # one cycle per window
    # all non-zero: a window takes as many cycles as its fullest group has lanes
    lanes = max(-(-min(width, n_in) // col_groups), 1)
    assert layer_cycles(layer).overhead_cycles <= n_win * lanes + n_local
    assert layer_cycles(layer).overhead_cycles == detect_cycles(layer) + n_local
    assert layer_report(layer)["detect_width"] == width
    # the PE array's schedule does not depend on the scan width
    assert layer_cycles(layer).cycles == layer_cycles(layer.with_array(detect_width=4)).cycles


def test_detector_cycles_by_hand():
    layer = random_layer(np.random.default_rng(0), 8, 4, density=0.5, n_pe=2, col_groups=2, detect_width=4)
    # windows {0..3}, {4..7}; groups by parity. x: window 0 has 0, 2 (group 0) and 1 (group 1)
    x = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    assert detect_cycles(layer, x) == 2 + 1  # two cycles for group 0's two, one for the empty window
    duck = SimpleNamespace(name="duck", n_in=30, n_pe=2, fifo_depth=8, encoding=random_layer(
        np.random.default_rng(5), 30, 8, n_pe=2).encoding)  # no detect_width: 4
    assert detect_cycles(duck, np.zeros(30)) == 8


def test_memory_and_energy():
    layer = random_layer(np.random.default_rng(3), 100, 40, density=0.1, n_pe=4)
    mem = pe_memory(layer)
    cap = layer.pe_capacity
    assert mem.codes_bits == 4 * cap and mem.index_bits == 4 * cap
    assert mem.pointer_bits == 100 * 2 * cap.bit_length()  # one {end, start} word per column
    assert mem.accum_bits == 10 * layer.accum_t.width and mem.codebook_bits == 16 * 8
    e = energy(layer)
    assert e["eie_total_pj"] > 0 and e["ratio"] > 10  # a 10 %-dense layer on chip vs dense from DRAM
    rep = layer_report(layer)
    assert rep["load_efficiency"] <= 1 and rep["memory_total_bytes"] == 4 * mem.total_bytes


def test_pe_load_plot(tmp_path):
    layer = random_layer(np.random.default_rng(4), 60, 50, density=0.2, n_pe=8)
    out = plot_pe_load(layer_cycles(layer), tmp_path / "load.png")
    assert out.exists() and out.stat().st_size > 1000


