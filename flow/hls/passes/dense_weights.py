"""What hls4ml's Vivado csim computes with a Dense layer's weights, as EIE codebook values and types.

hls4ml stores QKeras weights in three encodings besides fixed point, and its dense kernel multiplies
each with its own product (nnet_mult.h):
- binary (`binary`, `stochastic_binary`, XnorPrecisionType `uint<1>`): stored 0/1, meaning -1/+1
  (`weight_binary`: w == 0 ? -x : x), so the codebook is {-1, +1} in ap_int<2>;
- ternary (`ternary`, `stochastic_ternary`): ap_int<2> values -1/0/+1, already fixed point;
- power of two (`quantized_po2`, ExponentPrecisionType): a sign and an exponent (`weight_exponential`:
  x << exponent, negated), i.e. the exact value +-2**e, so the codebook holds those values in a
  fixed type just wide enough for them.
Other weights are fixed point, loaded by csim from hls4ml's decimal text (`hls4ml_loaded_values`).
Any product is exact in the EIE engine; hls4ml then casts it into accum_t (EIELayer.hls_accum).
"""

from __future__ import annotations

import numpy as np
from hls4ml.model.types import ExponentPrecisionType, XnorPrecisionType

from flow.errors import UsageError
from flow.fixed import MAX_WIDTH, FixedType

#: widest fixed type a power-of-two codebook may need (its products stay within int64)
MAX_PO2_WIDTH = 32


def hls4ml_loaded_values(var) -> np.ndarray:
    """The values hls4ml's Vivado csim (and synthesis) assigns to a weight variable's type: hls4ml
    writes each weight as decimal text with its `precision_fmt` ('{:.Ff}', F = the type's fractional
    bits; '{:.0f}' for integer types) and the C++ reads that text back. A value on the type's grid
    survives exactly; one between grid points may move (e.g. a half-LSB tie printed as 7 decimals is
    no longer a tie), and bit-exact parity needs the same moved value."""
    data = np.asarray(var.data, dtype=np.float64)
    fmt = getattr(var, "precision_fmt", "")
    if not fmt:
        return data
    flat = [float(fmt.format(v)) for v in data.reshape(-1)]
    return np.asarray(flat, dtype=np.float64).reshape(data.shape)


def po2_type(values, where: str) -> FixedType:
    """The narrowest signed fixed type holding the powers of two (and zeros) in `values` exactly."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[v != 0]
    if v.size == 0:
        return FixedType.int_type(2)
    mant, exp = np.frexp(v)  # v = mant * 2**exp, mant in [0.5, 1)
    if not np.all(mant == 0.5):
        bad = float(v[np.flatnonzero(mant != 0.5)[0]])
        raise UsageError(f"{where}: power-of-two weight {bad} is not a power of two")
    lo, hi = int(exp.min()) - 1, int(exp.max()) - 1  # v = 2**(exp - 1)
    frac = max(0, -lo)
    integer = max(hi + 2, 1 - frac + 1)  # sign bit + magnitude bits of 2**hi
    width = integer + frac
    if width > MAX_PO2_WIDTH:
        raise UsageError(
            f"{where}: power-of-two weights from 2**{lo} to 2**{hi} need a {width}-bit fixed type "
            f"(> {MAX_PO2_WIDTH}); use fewer exponent bits in quantized_po2 (max_value) for this layer"
        )
    return FixedType(width, integer, True, "TRN", "WRAP")


def dense_weights(node, where: str, from_hls) -> tuple[np.ndarray, FixedType]:
    """(kernel values as the Vivado csim multiplies them, the fixed type holding them exactly)."""
    var = node.get_weights("weight")
    precision = node.get_attr("weight_t").precision
    if isinstance(precision, XnorPrecisionType):
        data = np.asarray(var.data, dtype=np.float64)
        return np.where(data == 0, -1.0, 1.0), FixedType.int_type(2)
    if isinstance(precision, ExponentPrecisionType):
        data = np.asarray(var.data, dtype=np.float64)
        return data, po2_type(data, f"{where} weight")
    return hls4ml_loaded_values(var), from_hls(precision, f"{where} weight")


def checked_input(precision, where: str, from_hls) -> FixedType:
    """The input type; a binary (xnor) input, e.g. after a binary_tanh QActivation, is refused."""
    if isinstance(precision, XnorPrecisionType):
        raise UsageError(
            f"{where} input: a binary (xnor, uint<1> meaning -1/+1) activation feeds this layer; the EIE "
            "engine needs fixed-point inputs: use quantized_bits(2, 1) or quantized_relu for the activation "
            "before it"
        )
    return from_hls(precision, f"{where} input")


def fit_62(precision, where: str, from_hls) -> tuple[FixedType, bool]:
    """(an hls4ml precision as a FixedType, whether it was trimmed). Wider than 62 bits, its top
    integer bits are dropped: for types that only matter where they round or overflow (accum_t, the
    Dense result before a fused ReLU), so the caller refuses if a trimmed type is still emulated."""
    width = int(getattr(precision, "width", 0))
    if width <= MAX_WIDTH:
        return from_hls(precision, where), False
    trimmed = FixedType(
        MAX_WIDTH,
        int(precision.integer) - (width - MAX_WIDTH),
        bool(precision.signed),
        precision.rounding_mode.name,
        precision.saturation_mode.name,
    )
    return trimmed, True


def too_wide(where: str, precision, key: str) -> UsageError:
    return UsageError(
        f"{where}: precision {precision} is wider than {MAX_WIDTH} bits and changes the result there (raw "
        f"values are int64 in the EIE reference and kernel); set {key} to a type of at most {MAX_WIDTH} bits, "
        "e.g. the auto type's width minus its unused integer bits"
    )
