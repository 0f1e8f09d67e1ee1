"""Two of issue 21's cycle levers in the RTL (session 11), each against the cycle model:

- SKIP (engine parameter, 1 by default): each PE reads a bit per column, whether it has entries
  there (derived from the pointer pair the loader writes), with the column of its group's emit
  register, and its queue takes only those columns; with SKIP = 0 every broadcast column enters
  every queue of the group and an empty one costs stage B a cycle.
- Partial windows (always): a detector scans the lines of its window of 64 that have arrived (the
  input port's, or an overlapped gather's) instead of waiting for all four.

Every network is bit-exact against flow.eie.reference and cycle-exact against flow.eie.perf_rtl."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from flow.eie.perf_rtl import rtl_network_cycles, run_cycles
from flow.errors import UsageError
from flow.rtl.images import Images
from flow.rtl.params import TEST_ENGINE, EngineParams
from flow.testing import random_layer

from test_rtl_overlap import _check_faster_than, _check_on
from test_rtl_sim import networks

NOSKIP = TEST_ENGINE.with_(SKIP=0)


def _sparse_net(seed=5):
    """Sparse weights over many rows per PE-group (R = 16): most broadcast columns are empty in
    most PEs, where SKIP pays."""
    rng = np.random.default_rng(seed)
    l1 = random_layer(rng, 200, 120, density=0.03, n_pe=16, col_groups=1, fifo_depth=4, name="a")
    l2 = random_layer(rng, 120, 30, density=0.1, n_pe=16, col_groups=1, fifo_depth=4,
                      input_t=l1.output_t, name="b")  # fmt: skip
    x = l1.input_t.quantize(np.where(rng.random((4, 200)) < 0.5, rng.normal(size=(4, 200)), 0))
    return [l1, l2], x


def test_skip_is_on_by_default_and_only_zero_is_a_generic():
    assert EngineParams().SKIP == 1 and "SKIP" not in EngineParams().generics()
    assert NOSKIP.generics()["SKIP"] == 0 and NOSKIP.key() != TEST_ENGINE.key()
    with pytest.raises(UsageError, match="SKIP must be 0 or 1"):
        EngineParams(SKIP=2)


def test_nonempty_bits_are_the_pointer_pairs_with_entries():
    layers, _ = _sparse_net()
    img = Images(layers, TEST_ENGINE)
    eb = TEST_ENGINE.ptr_bits
    for ptr, nzc, pe in zip(img.ptr, img.nzc, layers[0].encoding.pes):
        n = layers[0].encoding.n_cols
        np.testing.assert_array_equal(nzc[:n], (np.diff(pe.colptr) > 0).astype(np.uint64))
        np.testing.assert_array_equal(nzc, ((ptr >> np.uint64(eb)) != (ptr & np.uint64((1 << eb) - 1))))


def test_model_skip_never_slower_here_and_faster_on_sparse_columns():
    layers, x = _sparse_net()
    per1, p1 = rtl_network_cycles(layers, x, TEST_ENGINE)
    per0, p0 = rtl_network_cycles(layers, x, NOSKIP)
    assert (p1 < p0).all()
    for a, b in zip(per0, per1):  # the same work, fewer cycles
        for la, lb in zip(a, b):
            np.testing.assert_array_equal(la.pe_entries, lb.pe_entries)
            assert lb.run < la.run


def test_model_partial_windows_start_layer_0_before_its_first_window_is_whole():
    """One non-zero input, in column 192 (line 12, the first of the last window), ten entries in
    each PE: with partial windows it is broadcast once line 12 arrived; before, once lines 12-15
    had, so the walk ends three cycles later."""
    rng = np.random.default_rng(0)
    layer = random_layer(rng, 256, 160, density=1.0, n_pe=16, col_groups=1, fifo_depth=4, name="a")
    x = np.zeros(256, np.int64)
    x[192] = 1
    now = run_cycles(layer, x, True)[0]
    before = run_cycles(layer, x, True, partial=False)[0]
    assert now == before - 3


@pytest.mark.verilator
def test_rtl_with_and_without_skip_equals_reference_and_model(engine_exe):
    _check_faster_than(NOSKIP, *_sparse_net(), engine_exe)


@pytest.mark.verilator
def test_rtl_load_port_writes_the_nonempty_bits(engine_exe):
    """The loader writes only pointer pairs: the PE derives the bits (no $readmemh image of them)."""
    from flow.rtl.run import simulate_layers
    from flow.eie.reference import eie_network

    layers, x = _sparse_net(seed=6)
    res = simulate_layers(layers, x, TEST_ENGINE, exe=engine_exe, load_port=True)
    np.testing.assert_array_equal(res["y"], eie_network(x, layers))
    per, period = rtl_network_cycles(layers, x, TEST_ENGINE)
    np.testing.assert_array_equal(res["period"], period)


@pytest.mark.verilator
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_rtl_without_skip_equals_reference_and_model(net):
    layers, x = net
    _check_on(NOSKIP, layers, x)
