"""The LSTM cycle model: the RTL schedule per step, the recurrence's inputs, load efficiency."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import perf
from flow.eie.lstm import lstm_sequence
from flow.eie.perf_lstm import EW_LATENCY, default_ol, elementwise_cycles, sequence_cycles, step_cycles
from flow.eie.perf_rtl import gather_cycles
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
        assert seq.total == sum(s.total for s in seq.steps) + 1 and not seq.dense
        for t, s in enumerate(seq.steps):
            h_prev = hs[b, t - 1] if t else np.zeros(H, np.int64)
            z = np.concatenate([x[b, t], h_prev])
            # the recurrence: step t broadcasts the non-zeros of x_t and of the reference's h_{t-1}
            assert s.broadcasts == np.count_nonzero(z)
            # x_t streamed in during RUN can only delay the schedule with the whole input present
            # (flow.eie.perf's analytic one, equal to the cycle-stepped one then)
            assert s.run >= perf.rtl_run_cycles(layer.matvec, z, first=False)
            assert s.elementwise == EW_LATENCY == elementwise_cycles(layer)
            assert s.gather == gather_cycles(layer.matvec, type("P", (), {"OL": default_ol(n_pe)}))
            assert 0 <= s.step_efficiency <= s.array_efficiency <= 1.0
            assert s.entries == int(layer.matvec.encoding.column_entries()[:, np.flatnonzero(z)].sum())


def test_zero_state_step_is_the_x_columns_only():
    rng = np.random.default_rng(5)
    _, _, _, layer = random_lstm(rng, 6, 10, 0.5, 0.5, n_pe=4)
    z = np.zeros(16, np.int64)
    z[:6] = 1
    s = step_cycles(layer, z, first_step=True)
    assert s.broadcasts == 6 and s.total == s.setup + s.run + s.gather + s.elementwise


def test_padded_h_column_changes_no_bit():
    """h on a store line boundary (h_col = 16 ceil(I / 16), the RTL's layout): the same sequence."""
    from flow.eie.lstm import EIELSTM

    rng = np.random.default_rng(3)
    k, r, b, layer = random_lstm(rng, 6, 10, 0.5, 0.5, n_pe=4)
    kw = dict(types=layer.types, n_pe=4, code_bits=layer.matvec.code_bits, index_bits=layer.matvec.index_bits)
    padded = EIELSTM.from_keras("p", *layer.weights_float(), h_col=16, **kw)
    assert padded.h_col == 16 and padded.matvec.n_in == 26
    it = TYPES.input_t
    x = rng.integers(it.min_raw, it.max_raw + 1, (3, 4, 6))
    np.testing.assert_array_equal(lstm_sequence(x, padded)[0], lstm_sequence(x, layer)[0])
    for a, c in zip(padded.weights_float(), layer.weights_float()):
        np.testing.assert_array_equal(a, c)
