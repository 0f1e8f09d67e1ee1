"""C++ for one EIE layer: its config struct, its ROM header and the call of eie::dense.

Codes, indices and pointers are plain uint8_t/uint16_t/uint32_t arrays (g++ handles big integer
initialisers quickly); codebook and bias are ap_int/ap_uint arrays of the weight/bias raw bits.
Each PE's slice is padded with zeros to pe_capacity = max entries per PE (>= 1).
With col_groups G (encode.py), the pointer ROMs are over each PE's n_cols = ceil(n_in / G) local
columns (local column c of a PE in group g is input column c * G + g; G = 1: the input columns):
eie_colptr[p][n_cols + 1], and eie_colnz[p][c] (uint8_t 0/1) flags the local columns that have
entries on PE p: the kernel tags each broadcast column with it so a PE can skip several empty
columns in one cycle. eie_colany[j] (uint8_t 0/1) flags the input columns that have entries on some
PE: the non-zero detector never broadcasts the others.
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


def ptr_cpp(layer) -> str:
    return "uint16_t" if layer.pe_capacity <= 0xFFFF else "uint32_t"


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
    """Trip-count bound of the PE-array loop, for any input: its cycles (flow/eie/perf.py) + 1 exit.

    Per group, the cycles are at most the sum over its broadcastable columns (entries on some PE) of
    max(m, longest PE slice), plus 1 for the first broadcast, with m = 1, or m = 2 for fifo_depth 1 (a
    freed slot is refilled one cycle after the pop, so a single slot takes a new column every other
    cycle at best); the groups run side by side: the largest group sum. Any input broadcasts a subset
    of those columns, so this bounds every input. Proof by induction over a group's broadcast columns
    k, in perf.py's recurrence, with T_k the sum of the costs of columns 0..k (T_{-1} = 0): b_k <=
    T_{k-1}, every pop s_{p,k} <= T_{k-1} + 1 and every PE is free by T_k + 1. The FIFO term
    s_{p,k-D} + 1 <= T_{k-D-1} + 2 stays <= T_{k-1} because D columns add at least 2 (hence m = 2
    when D = 1). The loop runs one more iteration than it has cycles: the one that finds nothing to do.
    """
    enc = layer.encoding
    entries = enc.column_entries()  # [P, n_in], 0 off a PE's group
    floor = 2 if layer.fifo_depth == 1 else 1
    per_col = np.maximum(entries.max(axis=0), floor) * entries.any(axis=0)  # 0: never broadcast
    groups = np.arange(layer.n_in) % enc.col_groups
    return int(np.bincount(groups, weights=per_col, minlength=enc.col_groups).max()) + 2


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
        broadcast=layer.broadcast,
        code_bits=layer.code_bits,
        index_bits=layer.index_bits,
        activation=layer.activation,
        bias_shift=layer.bias_shift,
        max_cycles=max_cycles(layer),
        ptr_t=ptr_cpp(layer),
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
    """The ROM header: eie_codes/eie_index/eie_colptr/eie_colnz/eie_colany/eie_codebook/eie_bias + suffix."""
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
        codes=_rows(_padded(layer, "codes")),
        index=_rows(_padded(layer, "rel_index")),
        ptr_t=ptr_cpp(layer),
        n_ptr=enc.n_cols + 1,
        colptr=_rows(np.stack([pe.colptr for pe in enc.pes])),  # local columns
        n_cols=enc.n_cols,
        colnz=_rows((enc.local_column_entries() > 0).astype(np.int64)),
        n_in=layer.n_in,
        colany=",".join(map(str, enc.column_entries().any(axis=0).astype(np.int64).tolist())),
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
        data_t=data_t, res_t=res_t, config=config, in_var=in_var, out_var=out_var, suffix=suffix
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
