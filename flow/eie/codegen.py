"""C++ for one EIE layer: its config struct, its ROM header and the call of eie::dense.

Codes, indices and pointers are plain uint8_t/uint16_t/uint32_t arrays (g++ handles big integer
initialisers quickly); codebook and bias are ap_int/ap_uint arrays of the weight/bias raw bits.
Each PE's slice is padded with zeros to pe_capacity = max entries per PE (>= 1).
eie_colnz[p][j] (uint8_t 0/1) flags the columns that have entries on PE p: the kernel tags each
broadcast column with it so a PE can skip several empty columns in one cycle.
"""

from __future__ import annotations

from string import Template

import numpy as np

from flow.eie.fixed import FixedType
from flow.errors import UsageError

#: inputs the non-zero detector scans per cycle (eie::dense_config::detect_width)
DETECT_WIDTH = 4

_CONFIG = Template("""\
struct ${name} : eie::dense_config {
    static const unsigned n_in = ${n_in};
    static const unsigned n_out = ${n_out};
    static const unsigned n_pe = ${n_pe};
    static const unsigned n_local = ${n_local};
    static const unsigned pe_capacity = ${pe_capacity};
    static const unsigned fifo_depth = ${fifo_depth};
    static const unsigned detect_width = ${detect_width};
    static const unsigned broadcast = ${broadcast};
    static const unsigned code_bits = ${code_bits};
    static const unsigned index_bits = ${index_bits};
    static const int activation = eie::${activation};
    static const int bias_shift = ${bias_shift};
    static const unsigned max_cycles = ${max_cycles};
    typedef uint8_t code_t;
    typedef uint8_t index_t;
    typedef ${ptr_t} ptr_t;
    typedef ${weight_raw} weight_t;  // raw bits of ${weight_fixed}
    typedef ${bias_raw} bias_t;  // raw bits of ${bias_fixed}
    typedef ${accum_fixed} accum_t;
};
""")

_ROM = Template("""\
// EIE ROMs of layer '${layer}': ${n_pe} PEs x ${pe_capacity} entries, ${nnz} non-zeros + ${fillers} fillers.
#ifndef EIE_ROM${suffix}_H_
#define EIE_ROM${suffix}_H_
#include <stdint.h>
#include "ap_int.h"

static const uint8_t eie_codes${suffix}[${n_pe}][${pe_capacity}] = {
${codes}};
static const uint8_t eie_index${suffix}[${n_pe}][${pe_capacity}] = {
${index}};
static const ${ptr_t} eie_colptr${suffix}[${n_pe}][${n_ptr}] = {
${colptr}};
static const uint8_t eie_colnz${suffix}[${n_pe}][${n_in}] = {
${colnz}};
static const ${weight_raw} eie_codebook${suffix}[${n_codes}] = {${codebook}};
static const ${bias_raw} eie_bias${suffix}[${n_out}] = {${bias}};
#endif
""")

_CALL = Template(
    "eie::dense<${data_t}, ${res_t}, ${config}>(${in_var}, ${out_var}, eie_codes${suffix}, eie_index${suffix}, "
    "eie_colptr${suffix}, eie_colnz${suffix}, eie_codebook${suffix}, eie_bias${suffix});"
)


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
    """Trip-count bound of the PE-array loop: every column costs at most its longest PE slice."""
    per_col = np.maximum(layer.encoding.column_entries().max(axis=0), 1)
    return int(per_col.sum()) + 1


def _ident(name: str, what: str) -> str:
    if not name.replace("_", "a").isalnum() or name[:1].isdigit():
        raise UsageError(f"{what} {name!r} is not a C++ identifier")
    return name


def config_struct(layer, struct_name: str) -> str:
    """``struct <struct_name> : eie::dense_config {...}`` for this layer."""
    return _CONFIG.substitute(
        name=_ident(struct_name, "config struct name"),
        n_in=layer.n_in,
        n_out=layer.n_out,
        n_pe=layer.n_pe,
        n_local=layer.encoding.max_local_rows,
        pe_capacity=layer.pe_capacity,
        fifo_depth=layer.fifo_depth,
        detect_width=DETECT_WIDTH,
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
    )


def rom_header(layer, suffix: str) -> str:
    """The ROM header: eie_codes/eie_index/eie_colptr/eie_colnz/eie_codebook/eie_bias + suffix."""
    _ident("eie" + str(suffix), "ROM suffix")
    return _ROM.substitute(
        layer=layer.name,
        suffix=suffix,
        n_pe=layer.n_pe,
        pe_capacity=layer.pe_capacity,
        nnz=layer.encoding.nnz,
        fillers=layer.encoding.n_fillers,
        codes=_rows(_padded(layer, "codes")),
        index=_rows(_padded(layer, "rel_index")),
        ptr_t=ptr_cpp(layer),
        n_ptr=layer.n_in + 1,
        colptr=_rows(np.stack([pe.colptr for pe in layer.encoding.pes])),
        n_in=layer.n_in,
        colnz=_rows((layer.encoding.column_entries() > 0).astype(np.int64)),
        weight_raw=raw_cpp(layer.weight_t),
        n_codes=1 << layer.code_bits,
        codebook=_lits(layer.codebook_raw),
        bias_raw=raw_cpp(layer.bias_t),
        n_out=layer.n_out,
        bias=_lits(layer.bias_raw),
    )


def function_call(layer, suffix, in_var, out_var, data_t, res_t, config) -> str:
    """The call of eie::dense for this layer (ROM names from rom_header(layer, suffix))."""
    return _CALL.substitute(
        data_t=data_t, res_t=res_t, config=config, in_var=in_var, out_var=out_var, suffix=suffix
    )


_TB_CONFIG = Template("""\
// Generated by flow.eie.codegen.testbench_config for layer '${layer}'.
#ifndef EIE_DENSE_CONFIG_H_
#define EIE_DENSE_CONFIG_H_
#include "eie_dense.h"
${rom}
${config}
typedef ${input_t} input_t;
typedef ${output_t} output_t;
#define N_IN ${n_in}
#define N_OUT ${n_out}
#endif
""")


def testbench_config(layer) -> str:
    """eie_dense_config.h for kernels/tb/ (ROMs with suffix _tb, struct config_tb, input_t/output_t)."""
    return _TB_CONFIG.substitute(
        layer=layer.name,
        rom=rom_header(layer, "_tb"),
        config=config_struct(layer, "config_tb"),
        input_t=layer.input_t.cpp,
        output_t=layer.output_t.cpp,
        n_in=layer.n_in,
        n_out=layer.n_out,
    )
