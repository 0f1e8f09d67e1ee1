"""FPGA resource estimate of an EIE design (and of a dense 16-bit hls4ml-style one), and the fit check.

Inputs are per-layer `LayerFootprint`s (fill them from `flow.eie` with `from_eie_layer`, from a
pruning mask with `from_mask`, or by hand). Model, stated so that it can be checked and argued with:

Memories (one entry per array, `copies` = one per PE where the kernel partitions by PE):
- per PE: the sparse-matrix ROM, `pe_capacity` deep (the largest PE's entry count: the HLS array
  is [n_pe][pe_capacity]) and `code_bits + index_bits` wide (code and relative index packed in one
  word; `packed=False` counts them as two ROMs); the pointer-pair ROM, `n_cols` deep and
  2 x `ptr_bits` wide ({end, start} in one word; n_cols = ceil(n_in / col_groups)); both bound as
  the kernel binds them (flow.eie.codegen.rom_impl: LUT RAM up to 2048 bits per PE, block RAM
  above); the accumulators, ceil(n_out / (n_pe / col_groups)) deep, `accum_bits` wide (RAM); the
  codebook, 2**code_bits x weight_bits, counted as the RTL engine's per-PE LUT RAM (the HLS kernel
  reads one register copy through a per-PE mux instead: not checked by synthesis, no Vitis here).
- per layer: its input buffer (n_in x input_bits, RAM), biases (n_out x bias_bits); the last
  layer's output buffer (n_out x output_bits).
All of it is modelled; the structures the RTL engine shares (block RAMs of the entry and pointer
memories, LUT RAMs, one DSP per PE) are checked against Yosys synthesis of kernels/rtl
(tests/board/test_resources_yosys.py); csynth's figures, when Vitis HLS runs, are in vendor.json.
- Mapping: an array of at most `LUTRAM_MAX_BITS` bits or at most 64 deep goes to LUTs (as Vivado
  does for small arrays): read-only, width x ceil(depth / 64) LUT6s of logic; written (RAM), LUT RAM
  as Yosys maps the RTL's (`lutram_luts`, measured). Larger arrays go to block RAM, in whichever RAMB18
  (16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36) or RAMB36 (32Kx1 ... 512x72, counted as 2 RAMB18)
  shape needs the fewest blocks: ceil(depth / shape_depth) x ceil(width / shape_width).
  `uram_min_depth`: deep sparse-matrix ROMs in UltraRAM (4K x 72, reshaped to 72 // width entries a
  word; the kernel then needs `array_reshape` + `bind_storage impl=uram` on them).
DSP: one multiplier per PE, 1 DSP when it fits 25x18 (DSP48E1), else ceil(a/25) x ceil(b/18); bias
  add, ReLU and requantisation are LUTs.
LUT/FF (logic, modelled from what kernels/hls/eie_dense.h instantiates, see `_logic`): per PE the
  queue in registers with its D:1 read mux, the narrow count/slot state, the stage registers of
  A..F2, adder and bypass muxes, plus `PE_LUT`/`PE_FF` control; per layer
  `LAYER_LUT`/`LAYER_FF` (non-zero detector, broadcast register, output gather) + 2 LUT per PE of fan-out;
  with column groups, the gather's (col_groups - 1) x (n_pe / col_groups) adders of accum_bits LUTs.
  Detector width: LAYER_LUT covers detect_width 4; the compaction network (each scanned input routed
  as (value, local column)) adds `DETECT_LUT_PER_BIT` x (detect_width - 4) x (input_bits + col_bits)
  LUTs per layer (negative below 4): about one LUT per lane and bit, a rough lower-end figure (a
  log-depth network adds a log2(detect_width) factor; not checked against synthesis).
Platform (AXI DMA without SG, AXI interconnect, SmartConnect, reset, AXI-stream top): `PLATFORM`.

Dense estimate: hls4ml's Dense, `n_mult` multipliers per layer, weights on chip in n_mult banks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from flow.eie.codegen import BLOCK_BITS
from flow.eie.knobs import DEFAULT_BROADCAST, DEFAULT_DETECT_WIDTH, DEFAULT_FIFO_DEPTH
from flow.errors import FitError

RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
RAMB36_SHAPES = ((32768, 1), (16384, 2), (8192, 4), (4096, 9), (2048, 18), (1024, 36), (512, 72))
LUTRAM_MAX_BITS = 1024
LUTRAM_MAX_DEPTH = 64
URAM_DEPTH, URAM_WIDTH = 4096, 72
PE_LUT, PE_FF = 90, 120
LAYER_LUT, LAYER_FF = 300, 400
#: LUTs per detector lane (beyond the default 4) and per routed bit (input value + local column)
DETECT_LUT_PER_BIT = 1
#: the detect_width LAYER_LUT already covers (the engine's default)
BASE_DETECT_WIDTH = DEFAULT_DETECT_WIDTH
DEFAULT_LIMIT = 0.90


def bram18_blocks(depth: int, width: int) -> int:
    """Fewest RAMB18-equivalents holding a depth x width array (RAMB36 counts as 2)."""
    if depth <= 0 or width <= 0:
        return 0
    b18 = min(math.ceil(depth / d) * math.ceil(width / w) for d, w in RAMB18_SHAPES)
    b36 = min(math.ceil(depth / d) * math.ceil(width / w) for d, w in RAMB36_SHAPES)
    return min(b18, 2 * b36)


def lut_blocks(depth: int, width: int) -> int:
    """LUT6s of a depth x width distributed ROM/RAM (64x1 per LUT6)."""
    return 0 if depth <= 0 or width <= 0 else width * math.ceil(depth / 64)


def lutram_luts(depth: int, width: int) -> tuple[int, int]:
    """(LUTs as memory, read-mux LUTs) of a depth x width simple-dual-port LUT RAM as Yosys synth_xilinx
    maps the RTL engine's (tests/board/test_resources_yosys.py measures it): banks of RAM32M (32 x 6
    bits) or RAM64M (64 x 3 bits), 4 LUTs each, whichever takes fewer (64 deep on a tie), and over b > 1
    banks a b:1 read mux of ceil((b - 1) / 3) LUT6 per bit."""
    if depth <= 0 or width <= 0:
        return 0, 0
    cells, banks = min((math.ceil(depth / d) * math.ceil(width / w), math.ceil(depth / d)) for d, w in ((64, 3), (32, 6)))
    return 4 * cells, width * math.ceil((banks - 1) / 3)


def dsp_per_mult(a_bits: int, b_bits: int) -> int:
    hi, lo = max(a_bits, b_bits), min(a_bits, b_bits)
    return 1 if hi <= 25 and lo <= 18 else math.ceil(hi / 25) * math.ceil(lo / 18)


def bits_for(n: int) -> int:
    """Unsigned bits that can hold 0..n."""
    return max(1, int(n).bit_length())


@dataclass
class Usage:
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    dsp: int = 0
    #: LUTs used as distributed RAM (a subset of `lut`)
    lutram: int = 0
    #: UltraRAM blocks (288 Kb, 4K x 72), only where asked for (`estimate(..., uram_min_depth=...)`)
    uram: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(*(getattr(self, k) + getattr(other, k) for k in _KEYS))


_KEYS = ("lut", "ff", "bram18", "dsp", "lutram", "uram")


@dataclass(frozen=True)
class Memory:
    name: str
    depth: int
    width: int
    copies: int = 1
    writable: bool = False
    #: bound to UltraRAM (HLS `bind_storage ... impl=uram`) instead of the automatic choice
    uram: bool = False
    #: the kernel binds it explicitly: True LUT RAM, False block RAM (flow.eie.codegen.rom_impl); None automatic
    lut: bool | None = None

    @property
    def in_lut(self) -> bool:
        if self.uram:
            return False
        if self.lut is not None:
            return self.lut
        return self.depth * self.width <= LUTRAM_MAX_BITS or self.depth <= LUTRAM_MAX_DEPTH

    def usage(self) -> Usage:
        if self.uram:
            if self.width <= URAM_WIDTH:  # reshaped: 72 // width entries per 72-bit word
                blocks = math.ceil(self.depth / (URAM_DEPTH * (URAM_WIDTH // self.width)))
            else:
                blocks = math.ceil(self.depth / URAM_DEPTH) * math.ceil(self.width / URAM_WIDTH)
            return Usage(uram=blocks * self.copies)
        if self.in_lut and self.writable:
            ram, mux = lutram_luts(self.depth, self.width)
            return Usage(lut=(ram + mux) * self.copies, lutram=ram * self.copies)
        if self.in_lut:
            return Usage(lut=lut_blocks(self.depth, self.width) * self.copies)
        return Usage(bram18=bram18_blocks(self.depth, self.width) * self.copies)

    def to_dict(self) -> dict:
        where = "uram" if self.uram else "lut" if self.in_lut else "bram"
        return {**asdict(self), "bits": self.depth * self.width * self.copies, "in": where, **asdict(self.usage())}


@dataclass(frozen=True)
class LayerFootprint:
    """What the estimator needs of one EIE layer."""

    name: str
    n_in: int
    n_out: int
    n_pe: int
    pe_entries: tuple  # stored entries (fillers included) of each PE
    code_bits: int = 4
    index_bits: int = 4
    ptr_bits: int | None = None  # column pointer width; None = enough for the largest PE's entries
    accum_bits: int = 32
    input_bits: int = 16
    weight_bits: int = 8
    bias_bits: int = 16
    output_bits: int = 16
    fifo_depth: int = DEFAULT_FIFO_DEPTH
    broadcast: int = DEFAULT_BROADCAST  # always 1 (deprecated knob, flow.eie.knobs.DEPRECATED): no cost
    col_groups: int = 1  # n_pe / col_groups PEs per group, ceil(n_in / col_groups) columns each
    detect_width: int = DEFAULT_DETECT_WIDTH  # the detector's lanes

    def __post_init__(self) -> None:
        if len(self.pe_entries) != self.n_pe:
            raise ValueError(f"layer {self.name!r}: {len(self.pe_entries)} PE entry counts for n_pe={self.n_pe}")
        if self.col_groups < 1 or self.n_pe % self.col_groups:
            raise ValueError(f"layer {self.name!r}: col_groups={self.col_groups} must divide n_pe={self.n_pe}")
        if self.detect_width < 1:
            raise ValueError(f"layer {self.name!r}: detect_width={self.detect_width} must be at least 1")

    @property
    def pe_capacity(self) -> int:
        return max(1, int(max(self.pe_entries)))

    @property
    def rows_per_pe(self) -> int:
        return -(-self.n_out // (self.n_pe // self.col_groups))

    @property
    def n_cols(self) -> int:
        return -(-self.n_in // self.col_groups)

    @property
    def pointer_bits(self) -> int:
        return self.ptr_bits or bits_for(self.pe_capacity)

    @classmethod
    def from_eie_layer(cls, layer, ptr_bits: int | None = None) -> "LayerFootprint":
        """From a flow.eie EIELayer (duck-typed: .encoding.pes[k].codes, fixed types with .width)."""
        return cls(
            name=layer.name, n_in=int(layer.n_in), n_out=int(layer.n_out), n_pe=int(layer.n_pe),
            pe_entries=tuple(int(len(pe.codes)) for pe in layer.encoding.pes),
            code_bits=int(layer.code_bits), index_bits=int(layer.index_bits), ptr_bits=ptr_bits,
            accum_bits=int(layer.accum_t.width), input_bits=int(layer.input_t.width),
            weight_bits=int(layer.weight_t.width), bias_bits=int(layer.bias_t.width),
            output_bits=int(layer.output_t.width), fifo_depth=int(getattr(layer, "fifo_depth", DEFAULT_FIFO_DEPTH)),
            col_groups=int(getattr(layer, "col_groups", 1)),
            detect_width=int(getattr(layer, "detect_width", DEFAULT_DETECT_WIDTH)),
        )

    @classmethod
    def from_mask(cls, name: str, mask, n_pe: int, *, index_bits: int = 4, **kw) -> "LayerFootprint":
        """From the kept-weight mask of W (n_out, n_in): exact entry counts with EIE filler entries
        (row interleaving, col_groups = 1)."""
        mask = np.asarray(mask, dtype=bool)
        n_out, n_in = mask.shape
        return cls(name=name, n_in=n_in, n_out=n_out, n_pe=n_pe, index_bits=index_bits,
                   pe_entries=tuple(pe_entry_counts(mask, n_pe, index_bits)), **kw)


def pe_entry_counts(mask, n_pe: int, index_bits: int) -> list[int]:
    """Entries per PE (fillers included) of W's mask (n_out, n_in), as flow.eie.encode stores them."""
    from flow.eie.encode import encode

    return encode(np.asarray(mask, dtype=np.float64), n_pe, code_bits=1, index_bits=index_bits).entries_per_pe.tolist()


@dataclass
class ResourceEstimate:
    design: str
    layers: dict = field(default_factory=dict)  # name -> Usage
    memories: list = field(default_factory=list)  # Memory
    platform: Usage = field(default_factory=Usage)

    @property
    def total(self) -> Usage:
        total = Usage() + self.platform
        for usage in self.layers.values():
            total = total + usage
        return total

    def utilisation(self, board) -> dict:
        t, avail = self.total, _available(board)
        return {k: (getattr(t, k) / v if v else (math.inf if getattr(t, k) else 0.0)) for k, v in avail.items()}

    def to_dict(self, board=None) -> dict:
        d = {"design": self.design, "total": asdict(self.total), "platform": asdict(self.platform),
             "layers": {k: asdict(v) for k, v in self.layers.items()},
             "memories": [m.to_dict() for m in self.memories]}
        if board is not None:
            d["board"] = board.name
            d["utilisation"] = self.utilisation(board)
        return d


PLATFORM = Usage(lut=3500, ff=5000, bram18=4, dsp=0, lutram=300)


def _logic(n_pe: int, accum_bits: int, ptr_bits: int, input_bits: int, fifo_depth: int,
           col_bits: int = 8, row_bits: int = 8, weight_bits: int = 8) -> Usage:
    """The PE array's logic as kernels/hls/eie_dense.h instantiates it, per PE: the queue in
    registers (D x (value + column) FF, a D:1 read mux of ceil(D / 4) LUT6 per bit, D write
    enables), count/head/tail, the stage registers (pair word, walk pointers, x in A..D, rows in
    C..F2, the weight, acc_q, product and the two bypass sums), the adder and the bypass muxes."""
    q_bits = input_bits + col_bits
    slot = bits_for(max(fifo_depth - 1, 1))
    fifo_ff = fifo_depth * q_bits + bits_for(fifo_depth) + 2 * slot
    fifo_lut = q_bits * math.ceil(fifo_depth / 4) + fifo_depth
    stage_ff = 4 * ptr_bits + 4 * input_bits + 5 * row_bits + weight_bits + 4 * accum_bits + 8
    lut = n_pe * (PE_LUT + 3 * accum_bits + ptr_bits + fifo_lut + 2 * row_bits + 2) + LAYER_LUT
    ff = n_pe * (PE_FF + fifo_ff + stage_ff) + LAYER_FF
    return Usage(lut=lut, ff=ff)


def detector_luts(ly: LayerFootprint) -> int:
    """LUTs of the detector's compaction network beyond the default width (negative below it)."""
    bits = ly.input_bits + bits_for(ly.n_cols - 1)
    return DETECT_LUT_PER_BIT * (ly.detect_width - BASE_DETECT_WIDTH) * bits


def _sum(memories) -> Usage:
    total = Usage()
    for m in memories:
        total = total + m.usage()
    return total


def _available(board) -> dict:
    r = board.resources
    return {"lut": r.lut, "ff": r.ff, "bram18": r.bram18, "dsp": r.dsp, "lutram": r.lutram, "uram": r.uram}


def estimate(layers, *, packed: bool = True, uram_min_depth: int | None = None,
             platform: Usage = PLATFORM) -> ResourceEstimate:
    """Resources of the EIE design for `layers` (LayerFootprint, in network order).

    `uram_min_depth`: put per-PE sparse-matrix ROMs at least this deep into UltraRAM (boards that
    have it, e.g. 4096 on the KV260); see the module docstring for what the kernel must do then.
    """
    est = ResourceEstimate("eie", platform=platform)
    layers = list(layers)
    for i, ly in enumerate(layers):
        p = ly.n_pe
        big = uram_min_depth is not None and ly.pe_capacity >= uram_min_depth
        ent_bits = ly.code_bits + ly.index_bits
        ent_lut = ly.pe_capacity * ent_bits <= BLOCK_BITS  # flow.eie.codegen.rom_impl's rule
        pair_lut = ly.n_cols * 2 * ly.pointer_bits <= BLOCK_BITS
        mems = (
            [Memory(f"{ly.name}.spmat", ly.pe_capacity, ent_bits, p, uram=big, lut=ent_lut)]
            if packed
            else [Memory(f"{ly.name}.codes", ly.pe_capacity, ly.code_bits, p, uram=big),
                  Memory(f"{ly.name}.index", ly.pe_capacity, ly.index_bits, p, uram=big)]
        )
        mems += [
            Memory(f"{ly.name}.colptr", ly.n_cols, 2 * ly.pointer_bits, p, lut=pair_lut),  # {end, start}
            Memory(f"{ly.name}.accum", ly.rows_per_pe, ly.accum_bits, p, writable=True),
            Memory(f"{ly.name}.codebook", 1 << ly.code_bits, ly.weight_bits, p, writable=True, lut=True),
            Memory(f"{ly.name}.bias", ly.n_out, ly.bias_bits),
            Memory(f"{ly.name}.in_buf", ly.n_in, ly.input_bits, writable=True),
        ]
        if i == len(layers) - 1:
            mems.append(Memory(f"{ly.name}.out_buf", ly.n_out, ly.output_bits, writable=True))
        usage = _sum(mems) + _logic(p, ly.accum_bits, ly.pointer_bits, ly.input_bits, ly.fifo_depth,
                                    bits_for(max(ly.n_cols - 1, 1)), bits_for(max(ly.rows_per_pe - 1, 1)),
                                    ly.weight_bits)
        usage.lut += (ly.col_groups - 1) * (p // ly.col_groups) * ly.accum_bits  # gather adders
        usage.lut += detector_luts(ly)  # the detector's lanes beyond the default 4
        usage.dsp = p * dsp_per_mult(ly.input_bits, ly.weight_bits)
        est.layers[ly.name] = usage
        est.memories += mems
    return est


def estimate_eie_layers(eie_layers, **kw) -> ResourceEstimate:
    """`estimate` of flow.eie EIELayers (the build's entry point)."""
    return estimate([LayerFootprint.from_eie_layer(ly) for ly in eie_layers], **kw)


def estimate_dense(shapes, n_mult, *, weight_bits: int = 16, input_bits: int = 16, accum_bits: int = 32,
                   platform: Usage = PLATFORM, names=None) -> ResourceEstimate:
    """Dense hls4ml-style design: `shapes` [(n_in, n_out), ...], `n_mult` per layer (int or list)."""
    shapes = [tuple(map(int, s)) for s in shapes]
    mults = [n_mult] * len(shapes) if isinstance(n_mult, int) else list(n_mult)
    names = names or [f"dense_{i}" for i in range(len(shapes))]
    est = ResourceEstimate(f"dense{weight_bits}", platform=platform)
    for i, ((n_in, n_out), m, name) in enumerate(zip(shapes, mults, names)):
        m = max(1, min(m, n_in * n_out))
        mems = [
            Memory(f"{name}.weights", -(-(n_in * n_out) // m), weight_bits, m),
            Memory(f"{name}.bias", n_out, 16),
            Memory(f"{name}.in_buf", n_in, input_bits, writable=True),
        ]
        if i == len(shapes) - 1:
            mems.append(Memory(f"{name}.out_buf", n_out, input_bits, writable=True))
        usage = _sum(mems) + _logic(m, accum_bits, bits_for(n_in * n_out // m), input_bits, 1)
        usage.dsp = m * dsp_per_mult(input_bits, weight_bits)
        est.layers[name] = usage
        est.memories += mems
    return est


_ADVICE = {
    "bram18": "prune more (memory grows with the kept weights), use fewer code/index bits, or fewer PEs "
              "(each PE's ROMs round up to whole BRAMs)",
    "lutram": "fewer PEs or smaller per-PE arrays (accumulators, FIFOs)",
    "dsp": "fewer PEs (one multiplier each)",
    "lut": "fewer PEs",
    "ff": "fewer PEs",
    "uram": "keep the sparse-matrix ROMs in block RAM (no uram_min_depth) or prune more",
}
_NAMES = {"bram18": "BRAM (RAMB18)", "lutram": "LUT as memory", "dsp": "DSP", "lut": "LUT", "ff": "FF",
          "uram": "UltraRAM"}


def check_fit(est: ResourceEstimate, board, limit: float = DEFAULT_LIMIT) -> dict:
    """Utilisation per resource; FitError with the numbers and what to change above `limit`."""
    util = est.utilisation(board)
    over = [k for k, u in util.items() if u > limit]
    if not over:
        return util
    total, avail = est.total, _available(board)
    lines = [f"{_NAMES[k]} {getattr(total, k):,} of {avail[k]:,} ({util[k]:.0%} > {limit:.0%})" for k in over]
    advice_for = dict(_ADVICE)
    if not est.design.startswith("eie"):
        advice_for["bram18"] = "keep fewer weights on chip (prune and use the EIE design) or use fewer weight bits"
        advice_for["dsp"] = advice_for["lut"] = advice_for["ff"] = "fewer multipliers (a larger reuse factor)"
    advice = "; ".join(dict.fromkeys(advice_for[k] for k in over))
    raise FitError(
        f"the {est.design} design does not fit {board.name} ({board.part}): {', '.join(lines)}. "
        f"Fix: {advice}; or a bigger board (see `flow boards`)"
    )
