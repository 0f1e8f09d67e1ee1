"""FixedType (flow.fixed) <-> hls4ml precision types, with errors that name the layer.

Every ap_fixed rounding and overflow mode maps one to one (hls4ml's RoundingMode / SaturationMode
have the same names); hls4ml's IntegerPrecisionType is ap_int<W> / ap_uint<W> (FixedType.int_type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, RoundingMode, SaturationMode

from flow.errors import UsageError

if TYPE_CHECKING:
    from flow.fixed import FixedType


def to_hls(ft: FixedType) -> FixedPrecisionType | IntegerPrecisionType:
    """The hls4ml precision with the same width, integer bits, sign, rounding and saturation."""
    if ft.is_int:
        return IntegerPrecisionType(width=ft.width, signed=ft.signed)
    return FixedPrecisionType(
        width=ft.width,
        integer=ft.integer,
        signed=ft.signed,
        rounding_mode=RoundingMode[ft.rounding],
        saturation_mode=SaturationMode[ft.saturation],
    )


def to_config_string(ft: FixedType) -> str:
    """The precision string hls4ml's config accepts, e.g. 'ap_fixed<16,6,AP_RND,AP_SAT>' or 'ap_int<8>'."""
    return ft.cpp


def from_hls(precision, where: str) -> FixedType:
    """FixedType of an hls4ml precision; `where` names the layer and the variable for the error."""
    from flow.fixed import FixedType

    if isinstance(precision, IntegerPrecisionType) and not isinstance(precision, FixedPrecisionType):
        try:
            return FixedType.int_type(precision.width, signed=precision.signed)
        except UsageError as exc:
            raise UsageError(f"{where}: precision {precision}: {exc} (set this layer's 'Precision')") from None
    if not isinstance(precision, FixedPrecisionType):
        raise UsageError(
            f"{where}: precision {precision} is not fixed point; the EIE engine needs ap_fixed types "
            "(set 'Precision' for this layer in the hls4ml config, e.g. 'ap_fixed<16,6,AP_RND,AP_SAT>')"
        )
    if precision.saturation_bits:
        raise UsageError(
            f"{where}: precision {precision} has {precision.saturation_bits} saturation bits; the EIE engine "
            "supports 0 (set this layer's 'Precision' in the hls4ml config without the fifth argument)"
        )
    rounding = (precision.rounding_mode or RoundingMode.TRN).name
    saturation = (precision.saturation_mode or SaturationMode.WRAP).name
    try:
        return FixedType(
            precision.width, precision.integer, signed=precision.signed, rounding=rounding, saturation=saturation
        )
    except UsageError as exc:
        raise UsageError(f"{where}: precision {precision}: {exc} (set this layer's 'Precision' in the hls4ml config)") from None
