"""Bit-exact integer reference of the EIE engine: the oracle for csim and for the board.

acc = (bias_raw << (accum.frac - bias.frac)) + sum_j codebook_raw[code] * x_raw[j]   (int64, exact)
ReLU (if any) on acc; y_raw = output_t.cast(acc, from_frac=accum.frac).
"""

from __future__ import annotations

import itertools

import numpy as np

from flow.errors import UsageError


def _check_input(x_raw, layer) -> np.ndarray:
    x = np.asarray(x_raw)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != layer.n_in:
        raise UsageError(
            f"layer {layer.name!r}: input has shape {np.shape(x_raw)}, expected (batch, {layer.n_in})"
        )
    if not np.issubdtype(x.dtype, np.integer):
        raise UsageError(
            f"layer {layer.name!r}: inputs must be raw integers of {layer.input_t.cpp} "
            "(use input_t.quantize on floats)"
        )
    x = x.astype(np.int64)
    if not layer.input_t.representable(x):
        raise UsageError(
            f"layer {layer.name!r}: input raw values outside {layer.input_t.cpp} "
            f"[{layer.input_t.min_raw}, {layer.input_t.max_raw}]: {x.min()}..{x.max()}"
        )
    return x


def accumulate(x_raw, layer) -> np.ndarray:
    """int64 [batch, n_out] accumulators before activation and requantisation.

    With ``layer.hls_accum`` (hls4ml's accum_t, AP_WRAP), each product is cast into accum_t as
    Vivado's dense does and the sum wraps to accum_t."""
    x = _check_input(x_raw, layer)
    bias = (layer.bias_raw << np.int64(layer.bias_shift))[None, :]
    if not layer.hls_accum:
        acc = x @ layer.weight_raw.T  # integer matmul: exact, bounded by accum_t (see layer.derive_accum_t)
        return acc + bias
    prod_frac = layer.input_t.frac + layer.weight_t.frac
    w = layer.weight_raw
    acc = np.zeros((x.shape[0], layer.n_out), dtype=np.int64)
    acc_t = layer.accum_t
    if acc_t.saturation == "WRAP":  # wrapping sums: the order does not matter, wrap once at the end
        acc = np.zeros((x.shape[0], layer.n_out), dtype=np.int64)
        for j in np.flatnonzero(np.any(w != 0, axis=0)):  # a zero product casts to 0 in every mode
            acc += acc_t.cast(x[:, j : j + 1] * w[None, :, j], from_frac=prod_frac)
        return acc_t.cast(acc + bias, from_frac=acc_t.frac)
    # saturating: the bias, then every column in ascending order, saturated after each addition
    # (adding a zero product changes nothing, as skipping it in the engine)
    acc = np.broadcast_to(bias, (x.shape[0], layer.n_out)).astype(np.int64)
    for j in np.flatnonzero(np.any(w != 0, axis=0)):
        acc = acc_t.cast(acc + acc_t.cast(x[:, j : j + 1] * w[None, :, j], from_frac=prod_frac), from_frac=acc_t.frac)
    return acc


def eie_dense(x_raw, layer) -> np.ndarray:
    """int64 [batch, n_out] raw outputs in layer.output_t."""
    acc = accumulate(x_raw, layer)
    if layer.pre_t is not None:  # hls4ml's Dense output type, then its ReLU, then the ReLU's type
        pre = layer.pre_t.cast(acc, from_frac=layer.accum_t.frac)
        if layer.activation == "relu":
            pre = np.maximum(pre, 0)
        return layer.output_t.cast(pre, from_frac=layer.pre_t.frac)
    if layer.activation == "relu":
        acc = np.maximum(acc, 0)
    return layer.output_t.cast(acc, from_frac=layer.accum_t.frac)


def eie_network(x_raw, layers) -> np.ndarray:
    """Chain layers; layer k's output_t must be layer k+1's input_t."""
    for a, b in itertools.pairwise(layers):
        if a.output_t != b.input_t or a.n_out != b.n_in:
            raise UsageError(
                f"layers {a.name!r} -> {b.name!r} do not chain: {a.n_out} x {a.output_t.cpp} "
                f"into {b.n_in} x {b.input_t.cpp}"
            )
    y = np.asarray(x_raw)
    for layer in layers:
        y = eie_dense(y, layer)
    return y
