"""The LSTM element-wise unit in fixed point: sigmoid and tanh by piecewise-linear tables, the cell
update c = f*c + i*g and h = o*tanh(c). numpy only, integer arithmetic (flow.fixed semantics).

A function f is tabulated at the breakpoints x_k = -R + k * 2**-s, k = 0..N (N = 2R * 2**s), each
entry rounded to the output type (RND, SAT). An input of F >= s fractional bits splits into the
segment index k (its high bits above -R) and the remainder r (its low F - s bits):

    y = T[k] + round_half_up((T[k+1] - T[k]) * r / 2**(F - s))       inside [-R, R)
    y = T[0] below -R, T[N] at or above R                            (clamped)

one subtraction, one multiply and one shift per evaluation (the hardware's cost).

Error bound (`PWLTable.error_bound`), for every representable input value x:

    |y - f(x)| <= max(M2 * h**2 / 8 + LSB, tail + LSB / 2) + sat
      M2 * h**2 / 8   linear interpolation between exact values on a segment of width h = 2**-s
                      (M2 = max |f''|: 1/(6 sqrt 3) for sigmoid, 4/(3 sqrt 3) for tanh);
      LSB             the table's rounding (LSB/2, kept by the convex combination) plus the
                      product's rounding (LSB/2); out of range only the table's LSB/2;
      tail            max(|f(-inf) - f(-R)|, |f(+inf) - f(R)|): the clamp;
      sat             how far f exceeds the output type's range (0 when it fits).
With the defaults (`DEFAULT_SIGMOID`, `DEFAULT_TANH`: R = 16 and 8, 2**-4 and 2**-5 segments,
513-entry tables, outputs ap_fixed<16,2>) the bound is 1.08e-4 for sigmoid and 1.55e-4 for tanh;
tests/eie/test_eie_elementwise.py checks it on every 16-bit input and, with hypothesis, on random
table shapes and types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from flow.errors import UsageError
from flow.fixed import FixedType

#: max |f''| of each function (the interpolation error's constant)
SECOND_DERIVATIVE = {"sigmoid": 1.0 / (6.0 * math.sqrt(3.0)), "tanh": 4.0 / (3.0 * math.sqrt(3.0))}
LIMITS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}  # f(-inf), f(+inf)


def _f(fn: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if fn == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow
    return np.tanh(x)


#: the gate outputs' type: sigmoid in [0, 1] and tanh in [-1, 1] need 2 integer bits (sign included)
ACT_T = FixedType(16, 2, True, "RND", "SAT")


@dataclass(frozen=True)
class PWLSpec:
    """A table's shape: f over [-2**range_log2, 2**range_log2) in segments of 2**-seg_log2."""

    fn: str
    range_log2: int
    seg_log2: int

    def __post_init__(self) -> None:
        if self.fn not in SECOND_DERIVATIVE:
            raise UsageError(f"PWL function {self.fn!r}: use one of {sorted(SECOND_DERIVATIVE)}")
        if not (0 <= self.range_log2 <= 8 and 0 <= self.seg_log2 <= 10 and self.range_log2 + self.seg_log2 <= 14):
            raise UsageError(
                f"PWL {self.fn}: range 2**{self.range_log2}, segments 2**-{self.seg_log2} give "
                f"{2 ** (self.range_log2 + self.seg_log2 + 1) + 1} entries; keep range_log2 <= 8, "
                "seg_log2 <= 10 and their sum <= 14 (at most 32769 entries)"
            )

    @property
    def n_segments(self) -> int:
        return 2 ** (self.range_log2 + 1 + self.seg_log2)


DEFAULT_SIGMOID = PWLSpec("sigmoid", 4, 4)
DEFAULT_TANH = PWLSpec("tanh", 3, 5)


@dataclass(eq=False)
class PWLTable:
    """A tabulated function: `entries` (int64 raw of out_t, N + 1 of them) and its evaluation."""

    spec: PWLSpec
    out_t: FixedType
    entries: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, spec: PWLSpec, out_t: FixedType = ACT_T) -> PWLTable:
        R, h = 2.0**spec.range_log2, 2.0**-spec.seg_log2
        xs = -R + h * np.arange(spec.n_segments + 1)
        return cls(spec, out_t, out_t.quantize(_f(spec.fn, xs)))

    def __call__(self, x_raw, in_t: FixedType) -> np.ndarray:
        """f of raw inputs of type in_t -> raw out_t (int64, same shape)."""
        s, F, N = self.spec.seg_log2, in_t.frac, self.spec.n_segments
        if F < s:
            raise UsageError(
                f"PWL {self.spec.fn}: input {in_t.cpp} has {F} fractional bits, fewer than the table's "
                f"{s} segment bits; give the input at least {s} fractional bits or use a coarser table"
            )
        x = np.asarray(x_raw, dtype=np.int64)
        shift = F - s
        off = x + (np.int64(1) << np.int64(self.spec.range_log2 + F))  # x + R, in input LSBs (>= 0 inside)
        k = off >> np.int64(shift)
        r = off & np.int64((1 << shift) - 1)
        kc = np.clip(k, 0, N - 1)
        t0, t1 = self.entries[kc], self.entries[kc + 1]
        half = np.int64(1 << (shift - 1)) if shift else np.int64(0)
        y = t0 + (((t1 - t0) * r + half) >> np.int64(shift))
        y = np.where(k < 0, self.entries[0], np.where(k >= N, self.entries[N], y))
        return y.astype(np.int64)

    def error_bound(self) -> float:
        """The bound on |y - f(x)| of the module docstring, for this table and output type."""
        spec, lsb = self.spec, self.out_t.lsb
        R, h = 2.0**spec.range_log2, 2.0**-spec.seg_log2
        lo, hi = LIMITS[spec.fn]
        tail = max(abs(float(_f(spec.fn, -R)) - lo), abs(hi - float(_f(spec.fn, R))))
        chord = SECOND_DERIVATIVE[spec.fn] * h * h / 8.0
        t_lo, t_hi = self.out_t.to_float(self.out_t.min_raw), self.out_t.to_float(self.out_t.max_raw)
        sat = max(0.0, t_lo - lo, hi - t_hi)
        return max(chord + lsb, tail + lsb / 2) + sat

    def exact(self, x: np.ndarray) -> np.ndarray:
        """f in float (what the table approximates)."""
        return _f(self.spec.fn, x)


@dataclass(eq=False)
class ElementwiseUnit:
    """One LSTM step's element-wise work, per hidden unit, on raw integers.

    gate_t: the gate pre-activations (the mat-vec's output); act_t: sigmoid/tanh outputs;
    cell_t: the cell state; h_t: the hidden state (also the mat-vec's input type, as h is fed back).
      i, f, o = sigmoid(gate); g = tanh(gate)                           (act_t)
      c' = cell_t(f * c + i * g)        exact products and sum, then one RND/SAT cast
      h' = h_t(o * tanh(c'))            tanh of cell_t, exact product, one cast
    """

    gate_t: FixedType
    act_t: FixedType
    cell_t: FixedType
    h_t: FixedType
    sigmoid: PWLTable
    tanh: PWLTable

    @classmethod
    def build(cls, gate_t, cell_t, h_t, act_t: FixedType = ACT_T, sigmoid: PWLSpec = DEFAULT_SIGMOID,
              tanh: PWLSpec = DEFAULT_TANH) -> ElementwiseUnit:
        return cls(gate_t, act_t, cell_t, h_t, PWLTable.build(sigmoid, act_t), PWLTable.build(tanh, act_t))

    def step(self, gates_raw: np.ndarray, c_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """gates_raw [..., 4, H] (i, f, g, o: Keras's order) in gate_t, c_raw [..., H] in cell_t ->
        (h' raw in h_t, c' raw in cell_t)."""
        gi, gf, gg, go = (gates_raw[..., k, :] for k in range(4))
        i = self.sigmoid(gi, self.gate_t)
        f = self.sigmoid(gf, self.gate_t)
        g = self.tanh(gg, self.gate_t)
        o = self.sigmoid(go, self.gate_t)
        Fa, Fc = self.act_t.frac, self.cell_t.frac
        frac = Fa + max(Fa, Fc)  # the sum's exact fraction bits
        fc = (f * c_raw) << np.int64(frac - Fa - Fc)
        ig = (i * g) << np.int64(frac - 2 * Fa)
        c_new = self.cell_t.cast(fc + ig, from_frac=frac)
        tc = self.tanh(c_new, self.cell_t)
        h_new = self.h_t.cast(o * tc, from_frac=2 * Fa)
        return h_new, c_new

    def check(self) -> None:
        """UsageError when the types cannot work: a table needs enough input fraction bits, and the
        products must fit int64."""
        for t, table, what in ((self.gate_t, self.sigmoid, "gate_t"), (self.gate_t, self.tanh, "gate_t"),
                               (self.cell_t, self.tanh, "cell_t")):
            if t.frac < table.spec.seg_log2:
                raise UsageError(
                    f"{what} {t.cpp} has {t.frac} fractional bits; the {table.spec.fn} table needs >= "
                    f"{table.spec.seg_log2}: give {what} more fractional bits"
                )
        if self.act_t.width + max(self.act_t.width, self.cell_t.width) + 2 > 62:
            raise UsageError(f"act_t {self.act_t.cpp} x cell_t {self.cell_t.cpp} products exceed 62 bits")
