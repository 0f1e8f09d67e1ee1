"""ap_fixed semantics on int64 raw values: quantize, requantize (cast), saturate or wrap.

A value of type ``FixedType(width, integer)`` is ``raw * 2**-frac`` with ``frac = width - integer``.
Only the modes the engine uses exist: rounding AP_TRN (floor) and AP_RND (half towards +inf),
overflow AP_WRAP (two's complement) and AP_SAT (clamp). ``cast`` is checked bit for bit against
the real ap_fixed headers in tests/test_eie_fixed.py.
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


@dataclass(frozen=True)
class FixedType:
    """An ap_fixed / ap_ufixed type. ``integer`` includes the sign bit, as in ap_fixed<W, I>."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    saturation: str = "WRAP"

    def __post_init__(self) -> None:
        if not 1 <= int(self.width) <= MAX_WIDTH:
            raise UsageError(f"FixedType width={self.width}: must be 1..{MAX_WIDTH} (raw values are int64)")
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
            return np.clip(raw, self.min_raw, self.max_raw)
        mask = np.int64((1 << self.width) - 1)
        low = raw & mask  # two's complement: & on int64 keeps the low bits of negatives too
        if self.signed:
            low = np.where(low > self.max_raw, low - np.int64(1 << self.width), low)
        return low.astype(np.int64)

    def quantize(self, x) -> np.ndarray:
        """Float -> raw int64, as assigning a double to this ap_fixed type."""
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise UsageError(f"cannot quantize non-finite values to {self.cpp}")
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

    # -- (de)serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "width": self.width,
            "integer": self.integer,
            "signed": self.signed,
            "rounding": self.rounding,
            "saturation": self.saturation,
        }

    @classmethod
    def from_dict(cls, d: dict) -> FixedType:
        unknown = set(d) - {"width", "integer", "signed", "rounding", "saturation"}
        if unknown:
            raise UsageError(f"FixedType dict has unknown keys {sorted(unknown)}: {d}")
        try:
            return cls(
                int(d["width"]),
                int(d["integer"]),
                bool(d.get("signed", True)),
                str(d.get("rounding", "TRN")),
                str(d.get("saturation", "WRAP")),
            )
        except KeyError as exc:
            raise UsageError(f"FixedType dict {d} lacks {exc}; it needs 'width' and 'integer'") from None

    def __str__(self) -> str:
        return self.cpp
