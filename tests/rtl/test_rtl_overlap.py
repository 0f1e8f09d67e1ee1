"""OVERLAP (eie_control.sv, issue 21's lever 3): a layer's gather drains beside the next layer's
SETUP and RUN (1), or runs whole beside them with the PEs' accumulators in two banks (2); the next
layer's detectors take a window once the gather has written its lines. OVERLAP = 1 is the default
for Dense engines (TEST_ENGINE has it, so every test of test_rtl_sim.py runs it); here the
parameter's rules, the arrival schedule's numbers, and the RTL with OVERLAP = 0, 1 and 2 side by
side: all bit-exact and cycle-exact, and each step strictly faster where it hides a gather."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flow.errors import UsageError
from flow.eie.perf_rtl import GATHER_TAIL, gather_arrival, gather_cycles, rtl_network_cycles
from flow.rtl.params import TEST_ENGINE, EngineParams
from flow.testing import random_layer

from test_rtl_sim import _check, _small_net, networks

ENGINE0 = TEST_ENGINE.with_(OVERLAP=0)
ENGINE2 = TEST_ENGINE.with_(OVERLAP=2)


def _check_on(engine, layers, x):
    """test_rtl_sim's bit and cycle check on ``engine`` (its Verilator build is cached by parameters)."""
    from flow.rtl import verilator

    return _check(layers, x, verilator.build(engine), params=engine)


def test_overlap_is_on_for_dense_engines_and_off_with_the_lstm_lanes():
    assert EngineParams().OVERLAP == 1 and EngineParams().generics()["OVERLAP"] == 1
    assert EngineParams(LSTM=1).OVERLAP == 0 and "OVERLAP" not in EngineParams(LSTM=1).generics()
    assert TEST_ENGINE.with_(LSTM=1).OVERLAP == 0  # follows the lanes unless given
    assert ENGINE0.key() != TEST_ENGINE.key()
    with pytest.raises(UsageError, match="OVERLAP=1 needs LSTM=0"):
        EngineParams(LSTM=1, OVERLAP=1)
    with pytest.raises(UsageError, match="OVERLAP=2 needs LSTM=0"):
        EngineParams(LSTM=1, OVERLAP=2)
    with pytest.raises(UsageError, match="OVERLAP must be 0, 1 or 2"):
        EngineParams(OVERLAP=3)
    assert ENGINE2.generics()["OVERLAP"] == 2


def test_gather_arrival_counts_whole_lines_from_the_chunks_written():
    """60 outputs at P = 16, G = 4: R = E = 4, 15 chunks; line k is whole after chunk 4k + 3, seen
    in the next RUN from cycle (4k + 3) + 6 - 15; the partial line 3 only with the last chunk."""
    rng = np.random.default_rng(0)
    prev = random_layer(rng, 100, 60, density=0.2, n_pe=16, col_groups=4, name="a")
    arrival, all_at = gather_arrival(prev, TEST_ENGINE)
    np.testing.assert_array_equal(arrival, [-6, -2, 2])
    assert all_at == 5
    assert gather_cycles(prev, TEST_ENGINE) == 15 + GATHER_TAIL
    # OVERLAP = 2: the next RUN starts N = 15 cycles earlier, beside the issue itself
    arrival, all_at = gather_arrival(prev, ENGINE2)
    np.testing.assert_array_equal(arrival, [9, 13, 17])
    assert all_at == 20


def test_model_overlap_drops_the_drain_of_every_layer_but_the_last():
    layers, x = _small_net()
    per0, p0 = rtl_network_cycles(layers, x, ENGINE0)
    per1, p1 = rtl_network_cycles(layers, x, TEST_ENGINE)
    for a, b in zip(per0, per1):
        assert b[0].gather == a[0].gather - GATHER_TAIL and b[-1].gather == a[-1].gather
        assert b[0].run == a[0].run  # layer 0 is fed by the input port either way
        assert b[1].run >= a[1].run  # layer 1 may wait for the drain's lines
    assert (p1 <= p0).all() and (p1 < p0).any()


def _check_faster_than(slower, layers, x, engine_exe):
    """The network on TEST_ENGINE and on ``slower``: bits equal, each cycle-exact against its own
    schedule, and TEST_ENGINE faster on every input."""
    on = _check(layers, x, engine_exe, params=TEST_ENGINE)
    off = _check_on(slower, layers, x)
    np.testing.assert_array_equal(on["y"], off["y"])
    assert (on["period"] < off["period"]).all()


@pytest.mark.verilator
def test_rtl_with_and_without_overlap_equals_reference_and_model(engine_exe):
    """The same network on both engines: bits equal, each cycle-exact against its own schedule,
    and the overlapped one faster."""
    _check_faster_than(ENGINE0, *_small_net(), engine_exe)


@pytest.mark.verilator
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_rtl_without_overlap_still_equals_reference_and_model(net):
    """OVERLAP = 0 (the LSTM engines' schedule for their Dense layers) stays exact."""
    layers, x = net
    _check_on(ENGINE0, layers, x)


def _deep_net(seed=3):
    """A first layer with many gather chunks (300 outputs at R = E = 16: 19) before a layer whose
    first window arrives after four of them: OVERLAP = 2 starts that layer's RUN 19 cycles earlier."""
    rng = np.random.default_rng(seed)
    l1 = random_layer(rng, 300, 300, density=0.1, n_pe=64, col_groups=4, fifo_depth=8, name="a")
    l2 = random_layer(rng, 300, 60, density=0.3, n_pe=64, col_groups=4, fifo_depth=8,
                      input_t=l1.output_t, name="b")  # fmt: skip
    x = l1.input_t.quantize(np.where(rng.random((3, 300)) < 0.4, rng.normal(size=(3, 300)), 0))
    return [l1, l2], x


@pytest.mark.verilator
def test_rtl_with_the_whole_gather_overlapped_equals_reference_and_model(engine_exe):
    """OVERLAP = 2 against 1 on the same network: bits equal, each cycle-exact, and faster where the
    first layer's gather is long; layer 0 has no GATHER of its own."""
    layers, x = _deep_net()
    one = _check(layers, x, engine_exe, params=TEST_ENGINE)
    two = _check_on(ENGINE2, layers, x)
    np.testing.assert_array_equal(one["y"], two["y"])
    assert (two["period"] < one["period"]).all()
    per, _ = rtl_network_cycles(layers, x, ENGINE2)
    assert all(p[0].gather == 0 and p[-1].gather > 0 for p in per)


@pytest.mark.verilator
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_rtl_with_ping_pong_accumulators_equals_reference_and_model(net):
    layers, x = net
    _check_on(ENGINE2, layers, x)


@pytest.mark.slow
@pytest.mark.verilator
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks(st.integers(1, 64)))
def test_rtl_with_ping_pong_accumulators_equals_reference_and_model_many(net):
    layers, x = net
    _check_on(ENGINE2, layers, x)


@pytest.mark.verilator
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_rtl_with_ping_pong_and_walk2_equals_reference_and_model(net):
    """Both banks of WALK = 2 ping-pong too."""
    layers, x = net
    engine = ENGINE2.with_(WALK=2)
    _check_on(engine, layers, x)


#: OVERLAP = 2 with accumulators in LUT RAM (ACC_D x ACCW <= 1024 bits: eie_pe_acc's one memory with
#: two read ports), beside TEST_ENGINE's block-RAM accumulators (two RAMs)
ENGINE2_LUT = ENGINE2.with_(ACC_D=16, ACCW=40, BIAS_D=64)


@pytest.mark.verilator
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks(st.sampled_from([16, 32, 64])))
def test_rtl_with_ping_pong_accumulators_in_lut_ram_equals_reference_and_model(net):
    from flow.rtl.params import check_fit
    from hypothesis import assume

    layers, x = net
    try:
        check_fit(layers, ENGINE2_LUT)
    except UsageError:
        assume(False)
    _check_on(ENGINE2_LUT, layers, x)
