"""Write `model.eie` (format: flow/runtime/eie_image.py, docs/overlay.md) from EIE layers.

The memory words come from flow.rtl.images.Images (the engine's own layout), packed for an
overlay's field widths (XW, WW, ACCW, CBW, IXW: `widths_of(preset)`), only the used part of each
memory, in the order the wrapper's load path takes them:

    CONFIG, TABLE, then per memory (CB, BIAS, ENT, PTR): one broadcast record of the words
    most PEs hold (codebooks; the zero biases of PEs outside group 0), then one record per PE
    that holds other words; END. A broadcast is used only where every PE's part has one length
    (not for entries of different counts), so the memories equal Images' word for word.

Entries travel as whole rows of the overlay's entry RAM (a 64-bit beat is one row: each PE's
entries padded with zero words to a multiple of the row). Pointers travel as column pointers
(16 bits: a pad, p[0], then p[1..C] made even in number, `ptr_values`); the wrapper writes one
pointer-RAM row of three pointers per two values, so a pointer costs 16 bits on the bus and
half an engine write.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from flow.errors import UsageError
from flow.rtl.images import Images
from flow.rtl.params import EngineParams, params_for
from flow.runtime import regmap as rm
from flow.runtime.eie_image import (
    _CAP, _FIXED, _IO, CAPACITY_KEYS, EXACT_KEYS, F_CB, MAGIC, TABLE_WORDS, _crc, _lanes, read_image,
)

STREAM_WIDTHS = (8, 16, 32)  # the wrapper's unpacker and serializer


def widths_of(p: EngineParams) -> dict:
    return {k: getattr(p, k) for k in EXACT_KEYS}


def pack_lanes(values, lane: int) -> list[int]:
    """Values (non-negative, < 2**lane) packed little-endian-first into 64-bit beats."""
    per = rm.STREAM_BITS // lane
    v = [int(x) for x in values]
    out = []
    for i in range(0, len(v), per):
        w = 0
        for j, x in enumerate(v[i : i + per]):
            w |= x << (j * lane)
        out.append(w)
    return out


def _stream_bits(width: int, what: str) -> int:
    for b in STREAM_WIDTHS:
        if width <= b:
            return b
    raise UsageError(f"{what} is {width} bits; the overlay's streams take at most 32")


def entries_per_row(cap: dict) -> int:
    """Entry words per load beat, which is one row of the overlay's entry RAM (eie_axi EPR)."""
    return rm.STREAM_BITS // _lanes("ENT", cap)


def ptr_values(col: np.ndarray) -> np.ndarray:
    """A PTR record's values for column pointers p[0..C]: a pad, p[0], then p[1..C] made even in
    number (the last repeated): each later pair of values is one pointer-RAM row {p[2k+2],
    p[2k+1], p[2k]} of the overlay's engine (eie_pe PTR_L = 2), the pad step only sets p[0]."""
    col = np.asarray(col, np.uint64)
    tail = col[1:]
    if tail.size % 2:
        tail = np.concatenate([tail, tail[-1:]])
    return np.concatenate([np.zeros(1, np.uint64), col[:1], tail])


def _record(kind: str, values, cap: dict, addr: int = 0, pe: int = 0, bcast: bool = False) -> list[int]:
    values = list(values)
    return [rm.pack_header(kind, len(values), addr, pe, bcast), *pack_lanes(values, _lanes(kind, cap))]


def capacity_of_params(p: EngineParams) -> dict:
    """What an overlay built with engine parameters p offers (its CAP_* registers)."""
    return {"P": p.P, "LAYERS": p.NL, "CB": p.cb_slots, "MAXG": p.MAXG, "DMAX": p.DMAX, "NX": p.NX,
            "ENT": p.ENT_D, "PTR": p.PTR_D, "ACC": p.ACC_D, "BIAS": p.BIAS_D, "ANYR": p.ANYR,
            **widths_of(p)}  # fmt: skip


def capacity_of(layers, p: EngineParams, images: Images) -> dict:
    """What the model needs of an overlay (CAPACITY_KEYS)."""
    return {
        "P": p.P, "LAYERS": len(layers), "CB": len(layers),
        "MAXG": max(layer.col_groups for layer in layers),
        "DMAX": max(layer.fifo_depth for layer in layers),
        "NX": max(max(layer.n_in, layer.n_out) for layer in layers),
        "ENT": images.need["entries"], "PTR": images.need["pointers"],
        "ACC": max(layer.encoding.max_local_rows for layer in layers), "BIAS": images.need["biases"],
        "ANYR": p.ANYR, **widths_of(p),
    }  # fmt: skip


def load_words(layers, p: EngineParams) -> tuple[list[int], dict, np.ndarray]:
    """(load words, capacity needed, table [L, 16]) of the layers packed for engine widths p."""
    img = Images(layers, p)
    cap = capacity_of(layers, p, img)
    L = len(layers)
    first, last = layers[0], layers[-1]
    words = _record("CONFIG", [rm.pack_fields(
        rm.CONFIG_FIELDS, N_IN=first.n_in, N_OUT=last.n_out,
        IN_BITS=_stream_bits(first.input_t.width, "the input"), IN_SIGNED=int(first.input_t.signed),
        OUT_BITS=_stream_bits(last.output_t.width, "the output"), BASE=0)], cap)  # fmt: skip
    table = img.table[: L * TABLE_WORDS].astype(np.uint32)
    table[F_CB::TABLE_WORDS] = np.arange(L, dtype=np.uint32)  # codebook slot = layer (relocatable)
    words += _record("TABLE", table, cap)
    n_ptr, n_bias = cap["PTR"], cap["BIAS"]
    eb = p.ptr_bits
    per_pe = {
        "CB": [cb[: L << p.CBW] for cb in img.cb],
        "BIAS": [b[:n_bias] for b in img.bias],
    }
    ents, ptrs = [], []
    epr = entries_per_row(cap)
    for k in range(p.P):
        pair = img.ptr[k][:n_ptr]
        start = pair & np.uint64((1 << eb) - 1)
        end = pair >> np.uint64(eb)
        if n_ptr and not np.array_equal(start[1:], end[:-1]):
            raise AssertionError(f"PE {k}: pointer pairs are not contiguous")  # Images' layout contract
        col = np.concatenate([start[:1], end]) if n_ptr else np.zeros(1, np.uint64)
        if int(col.max(initial=0)) >= 1 << rm.PTR_LANE:
            raise UsageError(f"PE {k} needs {int(col.max())} entry words; the load path's pointers take "
                             f"{rm.PTR_LANE} bits (< {1 << rm.PTR_LANE})")
        ptrs.append(ptr_values(col) if n_ptr else np.zeros(0, np.uint64))
        e = img.ent[k][: int(col[-1])]
        ents.append(np.concatenate([e, np.zeros(-e.size % epr, e.dtype)]))  # whole entry-RAM rows
    per_pe["ENT"], per_pe["PTR"] = ents, ptrs
    for kind in ("CB", "BIAS", "ENT", "PTR"):
        arrs = per_pe[kind]
        keys = [a.tobytes() for a in arrs]
        common = max(set(keys), key=keys.count)
        # CB and BIAS have one length on every PE; ENT and PTR only when identical everywhere
        # (a broadcast would write past a shorter PE's words)
        same_len = len({a.size for a in arrs}) == 1
        shared = keys.count(common) > 1 and arrs[keys.index(common)].size > 0 and same_len
        if shared:  # the words most PEs hold, once for all (later records overwrite some PEs)
            words += _record(kind, arrs[keys.index(common)], cap, bcast=True)
        for k, a in enumerate(arrs):
            if a.size and not (shared and keys[k] == common):
                words += _record(kind, a, cap, pe=k)
    words += [rm.pack_header("END", 0)]
    return words, cap, table.reshape(L, TABLE_WORDS)


def image_bytes(layers, overlay: EngineParams | None = None, *, softmax: bool = False) -> bytes:
    """The bytes of model.eie for the layers, packed for `overlay`'s widths (default: the
    smallest engine holding the layers, flow.rtl.params.params_for)."""
    base = params_for(layers)
    p = base if overlay is None else base.with_(P=overlay.P, **widths_of(overlay))
    words, cap, table = load_words(layers, p)
    first, last = layers[0], layers[-1]
    head = _FIXED.pack(MAGIC, rm.FORMAT_VERSION, _FIXED.size + _CAP.size + _IO.size + table.nbytes + 4,
                       len(words))
    head += _CAP.pack(*(cap[k] for k in CAPACITY_KEYS))
    head += _IO.pack(first.n_in, last.n_out, int(softmax), first.input_t.cpp.encode(), last.output_t.cpp.encode())
    head += table.astype("<u4").tobytes()
    w = np.array(words, dtype=np.uint64)
    return head + struct.pack("<I", _crc(head, w)) + w.astype("<u8").tobytes()


def write_image(layers, path, overlay: EngineParams | None = None, *, softmax: bool = False) -> dict:
    """Write model.eie atomically (temp file, then rename) and return its word counts."""
    data = image_bytes(layers, overlay, softmax=softmax)
    img = read_image(data)  # the reader's checks on what was written
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".eie")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600: give it the mode any written file has
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"path": str(path), "bytes": len(data), **img.word_counts()}


def write_for_board(layers, out, board_name: str = "pynq-z2", pe: int | None = None, *, softmax: bool = False,
                    what: str = "the model") -> dict:
    """model.eie for the board's overlay preset with P PEs (default: the layers' n_pe), checked
    against every capacity of that preset (both numbers) before anything is written; then written
    atomically. Shared by `flow image` and hls4ml users (flow.hls.write_overlay_image)."""
    from flow.board.boards import load_board
    from flow.errors import UsageError
    from flow.overlay.sizing import preset
    from flow.runtime.eie_image import check_capacity

    if not layers:
        raise UsageError(f"{what} has no Dense layer on EIE: nothing for the RTL overlay to run")
    board = load_board(board_name)
    P = pe or max(layer.n_pe for layer in layers)
    overlay = preset(board, P)
    if any(layer.n_pe != P for layer in layers):
        raise UsageError(f"{what} is laid out on {sorted({layer.n_pe for layer in layers})} PEs, the overlay has "
                         f"P={P}: compress or convert with hls.n_pe={P} (config.yaml, --pe of flow compress, "
                         "or the EIE block's n_pe in the hls4ml config)")
    img = read_image(image_bytes(layers, overlay, softmax=softmax))
    check_capacity(img, capacity_of_params(overlay), f"the {board.name} P={P} overlay")
    return write_image(layers, out, overlay, softmax=softmax)
