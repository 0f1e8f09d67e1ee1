"""Fixed point <-> AXI-stream words, in numpy only (the board has no TensorFlow).

A sample of n values, each the `bits`-bit two's complement raw integer of a fixed-point type,
is packed little-endian: value k of the sample sits at bits [j*bits, (j+1)*bits) of word
k // values_per_word, j = k % values_per_word, values_per_word = stream_bits // bits. A sample
is padded to whole words with zero bits, so samples start on word boundaries (docs/internals.md,
"Board I/O"). The kernel side of this contract is kernels/eie_axi_top.h.

Fixed types are the FixedType dicts of docs/internals.md:
`{"width": 16, "integer": 6, "signed": true, "rounding": "RND", "saturation": "SAT"}` (plus
`"is_int": true` for ap_int/ap_uint), with ap_fixed semantics for every mode (see flow/eie/fixed.py,
which the tests compare this module with): rounding TRN (floor), TRN_ZERO, RND (half up), RND_ZERO,
RND_MIN_INF, RND_INF, RND_CONV (half to even); overflow WRAP, SAT, SAT_ZERO, SAT_SYM.
"""

from __future__ import annotations

import numpy as np

STREAM_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
ROUNDING = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")
SATURATION = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")


def check_fixed_type(t: dict, what: str = "fixed type") -> dict:
    """Validate a FixedType dict; returns it with defaults filled in. Raises ValueError naming the field."""
    if not isinstance(t, dict):
        raise ValueError(f"{what} must be a dict like {{'width': 16, 'integer': 6}}, got {t!r}")
    missing = [k for k in ("width", "integer") if k not in t]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(missing)}: {t!r}")
    out = {
        "width": t["width"],
        "integer": t["integer"],
        "signed": t.get("signed", True),
        "rounding": t.get("rounding", "TRN"),
        "saturation": t.get("saturation", "WRAP"),
    }
    if t.get("is_int", False):
        out["is_int"] = True
    w, i = out["width"], out["integer"]
    if not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= 64:
        raise ValueError(f"{what}: width must be an integer in 1..64, got {w!r}")
    if not isinstance(i, int) or isinstance(i, bool):
        raise ValueError(f"{what}: integer must be an integer, got {i!r}")
    if not isinstance(out["signed"], bool):
        raise ValueError(f"{what}: signed must be true or false, got {out['signed']!r}")
    if out["rounding"] not in ROUNDING:
        raise ValueError(f"{what}: rounding must be one of {ROUNDING}, got {out['rounding']!r}")
    if out["saturation"] not in SATURATION:
        raise ValueError(f"{what}: saturation must be one of {SATURATION}, got {out['saturation']!r}")
    return out


def frac_bits(t: dict) -> int:
    return t["width"] - t["integer"]


def raw_range(t: dict) -> tuple[int, int]:
    """(min_raw, max_raw) of a fixed type."""
    w = t["width"]
    if t.get("signed", True):
        return -(1 << (w - 1)), (1 << (w - 1)) - 1
    return 0, (1 << w) - 1


def quantize(x, t: dict) -> np.ndarray:
    """Float array -> int64 raw values of fixed type `t`, exactly as an ap_fixed assignment from float.

    Raises ValueError on NaN or Inf (ap_fixed has no encoding for them).
    """
    t = check_fixed_type(t)
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"cannot quantize NaN/Inf (first at index {tuple(int(i) for i in bad)})")
    scaled = np.ldexp(x, frac_bits(t))  # exact: a power-of-two scaling
    floor = np.floor(scaled)
    rem, neg, mode = scaled - floor, scaled < 0, t["rounding"]  # rem exact, in [0, 1)
    odd = np.fmod(floor, 2.0) != 0
    up = {
        "TRN": np.zeros(floor.shape, dtype=bool),
        "TRN_ZERO": neg & (rem != 0),
        "RND": rem >= 0.5,
        "RND_ZERO": (rem > 0.5) | ((rem == 0.5) & neg),
        "RND_MIN_INF": rem > 0.5,
        "RND_INF": (rem > 0.5) | ((rem == 0.5) & ~neg),
        "RND_CONV": (rem > 0.5) | ((rem == 0.5) & odd),
    }[mode]
    r = floor + up
    if t.get("is_int", False):  # ap_int_base(double) turns -0.5 < x < 0 into 1
        r = np.where((x < 0) & (x > -0.5), 1.0, r)
    lo, hi = raw_range(t)
    if t["saturation"] == "WRAP":
        # keep the low `width` bits of the (exact) integer, then reinterpret
        return wrap_raw(np.mod(r, float(1 << t["width"])).astype(np.uint64), t)
    if t["saturation"] == "SAT_ZERO":
        return np.where((r < lo) | (r > hi), 0.0, r).astype(np.int64)
    if t["saturation"] == "SAT_SYM" and t.get("signed", True):
        lo = -hi
    return np.clip(r, lo, hi).astype(np.int64)


def wrap_raw(raw, t: dict) -> np.ndarray:
    """Keep the low `width` bits of integers and reinterpret them as `t` (two's complement if signed)."""
    w = t["width"]
    a = np.asarray(raw)
    u = a.astype(np.uint64)  # int64 -> uint64 wraps modulo 2**64, which keeps the low bits
    if w < 64:
        u = u & np.uint64((1 << w) - 1)
    if t.get("signed", True) and w < 64:
        # sign-extend: move bit w-1 to bit 63, reinterpret, arithmetic shift back (no 2**w constant,
        # which does not fit int64 for w = 63)
        shift = np.uint64(64 - w)
        return ((u << shift).view(np.int64) >> np.int64(64 - w)).astype(np.int64)
    return u.view(np.int64).astype(np.int64)


def to_float(raw, t: dict) -> np.ndarray:
    """Raw integers of type `t` -> float64 values."""
    return np.ldexp(np.asarray(raw, dtype=np.float64), -frac_bits(t))


def check_raw(raw, t: dict, what: str = "raw input") -> np.ndarray:
    """Integer array within the raw range of `t` -> int64; ValueError naming the first bad value."""
    a = np.asarray(raw)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{what} must hold integers (raw fixed-point values), got dtype {a.dtype}")
    lo, hi = raw_range(t)
    bad = (a < lo) | (a > hi)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{what}: value {int(a[idx])} at index {idx} is outside [{lo}, {hi}] of {t}")
    return a.astype(np.int64)


class StreamLayout:
    """How `n` values of `bits` bits each fill `stream_bits`-bit words."""

    def __init__(self, n: int, bits: int, stream_bits: int):
        if stream_bits not in STREAM_DTYPES:
            raise ValueError(f"stream_bits must be one of {sorted(STREAM_DTYPES)}, got {stream_bits!r}")
        if not isinstance(bits, int) or not 1 <= bits <= stream_bits:
            raise ValueError(f"value width {bits!r} must be between 1 and stream_bits={stream_bits}")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"values per sample must be a positive integer, got {n!r}")
        self.n, self.bits, self.stream_bits = n, bits, stream_bits
        self.values_per_word = stream_bits // bits
        self.words_per_sample = -(-n // self.values_per_word)
        self.dtype = np.dtype(STREAM_DTYPES[stream_bits])
        self.bytes_per_sample = self.words_per_sample * self.dtype.itemsize

    def __repr__(self) -> str:
        return (
            f"StreamLayout(n={self.n}, bits={self.bits}, stream_bits={self.stream_bits}: "
            f"{self.values_per_word}/word, {self.words_per_sample} words/sample)"
        )

    def _shifts(self) -> np.ndarray:
        return (np.arange(self.values_per_word, dtype=np.uint64) * np.uint64(self.bits)).astype(np.uint64)

    def pack(self, raw) -> np.ndarray:
        """int raw values (batch, n) -> words (batch * words_per_sample,) of dtype uint<stream_bits>."""
        raw = np.asarray(raw)
        if raw.ndim != 2 or raw.shape[1] != self.n:
            raise ValueError(f"expected raw values of shape (batch, {self.n}), got {raw.shape}")
        batch = raw.shape[0]
        slots = self.words_per_sample * self.values_per_word
        u = np.zeros((batch, slots), dtype=np.uint64)
        mask = np.uint64((1 << self.bits) - 1) if self.bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        u[:, : self.n] = raw.astype(np.int64).astype(np.uint64) & mask
        u = u.reshape(batch, self.words_per_sample, self.values_per_word) << self._shifts()
        words = np.bitwise_or.reduce(u, axis=2) if self.values_per_word > 1 else u[:, :, 0]
        return words.reshape(-1).astype(self.dtype)

    def unpack(self, words, batch: int, signed: bool = True) -> np.ndarray:
        """words (>= batch * words_per_sample,) -> int64 raw values (batch, n), sign-extended if `signed`."""
        words = np.asarray(words).reshape(-1)
        need = batch * self.words_per_sample
        if words.size < need:
            raise ValueError(f"{batch} samples need {need} words, got {words.size}")
        w = words[:need].astype(np.uint64).reshape(batch, self.words_per_sample, 1)
        mask = np.uint64((1 << self.bits) - 1) if self.bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        v = (w >> self._shifts()) & mask
        v = v.reshape(batch, -1)[:, : self.n]
        return wrap_raw(v, {"width": self.bits, "signed": signed})


def pack_floats(x, t: dict, stream_bits: int) -> np.ndarray:
    """Float array (batch, n) -> stream words, quantizing with `t`'s rounding and saturation."""
    x = np.asarray(x)
    raw = quantize(x, t)
    return StreamLayout(x.shape[1], t["width"], stream_bits).pack(raw)


def unpack_floats(words, batch: int, n: int, t: dict, stream_bits: int) -> np.ndarray:
    """Stream words -> float64 values (batch, n) of type `t`."""
    t = check_fixed_type(t)
    raw = StreamLayout(n, t["width"], stream_bits).unpack(words, batch, signed=t["signed"])
    return to_float(raw, t)
