"""Fixed point: ap_fixed semantics on int64 raw values. The one implementation (numpy only).

A value of type ``FixedType(width, integer)`` is ``raw * 2**-frac`` with ``frac = width - integer``.
Only the modes the engine uses exist: rounding AP_TRN (floor) and AP_RND (half towards +inf),
overflow AP_WRAP (two's complement) and AP_SAT (clamp). The numpy reference (flow.eie.reference),
the HLS flow and the board runtime (flow.runtime, which ships this file) all convert through it;
``cast`` is checked bit for bit against the real ap_fixed headers in tests/eie/test_eie_fixed.py.

On disk (compression.json, a bundle's model.json) a type is the dict of ``to_dict``:
``{"width": 16, "integer": 6, "signed": true, "rounding": "RND"|"TRN", "saturation": "SAT"|"WRAP"}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flow.errors import UsageError

ROUNDING = ("TRN", "RND")
SATURATION = ("WRAP", "SAT")
#: raw values live in int64; one bit of headroom is kept for rounding and shifts
MAX_WIDTH = 62
_KEYS = ("width", "integer", "signed", "rounding", "saturation")


def integer_bits(max_abs: float, margin: int = 0, signed: bool = True) -> int:
    """Smallest integer bits (sign bit included when signed) with max_abs < 2**(I-1), plus margin.

    At least 1 before the margin; max_abs <= 0 needs no magnitude bits. NaN or Inf cannot be
    sized: UsageError naming the value (the weights or activations it came from are not finite).
    One definition for flow.compress.quantize (types recorded by `flow compress`) and
    flow.hls.convert (types profiled on a Keras model).
    """
    max_abs = float(max_abs)
    if not math.isfinite(max_abs):
        raise UsageError(
            f"cannot size a fixed-point type for max |x| = {max_abs}: the values are NaN/Inf; "
            "check the model weights and the calibration data"
        )
    need = math.floor(math.log2(max_abs)) + 1 if max_abs > 0 else 0
    return max(1, need + (1 if signed else 0)) + margin


def wrap(raw, width: int, signed: bool = True) -> np.ndarray:
    """Keep the low `width` bits (1..64) of integers, reinterpreted as two's complement if signed."""
    u = np.asarray(raw).astype(np.uint64)  # int64 -> uint64 wraps modulo 2**64: keeps the low bits
    if width < 64:
        u = u & np.uint64((1 << width) - 1)
        if signed:
            # sign-extend: bit width-1 to bit 63, reinterpret, arithmetic shift back (no 2**width
            # constant, which does not fit int64 for width 63)
            shift = np.uint64(64 - width)
            return ((u << shift).view(np.int64) >> np.int64(64 - width)).astype(np.int64)
    return u.view(np.int64).astype(np.int64)


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


@dataclass(frozen=True)
class FixedType:
    """An ap_fixed / ap_ufixed type. ``integer`` includes the sign bit, as in ap_fixed<W, I>."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    saturation: str = "WRAP"

    def __post_init__(self) -> None:
        if not _is_int(self.width) or not 1 <= self.width <= MAX_WIDTH:
            raise UsageError(f"FixedType width={self.width!r}: must be an integer 1..{MAX_WIDTH} (raw values are int64)")
        if not _is_int(self.integer):
            raise UsageError(f"FixedType integer={self.integer!r}: must be an integer")
        if not isinstance(self.signed, (bool, np.bool_)):
            raise UsageError(f"FixedType signed={self.signed!r}: must be true or false")
        if self.signed and self.width < 2:
            raise UsageError(f"FixedType width={self.width}: a signed type needs at least 2 bits")
        if self.rounding not in ROUNDING:
            raise UsageError(f"FixedType rounding={self.rounding!r}: use one of {ROUNDING}")
        if self.saturation not in SATURATION:
            raise UsageError(f"FixedType saturation={self.saturation!r}: use one of {SATURATION}")

    # -- range ---------------------------------------------------------------------------------
    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def min_raw(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return 2.0**-self.frac

    @property
    def cpp(self) -> str:
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{self.width},{self.integer},AP_{self.rounding},AP_{self.saturation}>"

    # -- conversions -----------------------------------------------------------------------------
    def _overflow(self, raw: np.ndarray) -> np.ndarray:
        if self.saturation == "SAT":
            return np.clip(raw, self.min_raw, self.max_raw).astype(np.int64)
        return wrap(raw, self.width, self.signed)

    def quantize(self, x) -> np.ndarray:
        """Float -> raw int64, as assigning a double to this ap_fixed type. UsageError on NaN/Inf."""
        x = np.asarray(x, dtype=np.float64)
        finite = np.isfinite(x)
        if not finite.all():
            first = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise UsageError(f"cannot quantize NaN/Inf to {self.cpp} (first at index {first})")
        scaled = np.ldexp(x, self.frac)  # exact: a power-of-two scale
        limit = 2.0**62
        scaled = np.clip(scaled, -limit, limit)  # beyond int64; saturates/wraps like a huge value
        floor = np.floor(scaled)
        if self.rounding == "RND":
            floor = floor + ((scaled - floor) >= 0.5)
        return self._overflow(floor.astype(np.int64))

    def to_float(self, raw) -> np.ndarray:
        return np.ldexp(np.asarray(raw, dtype=np.int64).astype(np.float64), -self.frac)

    def cast(self, raw, from_frac: int) -> np.ndarray:
        """Requantize integers with ``from_frac`` fractional bits into this type (an ap_fixed assignment)."""
        raw = np.asarray(raw, dtype=np.int64)
        shift = int(from_frac) - self.frac
        if shift > 0:
            if self.rounding == "RND":
                raw = raw + np.int64(1 << (shift - 1))
            raw = raw >> np.int64(shift)  # arithmetic shift: floor
        elif shift < 0:
            raw = raw << np.int64(-shift)
        return self._overflow(raw)

    def representable(self, raw) -> bool:
        raw = np.asarray(raw, dtype=np.int64)
        return bool(np.all((raw >= self.min_raw) & (raw <= self.max_raw)))

    def check_raw(self, raw, what: str = "raw input") -> np.ndarray:
        """Integer array within this type's raw range -> int64; UsageError naming the first bad value."""
        a = np.asarray(raw)
        if not np.issubdtype(a.dtype, np.integer):
            raise UsageError(f"{what} must hold integers (raw fixed-point values), got dtype {a.dtype}")
        bad = (a < self.min_raw) | (a > self.max_raw)
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise UsageError(
                f"{what}: value {int(a[idx])} at index {idx} is outside [{self.min_raw}, {self.max_raw}] of {self.cpp}"
            )
        return a.astype(np.int64)

    # -- (de)serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in _KEYS}

    @classmethod
    def from_dict(cls, d, what: str = "fixed type") -> FixedType:
        """A FixedType dict (signed, rounding and saturation optional) -> FixedType; UsageError naming
        `what` and the bad field."""
        if isinstance(d, FixedType):
            return d
        if not isinstance(d, dict):
            raise UsageError(f"{what} must be a dict like {{'width': 16, 'integer': 6}}, got {d!r}")
        unknown = sorted(set(d) - set(_KEYS))
        if unknown:
            raise UsageError(f"{what} has unknown keys {unknown}: {d}")
        missing = [k for k in ("width", "integer") if k not in d]
        if missing:
            raise UsageError(f"{what} lacks {', '.join(missing)}: {d!r}; it needs 'width' and 'integer'")
        try:
            return cls(
                d["width"], d["integer"], d.get("signed", True), d.get("rounding", "TRN"), d.get("saturation", "WRAP")
            )
        except UsageError as exc:
            raise UsageError(f"{what}: {str(exc).removeprefix('FixedType ')}") from None

    def __str__(self) -> str:
        return self.cpp
