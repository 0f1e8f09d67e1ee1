"""C++ for one EIE layer: its config struct, its ROM header and the call of eie::dense.

ROMs are plain unsigned integer arrays (g++ handles big integer initialisers quickly); codebook and
bias are ap_int/ap_uint arrays of the weight/bias raw bits. Per PE (kernels/hls/eie_dense.h):
- eie_entries[p][pe_capacity]: one word per entry, code << index_bits | rel_index (uint8_t while
  code_bits + index_bits <= 8, else uint16_t), zero-padded to pe_capacity (>= 1);
- eie_colptr[p][n_cols]: the pointer pair of each local column in one word, end << ptr_bits | start
  (ptr_bits = bits of 0..pe_capacity), so the PE reads a column's start and end in one read.
With col_groups G (encode.py) the local column c of a PE in group g is input column c * G + g.
Storage per ROM by size (``rom_impl``): LUT RAM up to BLOCK_BITS bits per PE slice, block RAM above
(the RTL engine's rule, kernels/rtl/eie_pe.sv); the BIND_STORAGE pragmas sit at the call site.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flow.fixed import FixedType
from flow.errors import UsageError
from flow.templating import render

#: the C++ templates of this module
TEMPLATES = Path(__file__).resolve().parent / "templates"

def raw_cpp(t: FixedType) -> str:
    """The ap_int/ap_uint that holds a FixedType's raw bits."""
    return f"ap_int<{t.width}>" if t.signed else f"ap_uint<{t.width}>"


#: a ROM slice (one PE's) of more bits than this goes to block RAM, else LUT RAM (as in the RTL)
BLOCK_BITS = 2048


def _bits(n: int) -> int:
    """Bits of an unsigned value 0..n (>= 1)."""
    return max(1, int(n).bit_length())


def _uint_cpp(bits: int) -> str:
    for width in (8, 16, 32, 64):
        if bits <= width:
            return f"uint{width}_t"
    raise UsageError(f"a ROM word of {bits} bits does not fit 64 bits")


def widths(layer) -> dict:
    """State and ROM word widths of the kernel, sized from the layer."""
    enc = layer.encoding
    return {
        "ptr_bits": _bits(layer.pe_capacity),
        "col_bits": _bits(enc.n_cols - 1),
        "row_bits": _bits(enc.max_local_rows - 1),
        "slot_bits": _bits(layer.fifo_depth - 1),
        "count_bits": _bits(layer.fifo_depth),
        "entry_bits": layer.code_bits + layer.index_bits,
    }


def rom_impl(layer) -> dict:
    """'lutram' or 'bram' per ROM (entries, colptr), by the bits of one PE's slice."""
    w = widths(layer)
    sizes = {
        "entries": layer.pe_capacity * w["entry_bits"],
        "colptr": layer.encoding.n_cols * 2 * w["ptr_bits"],
    }
    return {name: ("bram" if bits > BLOCK_BITS else "lutram") for name, bits in sizes.items()}


def entry_cpp(layer) -> str:
    return _uint_cpp(layer.code_bits + layer.index_bits)


def ptr_cpp(layer) -> str:
    """The C type of a pointer-pair word."""
    return _uint_cpp(2 * widths(layer)["ptr_bits"])


def entry_words(layer) -> np.ndarray:
    """[n_pe, pe_capacity] entry words code << index_bits | rel_index (zero-padded)."""
    return (_padded(layer, "codes") << layer.index_bits) | _padded(layer, "rel_index")


def pair_words(layer) -> np.ndarray:
    """[n_pe, n_cols] pointer-pair words end << ptr_bits | start."""
    pb = widths(layer)["ptr_bits"]
    ptr = np.stack([pe.colptr for pe in layer.encoding.pes]).astype(np.uint64)
    return (ptr[:, 1:] << np.uint64(pb)) | ptr[:, :-1]


def _lits(values) -> str:
    return ",".join(f"{v}LL" if abs(v) >= 2**31 else str(v) for v in np.asarray(values).tolist())


def _rows(matrix: np.ndarray) -> str:
    return "".join("    {" + ",".join(map(str, row.tolist())) + "},\n" for row in matrix)


def _padded(layer, field: str) -> np.ndarray:
    out = np.zeros((layer.n_pe, layer.pe_capacity), dtype=np.int64)
    for k, pe in enumerate(layer.encoding.pes):
        values = getattr(pe, field)
        out[k, : values.size] = values
    return out


def max_cycles(layer) -> int:
    """Trip-count bound of the PE-array loop, for any input: per group sum over its columns of
    max(3, longest PE slice) + 8, the largest group.

    In flow/eie/perf.py's recurrence a PE takes column k's pointer pair at l_k <= l_{k-1} +
    max(3, n_{k-1}) (the pop of k waits at most for e_k + 2 <= pop_{k-1} + 3 <= l_{k-1} + 2, a deeper
    queue only opens the gate earlier), l_0 = 3, and the loop ends by l_{K-1} + n_{K-1} + 4; every
    input broadcasts a subset of the columns, so this bounds every input (LOOP_TRIPCOUNT only: the
    loop's exit is its state, not this number).
    """
    enc = layer.encoding
    entries = enc.column_entries()  # [P, n_in], 0 off a PE's group
    per_col = np.maximum(entries.max(axis=0), 3)
    groups = np.arange(layer.n_in) % enc.col_groups
    return int(np.bincount(groups, weights=per_col, minlength=enc.col_groups).max()) + 8


def _ident(name: str, what: str) -> str:
    if not name.replace("_", "a").isalnum() or name[:1].isdigit():
        raise UsageError(f"{what} {name!r} is not a C++ identifier")
    return name


def config_struct(layer, struct_name: str) -> str:
    """``struct <struct_name> : eie::dense_config {...}`` for this layer."""
    return render(
        TEMPLATES, "dense_config.h.j2",
        name=_ident(struct_name, "config struct name"),
        n_in=layer.n_in,
        n_out=layer.n_out,
        n_pe=layer.n_pe,
        col_groups=layer.encoding.col_groups,
        n_cols=layer.encoding.n_cols,
        n_local=layer.encoding.max_local_rows,
        pe_capacity=layer.pe_capacity,
        fifo_depth=layer.fifo_depth,
        detect_width=layer.detect_width,
        code_bits=layer.code_bits,
        index_bits=layer.index_bits,
        activation=layer.activation,
        bias_shift=layer.bias_shift,
        max_cycles=max_cycles(layer),
        entry_t=entry_cpp(layer),
        pair_t=ptr_cpp(layer),
        lutram={k: int(v == "lutram") for k, v in rom_impl(layer).items()},
        **widths(layer),
        weight_raw=raw_cpp(layer.weight_t),
        weight_fixed=layer.weight_t.cpp,
        bias_raw=raw_cpp(layer.bias_t),
        bias_fixed=layer.bias_t.cpp,
        accum_fixed=layer.accum_t.cpp,
        **_parity(layer),
    )


def _parity(layer) -> dict:
    """hls4ml parity members of the config struct (flow/eie/layer.py hls_accum, pre_t)."""
    acc = layer.accum_t
    return {
        "hls_accum": layer.hls_accum,
        "prod_integer": 62 - (layer.input_t.frac + layer.weight_t.frac),
        "hls_accum_sat": layer.hls_accum and acc.saturation != "WRAP",
        "sum_integer": 62 - acc.frac,
        "pre_t": layer.pre_t.cpp if layer.pre_t is not None else "",
    }


def rom_header(layer, suffix: str) -> str:
    """The ROM header: eie_entries/eie_colptr/eie_codebook/eie_bias + suffix."""
    _ident("eie" + str(suffix), "ROM suffix")
    enc = layer.encoding
    return render(
        TEMPLATES, "dense_rom.h.j2",
        layer=layer.name,
        suffix=suffix,
        n_pe=layer.n_pe,
        col_groups=enc.col_groups,
        pe_capacity=layer.pe_capacity,
        nnz=enc.nnz,
        fillers=enc.n_fillers,
        entry_t=entry_cpp(layer),
        entries=_rows(entry_words(layer)),
        pair_t=ptr_cpp(layer),
        n_cols=enc.n_cols,
        colptr=_rows(pair_words(layer)),
        weight_raw=raw_cpp(layer.weight_t),
        n_codes=1 << layer.code_bits,
        codebook=_lits(layer.codebook_raw),
        bias_raw=raw_cpp(layer.bias_t),
        n_out=layer.n_out,
        bias=_lits(layer.bias_raw),
    )


def function_call(layer, suffix, in_var, out_var, data_t, res_t, config, stream: bool = False) -> str:
    """The call of eie::dense (io_parallel arrays) or eie::dense_stream (hls4ml io_stream: hls::stream
    of nnet::array packs) for this layer (ROM names from rom_header(layer, suffix))."""
    return render(
        TEMPLATES, "dense_call.cpp.j2",
        fn="dense_stream" if stream else "dense",
        data_t=data_t, res_t=res_t, config=config, in_var=in_var, out_var=out_var, suffix=suffix,
        impl=rom_impl(layer),
    )


def testbench_config(layer) -> str:
    """eie_dense_config.h for kernels/hls/tb/ (ROMs with suffix _tb, struct config_tb, input_t/output_t)."""
    return render(
        TEMPLATES, "tb_config.h.j2",
        layer=layer.name,
        rom=rom_header(layer, "_tb"),
        config=config_struct(layer, "config_tb"),
        input_t=layer.input_t.cpp,
        output_t=layer.output_t.cpp,
        n_in=layer.n_in,
        n_out=layer.n_out,
    )
