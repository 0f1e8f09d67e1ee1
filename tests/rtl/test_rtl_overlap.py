"""OVERLAP (eie_control.sv, issue 21's lever 3): a layer's gather drains beside the next layer's
SETUP and RUN, whose detectors take a window once the gather has written its lines. The default
for Dense engines (TEST_ENGINE has it, so every test of test_rtl_sim.py runs it); here the
parameter's rules, the arrival schedule's numbers, and the RTL with OVERLAP = 0 and 1 side by
side: both bit-exact and cycle-exact, and the overlap strictly faster where a drain is hidden."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from flow.errors import UsageError
from flow.eie.perf_rtl import GATHER_TAIL, gather_arrival, gather_cycles, rtl_network_cycles
from flow.rtl.params import TEST_ENGINE, EngineParams
from flow.testing import random_layer

from test_rtl_sim import _check, _small_net, networks

ENGINE0 = TEST_ENGINE.with_(OVERLAP=0)


def test_overlap_is_on_for_dense_engines_and_off_with_the_lstm_lanes():
    assert EngineParams().OVERLAP == 1 and EngineParams().generics()["OVERLAP"] == 1
    assert EngineParams(LSTM=1).OVERLAP == 0 and "OVERLAP" not in EngineParams(LSTM=1).generics()
    assert TEST_ENGINE.with_(LSTM=1).OVERLAP == 0  # follows the lanes unless given
    assert ENGINE0.key() != TEST_ENGINE.key()
    with pytest.raises(UsageError, match="OVERLAP=1 needs LSTM=0"):
        EngineParams(LSTM=1, OVERLAP=1)
    with pytest.raises(UsageError, match="OVERLAP must be 0 or 1"):
        EngineParams(OVERLAP=2)


def test_gather_arrival_counts_whole_lines_from_the_chunks_written():
    """60 outputs at P = 16, G = 4: R = E = 4, 15 chunks; line k is whole after chunk 4k + 3, seen
    in the next RUN from cycle (4k + 3) + 6 - 15; the partial line 3 only with the last chunk."""
    rng = np.random.default_rng(0)
    prev = random_layer(rng, 100, 60, density=0.2, n_pe=16, col_groups=4, name="a")
    arrival, all_at = gather_arrival(prev, TEST_ENGINE)
    np.testing.assert_array_equal(arrival, [-6, -2, 2])
    assert all_at == 5
    assert gather_cycles(prev, TEST_ENGINE) == 15 + GATHER_TAIL


def test_model_overlap_drops_the_drain_of_every_layer_but_the_last():
    layers, x = _small_net()
    per0, p0 = rtl_network_cycles(layers, x, ENGINE0)
    per1, p1 = rtl_network_cycles(layers, x, TEST_ENGINE)
    for a, b in zip(per0, per1):
        assert b[0].gather == a[0].gather - GATHER_TAIL and b[-1].gather == a[-1].gather
        assert b[0].run == a[0].run  # layer 0 is fed by the input port either way
        assert b[1].run >= a[1].run  # layer 1 may wait for the drain's lines
    assert (p1 <= p0).all() and (p1 < p0).any()


@pytest.mark.verilator
def test_rtl_with_and_without_overlap_equals_reference_and_model(engine_exe):
    """The same network on both engines: bits equal, each cycle-exact against its own schedule,
    and the overlapped one faster."""
    from flow.rtl import verilator

    layers, x = _small_net()
    on = _check(layers, x, engine_exe, params=TEST_ENGINE)
    off = _check(layers, x, verilator.build(ENGINE0), params=ENGINE0)
    np.testing.assert_array_equal(on["y"], off["y"])
    assert (on["period"] < off["period"]).all()


@pytest.mark.verilator
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_rtl_without_overlap_still_equals_reference_and_model(net):
    """OVERLAP = 0 (the LSTM engines' schedule for their Dense layers) stays exact."""
    from flow.rtl import verilator

    layers, x = net
    _check(layers, x, verilator.build(ENGINE0), params=ENGINE0)
