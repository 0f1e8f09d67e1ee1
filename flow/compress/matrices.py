"""A weight layer's matrix as the compression sees it: a Dense/Conv2D kernel, or an LSTM's
[kernel; recurrent_kernel] stacked by rows, (I + H, 4H), gates in Keras's order i, f, c, o along the
columns: the transpose of the engine's 4H x (I + H) matrix before its row permutation
(flow.eie.lstm). Masks, codes and storage are kept for this stacked matrix; training updates the two
variables it is made of.

LSTM codebooks (`compress.lstm_codebook`): "layer" keeps one codebook (codes 0 .. 2**b - 1);
"gate" keeps one per gate, stored flat as 4 * 2**b centroids with global codes gate * 2**b + code
(0 stays the pruned zero; every book's entry 0 is 0), so the training loop's gather and per-code
gradient sums work unchanged. `local_codes` and `book_of` split them back.
"""

from __future__ import annotations

import numpy as np

from flow.models import RECURRENT_LAYERS


def is_recurrent(layer) -> bool:
    return type(layer).__name__ in RECURRENT_LAYERS


def kernel_vars(layer) -> list:
    """The variables the matrix is made of, in row order."""
    if is_recurrent(layer):
        return [layer.cell.kernel, layer.cell.recurrent_kernel]
    return [layer.kernel]


def get_kernel(layer) -> np.ndarray:
    return np.concatenate([v.numpy() for v in kernel_vars(layer)], axis=0)


def split_rows(layer, a) -> list:
    """`a` (numpy, kernel_vars-stacked shape) as one piece per variable."""
    out, start = [], 0
    for v in kernel_vars(layer):
        n = int(v.shape[0])
        out.append(a[start : start + n])
        start += n
    return out


def set_kernel(layer, W) -> None:
    for v, part in zip(kernel_vars(layer), split_rows(layer, np.asarray(W))):
        v.assign(part.astype(np.float32))


def bias_var(layer):
    """The bias variable, or None."""
    if is_recurrent(layer):
        return layer.cell.bias if layer.cell.use_bias else None
    return layer.bias if layer.use_bias else None


def n_inputs(layer) -> int:
    """I of an LSTM (the kernel's rows; the recurrent kernel's follow)."""
    return int(kernel_vars(layer)[0].shape[0])


def local_codes(codes: np.ndarray, code_bits: int) -> np.ndarray:
    """Per-book codes (0 .. 2**b - 1) of flat per-gate codes (identity for one codebook)."""
    return np.asarray(codes) % (1 << code_bits)


def book_of(codes: np.ndarray, code_bits: int) -> np.ndarray:
    return np.asarray(codes) >> code_bits
