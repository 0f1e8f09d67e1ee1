"""The LSTM element-wise unit: PWL sigmoid/tanh within their stated bound, the cell update."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie.elementwise import ACT_T, DEFAULT_SIGMOID, DEFAULT_TANH, ElementwiseUnit, PWLSpec, PWLTable
from flow.errors import UsageError
from flow.fixed import FixedType

GATE_T = FixedType(16, 6, True, "RND", "SAT")
CELL_T = FixedType(16, 5, True, "RND", "SAT")


@pytest.mark.parametrize("spec,documented", [(DEFAULT_SIGMOID, 1.09e-4), (DEFAULT_TANH, 1.56e-4)])
@pytest.mark.parametrize("in_t", [GATE_T, CELL_T, FixedType(16, 2, True, "RND", "SAT")])
def test_default_tables_within_bound_on_every_16bit_input(spec, documented, in_t):
    table = PWLTable.build(spec)
    assert table.error_bound() <= documented  # the figure the module docstring states
    raw = np.arange(in_t.min_raw, in_t.max_raw + 1)
    err = np.abs(ACT_T.to_float(table(raw, in_t)) - table.exact(in_t.to_float(raw)))
    assert err.max() <= table.error_bound()
    assert err.max() > table.error_bound() / 2  # the bound is not loose by more than 2x


@settings(max_examples=60, deadline=None)
@given(
    fn=st.sampled_from(["sigmoid", "tanh"]),
    range_log2=st.integers(0, 5),
    seg_log2=st.integers(0, 6),
    out_width=st.integers(6, 20),
    out_int=st.integers(1, 3),
    in_width=st.integers(8, 24),
    extra_frac=st.integers(0, 8),
    seed=st.integers(0, 2**31),
)
def test_pwl_bound_holds_for_random_tables(fn, range_log2, seg_log2, out_width, out_int, in_width, extra_frac, seed):
    out_t = FixedType(out_width, out_int, True, "RND", "SAT")
    frac = seg_log2 + extra_frac
    in_t = FixedType(in_width, in_width - frac, True, "RND", "SAT")
    table = PWLTable.build(PWLSpec(fn, range_log2, seg_log2), out_t)
    rng = np.random.default_rng(seed)
    raw = np.concatenate([rng.integers(in_t.min_raw, in_t.max_raw + 1, 3000), [in_t.min_raw, in_t.max_raw, 0, -1, 1]])
    y = table(raw, in_t)
    assert out_t.representable(y)
    err = np.abs(out_t.to_float(y) - table.exact(in_t.to_float(raw)))
    assert err.max() <= table.error_bound() + 1e-12
    order = np.argsort(raw)  # both functions increase; so does their table
    assert np.all(np.diff(y[order]) >= 0)


def test_table_needs_enough_fraction_bits():
    table = PWLTable.build(DEFAULT_TANH)  # 2**-5 segments
    with pytest.raises(UsageError, match="fractional bits"):
        table(np.array([1]), FixedType(16, 12))
    with pytest.raises(UsageError, match="cell_t"):
        ElementwiseUnit.build(GATE_T, FixedType(16, 13), GATE_T).check()


def test_bad_spec_refused():
    with pytest.raises(UsageError, match="function"):
        PWLSpec("relu", 3, 3)
    with pytest.raises(UsageError, match="entries"):
        PWLSpec("tanh", 8, 10)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 40))
def test_cell_update_matches_float_within_bound(seed, n):
    """c' and h' against float math on the unit's own sigmoid/tanh outputs: only the casts differ."""
    h_t = FixedType(16, 2, True, "RND", "SAT")
    unit = ElementwiseUnit.build(GATE_T, CELL_T, h_t)
    rng = np.random.default_rng(seed)
    gates = rng.integers(GATE_T.min_raw, GATE_T.max_raw + 1, (3, 4, n))
    c = rng.integers(CELL_T.min_raw // 4, CELL_T.max_raw // 4, (3, n))
    h, c2 = unit.step(gates, c)
    a = lambda table, x, t: ACT_T.to_float(table(x, t))  # noqa: E731
    i, f, g, o = (a(unit.sigmoid if k != 2 else unit.tanh, gates[:, k], GATE_T) for k in range(4))
    cf = np.clip(f * CELL_T.to_float(c) + i * g, CELL_T.to_float(CELL_T.min_raw), CELL_T.to_float(CELL_T.max_raw))
    assert np.all(np.abs(CELL_T.to_float(c2) - cf) <= CELL_T.lsb / 2)
    hf = o * a(unit.tanh, c2, CELL_T)
    assert np.all(np.abs(h_t.to_float(h) - hf) <= h_t.lsb / 2)
    assert h_t.representable(h) and CELL_T.representable(c2)
