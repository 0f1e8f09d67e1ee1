"""Two (or more) resident models: where a model image goes in the overlay's memories.

model.eie is written at base 0 (table index 0, codebook slot 0, entry, pointer and bias address
0). `relocate` moves it: the TABLE record to table index LAYERS, its fields ptr_base, bias_base and
codebook slot (field 14) by the PTR, BIAS and CB offsets, the memory records' addresses, the
column pointers by the ENT offset, and CONFIG.BASE (the engine's start layer) to the table index.
`place` puts a model after the resident ones and refuses, naming both sizes, when it does not
fit. numpy only (it runs on the board, in flow.runtime.rtl_overlay).
"""

from __future__ import annotations

import numpy as np

from flow.runtime import regmap as rm
from flow.runtime.eie_image import (
    F_BIAS, F_CB, F_PTR, TABLE_WORDS, ImageError, ModelImage, _lanes, unpack_lanes,
)

#: what a model occupies and the relocation offsets are counted in
KEYS = ("LAYERS", "CB", "ENT", "PTR", "BIAS")


def footprint(img: ModelImage) -> dict[str, int]:
    """Table layers, codebook slots, entry words (whole rows), pointer pairs (even: whole rows of
    the pointer RAM) and bias words the model occupies from its base."""
    cap = img.capacity
    epr = rm.STREAM_BITS // _lanes("ENT", cap)
    return {"LAYERS": cap["LAYERS"], "CB": cap["CB"], "ENT": -(-cap["ENT"] // epr) * epr,
            "PTR": cap["PTR"] + cap["PTR"] % 2, "BIAS": cap["BIAS"]}


def _pack(values, lane: int) -> list[int]:
    per = rm.STREAM_BITS // lane
    out = []
    for i in range(0, len(values), per):
        w = 0
        for j, x in enumerate(values[i : i + per]):
            w |= int(x) << (j * lane)
        out.append(w)
    return out


def relocate(img: ModelImage, off: dict[str, int]) -> np.ndarray:
    """The image's load words with the model moved by `off` (KEYS: table index, codebook slot,
    entry, pointer-pair and bias offsets)."""
    cap = img.capacity
    if not any(off.get(k, 0) for k in KEYS):
        return img.words
    o = {k: int(off.get(k, 0)) for k in KEYS}
    words: list[int] = []
    for r in img.records():
        kind, lane = r["kind"], _lanes(r["kind"], cap) if r["kind"] != "END" else 64
        vals = [int(v) for v in unpack_lanes(r["data"], lane, r["count"])] if r["kind"] != "END" else []
        addr = r["addr"]
        if kind == "TABLE":
            for i in range(len(vals)):
                field = (addr + i) % TABLE_WORDS
                vals[i] += {F_PTR: o["PTR"], F_BIAS: o["BIAS"], F_CB: o["CB"]}.get(field, 0)
            addr += TABLE_WORDS * o["LAYERS"]
        elif kind == "CB":
            addr += o["CB"] << cap["CBW"]
        elif kind == "BIAS":
            addr += o["BIAS"]
        elif kind == "ENT":
            addr += o["ENT"]
        elif kind == "PTR":
            addr += o["PTR"]
            vals = vals[:1] + [v + o["ENT"] for v in vals[1:]]
            if vals and max(vals) >= 1 << lane:
                raise ImageError(f"{img.source}: at entry offset {o['ENT']} a column pointer reaches "
                                 f"{max(vals)}, more than the load stream's {lane} bits")
        elif kind == "CONFIG":
            lo, n = rm.CONFIG_FIELDS["BASE"]
            vals = [(vals[0] & ~(((1 << n) - 1) << lo)) | (o["LAYERS"] << lo)]
        header = rm.pack_header(kind, r["count"], addr, r["pe"], r["bcast"])
        words += [header, *(_pack(vals, lane) if kind != "END" else [])]
    return np.array(words, dtype=np.uint64)


def place(img: ModelImage, resident: dict[str, tuple[dict, dict]], capacity: dict[str, int],
          where: str = "the overlay") -> dict[str, int]:
    """Offsets that put `img` after the resident models ({name: (offsets, footprint)}); ImageError
    naming the new model's size, the resident ones' and the capacity when it does not fit."""
    need = footprint(img)
    off = {k: max([o[k] + f[k] for o, f in resident.values()], default=0) for k in KEYS}
    limit = {"LAYERS": capacity.get("LAYERS"), "CB": capacity.get("CB"), "ENT": capacity.get("ENT"),
             "PTR": capacity.get("PTR"), "BIAS": capacity.get("BIAS")}
    bad = [f"{k}: it needs {need[k]} after {off[k]} used by {', '.join(resident)}, {where} holds {limit[k]}"
           for k in KEYS if limit[k] is not None and off[k] + need[k] > limit[k]]
    if bad:
        raise ImageError(f"{img.source} does not fit beside the resident model(s) {', '.join(resident)}: "
                         + "; ".join(bad) + ". Load it alone (slot 0 replaces every resident model), "
                         "or use an overlay with larger memories")
    return off
