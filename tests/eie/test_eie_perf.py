"""Cycle model sanity, memory and energy accounting, the per-PE load plot."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import FixedType
from flow.testing import Q16, dense_layer, random_layer
from flow.eie.perf import energy, layer_cycles, layer_report, pe_memory
from flow.eie.plots import plot_pe_load



def _layer(kernel, n_pe, fifo_depth=8, broadcast=1):
    return dense_layer("l", kernel, None, n_pe=n_pe, fifo_depth=fifo_depth, broadcast=broadcast,
                       activation="linear", weight_t=FixedType(8, 1))


def test_hand_schedules():
    # one PE, one entry per column: broadcast k in cycle k, popped (and MACed) in k + 1
    cyc = layer_cycles(_layer(np.full((5, 1), 0.5), 1))
    assert (cyc.cycles, cyc.ideal, cyc.entries) == (6, 5, 5)
    # two PEs, column 0 has 3 entries on PE0 (rows 0, 2, 4), nothing on PE1; column 1 one entry each
    k = np.zeros((2, 6))
    k[0, [0, 2, 4]] = 0.5
    k[1, [0, 1]] = 0.5
    cyc = layer_cycles(_layer(k, 2))
    # PE0: col0 in cycles 1-3, col1 in 4; PE1: col0 (empty) 1, col1 2  -> 5 cycles
    assert cyc.cycles == 5 and list(cyc.pe_busy) == [4, 2] and list(cyc.pe_entries) == [4, 1]
    assert layer_cycles(_layer(k, 2), x_raw=[0, 7]).cycles == 2  # only column 1 is broadcast
    assert layer_cycles(_layer(k, 2), x_raw=[0, 0]).cycles == 0


def test_hand_schedules_broadcast():
    # columns empty on every PE are never broadcast: 8 columns, entries only in 0 and 5
    k1 = np.zeros((8, 1))
    k1[[0, 5], 0] = 0.5
    assert layer_cycles(_layer(k1, 1, broadcast=1)).cycles == 3  # push 0; pop 0, push 5; pop 5
    assert layer_cycles(_layer(k1, 1, broadcast=1)).n_nonzero == 2
    # two PEs: row 0 (PE0) has entries in columns 0 and 5, row 1 (PE1) in 1-4, 6, 7
    k = np.zeros((8, 2))
    k[[0, 5], 0] = 0.5
    k[[1, 2, 3, 4, 6, 7], 1] = 0.5
    assert layer_cycles(_layer(k, 2, broadcast=1)).cycles == 9  # every column its own cycle
    # B=4: cycle 0 pushes 0-3; 1 pushes 4-7, PE0 pops 0 (MAC), PE1 pops 0, 1 (MAC 1);
    # 2: PE0 pops 1-4 (empty), PE1 MACs 2; 3: PE0 pops 5 (MAC), PE1 MACs 3; 4: PE0 pops 6, 7 (empty),
    # PE1 MACs 4; 5: PE1 pops 5, 6 (MAC 6); 6: PE1 MACs 7
    cyc = layer_cycles(_layer(k, 2, broadcast=4))
    assert (cyc.cycles, cyc.broadcast, list(cyc.pe_busy), list(cyc.pe_entries)) == (7, 4, [4, 6], [2, 6])
    # depth 2: a slot freed by a pop in cycle t is seen by the detector in t + 1 and its new value
    # popped in t + 2, so depth D sustains D / 2 broadcasts per cycle: here 1, as with B=1
    assert layer_cycles(_layer(k, 2, fifo_depth=2, broadcast=4)).cycles == 9
    assert layer_cycles(_layer(k, 2, broadcast=1), broadcast=4).cycles == 7  # what-if override
    # a long column keeps its PE busy while the other PE skips ahead: column 0 has rows 0, 2, 4
    # (PE0), columns 1 and 2 are empty, column 3 has rows 0 (PE0) and 1 (PE1)
    k2 = np.zeros((4, 6))
    k2[0, [0, 2, 4]] = k2[3, [0, 1]] = 0.5
    # columns 1 and 2 are empty everywhere: never broadcast
    # B=4: PE0 pops col 0 in cycle 1 (MACs 1-3), col 3 in 4 (MAC 4); PE1 pops cols 0, 3 in 1 (MAC 1)
    cyc = layer_cycles(_layer(k2, 2, broadcast=4))
    assert (cyc.cycles, list(cyc.pe_busy), list(cyc.pe_entries), cyc.ideal) == (5, [4, 1], [4, 1], 3)
    # B=1: PE1 pops col 0 (empty) in 1 and col 3 in 2; PE0 as with B=4
    cyc = layer_cycles(_layer(k2, 2, broadcast=1))
    assert (cyc.cycles, list(cyc.pe_busy)) == (5, [4, 2])


@settings(max_examples=40, deadline=None)
@given(
    n_in=st.integers(1, 80),
    n_out=st.integers(1, 80),
    density=st.floats(0, 1),
    n_pe=st.integers(1, 70),
    seed=st.integers(0, 2**31),
    x_density=st.floats(0, 1),
)
def test_efficiency_bounded_deeper_fifo_and_wider_broadcast_never_slower(
    n_in, n_out, density, n_pe, seed, x_density
):
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, n_in, n_out, density=density, n_pe=n_pe)
    x = (rng.random(n_in) < x_density).astype(np.int64)
    cyc = {(d, b): layer_cycles(layer, x, fifo_depth=d, broadcast=b) for d in (1, 2, 8) for b in (1, 2, 4, 8)}
    for (d, b), c in cyc.items():
        assert 0 <= c.efficiency <= 1
        assert c.cycles >= -(-c.n_nonzero // min(b, d))  # at most min(B, D) broadcasts per cycle
        assert c.cycles >= c.pe_busy.max(initial=0) >= c.pe_entries.max(initial=0)
        assert c.cycles >= c.ideal
    for b in (1, 2, 4, 8):
        assert cyc[8, b].cycles <= cyc[2, b].cycles <= cyc[1, b].cycles
    for d in (1, 2, 8):
        assert cyc[d, 8].cycles <= cyc[d, 4].cycles <= cyc[d, 2].cycles <= cyc[d, 1].cycles


@pytest.mark.parametrize("width", [1, 3, 4, 16, 64])
@pytest.mark.parametrize("n_in, n_out, n_pe, col_groups", [(784, 300, 64, 2), (100, 10, 8, 8), (5, 7, 3, 1)])
def test_overhead_cycles_detector_scan(width, n_in, n_out, n_pe, col_groups):
    rng = np.random.default_rng(n_in)
    layer = random_layer(
        rng, n_in, n_out, density=0.1, n_pe=n_pe, col_groups=col_groups, detect_width=width
    )
    n_local = -(-n_out // (n_pe // col_groups))
    assert layer.encoding.max_local_rows == n_local
    expected = -(-n_in // width) + 2 * n_local  # scan + bias preload + gather
    for x in (None, np.zeros(n_in, dtype=np.int64)):  # the same for any input
        assert layer_cycles(layer, x).overhead_cycles == expected
    assert layer_report(layer)["overhead_cycles"] == expected
    assert layer_report(layer)["detect_width"] == width
    # the PE array's schedule does not depend on the scan width
    assert layer_cycles(layer).cycles == layer_cycles(layer.with_array(detect_width=4)).cycles


def test_overhead_cycles_lenet_300_100_first_layer_by_hand():
    """784 inputs on 64 PEs in 2 column groups (32 rows each): 300 rows -> 10 per PE."""
    layer = random_layer(np.random.default_rng(0), 784, 300, density=0.05, n_pe=64, col_groups=2)
    assert layer_cycles(layer).overhead_cycles == 196 + 20  # ceil(784 / 4) + 2 * 10
    assert layer_cycles(layer.with_array(detect_width=64)).overhead_cycles == 13 + 20  # ceil(784 / 64)
    assert layer_cycles(layer.with_array(detect_width=1)).overhead_cycles == 784 + 20


def test_overhead_cycles_duck_typed_layer_defaults_to_width_4():
    layer = random_layer(np.random.default_rng(5), 30, 8, n_pe=2)
    duck = SimpleNamespace(
        name="duck", n_in=30, n_pe=2, fifo_depth=8, broadcast=4, encoding=layer.encoding
    )  # no detect_width attribute
    assert layer_cycles(duck).overhead_cycles == 8 + 2 * layer.encoding.max_local_rows


def test_memory_and_energy():
    layer = random_layer(np.random.default_rng(3), 100, 40, density=0.1, n_pe=4)
    mem = pe_memory(layer)
    cap = layer.pe_capacity
    assert mem.codes_bits == 4 * cap and mem.index_bits == 4 * cap
    assert mem.pointer_bits == 101 * cap.bit_length()
    assert mem.accum_bits == 10 * layer.accum_t.width and mem.codebook_bits == 16 * 8
    e = energy(layer)
    assert e["eie_total_pj"] > 0 and e["ratio"] > 10  # a 10 %-dense layer on chip vs dense from DRAM
    rep = layer_report(layer)
    assert rep["load_efficiency"] <= 1 and rep["memory_total_bytes"] == 4 * mem.total_bytes


def test_pe_load_plot(tmp_path):
    layer = random_layer(np.random.default_rng(4), 60, 50, density=0.2, n_pe=8)
    out = plot_pe_load(layer_cycles(layer), tmp_path / "load.png")
    assert out.exists() and out.stat().st_size > 1000
