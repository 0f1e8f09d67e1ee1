"""Memory images of the RTL engine from flow.eie.encode: per-PE entries, pointer pairs,
codebooks and biases, and the layer table; written as $readmemh files or as load-port writes.

Layout per PE (all layers, in order): entries packed (a layer's pointers are absolute entry
addresses); pointer pairs {end, start} at ptr_base(l) + local column (ptr_base: the columns of
the previous layers); codebook of layer l at l * 2**CBW; biases (pre-shifted to the
accumulator's fraction, only on the PEs of group 0, which add them in the gather) at
bias_base(l) + local row. Table: 16 words of 32 bits per layer (see TABLE in this module).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flow.rtl.params import TABLE_FIELDS, EngineParams, _log2, check_fit

SEL_ENT, SEL_PTR, SEL_CB, SEL_BIAS, SEL_TABLE = range(5)
MEMS = ("ent", "ptr", "cb", "bias")
#: the $readmemh images: the load port's memories and the non-empty column bits, which the
#: loader does not write itself (each PE derives them from its pointer writes, eie_pe u_nzc)
INIT_MEMS = MEMS + ("nzc",)
#: table word index of each field
TABLE = {
    "n_in": 0, "n_out": 1, "log2g": 2, "log2r": 3, "ptr_base": 4, "bias_base": 5, "rows": 6,
    "flags": 7, "shift": 8, "width": 9, "min": 10, "max": 11, "depth": 12, "r": 13,
    "steps": 14, "xl_units": 15,
}  # fmt: skip
#: word 14 holds the codebook slot in bits 7:0 (overlay images, CB_SLOTS > 0) and a recurrent entry's
#: time steps in bits 31:16 (kernels/rtl/eie_layer_table.sv)
STEPS_SHIFT = 16
#: flags bit of a recurrent (LSTM) entry (kernels/rtl/eie_layer_table.sv)
FLAG_REC = 1 << 5


def _twos(v, bits: int) -> np.ndarray:
    v = np.asarray(v, dtype=np.int64)
    return (v & np.int64((1 << bits) - 1)).astype(np.uint64)


class Images:
    """All memory words of one network on one engine (numpy arrays per PE, the table)."""

    def __init__(self, layers, params: EngineParams, recurrent: dict | None = None):
        """recurrent: {layer index: (time steps T, x lines per step xl, hidden units H)} for an LSTM's
        mat-vec (flow.rtl.lstm_run), whose entry gets the recurrent flag and fields."""
        self.params = params
        self.need = check_fit(layers, params)
        P = params.P
        self.ent = [np.zeros(params.ENT_D, np.uint64) for _ in range(P)]
        self.ptr = [np.zeros(params.PTR_D, np.uint64) for _ in range(P)]
        self.cb = [np.zeros(params.NL << params.CBW, np.uint64) for _ in range(P)]
        self.bias = [np.zeros(params.BIAS_D, np.uint64) for _ in range(P)]
        self.table = np.zeros(params.NL * TABLE_FIELDS, np.uint64)
        ent_fill = [0] * P
        ptr_base = bias_base = 0
        eb = params.ptr_bits
        for li, layer in enumerate(layers):
            enc = layer.encoding
            R = enc.row_pes
            cb = _twos(layer.codebook_raw, params.WW)
            bias_acc = layer.bias_raw.astype(np.int64) << np.int64(layer.bias_shift)
            rows = enc.max_local_rows
            for k, pe in enumerate(enc.pes):
                base = ent_fill[k]
                n = pe.n_entries
                word = (pe.codes.astype(np.uint64) << np.uint64(params.IXW)) | pe.rel_index.astype(np.uint64)
                self.ent[k][base : base + n] = word
                start = (base + pe.colptr[:-1]).astype(np.uint64)
                end = (base + pe.colptr[1:]).astype(np.uint64)
                self.ptr[k][ptr_base : ptr_base + enc.n_cols] = (end << np.uint64(eb)) | start
                ent_fill[k] += n
                self.cb[k][li << params.CBW : (li << params.CBW) + cb.size] = cb
                if k < R:  # group 0 adds the bias of its rows
                    i = np.arange(rows) * R + k
                    ok = i < layer.n_out
                    b = np.zeros(rows, np.int64)
                    b[ok] = bias_acc[i[ok]]
                    self.bias[k][bias_base : bias_base + rows] = _twos(b, params.ACCW)
            out_t = layer.output_t
            flags = (
                (layer.activation == "relu")
                | (out_t.rounding == "RND") << 1
                | (out_t.saturation == "SAT") << 2
                | bool(out_t.signed) << 3
                | (li == len(layers) - 1) << 4
            )
            fields = {
                "n_in": layer.n_in,
                "n_out": layer.n_out,
                "log2g": _log2(enc.col_groups),
                "log2r": _log2(R & -R),  # trailing zeros: log2 R for a power of two
                "r": R,
                "ptr_base": ptr_base,
                "bias_base": bias_base,
                "rows": rows,
                "flags": int(flags),
                "shift": layer.accum_t.frac - out_t.frac,
                "width": out_t.width,
                "min": int(_twos(out_t.min_raw, params.XW)),
                "max": int(_twos(out_t.max_raw, params.XW)),
                "depth": layer.fifo_depth,
            }
            if recurrent and li in recurrent:
                steps, xl, units = recurrent[li]
                fields.update(flags=int(flags) | FLAG_REC, steps=int(steps) << STEPS_SHIFT,
                              xl_units=int(xl) | int(units) << 16)
            for name, v in fields.items():
                self.table[li * TABLE_FIELDS + TABLE[name]] = np.uint64(v)
            ptr_base += enc.n_cols
            bias_base += rows

    @property
    def nzc(self) -> list:
        """Per PE, one bit per pointer pair: the column has entries in that PE (end != start), the
        bit the PE reads to skip a broadcast column it has none in."""
        eb = np.uint64(self.params.ptr_bits)
        mask = np.uint64((1 << self.params.ptr_bits) - 1)
        return [((w >> eb) != (w & mask)).astype(np.uint64) for w in self.ptr]

    def _mem(self, name: str) -> list:
        return getattr(self, name)

    def write_mem(self, folder) -> Path:
        """$readmemh files: table.mem and <mem>_<pe:03d>.mem for every PE of the engine."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in INIT_MEMS:
            for k, words in enumerate(self._mem(name)):
                (folder / f"{name}_{k:03d}.mem").write_text("".join(f"{int(w):x}\n" for w in words))
        (folder / "table.mem").write_text("".join(f"{int(w):x}\n" for w in self.table))
        return folder

    def load_commands(self) -> list[tuple[int, int, int, int]]:
        """(sel, pe, addr, data) writes through the load port that set every memory word."""
        cmds = []
        for sel, name in enumerate(MEMS):
            for k, words in enumerate(self._mem(name)):
                cmds += [(sel, k, a, int(w)) for a, w in enumerate(words)]
        cmds += [(SEL_TABLE, 0, a, int(w)) for a, w in enumerate(self.table)]
        return cmds

    def write_load(self, path) -> Path:
        path = Path(path)
        path.write_text("".join(f"{s} {p} {a} {d:x}\n" for s, p, a, d in self.load_commands()))
        return path


def blank_mem(params: EngineParams, folder) -> Path:
    """All-zero $readmemh files (an engine whose model comes only through the load port)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    depth = {"ent": params.ENT_D, "ptr": params.PTR_D, "cb": params.NL << params.CBW, "bias": params.BIAS_D,
             "nzc": params.PTR_D}
    for name in INIT_MEMS:
        text = "0\n" * depth[name]
        for k in range(params.P):
            (folder / f"{name}_{k:03d}.mem").write_text(text)
    (folder / "table.mem").write_text("0\n" * (params.NL * TABLE_FIELDS))
    return folder
