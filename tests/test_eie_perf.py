"""Cycle model sanity, memory and energy accounting, the per-PE load plot."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import EIELayer, FixedType
from flow.eie.layer import random_layer
from flow.eie.perf import energy, layer_cycles, layer_report, pe_memory
from flow.eie.plots import plot_pe_load

Q16 = FixedType(16, 6, True, "RND", "SAT")


def _layer(kernel, n_pe, fifo_depth=8):
    return EIELayer.from_dense(
        "l",
        kernel,
        None,
        n_pe=n_pe,
        fifo_depth=fifo_depth,
        code_bits=4,
        index_bits=4,
        activation="linear",
        input_t=Q16,
        weight_t=FixedType(8, 1),
        bias_t=Q16,
        output_t=Q16,
    )


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


@settings(max_examples=40, deadline=None)
@given(
    n_in=st.integers(1, 80),
    n_out=st.integers(1, 80),
    density=st.floats(0, 1),
    n_pe=st.integers(1, 70),
    seed=st.integers(0, 2**31),
    x_density=st.floats(0, 1),
)
def test_efficiency_bounded_and_deeper_fifo_never_slower(n_in, n_out, density, n_pe, seed, x_density):
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, n_in, n_out, density=density, n_pe=n_pe)
    x = (rng.random(n_in) < x_density).astype(np.int64)
    by_depth = {d: layer_cycles(layer, x, fifo_depth=d) for d in (1, 2, 8)}
    for cyc in by_depth.values():
        assert 0 <= cyc.efficiency <= 1
        assert cyc.cycles >= cyc.n_nonzero  # one broadcast per cycle
        assert cyc.cycles >= cyc.pe_busy.max(initial=0)
    assert by_depth[8].cycles <= by_depth[2].cycles <= by_depth[1].cycles


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
