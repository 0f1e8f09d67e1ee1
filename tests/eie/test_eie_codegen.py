"""Generated C++ text: config struct fields, ROM padding and types, the call."""

from __future__ import annotations

import re

import numpy as np

from flow.eie.knobs import DEFAULT_DETECT_WIDTH
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import FixedType, codegen
from flow.testing import Q16, dense_layer, random_layer
from flow.eie.perf import layer_cycles
from flow.errors import UsageError



def test_config_struct_fields():
    layer = random_layer(
        np.random.default_rng(0), 30, 11, density=0.3, n_pe=4, fifo_depth=2, index_bits=3
    )
    text = codegen.config_struct(layer, "config2")
    assert text.startswith("struct config2 : eie::dense_config {")
    fields = dict(re.findall(r"static const \w+ (\w+) = ([\w:]+);", text))
    assert fields["n_in"] == "30" and fields["n_out"] == "11" and fields["n_pe"] == "4"
    assert fields["n_local"] == "3" and fields["pe_capacity"] == str(layer.pe_capacity)
    assert fields["col_groups"] == "1" and fields["n_cols"] == "30"
    assert fields["fifo_depth"] == "2" and fields["index_bits"] == "3" and fields["activation"] == "eie::relu"
    assert fields["bias_shift"] == str(layer.bias_shift) and "broadcast" not in fields  # 1 per cycle
    # state widths sized from the layer: pointers 0..pe_capacity, 30 columns, 3 rows, depth 2
    assert fields["ptr_bits"] == str(layer.pe_capacity.bit_length()) and fields["col_bits"] == "5"
    assert (fields["row_bits"], fields["slot_bits"], fields["count_bits"]) == ("2", "1", "2")
    assert f"typedef {layer.accum_t.cpp} accum_t;" in text and "typedef ap_int<8> weight_t;" in text
    assert fields["detect_width"] == "4" == str(DEFAULT_DETECT_WIDTH)  # the default
    with pytest.raises(UsageError, match="identifier"):
        codegen.config_struct(layer, "2bad name")


@pytest.mark.parametrize("width", [1, 3, 16, 64])
def test_config_struct_detect_width(width):
    layer = random_layer(np.random.default_rng(1), 30, 11, density=0.3, n_pe=4, detect_width=width)
    fields = dict(re.findall(r"static const \w+ (\w+) = ([\w:]+);", codegen.config_struct(layer, "c")))
    assert fields["detect_width"] == str(width)


def test_rom_header_padding_and_call():
    k = np.zeros((4, 3))
    k[0, 0] = k[3, 0] = 0.5  # PE0 gets 2 entries, PE1 none, ...
    layer = dense_layer("tiny", k, [0.25, 0, 0], n_pe=2, code_bits=2, activation="linear", weight_t=FixedType(8, 1))
    text = codegen.rom_header(layer, "_3")
    # entry words code << 4 | index: (1, 0) twice on PE 0
    assert "static const uint8_t eie_entries_3[2][2] = {\n    {16,16},\n    {0,0},\n};" in text
    # pairs end << 2 | start (ptr_bits 2: pointers 0..2); PE 0 colptr 0 1 1 1 2
    assert "static const uint8_t eie_colptr_3[2][4] = {\n    {4,5,5,9},\n    {0,0,0,0},\n};" in text
    assert "colnz" not in text and "colany" not in text
    assert "static const ap_int<8> eie_codebook_3[4] = {0,64,0,0};" in text
    assert "static const ap_int<16> eie_bias_3[3] = {256,0,0};" in text
    call = codegen.function_call(layer, "_3", "in", "out", "in_t", "out_t", "config3")
    assert call == (
        "#pragma HLS BIND_STORAGE variable = eie_entries_3 type = rom_1p impl = lutram\n"
        "#pragma HLS BIND_STORAGE variable = eie_colptr_3 type = rom_1p impl = lutram\n"
        "eie::dense<in_t, out_t, config3>(in, out, eie_entries_3, eie_colptr_3, eie_codebook_3, eie_bias_3);"
    )
    # four columns of at most 3 cycles each, + 8
    assert codegen.max_cycles(layer) == 20


def test_rom_impl_by_size():
    small = random_layer(np.random.default_rng(0), 30, 11, density=0.3, n_pe=4)
    assert codegen.rom_impl(small) == {"entries": "lutram", "colptr": "lutram"}
    big = random_layer(np.random.default_rng(0), 400, 100, density=0.5, n_pe=2)  # > 2048 bits per PE
    assert codegen.rom_impl(big) == {"entries": "bram", "colptr": "bram"}
    fields = dict(re.findall(r"static const \w+ (\w+) = ([\w:]+);", codegen.config_struct(big, "c")))
    assert fields["entry_rom_lutram"] == "0" and fields["ptr_rom_lutram"] == "0"
    wide = random_layer(np.random.default_rng(0), 30, 11, density=0.3, code_bits=5, index_bits=4)
    assert codegen.entry_cpp(wide) == "uint16_t" and codegen.entry_cpp(small) == "uint8_t"


def _decode(layer):
    """Dense W (raw weights) from the packed ROM words."""
    enc = layer.encoding
    G, R = enc.col_groups, enc.row_pes
    pb = codegen.widths(layer)["ptr_bits"]
    ent, pairs = codegen.entry_words(layer), codegen.pair_words(layer)
    w = np.zeros((layer.n_out, layer.n_in), dtype=np.int64)
    for p in range(layer.n_pe):
        for c in range(enc.n_cols):
            start, end = int(pairs[p, c]) & ((1 << pb) - 1), int(pairs[p, c]) >> pb
            row = -1
            for e in range(start, end):
                code, ri = int(ent[p, e]) >> layer.index_bits, int(ent[p, e]) & ((1 << layer.index_bits) - 1)
                row += ri + 1
                if code:
                    w[row * R + p % R, c * G + p // R] = layer.codebook_raw[code]
    return w


def _grouped_layer():
    # W (4 x 5) on 4 PEs in G = 2 groups of R = 2: group 0 owns columns 0, 2, 4 (local 0, 1, 2),
    # group 1 owns columns 1, 3 (local 0, 1; local 2 pads); row i is on PE g * 2 + i % 2, local row i // 2
    k = np.zeros((5, 4))  # (n_in, n_out)
    k[0, 0] = k[0, 2] = 0.5  # column 0, rows 0 and 2: PE 0, local rows 0 and 1
    k[3, 1] = 0.5  # column 3 (group 1, local 1), row 1: PE 3, local row 0
    k[4, 3] = 0.5  # column 4 (group 0, local 2), row 3: PE 1, local row 1
    return dense_layer("grouped", k, None, col_groups=2, code_bits=2, activation="linear", weight_t=FixedType(8, 1))


def test_column_groups_rom_layout():
    layer = _grouped_layer()
    fields = dict(re.findall(r"static const \w+ (\w+) = ([\w:]+);", codegen.config_struct(layer, "c")))
    assert (fields["n_pe"], fields["col_groups"], fields["n_cols"], fields["n_local"]) == ("4", "2", "3", "2")
    text = codegen.rom_header(layer, "_g")
    # entries (code 1 << 4 | index): PE 0 (0, 0) (1, 0); PE 1 (1, 1); PE 3 (1, 0)
    assert "static const uint8_t eie_entries_g[4][2] = {\n    {16,16},\n    {17,0},\n    {0,0},\n    {16,0},\n};" in text
    assert "static const uint8_t eie_colptr_g[4][3]" in text
    assert (_decode(layer) == layer.weight_raw).all()
    # group 0: three columns of at most 3 cycles each; + 8
    assert codegen.max_cycles(layer) == 17


@settings(max_examples=30, deadline=None)
@given(
    n_in=st.integers(1, 40),
    n_out=st.integers(1, 40),
    density=st.sampled_from([0.0, 0.2, 1.0]),
    col_groups=st.integers(1, 3),
    row_pes=st.integers(1, 3),
    index_bits=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_packed_roms_decode_to_the_matrix(n_in, n_out, density, col_groups, row_pes, index_bits, seed):
    layer = random_layer(
        np.random.default_rng(seed), n_in, n_out, density=density, n_pe=col_groups * row_pes,
        col_groups=col_groups, index_bits=index_bits,
    )
    assert (_decode(layer) == layer.weight_raw).all()


@settings(max_examples=60, deadline=None)
@given(
    n_in=st.integers(1, 40),
    n_out=st.integers(1, 40),
    density=st.sampled_from([0.0, 0.05, 0.2, 0.6, 1.0]),
    col_groups=st.integers(1, 6),
    row_pes=st.integers(1, 6),
    fifo_depth=st.integers(1, 6),
    seed=st.integers(0, 2**31),
)
def test_max_cycles_bounds_the_loop(n_in, n_out, density, col_groups, row_pes, fifo_depth, seed):
    """The trip-count bound holds for any input: cycles of the model (= csim's) + the exit iteration."""
    rng = np.random.default_rng(seed)
    layer = random_layer(
        rng,
        n_in,
        n_out,
        density=density,
        n_pe=col_groups * row_pes,
        col_groups=col_groups,
        fifo_depth=fifo_depth,
        index_bits=2,
    )
    bound = codegen.max_cycles(layer)
    assert layer_cycles(layer).cycles + 1 <= bound  # every input non-zero
    for keep in (0.1, 0.5, 0.9):
        x = (rng.random(n_in) < keep).astype(np.int64)
        assert layer_cycles(layer, x).cycles + 1 <= bound


def test_max_cycles_depth_one():
    # one PE, fifo_depth 1: a column is broadcast 3 cycles after the previous one (in flight, queued,
    # popped): 3 one-entry columns, the last one's pair taken at 9, its entry leaves E at 14
    layer = random_layer(np.random.default_rng(0), 3, 1, density=1.0, n_pe=1, fifo_depth=1)
    assert layer_cycles(layer).cycles == 14 and codegen.max_cycles(layer) == 3 * 3 + 8


def test_wide_pointers():
    layer = random_layer(np.random.default_rng(1), 300, 240, density=1.0, n_pe=1)
    assert layer.pe_capacity > 65535 and codegen.ptr_cpp(layer) == "uint64_t"  # two 17-bit pointers


def test_missing_compiler_is_a_clear_error(monkeypatch):
    from flow.eie import csim as layer_csim
    from flow.errors import ToolMissing

    monkeypatch.setenv("CXX", "no-such-g++")
    with pytest.raises(ToolMissing, match="no-such-g\\+\\+ is not on PATH"):
        layer_csim.gxx()
