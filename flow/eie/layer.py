"""One EIE layer: encoding, fixed-point types and the integer ROM contents, built from a Dense kernel."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from flow.eie.encode import Encoding, decode_codes, encode
from flow.fixed import MAX_WIDTH, FixedType
from flow.eie import knobs as knob_rules
from flow.eie.knobs import DEFAULT_BROADCAST, DEFAULT_DETECT_WIDTH
from flow.errors import UsageError

ACTIVATIONS = ("relu", "linear")


@dataclass(eq=False)
class EIELayer:
    """y = act(W x + b) on ``n_pe`` PEs; W = kernel.T is stored in the EIE format (see encode.py)."""

    name: str
    n_in: int
    n_out: int
    n_pe: int
    fifo_depth: int
    code_bits: int
    index_bits: int
    activation: str
    input_t: FixedType
    weight_t: FixedType
    bias_t: FixedType
    accum_t: FixedType
    output_t: FixedType
    encoding: Encoding
    codebook_raw: np.ndarray  # int64 [2**code_bits], weight_t raw, [0] == 0
    bias_raw: np.ndarray  # int64 [n_out], bias_t raw
    broadcast: int = DEFAULT_BROADCAST  # always 1: one broadcast per cycle and group (deprecated knob)
    col_groups: int = 1  # independent PE groups, each owning the columns j % col_groups (encode.py)
    detect_width: int = DEFAULT_DETECT_WIDTH  # inputs the non-zero detector scans per cycle
    #: hls4ml parity (set by the hls4ml pass only where it changes a result; None = exact arithmetic):
    #: `hls_accum`: accum_t is hls4ml's accum_t and every product is cast into it, as Vivado's dense
    #: does (the bias is stored already cast: bias_t == accum_t); AP_WRAP sums wrap at the end, other
    #: overflow modes saturate after every addition, in Vivado's (latency strategy) order;
    #: `pre_t`: the Dense output type before a fused ReLU: y = output_t(relu(pre_t(acc))).
    hls_accum: bool = False
    pre_t: FixedType | None = None

    @classmethod
    def from_dense(
        cls,
        name,
        kernel,
        bias,
        *,
        n_pe,
        fifo_depth,
        code_bits,
        index_bits,
        activation,
        input_t,
        weight_t,
        bias_t,
        output_t,
        codebook=None,
        broadcast=DEFAULT_BROADCAST,
        col_groups=1,
        detect_width=DEFAULT_DETECT_WIDTH,
        hls_accum_t=None,
        pre_t=None,
    ) -> EIELayer:
        """Build from a Keras Dense kernel (n_in, n_out) and bias (n_out,) or None.

        ``codebook`` (optional, float, [0] == 0) fixes the code numbering, e.g. the one of
        flow compress; without it the codes follow W's sorted distinct values.
        ``broadcast``: deprecated and ignored (flow.eie.knobs.DEPRECATED: one broadcast per cycle and
        column group); a value other than 1 warns.
        ``col_groups``: split the PEs into groups that each own every col_groups-th input column,
        with their own detector and broadcast; partial sums are added in the gather (encode.py).
        ``detect_width``: inputs the non-zero detector scans per cycle (its scan takes
        ceil(n_in / detect_width) cycles before the PE array starts; EIE's leading non-zero detector
        is a tree over many inputs).
        ``hls_accum_t`` (hls4ml's accum_t) and ``pre_t`` (hls4ml's Dense output type before a fused
        ReLU): emulated where they change a result (see ``hls_accum`` / ``pre_t``), else dropped.
        """
        kernel = np.asarray(kernel, dtype=np.float64)
        if kernel.ndim != 2:
            raise UsageError(
                f"layer {name!r}: the Dense kernel must be 2-D (n_in, n_out); got {kernel.shape}"
            )
        n_in, n_out = kernel.shape
        bias = np.zeros(n_out) if bias is None else np.asarray(bias, dtype=np.float64).ravel()
        if bias.shape != (n_out,):
            raise UsageError(f"layer {name!r}: bias has shape {bias.shape}, the kernel has {n_out} outputs")
        broadcast = knob_rules.check(
            {"n_pe": n_pe, "fifo_depth": fifo_depth, "broadcast": broadcast, "col_groups": col_groups,
             "detect_width": detect_width, "code_bits": code_bits, "index_bits": index_bits},
            f"layer {name!r}",
        )["broadcast"]  # deprecated: always 1 (a warning for another value)
        if activation not in ACTIVATIONS:
            raise UsageError(
                f"layer {name!r}: activation {activation!r} is not supported by the EIE engine; "
                f"use one of {ACTIVATIONS} (keep softmax as a separate layer)"
            )
        for tname, t in (
            ("input_t", input_t),
            ("weight_t", weight_t),
            ("bias_t", bias_t),
            ("output_t", output_t),
        ):
            if not isinstance(t, FixedType):
                raise UsageError(f"layer {name!r}: {tname} must be a FixedType, got {t!r}")
        try:
            enc = encode(kernel.T, int(n_pe), code_bits, index_bits, codebook, col_groups=int(col_groups))
        except UsageError as exc:
            raise UsageError(f"layer {name!r}: {exc}") from None
        codebook_raw = weight_t.quantize(enc.codebook)
        codebook_raw[0] = 0
        bias_raw = bias_t.quantize(bias)
        hls_accum = False
        exact = _exact_accum_t(enc, codebook_raw, bias_raw, input_t, weight_t, bias_t)
        if hls_accum_t is not None and not (exact is not None and _holds(hls_accum_t, exact)):
            hls_accum = True
            _check_hls_accum(name, hls_accum_t, exact, input_t, weight_t, int(col_groups))
            accum_t = hls_accum_t
            bias_raw = accum_t.cast(bias_raw, from_frac=bias_t.frac)  # Vivado: acc = (accum_t) bias
            bias_t = accum_t
        else:
            accum_t = derive_accum_t(name, enc, codebook_raw, bias_raw, input_t, weight_t, bias_t)
        if pre_t is not None and (activation != "relu" or _relu_commutes(pre_t, output_t, accum_t)):
            pre_t = None
        return cls(
            name,
            int(n_in),
            int(n_out),
            int(n_pe),
            int(fifo_depth),
            enc.code_bits,
            enc.index_bits,
            activation,
            input_t,
            weight_t,
            bias_t,
            accum_t,
            output_t,
            enc,
            codebook_raw,
            bias_raw,
            int(broadcast),
            int(col_groups),
            int(detect_width),
            hls_accum,
            pre_t,
        )

    # -- derived -----------------------------------------------------------------------------------
    @property
    def bias_shift(self) -> int:
        """Left shift that brings bias_t raw values to the accumulator's fractional bits."""
        return self.accum_t.frac - self.bias_t.frac

    @property
    def pe_capacity(self) -> int:
        return self.encoding.pe_capacity

    @functools.cached_property
    def weight_raw(self) -> np.ndarray:
        """Dense int64 (n_out, n_in) weight_t raw matrix, as the engine sees it."""
        return self.codebook_raw[decode_codes(self.encoding)]

    def weights_float(self) -> np.ndarray:
        """The quantized W (n_out, n_in) as floats."""
        return self.weight_t.to_float(self.weight_raw)

    @property
    def row_pes(self) -> int:
        return self.n_pe // self.col_groups

    def summary(self) -> dict:
        """The layer as plain data: shape, array, storage and types (reports, csim.json, model.json)."""
        return {
            "name": self.name, "n_in": self.n_in, "n_out": self.n_out, "n_pe": self.n_pe,
            "col_groups": self.col_groups, "fifo_depth": self.fifo_depth, "broadcast": self.broadcast,
            "detect_width": self.detect_width, "nnz": int(self.encoding.nnz),
            "entries": int(self.encoding.n_entries), "code_bits": self.code_bits, "index_bits": self.index_bits,
            "activation": self.activation, "input_type": self.input_t.to_dict(),
            "output_type": self.output_t.to_dict(),
        }

    def with_array(
        self, *, n_pe=None, fifo_depth=None, broadcast=None, col_groups=None, detect_width=None
    ) -> EIELayer:
        """The same weights, types and code numbering on another PE array (for sweeps).

        Unset knobs keep the layer's, except col_groups, which falls back to 1 when n_pe is given.
        """
        return EIELayer.from_dense(
            self.name,
            self.weights_float().T,
            self.bias_t.to_float(self.bias_raw),
            n_pe=self.n_pe if n_pe is None else n_pe,
            fifo_depth=self.fifo_depth if fifo_depth is None else fifo_depth,
            broadcast=self.broadcast if broadcast is None else broadcast,
            col_groups=(1 if n_pe is not None else self.col_groups) if col_groups is None else col_groups,
            detect_width=self.detect_width if detect_width is None else detect_width,
            code_bits=self.code_bits,
            index_bits=self.index_bits,
            activation=self.activation,
            input_t=self.input_t,
            weight_t=self.weight_t,
            bias_t=self.bias_t,
            output_t=self.output_t,
            codebook=self.weight_t.to_float(self.codebook_raw),
            hls_accum_t=self.accum_t if self.hls_accum else None,
            pre_t=self.pre_t,
        )


def _holds(t: FixedType, inner: FixedType) -> bool:
    """Every value of `inner` is exactly a value of `t` (no rounding, no overflow)."""
    if t.frac < inner.frac:
        return False
    shift = t.frac - inner.frac
    return t.min_raw <= inner.min_raw << shift and inner.max_raw << shift <= t.max_raw


def _exact_accum_t(enc, codebook_raw, bias_raw, input_t, weight_t, bias_t) -> FixedType | None:
    """derive_accum_t's type, or None where it cannot exist (bias frac too big, > 62 bits)."""
    try:
        return derive_accum_t("", enc, codebook_raw, bias_raw, input_t, weight_t, bias_t)
    except UsageError:
        return None


def _check_hls_accum(name, hls_accum_t: FixedType, exact, input_t, weight_t, col_groups) -> None:
    """hls4ml's accum_t rounds products or overflows: emulated (a saturating one only on one column
    group, whose PEs add a row's products in Vivado's order: bias, then columns ascending)."""
    if hls_accum_t.saturation != "WRAP" and col_groups != 1:
        fix = exact.cpp if exact is not None else "an AP_WRAP type"
        raise UsageError(
            f"layer {name!r}: hls4ml's accum_t {hls_accum_t.cpp} rounds the products or overflows, and "
            f"saturates: the result depends on the summation order, which {col_groups} column groups change; "
            f"set config['LayerName']['{name}']['EIE']['col_groups'] = 1, or "
            f"config['LayerName']['{name}']['Precision']['accum'] = '{fix}'"
        )
    if input_t.width + weight_t.width > MAX_WIDTH - 1:
        raise UsageError(
            f"layer {name!r}: input {input_t.cpp} x weight {weight_t.cpp} products need "
            f"{input_t.width + weight_t.width} bits (> {MAX_WIDTH - 1}); narrow the input or weight precision "
            f"(config['LayerName']['{name}']['Precision'])"
        )


def _relu_commutes(pre_t: FixedType, output_t: FixedType, accum_t: FixedType) -> bool:
    """output_t(relu(pre_t(acc))) == output_t(relu(acc)) for every accumulator value: pre_t holds the
    accumulator exactly, or pre_t is output_t with a monotone overflow mode (SAT, SAT_SYM)."""
    if _holds(pre_t, accum_t):
        return True
    return pre_t == output_t and pre_t.saturation in ("SAT", "SAT_SYM")


def derive_accum_t(name, enc, codebook_raw, bias_raw, input_t, weight_t, bias_t) -> FixedType:
    """The narrowest signed accumulator that can hold any row sum plus its bias (never overflows)."""
    frac = input_t.frac + weight_t.frac
    if bias_t.frac > frac:
        raise UsageError(
            f"layer {name!r}: bias_t {bias_t.cpp} has {bias_t.frac} fractional bits, more than the "
            f"accumulator's {frac} (input + weight): give the bias at most {frac} fractional bits"
        )
    x_max = max(abs(input_t.min_raw), abs(input_t.max_raw))
    w_abs = np.abs(codebook_raw)[decode_codes(enc)].astype(object)  # exact, no int64 overflow
    row_bound = w_abs.sum(axis=1) * x_max + np.abs(bias_raw.astype(object)) * (1 << (frac - bias_t.frac))
    bound = int(max(row_bound.max(), 1))
    width = bound.bit_length() + 1
    if width > MAX_WIDTH:
        raise UsageError(
            f"layer {name!r}: the accumulator would need {width} bits (> {MAX_WIDTH}); "
            "use narrower input/weight/bias types"
        )
    return FixedType(width, width - frac, True, "TRN", "WRAP")
