"""Compressing an LSTM: pruning blocks (per layer, matrix or gate; load-balanced over the engine's
row PEs), per-layer or per-gate codebooks, and the fixed-point types of its gates and cell state.

The matrix is flow.compress.matrices' stacked [kernel; recurrent_kernel] (I + H, 4H). On the engine
(flow.eie.lstm) Keras column gate * H + u is engine row (4 * (u // R) + gate) * R + u % R, on row-PE
u % R; load-balance-aware pruning (ESE) balances the engine's rows, so `lstm_mask` lays each block
out in engine rows (the rows outside the block and the padding rows dead) before
flow.compress.prune.balanced_mask, whose guarantees then hold per block and column.
"""

from __future__ import annotations

import numpy as np

from flow.compress.prune import balanced_mask, magnitude_mask
from flow.compress.train import Shared


def blocks(n_in: int, n_hidden: int, mode: str) -> list[tuple[slice, slice]]:
    """(rows of the stacked matrix, columns) of each pruning block."""
    rows_x, rows_h = slice(0, n_in), slice(n_in, n_in + n_hidden)
    if mode == "layer":
        return [(slice(0, n_in + n_hidden), slice(0, 4 * n_hidden))]
    if mode == "matrix":
        return [(rows_x, slice(0, 4 * n_hidden)), (rows_h, slice(0, 4 * n_hidden))]
    if mode == "gate":
        gates = [slice(k * n_hidden, (k + 1) * n_hidden) for k in range(4)]
        return [(r, g) for r in (rows_x, rows_h) for g in gates]
    raise ValueError(f"lstm_prune={mode!r}: use layer, matrix or gate")


def lstm_mask(kernel, sparsity: float, n_in: int, mode: str, row_pes: int | None = None, previous=None) -> np.ndarray:
    """Keep-mask of the stacked matrix: every block pruned to `sparsity` (smallest |w| first, masks
    only shrink); with `row_pes` R, balanced: in every block and input column each row-PE keeps the
    same number of weights (flow.compress.prune.balanced_mask on the engine's rows)."""
    from flow.eie.lstm import engine_rows, n_engine_rows

    kernel = np.asarray(kernel)
    H = kernel.shape[1] // 4
    prev = np.ones(kernel.shape, bool) if previous is None else np.asarray(previous, bool)
    keep = np.zeros(kernel.shape, bool)
    for rs, cs in blocks(n_in, H, mode):
        sub, p = kernel[rs, cs], prev[rs, cs]
        if row_pes is None:
            keep[rs, cs] = magnitude_mask(sub, sparsity, p)
            continue
        ecols = engine_rows(H, row_pes).ravel()[cs]  # engine row of each Keras column of the block
        n = n_engine_rows(H, row_pes)
        big = np.zeros((sub.shape[0], n))
        big[:, ecols] = sub
        live = np.zeros(big.shape, bool)
        live[:, ecols] = p
        s = 1.0 - (1.0 - sparsity) * sub.size / big.size  # the same kept count as `sparsity` of the block
        keep[rs, cs] = balanced_mask(big, s, int(row_pes), live)[:, ecols]
    return keep


def gate_codebook(kernel, mask, bits: int, seed: int = 0) -> Shared:
    """One k-means codebook per gate (flow.compress.share.kmeans_codebook on each gate's columns),
    flat: centroids [4 * 2**bits], codes gate * 2**bits + code (0 where pruned)."""
    from flow.compress.share import kmeans_codebook

    kernel, mask = np.asarray(kernel), np.asarray(mask, bool)
    H, n = kernel.shape[1] // 4, 1 << bits
    centroids = np.zeros(4 * n, np.float32)
    codes = np.zeros(kernel.shape, np.int32)
    for k in range(4):
        cs = slice(k * H, (k + 1) * H)
        s = kmeans_codebook(kernel[:, cs], mask[:, cs], bits, seed)
        centroids[k * n : (k + 1) * n] = s.centroids
        codes[:, cs] = np.where(s.codes != 0, s.codes + k * n, 0)
    return Shared(codes=codes, centroids=centroids)


def profile_lstm(kernel, recurrent, bias, x) -> dict[str, float]:
    """max |gate pre-activation| and max |c| of the float LSTM over the sequences x [B, T, I]."""
    x = np.asarray(x, np.float64)
    H = recurrent.shape[0]
    h = np.zeros((x.shape[0], H))
    c = np.zeros((x.shape[0], H))
    gmax = cmax = 0.0
    sig = lambda v: 0.5 * (1 + np.tanh(0.5 * v))  # noqa: E731
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        gmax = max(gmax, float(np.abs(z).max(initial=0.0)))
        i, f, g, o = (z[:, k * H : (k + 1) * H] for k in range(4))
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        cmax = max(cmax, float(np.abs(c).max(initial=0.0)))
    return {"gate": gmax, "cell": cmax}


def check_lstm_config(c, lstm_layers) -> None:
    """Refuse, before any training, the compress settings an LSTM layer does not take yet."""
    from flow.errors import ConfigError

    for layer in lstm_layers:
        n = layer.name
        if c.method_of(n) == "ternary":
            raise ConfigError(f"layer {n!r} is an LSTM: ternary codes are not supported for it; "
                              f"use k-means (set compress.layer_method.{n}: kmeans)")
        if c.target is not None:
            raise ConfigError(f"compress.target does not search LSTM layers (layer {n!r}) yet; remove "
                              "compress.target and set compress.layer_sparsity / layer_bits")
        if c.dsd:
            raise ConfigError(f"compress.dsd does not handle LSTM layers (layer {n!r}) yet; set dsd: false")


def lstm_storage(layer, codes, n_bias: int, c, knobs: dict):
    """An LSTM's LayerStorage: the paper's count (and Huffman) of its stacked matrix in Keras's layout,
    codebooks counted 4 times when per gate; the EIE figure on the engine's permuted, padded rows
    (flow.eie.lstm), with 4 codebooks per PE when per gate."""
    from flow.compress.matrices import local_codes
    from flow.compress.storage import eie_storage, layer_storage
    from flow.eie.lstm import engine_rows, n_engine_rows

    n, bits, ib = layer.name, c.bits_of(layer.name), c.index_bits_of(layer.name)
    books = 4 if getattr(c, "lstm_codebook", "layer") == "gate" else 1
    local = local_codes(codes, bits)
    st = layer_storage(n, local, n_bias, bits, ib, weight_width=c.weight_width, eie=False)
    st.codebook_bits *= books
    R = knobs["n_pe"] // knobs["col_groups"]
    H = codes.shape[1] // 4
    E = np.zeros((codes.shape[0], n_engine_rows(H, R)), local.dtype)
    E[:, engine_rows(H, R).ravel()] = local
    eie = eie_storage(E, knobs["n_pe"], bits, ib, c.weight_width, knobs["col_groups"])
    extra = knobs["n_pe"] * (1 << bits) * c.weight_width * (books - 1) / 8
    eie["detail"]["codebook_bytes"] += extra
    eie["detail"]["codebooks_per_pe"] = books
    st.eie_bytes, st.eie_detail = int(eie["bytes"] + extra), eie["detail"]
    return st
