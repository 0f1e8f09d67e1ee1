"""An LSTM on the engine: the row mapping, the bit-exact sequence reference against a direct
reading of the spec (Keras's layout, python integers), and the tracking of Keras's LSTM."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie.lstm import EIELSTM, LSTMTypes, engine_rows, lstm_float, lstm_sequence, n_engine_rows
from flow.errors import UsageError
from flow.fixed import FixedType
from flow.testing import LSTM_TYPES_ARGS, random_lstm

TYPES = LSTMTypes(**LSTM_TYPES_ARGS)


def shared(rng, shape, density, values):
    return np.where(rng.random(shape) < density, rng.choice(values, shape), 0.0)


def oracle(k, r, b, x_raw, t: LSTMTypes, unit):
    """The spec read directly, one unit at a time in python ints, on Keras's layout (no engine rows)."""
    H = r.shape[0]
    w = t.weight_t.quantize(np.concatenate([k, r]).T)  # (4H, I + H): the shared values, rounded
    braw = t.bias_t.quantize(b)
    fa, fc = t.act_t.frac, t.cell_t.frac
    acc_frac = t.input_t.frac + t.weight_t.frac
    B, T, _ = x_raw.shape
    hs = np.zeros((B, T, H), np.int64)
    for n in range(B):
        h, c = [0] * H, [0] * H
        for s in range(T):
            z = [int(v) for v in x_raw[n, s]] + h
            new_h, new_c = [], []
            for u in range(H):
                pre = []
                for g in range(4):
                    row = g * H + u
                    acc = sum(int(w[row, j]) * z[j] for j in range(len(z))) + (int(braw[row]) << (acc_frac - t.bias_t.frac))
                    pre.append(int(t.gate_t.cast(np.int64(acc), from_frac=acc_frac)))
                i = int(unit.sigmoid(np.int64(pre[0]), t.gate_t))
                f = int(unit.sigmoid(np.int64(pre[1]), t.gate_t))
                gg = int(unit.tanh(np.int64(pre[2]), t.gate_t))
                o = int(unit.sigmoid(np.int64(pre[3]), t.gate_t))
                m = max(fa, fc)
                cu = int(t.cell_t.cast(np.int64((f * c[u] << (m - fc)) + (i * gg << (m - fa))), from_frac=fa + m))
                tc = int(unit.tanh(np.int64(cu), t.cell_t))
                new_h.append(int(t.input_t.cast(np.int64(o * tc), from_frac=2 * fa)))
                new_c.append(cu)
            h, c = new_h, new_c
            hs[n, s] = h
    return hs


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 40), R=st.integers(1, 16))
def test_gates_of_a_unit_share_a_pe(H, R):
    rows = engine_rows(H, R)
    assert len(set(rows.ravel().tolist())) == 4 * H and rows.max() < n_engine_rows(H, R)
    assert np.all(rows % R == (np.arange(H) % R)[None, :])  # unit u on row-PE u % R
    assert np.all((rows // R) % 4 == np.arange(4)[:, None])  # the gate = local row mod 4


@settings(max_examples=25, deadline=None)
@given(
    I=st.integers(1, 10),
    H=st.integers(1, 12),
    T=st.integers(1, 5),
    dx=st.floats(0, 1),
    dh=st.floats(0, 1),
    n_pe=st.integers(1, 9),
    groups=st.sampled_from([1, 2, 3]),
    per_gate=st.booleans(),
    inputs=st.sampled_from(["random", "zero", "extreme"]),
    scale=st.sampled_from([0.6, 4.0]),  # 4.0 saturates gate_t and cell_t
    seed=st.integers(0, 2**31),
)
def test_sequence_is_the_spec_bit_for_bit(I, H, T, dx, dh, n_pe, groups, per_gate, inputs, scale, seed):
    n_pe = n_pe * groups
    rng = np.random.default_rng(seed)
    k, r, b, layer = random_lstm(rng, I, H, dx, dh, per_gate, scale=scale, n_pe=n_pe, col_groups=groups)
    it = TYPES.input_t
    x = {
        "random": lambda: rng.integers(it.min_raw, it.max_raw + 1, (2, T, I)),
        "zero": lambda: np.zeros((2, T, I), np.int64),
        "extreme": lambda: rng.choice([it.min_raw, it.max_raw], (2, T, I)),
    }[inputs]()
    hs, cs = lstm_sequence(x, layer)
    assert np.array_equal(hs, oracle(k, r, b, x, TYPES, layer.unit))
    assert it.representable(hs) and TYPES.cell_t.representable(cs)
    kq, rq, bq = layer.weights_float()  # the engine's matrix is Keras's, row-permuted
    assert np.array_equal(kq, TYPES.weight_t.to_float(TYPES.weight_t.quantize(k)))
    assert np.array_equal(rq, TYPES.weight_t.to_float(TYPES.weight_t.quantize(r)))


def test_zero_input_zero_bias_stays_zero():
    rng = np.random.default_rng(1)
    k, r, _, _ = random_lstm(rng, 4, 6, 0.5, 0.5, n_pe=4)
    layer = EIELSTM.from_keras("lstm", k, r, None, types=TYPES, n_pe=4)
    hs, cs = lstm_sequence(np.zeros((3, 7, 4), np.int64), layer)
    assert not hs.any() and not cs.any()


def test_fixed_point_tracks_keras_lstm():
    """Tolerance 2e-3 on h (measured about 5e-4): 12-bit weights are exact (the shared values are
    rounded first), 16-bit inputs/states, the PWL bound ~1.6e-4 per function, over 12 steps."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    I, H, T = 5, 8, 12
    vals = TYPES.weight_t.to_float(TYPES.weight_t.quantize(rng.uniform(-0.6, 0.6, 15)))
    k, r = shared(rng, (I, 4 * H), 0.5, vals), shared(rng, (H, 4 * H), 0.5, vals)
    b = TYPES.bias_t.to_float(TYPES.bias_t.quantize(rng.normal(scale=0.3, size=4 * H)))
    layer = EIELSTM.from_keras("lstm", k, r, b, types=TYPES, n_pe=4)
    x = TYPES.input_t.to_float(TYPES.input_t.quantize(rng.uniform(-1, 1, (16, T, I))))
    model = tf.keras.Sequential([tf.keras.layers.Input((T, I)), tf.keras.layers.LSTM(H, return_sequences=True)])
    model.layers[0].set_weights([k, r, b])
    keras_h = model.predict(x, verbose=0)
    assert np.abs(lstm_float(k, r, b, x) - keras_h).max() < 1e-5  # gate order and semantics
    fixed_h = TYPES.input_t.to_float(lstm_sequence(TYPES.input_t.quantize(x), layer)[0])
    assert np.abs(fixed_h - keras_h).max() < 2e-3


def test_per_layer_codebook_refuses_too_many_values():
    rng = np.random.default_rng(2)
    with pytest.raises(UsageError, match="kernel \\+ recurrent kernel has \\d+ distinct"):
        k, r, b, _ = random_lstm(rng, 4, 6, 1.0, 1.0, per_gate=True, n_pe=2)
        EIELSTM.from_keras("lstm", k, r, b, types=TYPES, n_pe=2)


def test_bad_shapes_and_inputs_refused():
    rng = np.random.default_rng(3)
    k, r, b, layer = random_lstm(rng, 4, 6, 0.5, 0.5, n_pe=2)
    with pytest.raises(UsageError, match="must be"):
        EIELSTM.from_keras("lstm", k, r[:, :-1], b, types=TYPES, n_pe=2)
    with pytest.raises(UsageError, match="bias"):
        EIELSTM.from_keras("lstm", k, r, b[:-1], types=TYPES, n_pe=2)
    with pytest.raises(UsageError, match="expected \\(batch, steps, 4\\)"):
        lstm_sequence(np.zeros((2, 3, 5), np.int64), layer)
    with pytest.raises(UsageError, match="raw integers"):
        lstm_sequence(np.zeros((2, 3, 4)), layer)
    with pytest.raises(UsageError, match="outside"):
        lstm_sequence(np.full((1, 2, 4), 1 << 20), layer)
