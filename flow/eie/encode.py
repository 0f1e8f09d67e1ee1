"""EIE storage format: rows interleaved over PEs, CSC per PE, codebook codes + relative row indices.

Row i of W (out, in) lives on PE ``i % P`` at local row ``i // P``. With ``col_groups`` G > 1 the P
PEs form G groups of R = P / G: group g owns the input columns j with ``j % G == g`` (its local
column ``j // G``), and within a group row i lives on PE ``g * R + i % R`` at local row ``i // R``;
the kernel adds the G partial sums of a row in its gather. G = 1 is EIE's layout. Small layers on
many PEs need G > 1: 100 rows on 64 PEs leave most PEs with one or two rows, and whole-column work
then sets the pace. Each PE stores its rows, over its local columns,
column by column: ``codes`` (codebook index), ``rel_index`` (zero rows skipped since the previous stored
entry of this column in this PE, counting from local row 0 at each column start) and ``colptr``
(length in + 1). A zero run longer than ``2**index_bits - 1`` gets a filler entry: code 0 with the
maximal index, which stands for ``2**index_bits`` rows (the skipped zeros plus the filler itself).
Reproduces EIE (Han et al., ISCA 2016) Fig. 3; see tests/test_eie_encode.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flow.eie import knobs
from flow.errors import UsageError


@dataclass
class PEData:
    """One PE's slice of the matrix: ``n_rows`` local rows in CSC form."""

    codes: np.ndarray  # uint8 [n_entries]
    rel_index: np.ndarray  # uint8 [n_entries]
    colptr: np.ndarray  # int64 [n_cols + 1], local columns (global column = local * G + group)
    n_rows: int

    @property
    def n_entries(self) -> int:
        return int(self.codes.size)

    @property
    def n_fillers(self) -> int:
        return int(np.count_nonzero(self.codes == 0))

    @property
    def nnz(self) -> int:
        return self.n_entries - self.n_fillers

    def column_entries(self) -> np.ndarray:
        """Entries (incl. fillers) per local column."""
        return np.diff(self.colptr)


@dataclass
class Encoding:
    codebook: np.ndarray  # float64 [2**code_bits], codebook[0] == 0
    shape: tuple  # (n_out, n_in) of W
    n_pe: int
    code_bits: int
    index_bits: int
    pes: list = field(default_factory=list)
    col_groups: int = 1

    @property
    def row_pes(self) -> int:
        """PEs per column group (R): row i is on PE g * R + i % R of group g."""
        return self.n_pe // self.col_groups

    @property
    def n_cols(self) -> int:
        """Local columns per PE (the longest group's): ceil(n_in / G); shorter groups are padded."""
        return -(-self.shape[1] // self.col_groups)

    def group_of(self, pe: int) -> int:
        return pe // self.row_pes

    def pe_columns(self, pe: int) -> np.ndarray:
        """Global input columns of PE ``pe``'s local columns, in order."""
        return np.arange(self.group_of(pe), self.shape[1], self.col_groups)

    @property
    def nnz(self) -> int:
        return sum(p.nnz for p in self.pes)

    @property
    def n_entries(self) -> int:
        return sum(p.n_entries for p in self.pes)

    @property
    def n_fillers(self) -> int:
        return sum(p.n_fillers for p in self.pes)

    @property
    def entries_per_pe(self) -> np.ndarray:
        return np.array([p.n_entries for p in self.pes], dtype=np.int64)

    @property
    def pe_capacity(self) -> int:
        """ROM depth per PE: the largest entry count, at least 1 (HLS arrays cannot be empty)."""
        return max(1, int(self.entries_per_pe.max()))

    @property
    def max_local_rows(self) -> int:
        return max(1, -(-self.shape[0] // self.row_pes))

    def column_entries(self) -> np.ndarray:
        """[n_pe, n_in] entries (incl. fillers) of each global column on each PE (0 off its group)."""
        out = np.zeros((self.n_pe, self.shape[1]), dtype=np.int64)
        for k, p in enumerate(self.pes):
            cols = self.pe_columns(k)
            out[k, cols] = p.column_entries()[: cols.size]
        return out

    def local_column_entries(self) -> np.ndarray:
        """[n_pe, n_cols] entries of each local column on each PE (the kernel's ROM layout)."""
        return np.stack([p.column_entries() for p in self.pes])


def _codes_for(W: np.ndarray, code_bits: int, codebook) -> tuple[np.ndarray, np.ndarray]:
    """The padded float codebook and the code of every element of W (0 where W == 0)."""
    n_codes = 1 << code_bits
    nonzero = W != 0
    if codebook is None:
        values = np.unique(W[nonzero])
        if values.size > n_codes - 1:
            raise UsageError(
                f"the matrix has {values.size} distinct non-zero values but code_bits={code_bits} "
                f"allows {n_codes - 1}: share weights first (flow compress) or raise code_bits"
            )
        cb = np.zeros(n_codes)
        cb[1 : 1 + values.size] = values
        codes = np.zeros(W.shape, dtype=np.uint8)
        codes[nonzero] = (np.searchsorted(values, W[nonzero]) + 1).astype(np.uint8)
        return cb, codes
    cb_in = np.asarray(codebook, dtype=np.float64).ravel()
    if cb_in.size == 0 or cb_in[0] != 0:
        raise UsageError(f"codebook[0] must be 0 (code 0 is the pruned weight); got {cb_in[:1]}")
    if cb_in.size > n_codes:
        raise UsageError(f"codebook has {cb_in.size} entries but code_bits={code_bits} allows {n_codes}")
    cb = np.zeros(n_codes)
    cb[: cb_in.size] = cb_in
    codes = np.zeros(W.shape, dtype=np.uint8)
    if nonzero.any():
        cand = np.flatnonzero(cb != 0)
        if cand.size == 0:
            raise UsageError("the codebook has no non-zero value but the matrix has non-zero weights")
        vals = W[nonzero]
        dist = np.abs(vals[:, None] - cb[cand][None, :])
        best = dist.argmin(axis=1)
        tol = 1e-6 * max(1.0, float(np.abs(cb).max()))
        bad = dist[np.arange(vals.size), best] > tol
        if bad.any():
            raise UsageError(
                f"{int(bad.sum())} non-zero weights are not codebook values (e.g. {vals[bad][0]!r}); "
                "encode the shared (clustered) weights or pass codebook=None"
            )
        codes[nonzero] = cand[best].astype(np.uint8)
    return cb, codes


def _encode_pe(codes_local: np.ndarray, index_bits: int) -> PEData:
    """CSC of one PE's local rows (codes_local: [n_rows, n_in], 0 = zero weight)."""
    n_rows, n_in = codes_local.shape
    span = 1 << index_bits  # rows covered by one filler
    cols, rows = np.nonzero(codes_local.T)  # column-major order: by column, then row
    code = codes_local[rows, cols]
    prev = np.full(rows.size, -1, dtype=np.int64)
    same_col = np.zeros(rows.size, dtype=bool)
    same_col[1:] = cols[1:] == cols[:-1]
    prev[1:][same_col[1:]] = rows[:-1][same_col[1:]]
    gap = rows - prev - 1
    n_fill = gap // span
    per = n_fill + 1  # slots used by each non-zero: its fillers then itself
    ends = np.cumsum(per) - 1
    total = int(per.sum())
    out_codes = np.zeros(total, dtype=np.uint8)
    out_index = np.full(total, span - 1, dtype=np.uint8)
    out_codes[ends] = code
    out_index[ends] = (gap % span).astype(np.uint8)
    counts = np.bincount(cols, weights=per, minlength=n_in).astype(np.int64)
    colptr = np.zeros(n_in + 1, dtype=np.int64)
    colptr[1:] = np.cumsum(counts)
    return PEData(out_codes, out_index, colptr, n_rows)


def encode(
    W, n_pe: int, code_bits: int = 4, index_bits: int = 4, codebook=None, col_groups: int = 1
) -> Encoding:
    """Encode W (out, in) for ``n_pe`` PEs in ``col_groups`` groups (see the module docstring).

    ``codebook=None`` derives the codebook from W's distinct values.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or 0 in W.shape:
        raise UsageError(f"encode needs a non-empty 2-D matrix (out, in); got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise UsageError("the matrix holds NaN or Inf")
    k = knobs.check({"n_pe": n_pe, "code_bits": code_bits, "index_bits": index_bits, "col_groups": col_groups})
    n_pe, code_bits, index_bits, col_groups = k["n_pe"], k["code_bits"], k["index_bits"], k["col_groups"]
    cb, codes = _codes_for(W, code_bits, codebook)
    G = int(col_groups)
    R = int(n_pe) // G
    n_cols = -(-W.shape[1] // G)
    enc = Encoding(cb, tuple(W.shape), int(n_pe), code_bits, index_bits, col_groups=G)
    for g in range(G):
        block = codes[:, g::G]
        if block.shape[1] < n_cols:  # pad a short group with an empty column: every PE has n_cols
            block = np.concatenate([block, np.zeros((W.shape[0], n_cols - block.shape[1]), np.uint8)], 1)
        enc.pes += [_encode_pe(block[q::R], index_bits) for q in range(R)]
    return enc


def decode_codes(enc: Encoding) -> np.ndarray:
    """The code matrix (out, in) back from the per-PE CSC."""
    n_out, n_in = enc.shape
    R, G = enc.row_pes, enc.col_groups
    codes = np.zeros((n_out, n_in), dtype=np.uint8)
    for k, pe in enumerate(enc.pes):
        if pe.n_entries == 0:
            continue
        cols = enc.pe_columns(k)
        step = pe.rel_index.astype(np.int64) + 1
        pos = np.cumsum(step)
        col_of = np.repeat(np.arange(pe.colptr.size - 1), np.diff(pe.colptr))
        starts = pe.colptr[:-1][col_of]  # first entry of each entry's column
        base = np.where(starts > 0, pos[np.maximum(starts - 1, 0)], 0)
        local = pos - base - 1
        keep = pe.codes != 0
        if np.any(local[keep] >= pe.n_rows):
            raise UsageError(f"PE {k}: a relative index runs past its {pe.n_rows} local rows")
        if np.any(col_of[keep] >= cols.size):
            raise UsageError(f"PE {k}: an entry in a padding column (past input {n_in})")
        codes[local[keep] * R + k % R, cols[col_of[keep]]] = pe.codes[keep]
    return codes


def decode(enc: Encoding, shape=None) -> np.ndarray:
    """W back from the encoding (float, codebook values)."""
    if shape is not None and tuple(shape) != tuple(enc.shape):
        raise UsageError(f"decode shape {tuple(shape)} differs from the encoded {enc.shape}")
    return enc.codebook[decode_codes(enc)]
