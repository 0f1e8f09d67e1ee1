"""Engine parameters (the generics of kernels/rtl/eie_engine.sv) and the fit check of a network.

A network fits an engine when every layer's layout and every memory fits its parameters; the
check runs before any file is written and names the layer, the need and the limit.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace

from flow.eie.perf_rtl import check_layout, layout_problems, nearest_pow2
from flow.errors import UsageError

LINE = 16  # activations per store line and per input beat
WINDOW = 64  # columns a detector scans per window
TABLE_FIELDS = 16  # 32-bit words per layer in the table


def _pow2(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


#: the fields of the LSTM element-wise lanes (generics only when LSTM=1)
LSTM_FIELDS = ("LSTM", "CELL_D", "L_GF", "L_CLW", "L_CLF", "L_C_RND", "L_C_SAT", "L_HW", "L_HF", "L_H_RND",
               "L_H_SAT")


@dataclass(frozen=True)
class EngineParams:
    """Hardware parameters; every field is a SystemVerilog parameter of eie_engine."""

    P: int = 16  # PEs (<= 64; a power of two unless ANYR)
    ANYR: int = 0  # 1: layers with any PEs per group R (compares, not shifts; see eie_engine.sv)
    MAXG: int = 8  # column groups supported (power of two <= 16)
    DMAX: int = 8  # activation queue capacity (power of two)
    NL: int = 4  # layers in the table
    NX: int = 1024  # activations the store holds (multiple of 64)
    XW: int = 16  # activation bits
    WW: int = 8  # weight bits
    ACCW: int = 32  # accumulator bits
    CBW: int = 4  # code field of an entry word
    IXW: int = 4  # relative-index field of an entry word
    ENT_D: int = 1024  # entry words per PE
    PTR_D: int = 512  # pointer pairs per PE (columns of all layers)
    ACC_D: int = 64  # accumulator words per PE (local rows of the largest layer)
    BIAS_D: int = 128  # bias words per PE (local rows of all layers)
    OL: int = 16  # gather lanes
    CB_SLOTS: int = 0  # codebook slots per PE (0: one per layer, slot = layer; > 0: table field 14)
    LD_READ: int = 0  # 1: the load port reads back (ld_re/ld_q; the overlay's LOAD_READ)
    WALK: int = 1  # entries each PE walks per cycle: 1, or 2 (two multipliers per PE; eie_pe.sv)
    # 1: a layer's gather drains beside the next layer's SETUP and RUN (eie_control.sv); 2: its
    # whole gather runs beside them (two accumulator banks per PE, ping-pong); -1: 1 for a
    # Dense-only engine, 0 with the LSTM lanes (a recurrent gather does not overlap)
    OVERLAP: int = -1
    # 1: a PE's queue takes only the broadcast columns it has entries in (a bit per pointer pair,
    # eie_pe u_nzc); 0: every column, an empty one a cycle of its walk (no bits' memory)
    SKIP: int = 1
    # 1: each PE's codebook in LUT RAM whatever its size (eie_pe.sv; 0: block RAM above 1024
    # bits). The ECP5 flow's choice (bench/rtl.py --ecp5): a DP16KD's 5.83 ns clock-to-output
    # in front of the multiplier was the routed critical path; the xc7 keeps 0 (LUT budget)
    CB_LUT: int = 0
    # 1: each PE's accumulators and biases in LUT RAM whatever their size (eie_pe.sv): stage E's
    # add and the gather's term start at flip-flops, not at a DP16KD's clock-to-output (the ECP5)
    ACC_LUT: int = 0
    # the LSTM element-wise lanes (eie_lstm; flow.rtl.lstm_run.lstm_params sets them): 0 = Dense only
    LSTM: int = 0
    CELL_D: int = 64  # cell states per lane
    L_GF: int = 8  # gate_t fraction bits
    L_CLW: int = 16  # cell_t
    L_CLF: int = 8
    L_C_RND: int = 1
    L_C_SAT: int = 1
    L_HW: int = 16  # h_t (the LSTM's input type)
    L_HF: int = 8
    L_H_RND: int = 1
    L_H_SAT: int = 1

    def __post_init__(self):
        if self.OVERLAP == -1:
            object.__setattr__(self, "OVERLAP", 0 if self.LSTM else 1)
        checks = [
            (self.ANYR in (0, 1), "ANYR must be 0 or 1"),
            (1 <= self.P <= 64 and (self.ANYR or _pow2(self.P)),
             f"P must be a power of two <= 64 (nearest: {' or '.join(map(str, nearest_pow2(self.P, 64)))}), "
             "or any 1..64 with ANYR=1"),
            (_pow2(self.MAXG) and self.MAXG <= 16, "MAXG must be a power of two <= 16"),
            (_pow2(self.DMAX), "DMAX must be a power of two"),
            (self.NX % WINDOW == 0 and self.NX >= WINDOW, "NX must be a positive multiple of 64"),
            (_pow2(self.OL) and self.OL <= min(16, self.P), "OL must be a power of two <= min(16, P)"),
            (8 <= self.XW <= 32, "XW must be 8..32"),
            (self.ACCW > self.XW + self.WW and self.ACCW <= 62, "ACCW must exceed XW + WW (<= 62)"),
            (self.NL >= 1 and self.CBW >= 1 and self.IXW >= 1, "NL, CBW, IXW must be >= 1"),
            (0 <= self.CB_SLOTS <= 256, "CB_SLOTS must be 0..256"),
            (self.LD_READ in (0, 1), "LD_READ must be 0 or 1"),
            (self.WALK in (1, 2), "WALK must be 1 or 2"),
            (self.OVERLAP in (0, 1, 2), "OVERLAP must be 0, 1 or 2"),
            (self.SKIP in (0, 1), "SKIP must be 0 or 1"),
            (self.CB_LUT in (0, 1), "CB_LUT must be 0 or 1"),
            (self.ACC_LUT in (0, 1), "ACC_LUT must be 0 or 1"),
            (not (self.OVERLAP and self.LSTM),
             f"OVERLAP={self.OVERLAP} needs LSTM=0 (a recurrent gather does not overlap)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise UsageError(f"engine parameters {self}: {msg}")

    @property
    def entry_bits(self) -> int:
        return self.CBW + self.IXW

    @property
    def ptr_bits(self) -> int:
        """Bits of one pointer (entry address 0..ENT_D); a pointer-pair word holds two."""
        return math.ceil(math.log2(self.ENT_D + 1))

    @property
    def cb_slots(self) -> int:
        """Codebook slots a model may use (CAP_CB): CB_SLOTS, or one per table layer when 0."""
        return self.CB_SLOTS or (1 << max(1, math.ceil(math.log2(self.NL))) if self.NL > 1 else 2)

    @property
    def cb_depth(self) -> int:
        """Words of a PE's codebook RAM: a power of two of slots (eie_pe SW bits) x 2^CBW."""
        n = self.cb_slots
        return (1 << max(1, math.ceil(math.log2(n)) if n > 1 else 1)) << self.CBW

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.generics(), sort_keys=True).encode()).hexdigest()[:16]

    def generics(self) -> dict:
        """The SystemVerilog parameters. CB_SLOTS, LD_READ, CB_LUT and ACC_LUT only when set (0 is
        the engine's default), WALK only when 2 (1 is the default), OVERLAP only when 1 (the RTL's
        default is 0), SKIP only when 0 (1 is the default), and a Dense-only engine (LSTM=0) leaves
        the LSTM lanes' out, so engines without them
        keep their parameter set and cache keys, and wrappers (eie_axi) need not know them."""
        d = asdict(self)
        for k in ("CB_SLOTS", "LD_READ", "CB_LUT", "ACC_LUT"):
            if not d[k]:
                del d[k]
        if d["WALK"] == 1:
            del d["WALK"]
        if not d["OVERLAP"]:
            del d["OVERLAP"]
        if d["SKIP"] == 1:
            del d["SKIP"]
        if not self.LSTM:
            for k in LSTM_FIELDS:
                d.pop(k)
        return d

    def with_(self, **kw) -> EngineParams:
        if "LSTM" in kw and "OVERLAP" not in kw:
            kw["OVERLAP"] = -1  # follows the lanes again (1 for Dense, 0 with LSTM)
        return replace(self, **kw)


def _log2(n: int) -> int:
    return int(n).bit_length() - 1


def layer_fit(layer, params: EngineParams) -> list[str]:
    """Reasons (need vs limit) why one layer does not fit the engine's layout rules."""
    bad = layout_problems(int(layer.n_pe), int(layer.col_groups), params.P, params.MAXG, engine=True,
                          any_r=bool(params.ANYR))
    if not 1 <= layer.fifo_depth <= params.DMAX:
        bad.append(f"fifo_depth={layer.fifo_depth} > DMAX={params.DMAX}")
    for what, n in (("n_in", layer.n_in), ("n_out", layer.n_out)):
        if n > params.NX:
            bad.append(f"{what}={n} > NX={params.NX}")
    if layer.code_bits > params.CBW:
        bad.append(f"code_bits={layer.code_bits} > CBW={params.CBW}")
    if layer.index_bits > params.IXW:
        bad.append(f"index_bits={layer.index_bits} > IXW={params.IXW}")
    for what, t, lim in (
        ("input_t", layer.input_t, params.XW),
        ("output_t", layer.output_t, params.XW),
        ("weight_t", layer.weight_t, params.WW),
    ):
        need = t.width + (0 if t.signed else 1)
        if need > lim:
            bad.append(f"{what} {t.cpp} needs {need} signed bits > {lim}")
    if layer.accum_t.width > params.ACCW:
        bad.append(f"accumulator {layer.accum_t.width} bits > ACCW={params.ACCW}")
    shift = layer.accum_t.frac - layer.output_t.frac
    if not 0 <= shift < 64:
        bad.append(f"requantisation shift {shift}: the RTL shifts right by 0..63 only")
    out_t = layer.output_t
    if out_t.rounding not in ("TRN", "RND") or out_t.saturation not in ("WRAP", "SAT") or out_t.is_int:
        bad.append(f"output_t {out_t.cpp}: the RTL requantises with AP_TRN/AP_RND and AP_WRAP/AP_SAT only")
    if getattr(layer, "hls_accum", False) or getattr(layer, "pre_t", None) is not None:
        bad.append("hls4ml accumulator/Dense-result emulation (hls_accum, pre_t) is not in the RTL")
    if layer.encoding.max_local_rows > params.ACC_D:
        bad.append(f"{layer.encoding.max_local_rows} local rows > ACC_D={params.ACC_D}")
    return bad


def check_fit(layers, params: EngineParams) -> dict:
    """UsageError unless the network fits; returns the memory use (need) per memory."""
    if not layers:
        raise UsageError("the network has no EIE layers")
    if len(layers) > params.NL:
        raise UsageError(f"the network has {len(layers)} layers; the engine's table holds NL={params.NL}")
    for layer in layers:
        bad = layer_fit(layer, params)
        if bad:
            raise UsageError(f"layer {layer.name!r} does not fit the RTL engine: " + "; ".join(bad))
    ent = [0] * params.P
    ptr = bias = 0
    for layer in layers:
        for k, pe in enumerate(layer.encoding.pes):
            ent[k] += pe.n_entries
            if ent[k] > params.ENT_D:
                raise UsageError(
                    f"layer {layer.name!r}: PE {k} needs {ent[k]} entry words (all layers up to this "
                    f"one), the engine has ENT_D={params.ENT_D}"
                )
        ptr += layer.encoding.n_cols
        if ptr > params.PTR_D:
            raise UsageError(
                f"layer {layer.name!r}: needs {ptr} pointer pairs per PE (all layers up to this one), "
                f"the engine has PTR_D={params.PTR_D}"
            )
        bias += layer.encoding.max_local_rows
        if bias > params.BIAS_D:
            raise UsageError(
                f"layer {layer.name!r}: needs {bias} bias words per PE (all layers up to this one), "
                f"the engine has BIAS_D={params.BIAS_D}"
            )
    return {"entries": max(ent), "pointers": ptr, "biases": bias}


def params_for(layers, **fixed) -> EngineParams:
    """The smallest engine (memory depths, widths) that holds the network; ``fixed`` overrides.
    ANYR=1 when some layer's R = n_pe / col_groups (or P) is not a power of two. A layout the RTL
    cannot run (a non-power-of-two col_groups) is refused naming the layer."""
    for layer in layers:
        check_layout(layer)
    P = max(layer.n_pe for layer in layers)
    ent = [0] * P
    for layer in layers:
        for k, pe in enumerate(layer.encoding.pes):
            ent[k] += pe.n_entries
    nx = max(max(layer.n_in, layer.n_out) for layer in layers)
    kw = dict(
        P=P,
        MAXG=max(2, max(layer.col_groups for layer in layers)),
        DMAX=1 << max(0, (max(layer.fifo_depth for layer in layers) - 1).bit_length()),
        NL=max(1, len(layers)),
        NX=-(-nx // WINDOW) * WINDOW,
        CBW=max(layer.code_bits for layer in layers),
        IXW=max(layer.index_bits for layer in layers),
        ENT_D=max(2, max(ent)),
        PTR_D=max(2, sum(layer.encoding.n_cols for layer in layers)),
        ACC_D=max(2, max(layer.encoding.max_local_rows for layer in layers)),
        BIAS_D=max(2, sum(layer.encoding.max_local_rows for layer in layers)),
        XW=max(8, max(max(l.input_t.width + (not l.input_t.signed), l.output_t.width + (not l.output_t.signed)) for l in layers)),
        WW=max(l.weight_t.width + (not l.weight_t.signed) for l in layers),
        OL=1 << (min(16, P).bit_length() - 1),
        ANYR=int(not _pow2(P) or any(not _pow2(layer.encoding.row_pes) for layer in layers)),
    )
    kw["ACCW"] = max(kw["XW"] + kw["WW"] + 1, max(l.accum_t.width for l in layers))
    kw.update(fixed)
    return EngineParams(**kw)


#: the engine the test suite runs every generated network on (its memories and widths cover
#: the hypothesis strategies: shapes <= 300, P <= 64, D <= 16, 16 codes, 8 index bits, 3 layers)
TEST_ENGINE = EngineParams(
    P=64, MAXG=8, DMAX=16, NL=3, NX=320, XW=16, WW=8, ACCW=40, CBW=4, IXW=8,
    ENT_D=4096, PTR_D=1024, ACC_D=512, BIAS_D=1024, OL=16, ANYR=1,
)  # fmt: skip


def check_config_layouts(hls_cfg, layer_names) -> None:
    """Config time: UsageError when a Dense layer's knobs (``hls_cfg.knobs_of``: hls.n_pe,
    hls.col_groups, or hls.layers.<name>) give a layout the RTL engine cannot run, naming the
    layer, the value, the nearest values it takes and the key to set; before any file is written."""
    bad = []
    for name in layer_names:
        k = hls_cfg.knobs_of(name)
        for msg in layout_problems(int(k["n_pe"]), int(k["col_groups"])):
            bad.append(f"layer {name!r}: {msg}")
    if bad:
        raise UsageError(
            "; ".join(bad) + ". Set hls.col_groups (or hls.layers.<layer>.col_groups) to a power of two "
            "dividing n_pe for the RTL engine; the HLS flow (flow build, flow csim) takes any"
        )
