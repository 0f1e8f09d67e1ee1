"""Storage accounting per layer: sparse codes + relative indices (+ Huffman), and EIE on-chip bytes.

Paper accounting (Deep Compression, Sec. 2/4): the kernel walked column by column
(W = kernel.T of shape (out, in); for a conv, (out channels, everything else)), each stored
entry = a `code_bits` code + an `index_bits` relative index (zeros skipped since the previous
entry); a run longer than 2**index_bits - 1 zeros stores a filler entry (code 0, maximal index)
that stands for the filler position itself. Codebook and biases count 32 bits per value,
as the 32-bit dense baseline does. The Huffman variant codes the codes and the indices
with per-layer Huffman codes (+ a table of one length byte per symbol).

EIE accounting (DESIGN.md storage format, counted by flow.eie.encode): rows interleaved over the
PEs of each column group, relative indices restart at every column of every PE; on-chip bytes are
codes + indices + column pointers (n_cols + 1 per PE) + one codebook per PE in the weight type.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from flow.compress.huffman import HuffmanCode


def as_matrix(kernel: np.ndarray) -> np.ndarray:
    """W (out, in): the transpose of a Dense kernel; conv kernels flattened to (out, rest)."""
    return np.asarray(kernel).reshape(-1, kernel.shape[-1]).T


def relative_entries(positions: np.ndarray, index_bits: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For sorted non-zero positions: (is_filler flags, relative indices) of the stored entries."""
    top = 2**index_bits - 1
    gaps = np.diff(np.concatenate([[start - 1], positions])) - 1 if len(positions) else np.zeros(0, int)
    fillers = gaps // (top + 1)
    rel_last = gaps - fillers * (top + 1)
    n = int(len(positions) + fillers.sum())
    is_filler = np.zeros(n, dtype=bool)
    rel = np.empty(n, dtype=np.int64)
    pos = 0
    for f, r in zip(fillers.tolist(), rel_last.tolist()):
        is_filler[pos : pos + f] = True
        rel[pos : pos + f] = top
        rel[pos + f] = r
        pos += f + 1
    return is_filler, rel


def stream(codes: np.ndarray, index_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored (codes, relative indices) of a code matrix (kernel shape), column-major over W."""
    flat = as_matrix(codes).T.ravel()  # column j of W = row j of the kernel, consecutive
    positions = np.flatnonzero(flat)
    is_filler, rel = relative_entries(positions, index_bits)
    stored = np.zeros(len(rel), dtype=np.int64)
    stored[~is_filler] = flat[positions]
    return stored, rel


@dataclass
class LayerStorage:
    name: str
    params: int
    nonzero: int
    entries: int  # stored entries, fillers included
    code_bits: int
    index_bits: int
    dense_bits: int
    code_stream_bits: int
    index_stream_bits: int
    codebook_bits: int
    bias_bits: int
    huffman_code_bits: int
    huffman_index_bits: int
    eie_bytes: int  # 0 when the layer does not run on the EIE engine
    eie_detail: dict | None

    @property
    def total_bits(self) -> int:
        return self.code_stream_bits + self.index_stream_bits + self.codebook_bits + self.bias_bits

    @property
    def huffman_total_bits(self) -> int:
        return self.huffman_code_bits + self.huffman_index_bits + self.codebook_bits + self.bias_bits

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(
            kept=self.nonzero / max(self.params, 1),
            total_bits=self.total_bits,
            huffman_total_bits=self.huffman_total_bits,
            ratio=self.dense_bits / self.total_bits,
            huffman_ratio=self.dense_bits / self.huffman_total_bits,
            bits_per_weight=self.total_bits / max(self.nonzero, 1),
        )
        return d


def eie_storage(
    codes: np.ndarray, n_pe: int, code_bits: int, index_bits: int, weight_width: int, col_groups: int = 1
) -> dict:
    """Bytes an EIE array of `n_pe` PEs in `col_groups` column groups keeps on chip for this layer.

    The entries are counted by flow.eie.encode itself (the format the engine is built with); each
    PE's ROM is sized for the fullest PE, its pointers cover its group's n_cols + 1 local columns.
    """
    from flow.eie.encode import encode

    enc = encode(as_matrix(codes).astype(np.float64), n_pe, code_bits, index_bits, col_groups=col_groups)
    per_pe = enc.entries_per_pe.tolist()
    cap = max(per_pe)
    ptr_bits = max(1, math.ceil(math.log2(cap + 1)))
    code_b = n_pe * cap * code_bits  # each PE's ROM is sized for the fullest PE
    index_b = n_pe * cap * index_bits
    ptr_b = n_pe * (enc.n_cols + 1) * ptr_bits
    book_b = n_pe * (2**code_bits) * weight_width
    detail = {
        "n_pe": n_pe,
        "col_groups": col_groups,
        "entries_per_pe": per_pe,
        "pe_capacity": cap,
        "ptr_bits": ptr_bits,
        "codes_bytes": code_b / 8,
        "index_bytes": index_b / 8,
        "colptr_bytes": ptr_b / 8,
        "codebook_bytes": book_b / 8,
    }
    return {"bytes": math.ceil((code_b + index_b + ptr_b + book_b) / 8), "detail": detail}


def layer_storage(
    name: str,
    codes: np.ndarray,
    n_bias: int,
    code_bits: int,
    index_bits: int,
    *,
    n_pe: int = 8,
    col_groups: int = 1,
    weight_width: int = 16,
    eie: bool = True,
) -> LayerStorage:
    """Storage of one layer; `eie=False` (convolutions, which the EIE engine does not run) skips the EIE figure."""
    stored, rel = stream(codes, index_bits)
    code_hist = dict(zip(*np.unique(stored, return_counts=True)))
    index_hist = dict(zip(*np.unique(rel, return_counts=True)))
    hc, hi = HuffmanCode(code_hist), HuffmanCode(index_hist)
    eie = (
        eie_storage(codes, n_pe, code_bits, index_bits, weight_width, col_groups) if eie else {"bytes": 0, "detail": None}
    )
    return LayerStorage(
        name=name,
        params=int(codes.size),
        nonzero=int(np.count_nonzero(codes)),
        entries=len(stored),
        code_bits=code_bits,
        index_bits=index_bits,
        dense_bits=32 * (int(codes.size) + n_bias),
        code_stream_bits=len(stored) * code_bits,
        index_stream_bits=len(rel) * index_bits,
        codebook_bits=32 * 2**code_bits,
        bias_bits=32 * n_bias,
        huffman_code_bits=hc.encoded_bits(code_hist) + 8 * len(hc.lengths),
        huffman_index_bits=hi.encoded_bits(index_hist) + 8 * len(hi.lengths),
        eie_bytes=eie["bytes"],
        eie_detail=eie["detail"],
    )


def totals(layers: list[LayerStorage]) -> dict:
    dense = sum(s.dense_bits for s in layers)
    comp = sum(s.total_bits for s in layers)
    huff = sum(s.huffman_total_bits for s in layers)
    params = sum(s.params for s in layers)
    return {
        "params": params,
        "nonzero": sum(s.nonzero for s in layers),
        "kept": sum(s.nonzero for s in layers) / max(params, 1),
        "dense_bytes": dense / 8,
        "compressed_bytes": comp / 8,
        "huffman_bytes": huff / 8,
        "ratio": dense / comp,
        "huffman_ratio": dense / huff,
        "eie_bytes": sum(s.eie_bytes for s in layers),
    }
