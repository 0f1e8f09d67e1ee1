"""Compressing an LSTM: pruning blocks (balanced on the engine's rows), per-gate codebooks, storage,
refusals, and `flow compress` end to end on a tiny sequential-digits LSTM against the engine's reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.compress.lstm import blocks, check_lstm_config, gate_codebook, lstm_mask
from flow.config import FlowConfig
from flow.eie.lstm import engine_rows
from flow.errors import ConfigError, UsageError


def _pe_counts(keep_block, cols_keras, H, R):
    """[n_inputs, R] kept weights of each row-PE in each input column of a block."""
    pe = engine_rows(H, R).ravel()[cols_keras] % R
    out = np.zeros((keep_block.shape[0], R), np.int64)
    for q in range(R):
        out[:, q] = keep_block[:, pe == q].sum(axis=1)
    return out


@settings(max_examples=40, deadline=None)
@given(
    I=st.integers(1, 12),
    units=st.integers(1, 4),
    R=st.sampled_from([1, 2, 4, 8]),
    mode=st.sampled_from(["layer", "matrix", "gate"]),
    sparsity=st.floats(0, 0.95),
    balanced=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_lstm_mask_prunes_each_block_and_balances(I, units, R, mode, sparsity, balanced, seed):
    H = units * R  # every row-PE holds the same units
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(I + H, 4 * H))
    keep = lstm_mask(kernel, sparsity, I, mode, R if balanced else None)
    for rs, cs in blocks(I, H, mode):
        kb = keep[rs, cs]
        target = round((1 - sparsity) * kb.size)
        assert abs(int(kb.sum()) - target) <= (R // 2 if balanced else 0)
        if balanced:  # every row-PE keeps the same number of weights in every column of the block
            counts = _pe_counts(kb, np.arange(4 * H)[cs], H, R)
            assert np.all(counts == counts[:, :1])
        else:  # the kept weights are the block's largest
            if 0 < kb.sum() < kb.size:
                assert np.abs(kernel[rs, cs][kb]).min() >= np.abs(kernel[rs, cs][~kb]).max()
    again = lstm_mask(kernel, min(0.99, sparsity + 0.03), I, mode, R if balanced else None, keep)
    assert not np.any(again & ~keep)  # masks only shrink


def test_gate_codebook_keeps_one_book_per_gate():
    rng = np.random.default_rng(0)
    I, H, bits = 5, 6, 3
    kernel = rng.normal(size=(I + H, 4 * H))
    mask = rng.random(kernel.shape) < 0.5
    s = gate_codebook(kernel, mask, bits)
    n = 1 << bits
    assert s.centroids.shape == (4 * n,) and np.all(s.centroids[::n] == 0)
    assert np.array_equal(s.codes != 0, mask)
    for k in range(4):
        c = s.codes[:, k * H : (k + 1) * H]
        assert np.all((c == 0) | ((c > k * n) & (c < (k + 1) * n)))  # gate k's codes index its own book
    assert np.abs(s.centroids[s.codes] - kernel * mask).max() < 0.5


def _model(layer):
    import tensorflow as tf

    return tf.keras.Sequential([tf.keras.layers.Input((6, 3)), layer, tf.keras.layers.Dense(2)])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda L: L.GRU(4, name="g"), "layer 'g' is a GRU.*replace it with an LSTM"),
        (lambda L: L.SimpleRNN(4, name="s"), "layer 's' is a SimpleRNN.*LSTM"),
        (lambda L: L.Bidirectional(L.LSTM(4), name="b"), "layer 'b' is a Bidirectional"),
        (lambda L: L.LSTM(4, return_sequences=True, name="l"), "'l' \\(LSTM\\) has return_sequences=True.*set return_sequences=False"),
        (lambda L: L.LSTM(4, go_backwards=True, name="l"), "go_backwards=True.*set go_backwards=False"),
        (lambda L: L.LSTM(4, activation="relu", name="l"), "activation='relu'.*use activation='tanh'"),
        (lambda L: L.LSTM(4, recurrent_activation="hard_sigmoid", name="l"), "recurrent_activation='hard_sigmoid'"),
    ],
)
def test_unsupported_recurrent_layers_refused(make, match):
    import tensorflow as tf

    from flow.models import canonical

    with pytest.raises(UsageError, match=match):
        canonical(_model(make(tf.keras.layers)))


def test_stateful_lstm_refused():
    import tensorflow as tf

    from flow.models import canonical

    L = tf.keras.layers
    model = tf.keras.Sequential([L.Input((6, 3), batch_size=2), L.LSTM(4, stateful=True, name="st"), L.Dense(2)])
    with pytest.raises(UsageError, match="'st' \\(LSTM\\) has stateful=True.*zero state"):
        canonical(model)


@pytest.mark.parametrize("setting,match", [
    ({"layer_method": {"lstm": "ternary"}, "layer_bits": {"lstm": 2}}, "ternary codes are not supported"),
    ({"dsd": True}, "compress.dsd does not handle LSTM"),
])
def test_lstm_compress_settings_refused(setting, match):
    import tensorflow as tf

    cfg = FlowConfig()
    for k, v in setting.items():
        setattr(cfg.compress, k, v)
    layer = tf.keras.layers.LSTM(4, name="lstm")
    with pytest.raises(ConfigError, match=match):
        check_lstm_config(cfg.compress, [layer])


@pytest.fixture(scope="module")
def compressed_lstm(tmp_path_factory):
    from flow.compress.pipeline import compress

    cfg = FlowConfig()
    cfg.model.name, cfg.model.lstm_units = "lstm_seqmnist", 16
    cfg.hls.n_pe = 4
    c = cfg.compress
    c.epochs, c.prune_steps, c.prune_epochs, c.finetune_epochs = 10, 2, 2, 1
    c.learning_rate, c.sparsity, c.plots = 5e-3, 0.6, False
    c.lstm_codebook, c.lstm_prune, c.load_balance = "gate", "gate", True
    out = tmp_path_factory.mktemp("c") / "lstm"
    return compress(cfg, out, progress=False), out


def test_compress_lstm_end_to_end(compressed_lstm):
    from flow.compress.io import load_compressed
    from flow.compress.lstm_engine import compare
    from flow.config import DataConfig
    from flow.data import load_dataset

    cm, out = compressed_lstm
    loaded = load_compressed(out)  # the stacked kernel matches codebook[codes] (io._check)
    rec = loaded.layers["lstm"]
    assert rec.activation == "lstm" and rec.gate_type and rec.cell_type
    assert rec.mask.shape == (8 + 16, 64) and len(rec.codebook) == 4 * 16
    I, H = 8, 16
    for rs, cs in blocks(I, H, "gate"):  # each gate block of each matrix pruned to 60 %, balanced on 4 PEs
        kb = rec.mask[rs, cs]
        assert abs(kb.mean() - 0.4) < 0.05
        counts = _pe_counts(kb, np.arange(4 * H)[cs], H, 4)
        assert np.all(counts == counts[:, :1])
    rep = json.loads((out / "report.json").read_text())
    lstm = next(layer for layer in rep["layers"] if layer["name"] == "lstm")
    assert lstm["params"] == 24 * 64 and lstm["codebook_bits"] == 4 * 16 * 32
    assert lstm["eie_detail"]["codebooks_per_pe"] == 4 and lstm["huffman_ratio"] > lstm["ratio"] > 1
    assert lstm["gate_type"]["width"] == 16
    assert rep["accuracy"]["dense"] > 0.3  # 10 classes; a 16-unit LSTM over 8 rows learns something
    ds = load_dataset(DataConfig())
    res = compare(loaded, ds.x_test, ds.y_test, n_pe=4)
    assert res["keras_accuracy"] == pytest.approx(rep["accuracy"]["quantized"])
    assert res["agreement"] >= 0.95  # the engine's fixed point against the Keras model


def test_hardware_conversion_refuses_lstm_clearly():
    import tensorflow as tf

    from flow.hls.convert import hardware_layers

    with pytest.raises(UsageError, match="layer 'l' is an LSTM: `flow build`.*does not run recurrent layers yet"):
        hardware_layers(_model(tf.keras.layers.LSTM(4, name="l")))
