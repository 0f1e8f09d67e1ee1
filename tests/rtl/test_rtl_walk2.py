"""WALK = 2 (two entries per PE per cycle, eie_pe.sv): the RTL against flow.eie.reference (bits)
and flow.eie.perf_rtl with walk = 2 (cycles), on random networks and on columns built to hit the
banked datapath's cases: empty, odd and even columns, fillers (zero runs longer than the index
range), the same row in both slots' forwards cycle after cycle, all-zero input, saturation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flow.eie.layer import EIELayer
from flow.eie.perf_rtl import rtl_network_cycles, run_cycles
from flow.eie.reference import eie_network
from flow.fixed import FixedType
from flow.testing import W8
from flow.rtl.params import TEST_ENGINE
from flow.rtl.run import simulate_layers

from test_rtl_sim import _check as check_sim  # bits against the reference, cycles against the model
from test_rtl_sim import _small_net, networks  # the strategies of the WALK = 1 tests

pytestmark = pytest.mark.verilator

ENGINE2 = TEST_ENGINE.with_(WALK=2)


@pytest.fixture(scope="module")
def exe2():
    from flow.rtl import verilator

    return verilator.build(ENGINE2)


def _check(layers, x, exe, load_port=False):
    return check_sim(layers, x, exe, params=ENGINE2, load_port=load_port)


def test_walk_is_a_generic_only_when_two():
    assert "WALK" not in TEST_ENGINE.generics()
    assert ENGINE2.generics()["WALK"] == 2
    assert ENGINE2.key() != TEST_ENGINE.key()


def test_model_walk2_halves_a_long_column():
    """The model's walk: a column of n entries takes ceil(n / 2) cycles (one PE, one column)."""
    k = np.zeros((1, 40))
    k[0, ::2] = 0.5  # 20 entries in the only column
    layer = _layer(k, fifo_depth=1, code_bits=2, index_bits=4)
    r1 = run_cycles(layer, np.array([1]), False, walk=1)[0]
    r2 = run_cycles(layer, np.array([1]), False, walk=2)[0]
    assert r1 - r2 == 10


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_walk2_equals_reference_and_cycle_model(net, exe2):
    layers, x = net
    _check(layers, x, exe2)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks(st.integers(1, 64)))
def test_walk2_equals_reference_and_cycle_model_many(net, exe2):
    layers, x = net
    _check(layers, x, exe2)


def _layer(kernel, *, n_pe=1, col_groups=1, index_bits=3, code_bits=3, fifo_depth=4, out_t=None,
           in_t=None, name="w", seed=0, activation="linear"):
    rng = np.random.default_rng(seed)
    in_t = in_t or FixedType(16, 6, True, "RND", "SAT")
    return EIELayer.from_dense(
        name, kernel, rng.normal(scale=0.5, size=kernel.shape[1]), n_pe=n_pe, col_groups=col_groups,
        fifo_depth=fifo_depth, code_bits=code_bits, index_bits=index_bits, activation=activation,
        input_t=in_t, weight_t=W8, output_t=out_t or in_t, bias_t=FixedType(16, 8, True, "RND", "SAT"))  # fmt: skip


def _columns(rng, n_in, n_out, lengths, values):
    """A kernel whose column (input) j has lengths[j] non-zeros at random distinct rows."""
    k = np.zeros((n_in, n_out))
    for j, n in enumerate(lengths):
        rows = rng.choice(n_out, size=min(n, n_out), replace=False)
        k[j, rows] = rng.choice(values, size=rows.size)
    return k


@pytest.mark.parametrize("n_pe", [1, 3, 4])
def test_walk2_empty_odd_even_columns_and_fillers(exe2, n_pe):
    """Column lengths 0..5 in turn (empty, odd: the last cycle has one entry, even), rows spread
    over 60 with 2 index bits: zero runs > 3 need filler entries (code 0), which may sit in
    either slot; inputs random, all non-zero and all zero."""
    rng = np.random.default_rng(11 + n_pe)
    values = rng.uniform(-1, 1, size=7)
    n_in, n_out = 90, 60 * n_pe
    k = _columns(rng, n_in, n_out, [j % 6 * n_pe for j in range(n_in)], values)
    l1 = _layer(k, n_pe=n_pe, index_bits=2, name="a")
    l2 = _layer(_columns(rng, n_out, 17, rng.integers(0, 9, size=n_out), values), n_pe=n_pe, index_bits=3,
                name="b", in_t=l1.output_t)
    t = l1.input_t
    x = np.stack([
        rng.integers(t.min_raw, t.max_raw + 1, size=n_in),
        np.where(rng.random(n_in) < 0.3, rng.integers(t.min_raw, t.max_raw + 1, size=n_in), 0),
        np.zeros(n_in, np.int64),
    ]).astype(np.int64)
    x[0][x[0] == 0] = 1
    assert any(e.rel_index.size and (e.codes == 0).any() for e in l1.encoding.pes), "no fillers"
    res = _check([l1, l2], x, exe2)
    assert np.count_nonzero(res["y"][:2]) > 0


def test_walk2_forwards_of_both_banks_every_cycle(exe2):
    """Every column has entries at rows 0 and 5 (one PE): slot 0 adds to row 0 of bank A and slot
    1 to row 5 of bank B in every cycle, so each bank reads the row it wrote the cycle before
    (both forwards); then columns of three at rows 1, 2, 3 (slot 0 rows 1 and 3, slot 1 row 2),
    and queue depth 1."""
    n_in = 64
    k = np.zeros((n_in + 30, 8))
    k[:n_in, 0] = 0.75
    k[:n_in, 5] = -0.5
    k[n_in:, 1:4] = 0.25
    layer = _layer(k, fifo_depth=1, code_bits=2)
    t = layer.input_t
    x = np.full((2, n_in + 30), t.max_raw // 3, np.int64)
    x[1, ::2] = t.min_raw // 3
    _check([layer], x, exe2)


def test_walk2_saturation_and_extremes(exe2):
    """Full-scale weights and inputs into a narrow saturating output, dense: the wide sums of both
    banks must add up exactly before the requantisation saturates."""
    rng = np.random.default_rng(3)
    n_in, n_out = 200, 48
    in_t = FixedType(16, 4, True, "RND", "SAT")
    out_t = FixedType(6, 2, True, "TRN", "SAT")
    k = np.where(rng.random((n_in, n_out)) < 0.8, rng.choice([-1.0, 1.0, 0.99], size=(n_in, n_out)), 0)
    layer = _layer(k, n_pe=4, col_groups=2, index_bits=4, code_bits=2, out_t=out_t, in_t=in_t)
    x = rng.choice([in_t.min_raw, in_t.max_raw], size=(2, n_in)).astype(np.int64)
    res = _check([layer], x, exe2)
    assert (np.abs(res["y"]) == max(-out_t.min_raw, out_t.max_raw)).any() or (res["y"] == out_t.min_raw).any()


def test_walk2_load_port_equals_readmemh(exe2):
    """The load port's entry writes split into the two banks as the $readmemh image does."""

    layers, x = _small_net()
    a = _check(layers, x, exe2)
    b = _check(layers, x, exe2, load_port=True)
    np.testing.assert_array_equal(a["y"], b["y"])
    np.testing.assert_array_equal(a["period"], b["period"])
