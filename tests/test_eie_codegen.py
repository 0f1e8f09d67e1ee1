"""Generated C++ text: config struct fields, ROM padding and types, the call."""

from __future__ import annotations

import re

import numpy as np
import pytest

from flow.eie import EIELayer, FixedType, codegen
from flow.eie.layer import random_layer
from flow.errors import UsageError

Q16 = FixedType(16, 6, True, "RND", "SAT")


def test_config_struct_fields():
    layer = random_layer(
        np.random.default_rng(0), 30, 11, density=0.3, n_pe=4, fifo_depth=2, index_bits=3, broadcast=3
    )
    text = codegen.config_struct(layer, "config2")
    assert text.startswith("struct config2 : eie::dense_config {")
    fields = dict(re.findall(r"static const \w+ (\w+) = ([\w:]+);", text))
    assert fields["n_in"] == "30" and fields["n_out"] == "11" and fields["n_pe"] == "4"
    assert fields["n_local"] == "3" and fields["pe_capacity"] == str(layer.pe_capacity)
    assert fields["fifo_depth"] == "2" and fields["index_bits"] == "3" and fields["activation"] == "eie::relu"
    assert fields["bias_shift"] == str(layer.bias_shift) and fields["broadcast"] == "3"
    assert f"typedef {layer.accum_t.cpp} accum_t;" in text and "typedef ap_int<8> weight_t;" in text
    with pytest.raises(UsageError, match="identifier"):
        codegen.config_struct(layer, "2bad name")


def test_rom_header_padding_and_call():
    k = np.zeros((4, 3))
    k[0, 0] = k[3, 0] = 0.5  # PE0 gets 2 entries, PE1 none, ...
    layer = EIELayer.from_dense(
        "tiny",
        k,
        [0.25, 0, 0],
        n_pe=2,
        fifo_depth=8,
        code_bits=2,
        index_bits=4,
        activation="linear",
        input_t=Q16,
        weight_t=FixedType(8, 1),
        bias_t=Q16,
        output_t=Q16,
    )
    text = codegen.rom_header(layer, "_3")
    assert "static const uint8_t eie_codes_3[2][2] = {\n    {1,1},\n    {0,0},\n};" in text
    assert "static const uint16_t eie_colptr_3[2][5]" in text
    assert "static const uint8_t eie_colnz_3[2][4] = {\n    {1,0,0,1},\n    {0,0,0,0},\n};" in text
    assert "static const ap_int<8> eie_codebook_3[4] = {0,64,0,0};" in text
    assert "static const ap_int<16> eie_bias_3[3] = {256,0,0};" in text
    call = codegen.function_call(layer, "_3", "in", "out", "in_t", "out_t", "config3")
    assert call == (
        "eie::dense<in_t, out_t, config3>(in, out, eie_codes_3, eie_index_3, eie_colptr_3, eie_colnz_3, "
        "eie_codebook_3, eie_bias_3);"
    )


def test_wide_pointers():
    layer = random_layer(np.random.default_rng(1), 300, 240, density=1.0, n_pe=1)
    assert layer.pe_capacity > 65535 and codegen.ptr_cpp(layer) == "uint32_t"


def test_missing_compiler_is_a_clear_error(monkeypatch):
    from flow.eie import layer_csim
    from flow.errors import ToolMissing

    monkeypatch.setenv("CXX", "no-such-g++")
    with pytest.raises(ToolMissing, match="no-such-g\\+\\+ is not on PATH"):
        layer_csim.gxx()
