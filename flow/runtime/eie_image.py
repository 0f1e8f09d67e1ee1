"""`model.eie`: a compressed model as the overlay's load path takes it (reader and validator).

numpy only (it runs on the board). The layout (docs/overlay.md, "model.eie"), little endian:

    offset  size
    0       8     magic b"EIEMODEL"
    8       2     format version (flow.runtime.regmap.FORMAT_VERSION)
    10      2     header bytes H (= offset of the load words)
    12      4     load words N (64-bit)
    16      64    capacity needed: 16 x u32, CAPACITY_KEYS in order
    80      4+4   n_in, n_out
    88      1+3   flags (bit 0: softmax on the host), reserved
    92      48+48 input and output fixed-point types (ap_fixed text, NUL padded)
    188     64 L  layer table: L x 16 u32 (the engine's table words; L = capacity LAYERS)
    188+64L 4     CRC32 (zlib) of bytes [0, 188+64L) and of the N load words
    H       8 N   load words: records (header beat + data beats), flow.runtime.regmap.LOAD_*

Format 2 (this one) lays the load words out for the wide load port: an ENT record fills whole
entry-RAM rows (address and count multiples of the entries per beat), a PTR record is a pad,
p[0], then pairs of column pointers (each pair one pointer-RAM row of three pointers).

Everything is checked (magic, version, sizes, CRC, the header against the records) before a
driver writes anything to a device; each problem is an ImageError naming it and the fix.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flow.errors import UsageError
from flow.fixed import FixedType
from flow.runtime import regmap as rm

MAGIC = b"EIEMODEL"
#: capacity fields a model needs and an overlay offers (identity registers CAP_*)
CAPACITY_KEYS = ("P", "LAYERS", "CB", "MAXG", "DMAX", "NX", "ENT", "PTR", "ACC", "BIAS", "ANYR",
                 "XW", "WW", "ACCW", "CBW", "IXW")  # fmt: skip
#: widths the load words were packed for: the overlay must have exactly these
EXACT_KEYS = ("XW", "WW", "ACCW", "CBW", "IXW")
_FIXED = struct.Struct("<8sHHI")
_CAP = struct.Struct("<16I")
_IO = struct.Struct("<IIB3x48s48s")
TABLE_WORDS = 16
#: table fields a relocation moves (flow/rtl/images.py TABLE; F_CB: the codebook slot, eie_layer_table.sv)
F_PTR, F_BIAS, F_CB = 4, 5, 14


class ImageError(UsageError):
    """A model image that is malformed or does not fit; the message names the problem and the fix."""


@dataclass
class ModelImage:
    version: int
    capacity: dict[str, int]
    n_in: int
    n_out: int
    softmax: bool
    in_t: FixedType
    out_t: FixedType
    table: np.ndarray  # uint32 [L, 16]
    words: np.ndarray  # uint64 [N]
    source: str = "model.eie"

    @property
    def n_layers(self) -> int:
        return int(self.capacity["LAYERS"])

    def records(self) -> list[dict]:
        """The load records: {"kind", "bcast", "pe", "addr", "count", "data": uint64 beats}."""
        return parse_records(self.words, self.capacity, self.source)

    def word_counts(self) -> dict:
        """Bus beats and engine load-port writes of the load (docs/overlay.md, "Load time"):
        one write per entry row, per pointer row (two values), per other element; a broadcast
        element is one write into every PE."""
        beats = int(self.words.size)
        writes = sum(1 for _ in engine_writes(self))
        return {"beats": beats, "engine_writes": writes}


def _lanes(kind: str, cap: dict) -> int:
    return rm.lane_bits(kind, cap["CBW"], cap["IXW"], cap["WW"], cap["ACCW"])


def parse_records(words: np.ndarray, cap: dict, source: str = "model.eie") -> list[dict]:
    """Split the load words into records; ImageError when one runs past the end or is unknown."""
    kinds = {v: k for k, v in rm.LOAD_KINDS.items()}
    out, i, n = [], 0, int(words.size)
    while i < n:
        h = rm.unpack_header(int(words[i]))
        kind = kinds.get(h["KIND"])
        if kind is None:
            raise ImageError(f"{source}: load word {i} has an unknown record kind {h['KIND']}; "
                             "the image is corrupt or from another flow version: write it again")
        beats = 0 if kind == "END" else -(-h["COUNT"] * _lanes(kind, cap) // rm.STREAM_BITS)
        if i + 1 + beats > n:
            raise ImageError(f"{source}: record {kind} at word {i} needs {beats} data words, only "
                             f"{n - i - 1} follow: the image is truncated; copy or write it again")
        out.append({"kind": kind, "bcast": bool(h["BCAST"]), "pe": h["PE"], "addr": h["ADDR"],
                    "count": h["COUNT"], "data": words[i + 1 : i + 1 + beats], "at": i})
        i += 1 + beats
        if kind == "END":
            if i != n:
                raise ImageError(f"{source}: {n - i} load words after the END record; write the image again")
            break
    if not out or out[-1]["kind"] != "END":
        raise ImageError(f"{source}: the load words lack the END record: the image is truncated")
    return out


def unpack_lanes(data: np.ndarray, lane: int, count: int) -> np.ndarray:
    """The `count` values of `lane` bits packed little-endian-first in 64-bit beats."""
    per = rm.STREAM_BITS // lane
    d = np.asarray(data, dtype=np.uint64)
    shifts = (np.arange(per, dtype=np.uint64) * np.uint64(lane))
    mask = np.uint64((1 << lane) - 1) if lane < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
    vals = (d[:, None] >> shifts[None, :]) & mask
    return vals.reshape(-1)[:count]


def _crc(head: bytes, words: np.ndarray) -> int:
    return zlib.crc32(words.astype("<u8").tobytes(), zlib.crc32(head)) & 0xFFFFFFFF


def read_image(src) -> ModelImage:
    """Parse and validate a model image (a path or bytes)."""
    if isinstance(src, (bytes, bytearray)):
        data, source = bytes(src), "model image"
    else:
        path = Path(src)
        if path.is_dir():
            path = path / "model.eie"
        if not path.is_file():
            raise ImageError(f"{path}: no model image there; write one with `flow image <compressed model>` "
                             "(flow.overlay.image.write_image)")
        data, source = path.read_bytes(), str(path)
    if len(data) < _FIXED.size:
        raise ImageError(f"{source}: {len(data)} bytes is shorter than the {_FIXED.size}-byte header: "
                         "the file is truncated")
    magic, version, hbytes, n_words = _FIXED.unpack_from(data, 0)
    if magic != MAGIC:
        raise ImageError(f"{source}: not a model image (magic {magic!r}, expected {MAGIC!r})")
    if version != rm.FORMAT_VERSION:
        newer = "newer" if version > rm.FORMAT_VERSION else "older"
        raise ImageError(f"{source}: format version {version} is {newer} than this driver's "
                         f"{rm.FORMAT_VERSION}: write the image with the flow version of this driver, "
                         "or install the matching eie-flow on the board")
    fixed_end = _FIXED.size + _CAP.size + _IO.size
    if len(data) < fixed_end:
        raise ImageError(f"{source}: {len(data)} bytes, the header alone needs {fixed_end}: truncated")
    cap = dict(zip(CAPACITY_KEYS, _CAP.unpack_from(data, _FIXED.size)))
    n_in, n_out, flags, in_s, out_s = _IO.unpack_from(data, _FIXED.size + _CAP.size)
    L = cap["LAYERS"]
    want_h = fixed_end + 4 * TABLE_WORDS * L + 4
    if hbytes != want_h:
        raise ImageError(f"{source}: header size {hbytes} differs from {want_h} for {L} layers: corrupt")
    want = hbytes + 8 * n_words
    if len(data) != want:
        raise ImageError(f"{source}: {len(data)} bytes, the header says {want} ({n_words} load words): "
                         f"the file is {'truncated' if len(data) < want else 'longer than its header says'}")
    table = np.frombuffer(data, "<u4", TABLE_WORDS * L, fixed_end).reshape(L, TABLE_WORDS).copy()
    (crc,) = struct.unpack_from("<I", data, hbytes - 4)
    words = np.frombuffer(data, "<u8", n_words, hbytes).astype(np.uint64)
    got = _crc(data[: hbytes - 4], words)
    if got != crc:
        raise ImageError(f"{source}: CRC32 mismatch (stored {crc:08x}, computed {got:08x}): the file is "
                         "damaged; copy or write it again")
    try:
        in_t = FixedType.parse(in_s.rstrip(b"\0").decode())
        out_t = FixedType.parse(out_s.rstrip(b"\0").decode())
    except (UsageError, UnicodeDecodeError) as exc:
        raise ImageError(f"{source}: bad fixed-point type in the header: {exc}") from None
    img = ModelImage(version, cap, n_in, n_out, bool(flags & 1), in_t, out_t, table, words, source)
    _check_consistent(img)
    return img


def _check_consistent(img: ModelImage) -> None:
    """The header against the records: table words, CONFIG (the input/output widths), P."""
    src, cap = img.source, img.capacity
    recs = img.records()
    cfgs = [r for r in recs if r["kind"] == "CONFIG"]
    if len(cfgs) != 1 or cfgs[0]["count"] != 1:
        raise ImageError(f"{src}: needs exactly one CONFIG record of one word, found {len(cfgs)}")
    cw = int(cfgs[0]["data"][0])
    cfg = {k: (cw >> lo) & ((1 << n) - 1) for k, (lo, n) in rm.CONFIG_FIELDS.items()}
    if cfg["IN_BITS"] not in (8, 16, 32) or cfg["OUT_BITS"] not in (8, 16, 32):
        raise ImageError(f"{src}: CONFIG packs inputs at {cfg['IN_BITS']} and outputs at {cfg['OUT_BITS']} bits; "
                         "the overlay's streams take 8, 16 or 32: write the image again")
    if cfg["IN_BITS"] < img.in_t.width or cfg["IN_SIGNED"] != int(img.in_t.signed):
        raise ImageError(
            f"{src}: the input stream packs {cfg['IN_BITS']}-bit {'signed' if cfg['IN_SIGNED'] else 'unsigned'} "
            f"values but the model's input is {img.in_t.cpp} ({img.in_t.width} bits): the input width "
            "differs from the data's; write the image again")
    if (cfg["N_IN"], cfg["N_OUT"]) != (img.n_in, img.n_out) or cfg["OUT_BITS"] < img.out_t.width:
        raise ImageError(f"{src}: CONFIG (n_in {cfg['N_IN']}, n_out {cfg['N_OUT']}, out {cfg['OUT_BITS']} "
                         f"bits) differs from the header ({img.n_in}, {img.n_out}, {img.out_t.cpp})")
    tab = [r for r in recs if r["kind"] == "TABLE"]
    flat = np.concatenate([unpack_lanes(r["data"], rm.TABLE_LANE, r["count"]) for r in tab]) if tab else []
    if len(flat) != img.table.size or not np.array_equal(np.asarray(flat, np.uint64), img.table.reshape(-1)):
        raise ImageError(f"{src}: the TABLE records differ from the header's layer table: corrupt image")
    epr = rm.STREAM_BITS // _lanes("ENT", cap)
    for r in recs:
        if not r["bcast"] and r["kind"] in ("ENT", "PTR", "CB", "BIAS") and r["pe"] >= cap["P"]:
            raise ImageError(f"{src}: record {r['kind']} for PE {r['pe']}, the model has P={cap['P']}")
        if r["kind"] == "ENT" and (r["addr"] % epr or r["count"] % epr):
            raise ImageError(f"{src}: ENT record at word {r['at']} (address {r['addr']}, {r['count']} entries) "
                             f"does not fill whole rows of {epr} entries: write the image again")
        if r["kind"] == "PTR" and (r["addr"] % 2 or r["count"] % 2 or r["count"] == 2):
            raise ImageError(f"{src}: PTR record at word {r['at']} (address {r['addr']}, {r['count']} values) "
                             "is not a pad, p[0] and pairs of pointers: write the image again")


def check_capacity(img: ModelImage, overlay: dict[str, int], where: str = "the overlay") -> None:
    """ImageError unless the model fits the overlay's capacity (identity registers), naming each
    need and limit; before anything is written to the device."""
    need, bad = img.capacity, []
    for k in CAPACITY_KEYS:
        if k not in overlay:
            continue
        if k in EXACT_KEYS or k == "P":
            if need[k] != overlay[k]:
                bad.append(f"{k}: the image has {need[k]}, {where} {overlay[k]}")
        elif k == "ANYR":
            if need[k] and not overlay[k]:
                bad.append("ANYR: the model has PEs per group R not a power of two, "
                           f"{where} supports powers of two only")
        elif need[k] > overlay[k]:
            bad.append(f"{k}: the model needs {need[k]}, {where} holds {overlay[k]}")
    if bad:
        raise ImageError(f"{img.source} does not fit {where}: " + "; ".join(bad) +
                         ". Re-encode the model for this overlay (P, widths) or use a larger overlay")


def check_input(img: ModelImage, x_raw: np.ndarray) -> np.ndarray:
    """Raw inputs must be representable in the model's input type (the stream packs that width)."""
    try:
        return img.in_t.check_raw(np.asarray(x_raw), "raw input")
    except UsageError as exc:
        raise ImageError(f"{exc}: the loaded model's input is {img.in_t.cpp} "
                         f"({img.in_t.width} bits on the stream)") from None


def engine_writes(img: ModelImage):
    """The engine load-port writes (sel, pe, addr, value) the wrapper makes of the records, in
    order: what kernels/rtl/overlay/eie_axi.sv does (for tests and the simulated board). pe is
    None for a broadcast write (ld_bcast: every PE); sel 4 is the table. An entry write is a row
    of entries_per_row words (addr a row index, word i at bits i * (CBW + IXW)); a pointer write
    is a row {p[2k+2], p[2k+1], p[2k]} of ptr_bits each (addr k), ptr_bits the overlay's
    pointer width clog2(ENT_D + 1)."""
    sel = {"ENT": 0, "PTR": 1, "CB": 2, "BIAS": 3, "TABLE": 4}
    cap = img.capacity
    ew = cap["CBW"] + cap["IXW"]
    epr = rm.STREAM_BITS // _lanes("ENT", cap)
    for r in img.records():
        kind = r["kind"]
        if kind not in sel:
            continue
        vals = [int(v) for v in unpack_lanes(r["data"], _lanes(kind, cap), r["count"])]
        pe = None if r["bcast"] and kind != "TABLE" else (0 if kind == "TABLE" else r["pe"])
        if kind == "ENT":
            for i in range(0, len(vals), epr):
                yield sel[kind], pe, r["addr"] // epr + i // epr, sum(v << (j * ew) for j, v in enumerate(vals[i : i + epr]))
        elif kind == "PTR":
            for k in range(1, len(vals) // 2):
                yield sel[kind], pe, r["addr"] // 2 + k - 1, (vals[2 * k - 1], vals[2 * k], vals[2 * k + 1])
        else:
            for i, v in enumerate(vals):
                yield sel[kind], pe, r["addr"] + i, v


def engine_memories(img: ModelImage, depths: dict[str, int], ptr_bits: int) -> dict:
    """Word-level memories after the load's engine writes: {"ent", "ptr" (pairs {end, start} at
    ptr_bits each), "cb", "bias": one uint64 array of depths[name] words per PE, "table"}; what
    the engine holds (flow.rtl.images.Images' layout), for tests and the simulated board."""
    P = img.capacity["P"]
    ew = img.capacity["CBW"] + img.capacity["IXW"]
    epr = rm.STREAM_BITS // _lanes("ENT", img.capacity)
    mem = {k: [np.zeros(depths[k], np.uint64) for _ in range(P)] for k in ("ent", "ptr", "cb", "bias")}
    table = np.zeros(depths["table"], np.uint64)
    for sel, pe, addr, v in engine_writes(img):
        if sel == 4:
            table[addr] = v
            continue
        for k in range(P) if pe is None else [pe]:
            m = mem[("ent", "ptr", "cb", "bias")[sel]][k]
            if sel == 0:
                for j in range(epr):
                    if addr * epr + j < m.size:
                        m[addr * epr + j] = (v >> (j * ew)) & ((1 << ew) - 1)
            elif sel == 1:
                p0, p1, p2 = v
                for j, pair in ((2 * addr, (p1 << ptr_bits) | p0), (2 * addr + 1, (p2 << ptr_bits) | p1)):
                    if j < m.size:
                        m[j] = pair
            else:
                m[addr] = v
    return {**mem, "table": table}


def expected_rows(img: ModelImage, overlay: dict[str, int]) -> dict[tuple[int, int, int], int]:
    """(sel, pe, row address) -> the row the load leaves in that memory (the last write wins),
    masked to the RAM's width in an overlay with capacity `overlay` (CAP_* registers): what the
    overlay's readback (LOAD_READ) returns; sel 0..3 = ENT, PTR, CB, BIAS (the table is not read)."""
    cap = img.capacity
    ew = cap["CBW"] + cap["IXW"]
    epr = rm.STREAM_BITS // _lanes("ENT", cap)
    eb = max(1, int(overlay["ENT"]).bit_length())  # clog2(ENT_D + 1)
    width = {0: epr * ew, 1: 3 * eb, 2: cap["WW"], 3: cap["ACCW"]}
    rows: dict[tuple[int, int, int], int] = {}
    for sel, pe, addr, v in engine_writes(img):
        if sel == 4:
            continue
        if sel == 1:
            v = v[0] | v[1] << eb | v[2] << (2 * eb)
        v &= (1 << width[sel]) - 1
        for k in range(cap["P"]) if pe is None else [pe]:
            rows[(sel, k, addr)] = v
    return rows
