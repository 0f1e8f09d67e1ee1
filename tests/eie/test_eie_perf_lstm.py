"""The LSTM cycle model: the RTL schedule per step, the recurrence's inputs, load efficiency."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import perf
from flow.eie.lstm import lstm_sequence
from flow.eie.perf_lstm import EW_LATENCY, default_ol, elementwise_cycles, sequence_cycles, step_cycles
from flow.eie.perf_rtl import LINE, gather_cycles
from flow.eie.lstm import LSTMTypes
from flow.testing import LSTM_TYPES_ARGS, random_lstm

TYPES = LSTMTypes(**LSTM_TYPES_ARGS)


@settings(max_examples=20, deadline=None)
@given(
    I=st.integers(1, 30),
    H=st.integers(1, 40),
    T=st.integers(1, 4),
    d=st.floats(0.05, 1),
    n_pe=st.sampled_from([1, 2, 4, 8, 16]),
    groups=st.sampled_from([1, 2]),
    depth=st.integers(1, 8),
    seed=st.integers(0, 2**31),
)
def test_sequence_model(I, H, T, d, n_pe, groups, depth, seed):
    rng = np.random.default_rng(seed)
    n_pe = max(n_pe, groups)
    _, _, _, layer = random_lstm(rng, I, H, d, d, n_pe=n_pe, col_groups=groups, fifo_depth=depth)
    it = TYPES.input_t
    x = np.where(rng.random((2, T, I)) < 0.5, rng.integers(it.min_raw, it.max_raw + 1, (2, T, I)), 0)
    hs, _ = lstm_sequence(x, layer)
    for b, seq in enumerate(sequence_cycles(layer, x)):
        assert seq.load == -(-T * I // LINE)
        assert seq.total == seq.load + sum(s.total for s in seq.steps) + 1
        for t, s in enumerate(seq.steps):
            h_prev = hs[b, t - 1] if t else np.zeros(H, np.int64)
            z = np.concatenate([x[b, t], h_prev])
            # the recurrence: step t broadcasts the non-zeros of x_t and of the reference's h_{t-1}
            assert s.broadcasts == np.count_nonzero(z)
            # the cycle-stepped RTL schedule equals the analytic one (flow.eie.perf) on this matrix
            assert s.run == perf.rtl_run_cycles(layer.matvec, z, first=False)
            assert s.elementwise == -(-H // (n_pe // groups)) + EW_LATENCY == elementwise_cycles(layer)
            assert s.gather == gather_cycles(layer.matvec, type("P", (), {"OL": default_ol(n_pe)}))
            assert 0 <= s.step_efficiency <= s.array_efficiency <= 1.0
            assert s.entries == int(layer.matvec.encoding.column_entries()[:, np.flatnonzero(z)].sum())


def test_zero_state_step_is_the_x_columns_only():
    rng = np.random.default_rng(5)
    _, _, _, layer = random_lstm(rng, 6, 10, 0.5, 0.5, n_pe=4)
    z = np.zeros(16, np.int64)
    z[:6] = 1
    s = step_cycles(layer, z)
    assert s.broadcasts == 6 and s.total == s.setup + s.run + s.gather + s.elementwise
