"""The overlay's AXI4-Lite register map: the one source of the offsets and bits.

The RTL include `kernels/rtl/overlay/eie_regmap.svh` and the table in docs/overlay.md are
generated from this module (`python -m flow.overlay.gen`, tests/overlay/test_regmap.py checks all
three agree). It lives in flow.runtime because the board driver reads it and may import only
numpy and flow.errors/flow.fixed; it is plain data.

Registers are 32 bits, byte offsets, little endian. Access: "rw" read/write, "ro" read only,
"w1c" write 1 to clear, "wo" write only (reads 0; the written bits act for one cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: version of this register map; the driver refuses an overlay whose REGMAP_VERSION it does not know
REGMAP_VERSION = 2
#: version of the model image format (model.eie) the overlay's load path takes
FORMAT_VERSION = 2
#: the IDENT register's constant: "EIE1" (ASCII, first letter in the high byte)
IDENT_VALUE = 0x45494531
#: address bits of the AXI4-Lite slave (256 bytes of registers)
ADDR_BITS = 8


@dataclass(frozen=True)
class Reg:
    """One 32-bit register: name, byte offset, access, what it says, and its named bits."""

    name: str
    offset: int
    access: str
    doc: str
    bits: dict[str, int] = field(default_factory=dict)  # bit name -> bit position

    def __post_init__(self) -> None:
        if self.offset % 4 or not 0 <= self.offset < (1 << ADDR_BITS):
            raise ValueError(f"register {self.name}: offset {self.offset:#x} must be word aligned < 256")
        if self.access not in ("rw", "ro", "w1c", "wo"):
            raise ValueError(f"register {self.name}: access {self.access!r}")


REGS: tuple[Reg, ...] = (
    # ---- control and status ----
    Reg("CTRL", 0x00, "wo", "START: run N_SAMPLES samples (refused unless idle and a model is loaded); "
        "SOFT_RESET: abort the batch and the load, flush the FIFOs (the model stays; reset the DMA channels first); "
        "LOAD: arm the load stream for one model image (refused unless idle)",
        {"START": 0, "SOFT_RESET": 1, "LOAD": 2}),
    Reg("STATUS", 0x04, "ro", "DONE: the last batch finished (cleared by START); IDLE: no batch and no "
        "load; LOADING: the load stream is armed; LOADED: a complete model is in the memories; "
        "REFUSED: the last START or LOAD was refused (cleared by the next accepted one); "
        "LOAD_ERR: the last load stream was malformed (the model is not LOADED)",
        {"DONE": 0, "IDLE": 1, "LOADING": 2, "LOADED": 3, "REFUSED": 4, "LOAD_ERR": 5}),
    Reg("IRQ", 0x08, "w1c", "DONE: pending batch-done interrupt (the irq output), write 1 to clear",
        {"DONE": 0}),
    Reg("IRQ_EN", 0x0C, "rw", "DONE: raise irq when a batch finishes", {"DONE": 0}),
    Reg("N_SAMPLES", 0x10, "rw", "samples in the next batch (input beats: N x beats per sample); "
        "writes during a batch are ignored"),
    Reg("SAMPLES_DONE", 0x14, "ro", "samples whose outputs left the output stream in this batch"),
    Reg("CYC_BATCH", 0x18, "ro", "clock cycles of the last batch: START to its last output beat"),
    Reg("CYC_SAMPLE", 0x1C, "ro", "clock cycles of the last sample in the engine: engine start to done"),
    Reg("LOAD_WORDS", 0x20, "ro", "load-stream beats taken by the last (or current) load"),
    Reg("LOAD_CYCLES", 0x24, "ro", "clock cycles of the last load: LOAD to its END record written"),
    Reg("MODEL_IO", 0x28, "ro", "the loaded model's stream formats: IN_BITS [7:0], IN_SIGNED [8], "
        "OUT_BITS [23:16] (the widths the streams pack values at)",
        {"IN_SIGNED": 8}),
    Reg("MODEL_N", 0x2C, "ro", "the loaded model's N_IN [15:0] and N_OUT [31:16] (values per sample)"),
    Reg("MODEL", 0x30, "rw", "SEL [3:0]: the model slot the next batch runs and the next load fills "
        "(< CAP_MODELS; writes during a batch or a load are ignored); STATUS.LOADED, MODEL_IO and MODEL_N "
        "are the selected slot's. A swap between resident models is one write of SEL",
        {"SEL": 0}),
    Reg("LOAD_READ", 0x34, "wo", "readback of a loaded memory word (when CAP_LAYOUT.READ and idle; ignored "
        "otherwise): ADDR [15:0] the engine row address, PE [23:16], SEL [26:24] (ENT 0, PTR 1, CB 2, BIAS 3); the "
        "row is in LOAD_DATA two cycles later (before any AXI4-Lite read that follows the write's response)"),
    Reg("LOAD_DATA_LO", 0x38, "ro", "the row LOAD_READ read: bits [31:0] (entry rows: words of CBW + IXW bits; "
        "pointer rows: three pointers {p[2k+2], p[2k+1], p[2k]})"),
    Reg("LOAD_DATA_HI", 0x3C, "ro", "the row LOAD_READ read: bits [63:32]"),
    # ---- identity and capacity (constants of the bitstream) ----
    Reg("IDENT", 0x40, "ro", "the constant 0x45494531 ('EIE1'): an eie-flow overlay is at this address"),
    Reg("VERSION", 0x44, "ro", "REGMAP_VERSION [15:0], FORMAT_VERSION [31:16] (of model.eie)"),
    Reg("BUILD_HASH", 0x48, "ro", "first 32 bits of the engine parameters' hash (EngineParams.key)"),
    Reg("CAP_P", 0x4C, "ro", "processing elements P"),
    Reg("CAP_DMAX", 0x50, "ro", "activation queue depth per PE (D)"),
    Reg("CAP_ENT", 0x54, "ro", "entry words per PE (ENT_D)"),
    Reg("CAP_PTR", 0x58, "ro", "pointer pairs per PE (PTR_D; a model needs its columns of all layers)"),
    Reg("CAP_ACC", 0x5C, "ro", "accumulator rows per PE (ACC_D: local rows of the largest layer)"),
    Reg("CAP_BIAS", 0x60, "ro", "bias words per PE (BIAS_D: local rows of all layers)"),
    Reg("CAP_LAYERS", 0x64, "ro", "layers the table holds (NL)"),
    Reg("CAP_CB", 0x68, "ro", "codebook slots per PE (a layer's slot is its table field 14)"),
    Reg("CAP_NX", 0x6C, "ro", "activation store depth (NX): largest layer input or output"),
    Reg("CAP_WIDTHS", 0x70, "ro", "XW [7:0] activation bits, WW [15:8] weight bits, ACCW [23:16] "
        "accumulator bits, CBW [27:24] code bits, IXW [31:28] index bits"),
    Reg("CAP_LAYOUT", 0x74, "ro", "MAXG [7:0] column groups, OL [15:8] gather lanes, ANYR [16], READ [17] "
        "(LOAD_READ reads back), stream bits / 8 [31:24]", {"ANYR": 16, "READ": 17}),
    Reg("CAP_FIFO", 0x78, "ro", "input FIFO depth [15:0] and output FIFO depth [31:16], in beats"),
    Reg("CAP_MODELS", 0x7C, "ro", "model slots (resident models the wrapper keeps a CONFIG for)"),
)

BY_NAME: dict[str, Reg] = {r.name: r for r in REGS}


def offset(name: str) -> int:
    return BY_NAME[name].offset


def bit(reg: str, name: str) -> int:
    """The mask of bit `name` of register `reg`."""
    return 1 << BY_NAME[reg].bits[name]


def check_unique() -> None:
    """ValueError when two registers share an offset (checked by the tests and the generator)."""
    seen: dict[int, str] = {}
    for r in REGS:
        if r.offset in seen:
            raise ValueError(f"registers {seen[r.offset]} and {r.name} share offset {r.offset:#x}")
        seen[r.offset] = r.name


check_unique()

# ---- the load stream (model.eie's memory words; docs/overlay.md "Load records") ----
#: record kinds (a header beat's KIND field); ENT/PTR/CB/BIAS map to the engine's ld_sel 0..3
LOAD_KINDS: dict[str, int] = {"ENT": 0, "PTR": 1, "CB": 2, "BIAS": 3, "TABLE": 4, "CONFIG": 5, "END": 7}
#: fields of a record's header beat: name -> (low bit, bits)
LOAD_HEADER: dict[str, tuple[int, int]] = {
    "KIND": (0, 4),  # LOAD_KINDS
    "BCAST": (7, 1),  # 1: every element goes to every PE (PE ignored)
    "PE": (8, 8),  # target PE when not BCAST
    "ADDR": (16, 24),  # first word address in the memory
    "COUNT": (40, 24),  # elements that follow, packed in data beats at the kind's lane width
}
#: load-stream (and input/output stream) beat width
STREAM_BITS = 64
#: lane bits of the PTR kind: column pointers (absolute entry addresses); the wrapper writes the
#: pair {v[i+1], v[i]} at ADDR + i, so COUNT = columns + 1
PTR_LANE = 16
#: lane bits of the TABLE kind (the engine's table words)
TABLE_LANE = 32


def pack_header(kind: str, count: int, addr: int = 0, pe: int = 0, bcast: bool = False) -> int:
    """One load-record header beat."""
    vals = {"KIND": LOAD_KINDS[kind], "BCAST": int(bcast), "PE": pe, "ADDR": addr, "COUNT": count}
    word = 0
    for name, v in vals.items():
        lo, n = LOAD_HEADER[name]
        if not 0 <= v < (1 << n):
            raise ValueError(f"load record {kind}: {name}={v} does not fit {n} bits")
        word |= v << lo
    return word


def unpack_header(word: int) -> dict[str, int]:
    return {name: (int(word) >> lo) & ((1 << n) - 1) for name, (lo, n) in LOAD_HEADER.items()}


def lane_bits(kind: str, cbw: int, ixw: int, ww: int, accw: int) -> int:
    """Lane width of a kind's data beats for an engine with those widths (powers of two)."""
    need = {"ENT": cbw + ixw, "PTR": PTR_LANE, "CB": ww, "BIAS": accw, "TABLE": TABLE_LANE, "CONFIG": 64}[kind]
    lane = 8
    while lane < need:
        lane *= 2
    return lane

#: the CONFIG record's one data beat: name -> (low bit, bits); also read back in MODEL_IO/MODEL_N
CONFIG_FIELDS: dict[str, tuple[int, int]] = {
    "N_IN": (0, 16),
    "N_OUT": (16, 16),
    "IN_BITS": (32, 8),  # 8, 16 or 32: input values are packed at this width
    "IN_SIGNED": (40, 1),
    "OUT_BITS": (48, 8),  # 8, 16 or 32: output values are packed at this width
    "BASE": (56, 8),  # table index of the model's first layer (the engine's start layer)
}


def pack_fields(fields: dict[str, tuple[int, int]], **vals: int) -> int:
    word = 0
    for name, (lo, n) in fields.items():
        v = int(vals[name])
        if not 0 <= v < (1 << n):
            raise ValueError(f"{name}={v} does not fit {n} bits")
        word |= v << lo
    return word
