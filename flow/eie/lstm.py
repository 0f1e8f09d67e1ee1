"""An LSTM layer on the EIE engine: one sparse mat-vec per time step, then the element-wise unit.

Mapping (ESE's, Han et al. FPGA 2017, on EIE's storage format). Keras's LSTM (gate order i, f, c, o,
called i, f, g, o here) computes per step z = [x_t; h_{t-1}] (I + H inputs) and the 4H gate
pre-activations W z + b with W = [kernel; recurrent_kernel].T (4H x (I + H)). On the engine W is one
EIE matrix whose rows are ordered so that the four gates of a hidden unit sit on ONE PE:

    engine row of (gate k, unit u) = (4 * (u // R) + k) * R + u % R          (R = row PEs, P / G)

so row-PE q = u % R holds units u = q, q + R, q + 2R, ... at local rows 4 * (u // R) + k: the gate of
a local row is its two low bits, the element-wise work of unit u (sigmoid/tanh of its four gates,
c_u, h_u) is local to PE u % R, and c_u never leaves it. H is padded to a multiple of R with empty
rows (no entries, bias 0; their outputs are dropped): 4 * ceil(H / R) * R engine rows. h_t is
written back as input columns I .. I + H - 1 of the next step (h_u from PE u % R), so the recurrence
needs no host round trip. With col_groups G > 1 the G partial sums of a row meet in the gather and
the element-wise unit works on the gathered row (the same row-PE index q).

Codebooks: one per layer (kernel and recurrent kernel together, EIE's one codebook per PE), or one
per gate (`per_gate`): a PE then selects the book by the entry's local row modulo 4, the gate.

Fixed point (flow.fixed semantics): x_t and h_t share `input_t` (they are one input vector); the
exact accumulator is cast to `gate_t` (the mat-vec's output type), then flow.eie.elementwise.
`lstm_sequence` is the bit-exact integer reference of the whole sequence (zero initial state).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from flow.eie.elementwise import ACT_T, DEFAULT_SIGMOID, DEFAULT_TANH, ElementwiseUnit, PWLSpec
from flow.eie.encode import decode_codes, encode
from flow.eie.knobs import DEFAULT_DETECT_WIDTH
from flow.eie.knobs import check as check_knobs
from flow.eie.layer import EIELayer
from flow.eie.reference import eie_dense
from flow.errors import UsageError
from flow.fixed import MAX_WIDTH, FixedType

GATES = ("i", "f", "g", "o")  # Keras's order: input, forget, cell candidate (Keras "c"), output


def engine_rows(n_hidden: int, row_pes: int) -> np.ndarray:
    """[4, H] engine row of (gate, unit): the four gates of unit u on row-PE u % R (module docstring)."""
    u = np.arange(int(n_hidden))
    R = int(row_pes)
    return np.stack([(4 * (u // R) + k) * R + u % R for k in range(4)])


def n_engine_rows(n_hidden: int, row_pes: int) -> int:
    return 4 * -(-int(n_hidden) // int(row_pes)) * int(row_pes)


@dataclass(frozen=True)
class LSTMTypes:
    """The fixed-point types of an LSTM layer on the engine."""

    input_t: FixedType  # x_t and h_t (h is fed back as inputs)
    weight_t: FixedType  # the codebook(s)
    bias_t: FixedType
    gate_t: FixedType  # the gate pre-activations (the mat-vec's output)
    cell_t: FixedType  # c_t
    act_t: FixedType = ACT_T  # sigmoid / tanh outputs

    def to_dict(self) -> dict:
        return {k: getattr(self, k).to_dict() for k in ("input_t", "weight_t", "bias_t", "gate_t", "cell_t", "act_t")}


@dataclass(eq=False)
class GateMatrix(EIELayer):
    """The LSTM's mat-vec: an EIELayer over the engine rows, with one codebook per gate (four equal
    books for a per-layer codebook); the gate of engine row e is (e // R) % 4."""

    gate_books_raw: np.ndarray | None = None  # int64 [4, 2**code_bits], weight_t raw, [:, 0] == 0

    @functools.cached_property
    def weight_raw(self) -> np.ndarray:
        codes = decode_codes(self.encoding)
        gate = (np.arange(self.n_out) // self.row_pes) % 4
        return self.gate_books_raw[gate[:, None], codes]

    def with_array(self, **_) -> EIELayer:
        raise UsageError(f"layer {self.name!r}: an LSTM's matrix is rebuilt with EIELSTM.from_keras, not with_array")


def _books(Wt: np.ndarray, code_bits: int, per_gate: bool, H: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(float books [4, 2**b], codes of Wt [4H, I+H]) from the distinct non-zero values."""
    n = 1 << code_bits
    books = np.zeros((4, n))
    codes = np.zeros(Wt.shape, dtype=np.uint8)
    blocks = [slice(k * H, (k + 1) * H) for k in range(4)] if per_gate else [slice(0, 4 * H)]
    for b, sl in enumerate(blocks):
        blk = Wt[sl]
        values = np.unique(blk[blk != 0])
        if values.size > n - 1:
            what = f"gate {GATES[b]}" if per_gate else "kernel + recurrent kernel"
            raise UsageError(
                f"layer {name!r}: {what} has {values.size} distinct non-zero weights but code_bits={code_bits} "
                f"allows {n - 1}: share the weights first (flow compress) or raise code_bits"
            )
        book = np.zeros(n)
        book[1 : 1 + values.size] = values
        sub = np.zeros(blk.shape, dtype=np.uint8)
        sub[blk != 0] = np.searchsorted(values, blk[blk != 0]) + 1
        codes[sl] = sub
        if per_gate:
            books[b] = book
        else:
            books[:] = book
    return books, codes


def _accum_t(name: str, weight_raw: np.ndarray, bias_raw: np.ndarray, t: LSTMTypes) -> FixedType:
    """The narrowest signed accumulator holding any row sum plus its bias (as layer.derive_accum_t)."""
    frac = t.input_t.frac + t.weight_t.frac
    if t.bias_t.frac > frac:
        raise UsageError(
            f"layer {name!r}: bias_t {t.bias_t.cpp} has more fractional bits than the accumulator's {frac}"
        )
    x_max = max(abs(t.input_t.min_raw), abs(t.input_t.max_raw))
    bound = np.abs(weight_raw).astype(object).sum(axis=1) * x_max
    bound = bound + np.abs(bias_raw).astype(object) * (1 << (frac - t.bias_t.frac))
    width = int(max(bound.max(), 1)).bit_length() + 1
    if width > MAX_WIDTH:
        raise UsageError(f"layer {name!r}: the accumulator would need {width} bits (> {MAX_WIDTH})")
    return FixedType(width, width - frac, True, "TRN", "WRAP")


@dataclass(eq=False)
class EIELSTM:
    """An LSTM layer on the engine: `matvec` (4 ceil(H/R) R rows x (I + H) columns) + `unit`."""

    name: str
    n_in: int
    n_hidden: int
    types: LSTMTypes
    matvec: GateMatrix
    unit: ElementwiseUnit
    rows: np.ndarray  # [4, H] engine rows of (gate, unit)
    per_gate: bool

    @classmethod
    def from_keras(
        cls,
        name: str,
        kernel,
        recurrent_kernel,
        bias,
        *,
        types: LSTMTypes,
        n_pe: int,
        fifo_depth: int = 8,
        code_bits: int = 4,
        index_bits: int = 4,
        col_groups: int = 1,
        detect_width: int = DEFAULT_DETECT_WIDTH,
        per_gate: bool = False,
        sigmoid: PWLSpec = DEFAULT_SIGMOID,
        tanh: PWLSpec = DEFAULT_TANH,
        h_col: int | None = None,
    ) -> EIELSTM:
        """From Keras's LSTM weights: kernel (I, 4H), recurrent_kernel (H, 4H), bias (4H,) or None,
        gates in Keras's order i, f, c, o; weights already shared (<= 2**code_bits - 1 distinct
        non-zero values per codebook). h_col: the matrix column of h_0 (default I); the columns
        I .. h_col - 1 are empty (the RTL engine puts h on a store line boundary: h_col = 16 ceil(I / 16))."""
        kernel = np.asarray(kernel, dtype=np.float64)
        rec = np.asarray(recurrent_kernel, dtype=np.float64)
        if kernel.ndim != 2 or kernel.shape[1] % 4 or rec.shape != (kernel.shape[1] // 4, kernel.shape[1]):
            raise UsageError(
                f"layer {name!r}: LSTM kernel {kernel.shape} and recurrent kernel {rec.shape} must be "
                "(I, 4H) and (H, 4H)"
            )
        n_in, H = kernel.shape[0], kernel.shape[1] // 4
        h_col = n_in if h_col is None else int(h_col)
        if h_col < n_in:
            raise UsageError(f"layer {name!r}: h_col={h_col} is below the {n_in} inputs; give h_col >= {n_in}")
        bias = np.zeros(4 * H) if bias is None else np.asarray(bias, dtype=np.float64).ravel()
        if bias.shape != (4 * H,):
            raise UsageError(f"layer {name!r}: bias has shape {bias.shape}, expected ({4 * H},)")
        k = check_knobs({"n_pe": n_pe, "fifo_depth": fifo_depth, "col_groups": col_groups,
                         "detect_width": detect_width, "code_bits": code_bits, "index_bits": index_bits},
                        f"layer {name!r}")
        R = k["n_pe"] // k["col_groups"]
        unit = ElementwiseUnit.build(types.gate_t, types.cell_t, types.input_t, types.act_t, sigmoid, tanh)
        unit.check()
        Wt = np.concatenate([kernel, rec], axis=0).T  # (4H, I + H), rows gate * H + u
        if not np.all(np.isfinite(Wt)) or not np.all(np.isfinite(bias)):
            raise UsageError(f"layer {name!r}: the weights hold NaN or Inf")
        books, codes = _books(Wt, k["code_bits"], per_gate, H, name)
        rows = engine_rows(H, R)
        n_rows = n_engine_rows(H, R)
        E = np.zeros((n_rows, h_col + H))
        E[rows.ravel(), :n_in] = codes[:, :n_in]  # rows.ravel() is gate-major, as Wt
        E[rows.ravel(), h_col:] = codes[:, n_in:]
        enc = encode(E, k["n_pe"], k["code_bits"], k["index_bits"], codebook=np.arange(1 << k["code_bits"]),
                     col_groups=k["col_groups"])
        books_raw = types.weight_t.quantize(books)
        books_raw[:, 0] = 0
        bias_e = np.zeros(n_rows)
        bias_e[rows.ravel()] = bias
        bias_raw = types.bias_t.quantize(bias_e)
        gate = (np.arange(n_rows) // R) % 4
        weight_raw = books_raw[gate[:, None], decode_codes(enc)]
        accum_t = _accum_t(name, weight_raw, bias_raw, types)
        mat = GateMatrix(
            name, h_col + H, n_rows, k["n_pe"], k["fifo_depth"], enc.code_bits, enc.index_bits, "linear",
            types.input_t, types.weight_t, types.bias_t, accum_t, types.gate_t, enc, books_raw[0].copy(),
            bias_raw, 1, k["col_groups"], k["detect_width"], gate_books_raw=books_raw,
        )
        return cls(name, n_in, H, types, mat, unit, rows, bool(per_gate))

    # -- the reference -------------------------------------------------------------------------
    @property
    def h_col(self) -> int:
        """The matrix column of h_0 (columns n_in .. h_col - 1 are empty)."""
        return self.matvec.n_in - self.n_hidden

    def z(self, x_raw: np.ndarray, h_raw: np.ndarray) -> np.ndarray:
        """The mat-vec input [x_t; 0 (padding); h_{t-1}] of [B, I] and [B, H] raw."""
        x_raw, h_raw = np.atleast_2d(x_raw), np.atleast_2d(h_raw)
        pad = np.zeros((x_raw.shape[0], self.h_col - self.n_in), np.int64)
        return np.concatenate([x_raw, pad, h_raw], axis=1)

    def gates(self, x_raw: np.ndarray, h_raw: np.ndarray) -> np.ndarray:
        """[B, 4, H] gate pre-activations (gate_t raw) from x_t [B, I] and h_{t-1} [B, H] raw."""
        y = eie_dense(self.z(x_raw, h_raw), self.matvec)  # [B, n_rows] in gate_t
        return y[:, self.rows]

    def step(self, x_raw, h_raw, c_raw) -> tuple[np.ndarray, np.ndarray]:
        """One time step: (h_t, c_t) raw."""
        return self.unit.step(self.gates(x_raw, h_raw), c_raw)

    def weights_float(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kernel (I, 4H), recurrent kernel (H, 4H), bias (4H,)) as the engine holds them, Keras's layout."""
        W = self.types.weight_t.to_float(self.matvec.weight_raw[self.rows.ravel()])  # (4H, I + H)
        b = self.types.bias_t.to_float(self.matvec.bias_raw[self.rows.ravel()])
        return W[:, : self.n_in].T, W[:, self.h_col :].T, b


def _check_sequence(x_raw, layer: EIELSTM) -> np.ndarray:
    x = np.asarray(x_raw)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != layer.n_in:
        raise UsageError(
            f"layer {layer.name!r}: input has shape {np.shape(x_raw)}, expected (batch, steps, {layer.n_in})"
        )
    if not np.issubdtype(x.dtype, np.integer):
        raise UsageError(f"layer {layer.name!r}: inputs must be raw integers of {layer.types.input_t.cpp}")
    return layer.types.input_t.check_raw(x, f"layer {layer.name!r} input")


def lstm_sequence(x_raw, layer: EIELSTM) -> tuple[np.ndarray, np.ndarray]:
    """The bit-exact reference of a whole sequence from a zero state: (h [B, T, H] in input_t raw,
    c [B, T, H] in cell_t raw); h[:, t] is fed back as step t + 1's inputs I .. I + H - 1."""
    x = _check_sequence(x_raw, layer)
    B, T, _ = x.shape
    h = np.zeros((B, layer.n_hidden), np.int64)
    c = np.zeros((B, layer.n_hidden), np.int64)
    hs = np.zeros((B, T, layer.n_hidden), np.int64)
    cs = np.zeros((B, T, layer.n_hidden), np.int64)
    for t in range(T):
        h, c = layer.step(x[:, t], h, c)
        hs[:, t], cs[:, t] = h, c
    return hs, cs


def lstm_float(kernel, recurrent_kernel, bias, x) -> np.ndarray:
    """Keras's LSTM in float64 numpy (sigmoid, tanh; zero state): h [B, T, H] (tests, tracking)."""
    x = np.asarray(x, dtype=np.float64)
    H = np.asarray(recurrent_kernel).shape[0]
    h = np.zeros((x.shape[0], H))
    c = np.zeros((x.shape[0], H))
    out = np.zeros((x.shape[0], x.shape[1], H))
    sig = lambda v: 0.5 * (1 + np.tanh(0.5 * v))  # noqa: E731
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (z[:, k * H : (k + 1) * H] for k in range(4))
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        out[:, t] = h
    return out
