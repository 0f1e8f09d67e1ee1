"""Fixed point: ap_fixed semantics on int64 raw values. The one implementation (numpy only).

A value of type ``FixedType(width, integer)`` is ``raw * 2**-frac`` with ``frac = width - integer``.
Every ap_fixed quantisation mode (AP_TRN floor, AP_TRN_ZERO towards zero, AP_RND half up,
AP_RND_ZERO half towards zero, AP_RND_MIN_INF half down, AP_RND_INF half away from zero, AP_RND_CONV
half to even) and overflow mode (AP_WRAP two's complement, AP_SAT clamp, AP_SAT_ZERO overflow -> 0,
AP_SAT_SYM clamp to +-max) exists, for ap_fixed and ap_ufixed, and ap_int / ap_uint as integer
types (``FixedType.int_type``). The numpy reference (flow.eie.reference), the HLS flow and the board
runtime (flow.runtime, which ships this file) all convert through it; ``cast`` and ``quantize`` are
checked bit for bit against the real ap_fixed headers (hls4ml's copy) in tests/core/test_fixed.py.

On disk (compression.json, a bundle's model.json) a type is the dict of ``to_dict``:
``{"width": 16, "integer": 6, "signed": true, "rounding": "RND", "saturation": "SAT"}``, plus
``"is_int": true`` for ap_int / ap_uint.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from flow.errors import UsageError

ROUNDING = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")
SATURATION = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
#: raw values live in int64; one bit of headroom is kept for rounding and shifts
MAX_WIDTH = 62
_KEYS = ("width", "integer", "signed", "rounding", "saturation", "is_int")


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



def bias_integer_bits(max_abs: float, width: int, acc_frac: int) -> int:
    """Integer bits of a `width`-bit bias type. The bias joins the accumulator by a left shift, so it
    keeps at most the accumulator's fraction bits (input + weight fraction bits): a bias that would
    need more gets integer bits instead. One rule for flow.compress.quantize and flow.testing."""
    return max(integer_bits(max_abs), width - acc_frac)

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


def _increment(q, rem, half, neg, mode: str):
    """1 where rounding `mode` moves the floor `q` up, given the remainder `rem` (0 <= rem < 2*half,
    in the same units as `half`, which is half an output LSB) and the sign `neg` of the exact value."""
    if mode == "TRN":
        return np.zeros(np.shape(q), dtype=bool)
    if mode == "TRN_ZERO":
        return neg & (rem != 0)
    above, tie = rem > half, rem == half
    if mode == "RND":
        return above | tie
    if mode == "RND_ZERO":
        return above | (tie & neg)
    if mode == "RND_MIN_INF":
        return above
    if mode == "RND_INF":
        return above | (tie & ~neg)
    # RND_CONV: half to even
    return above | (tie & ((q & 1) == 1))


#: hls4ml / HLS spellings of a precision: ap_fixed<W,I[,Q[,O[,N]]]>, ap_ufixed<...>, ap_int<W>,
#: ap_uint<W>, and hls4ml's short forms fixed<...>, ufixed<...>, int<W>, uint<W>
_TYPE_RE = re.compile(r"^\s*(?:ap_)?(u?)(fixed|int)\s*<([^>]*)>\s*$")


@dataclass(frozen=True)
class FixedType:
    """An ap_fixed / ap_ufixed type. ``integer`` includes the sign bit, as in ap_fixed<W, I>.

    ``is_int`` marks ap_int<W> / ap_uint<W> (make them with ``FixedType.int_type``): integer == width,
    and an assignment truncates towards zero and wraps, as in C (rounding TRN_ZERO, saturation WRAP);
    from a double, the headers also turn -0.5 < x < 0 into 1 (kept here: hls4ml loads weights that way).
    """

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    saturation: str = "WRAP"
    is_int: bool = False

    def __post_init__(self) -> None:
        if not _is_int(self.width) or not 1 <= self.width <= MAX_WIDTH:
            raise UsageError(f"FixedType width={self.width!r}: must be an integer 1..{MAX_WIDTH} (raw values are int64)")
        if not _is_int(self.integer):
            raise UsageError(f"FixedType integer={self.integer!r}: must be an integer")
        if not isinstance(self.signed, (bool, np.bool_)):
            raise UsageError(f"FixedType signed={self.signed!r}: must be true or false")
        if self.rounding not in ROUNDING:
            raise UsageError(f"FixedType rounding={self.rounding!r}: use one of {ROUNDING}")
        if self.saturation not in SATURATION:
            raise UsageError(f"FixedType saturation={self.saturation!r}: use one of {SATURATION}")
        if not isinstance(self.is_int, (bool, np.bool_)):
            raise UsageError(f"FixedType is_int={self.is_int!r}: must be true or false")
        if self.is_int and (self.integer != self.width or (self.rounding, self.saturation) != ("TRN_ZERO", "WRAP")):
            raise UsageError(
                f"FixedType is_int with integer={self.integer}, {self.rounding}/{self.saturation}: an ap_int<W> "
                "has integer == width, TRN_ZERO and WRAP; use FixedType.int_type(width, signed)"
            )

    @classmethod
    def int_type(cls, width: int, signed: bool = True) -> FixedType:
        """ap_int<width> (ap_uint<width> if not signed)."""
        return cls(int(width), int(width), bool(signed), "TRN_ZERO", "WRAP", True)

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """From an HLS / hls4ml precision string: 'ap_fixed<16,6,AP_RND_CONV,AP_SAT>', 'ap_uint<4>',
        'fixed<8,3,RND,SAT>', 'int<8>'. Saturation bits (a fifth argument) other than 0 are refused."""
        m = _TYPE_RE.match(str(text))
        if m is None:
            raise UsageError(
                f"precision {text!r} is not an ap_fixed/ap_ufixed/ap_int/ap_uint type "
                "(e.g. 'ap_fixed<16,6,AP_RND,AP_SAT>' or 'ap_int<8>')"
            )
        unsigned, kind, args = m.group(1) == "u", m.group(2), [a.strip() for a in m.group(3).split(",")]
        try:
            if kind == "int":
                if len(args) != 1:
                    raise ValueError
                return cls.int_type(int(args[0]), signed=not unsigned)
            if not 2 <= len(args) <= 5:
                raise ValueError
            width, integer = int(args[0]), int(args[1])
        except ValueError:
            raise UsageError(f"precision {text!r}: cannot read its width/integer arguments") from None
        modes = [a.upper().removeprefix("AP_") for a in args[2:4]]
        if len(args) == 5 and args[4] not in ("0", ""):
            raise UsageError(
                f"precision {text!r}: saturation bits {args[4]} are not supported (only 0); drop the fifth argument"
            )
        rounding = modes[0] if len(modes) > 0 else "TRN"
        saturation = modes[1] if len(modes) > 1 else "WRAP"
        return cls(width, integer, not unsigned, rounding, saturation)

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
        if self.is_int:
            return f"{'ap_int' if self.signed else 'ap_uint'}<{self.width}>"
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{self.width},{self.integer},AP_{self.rounding},AP_{self.saturation}>"

    # -- conversions -----------------------------------------------------------------------------
    def _overflow(self, raw: np.ndarray) -> np.ndarray:
        """Exact integers (|raw| <= 2**62) -> this type's raw range, by its overflow mode."""
        if self.saturation == "WRAP":
            return wrap(raw, self.width, self.signed)
        lo = self.min_raw
        if self.saturation == "SAT_SYM" and self.signed:
            lo = -self.max_raw
        if self.saturation == "SAT_ZERO":
            return np.where((raw < self.min_raw) | (raw > self.max_raw), np.int64(0), raw).astype(np.int64)
        return np.clip(raw, lo, self.max_raw).astype(np.int64)

    def quantize(self, x) -> np.ndarray:
        """Float -> raw int64, as assigning a double to this ap_fixed type. UsageError on NaN/Inf."""
        x = np.asarray(x, dtype=np.float64)
        finite = np.isfinite(x)
        if not finite.all():
            first = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise UsageError(f"cannot quantize NaN/Inf to {self.cpp} (first at index {first})")
        scaled = np.ldexp(x, self.frac)  # exact (a power-of-two scale) unless it underflows
        floor = np.floor(scaled)
        rem = scaled - floor  # exact, in [0, 1); 0 for |scaled| >= 2**52
        # a negative value far below one LSB can underflow to -0.0: its floor is -1 and its remainder
        # just under 1 (never a tie), which every rounding mode then resolves as for the exact value
        under = (scaled == 0) & (x < 0)
        floor, rem = np.where(under, -1.0, floor), np.where(under, 0.75, rem)
        parity_src = np.clip(floor, -(2.0**62), 2.0**62).astype(np.int64)  # rem == 0 beyond: no tie
        rounded = floor + _increment(parity_src, rem, 0.5, x < 0, self.rounding)
        if self.is_int:  # ap_int_base(double): -0.5 < x < 0 becomes 1 in the headers
            rounded = np.where((x < 0) & (x > -0.5), 1.0, rounded)
        if self.saturation == "WRAP":
            rounded = np.fmod(rounded, 2.0**self.width)  # exact; keeps the low bits of any double
        else:
            rounded = np.clip(rounded, -(2.0**62), 2.0**62)  # beyond every type's range
        return self._overflow(rounded.astype(np.int64))

    def to_float(self, raw) -> np.ndarray:
        return np.ldexp(np.asarray(raw, dtype=np.int64).astype(np.float64), -self.frac)

    def cast(self, raw, from_frac: int) -> np.ndarray:
        """Requantize integers with ``from_frac`` fractional bits into this type (an ap_fixed assignment).

        ``raw`` must satisfy |raw| < 2**62 (every FixedType and accumulator does)."""
        raw = np.asarray(raw, dtype=np.int64)
        shift = int(from_frac) - self.frac
        if shift > 0:
            if shift > 62:  # |raw| < 2**62: only the sign matters (below half up, or just under 0)
                raw, shift = np.sign(raw), 2
            half = np.int64(1 << (shift - 1))
            q = raw >> np.int64(shift)  # arithmetic shift: floor
            rem = raw & np.int64((1 << shift) - 1)
            raw = q + _increment(q, rem, half, raw < 0, self.rounding)
        elif shift < 0:
            left = -shift
            if self.saturation == "WRAP":
                raw = raw << np.int64(left) if left < 64 else np.zeros_like(raw)  # low bits wrap alike
            elif left >= 62:  # any non-zero value overflows
                raw = np.sign(raw) << np.int64(62)
            else:
                bound = np.int64(1 << (62 - left))
                raw = np.clip(raw, -bound, bound) << np.int64(left)
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
        d = {k: getattr(self, k) for k in _KEYS if k != "is_int"}
        if self.is_int:
            d["is_int"] = True
        return d

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
                d["width"],
                d["integer"],
                d.get("signed", True),
                d.get("rounding", "TRN"),
                d.get("saturation", "WRAP"),
                d.get("is_int", False),
            )
        except UsageError as exc:
            raise UsageError(f"{what}: {str(exc).removeprefix('FixedType ')}") from None

    def __str__(self) -> str:
        return self.cpp
