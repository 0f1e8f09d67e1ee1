"""FixedType (flow.fixed) <-> hls4ml precision types, with errors that name the layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType, RoundingMode, SaturationMode

from flow.errors import UsageError

if TYPE_CHECKING:
    from flow.fixed import FixedType

_ROUND_TO_HLS = {"TRN": RoundingMode.TRN, "RND": RoundingMode.RND}
_SAT_TO_HLS = {"WRAP": SaturationMode.WRAP, "SAT": SaturationMode.SAT}
_ROUND_FROM_HLS = {v: k for k, v in _ROUND_TO_HLS.items()}
_SAT_FROM_HLS = {v: k for k, v in _SAT_TO_HLS.items()}


def to_hls(ft: FixedType) -> FixedPrecisionType:
    """The hls4ml precision with the same width, integer bits, sign, rounding and saturation."""
    return FixedPrecisionType(
        width=ft.width,
        integer=ft.integer,
        signed=ft.signed,
        rounding_mode=_ROUND_TO_HLS[ft.rounding],
        saturation_mode=_SAT_TO_HLS[ft.saturation],
    )


def to_config_string(ft: FixedType) -> str:
    """The precision string hls4ml's config accepts, e.g. 'ap_fixed<16,6,AP_RND,AP_SAT>'."""
    base = "ap_fixed" if ft.signed else "ap_ufixed"
    return f"{base}<{ft.width},{ft.integer},AP_{ft.rounding},AP_{ft.saturation}>"


def from_hls(precision, where: str) -> FixedType:
    """FixedType of an hls4ml precision; `where` names the layer and the variable for the error."""
    from flow.fixed import FixedType

    if isinstance(precision, IntegerPrecisionType) and not isinstance(precision, FixedPrecisionType):
        return FixedType(precision.width, precision.width, signed=precision.signed)
    if not isinstance(precision, FixedPrecisionType):
        raise UsageError(
            f"{where}: precision {precision} is not fixed point; the EIE engine needs ap_fixed types "
            "(set 'Precision' for this layer in the hls4ml config, e.g. 'ap_fixed<16,6,AP_RND,AP_SAT>')"
        )
    rounding = _ROUND_FROM_HLS.get(precision.rounding_mode or RoundingMode.TRN)
    saturation = _SAT_FROM_HLS.get(precision.saturation_mode or SaturationMode.WRAP)
    if rounding is None or saturation is None:
        raise UsageError(
            f"{where}: precision {precision} uses {precision.rounding_mode}/{precision.saturation_mode}; "
            "the EIE engine supports rounding AP_TRN or AP_RND and saturation AP_WRAP or AP_SAT"
        )
    return FixedType(
        precision.width, precision.integer, signed=precision.signed, rounding=rounding, saturation=saturation
    )
