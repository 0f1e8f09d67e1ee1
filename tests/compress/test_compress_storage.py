"""Storage accounting recomputed by hand on tiny layers."""

from __future__ import annotations

import numpy as np

from flow.compress.storage import eie_storage, layer_storage, relative_entries, stream


def test_relative_index_fillers_by_hand():
    # 3-bit index (max 7): positions 1, 10, 30 -> gaps 1, 8, 19
    is_filler, rel = relative_entries(np.array([1, 10, 30]), index_bits=3)
    # gap 8 = one filler (7 zeros + the filler slot) then 0; gap 19 = two fillers (16 slots) then 3
    assert rel.tolist() == [1, 7, 0, 7, 7, 3]
    assert is_filler.tolist() == [False, True, False, True, True, False]


def test_stream_is_column_major_over_W():
    # Keras kernel (in=3, out=2); W = kernel.T; walking W column by column = kernel rows in order
    codes = np.array([[0, 2], [1, 0], [0, 0]])
    stored, rel = stream(codes, index_bits=4)
    assert stored.tolist() == [2, 1]
    assert rel.tolist() == [1, 0]  # flat sequence [0, 2, 1, 0, 0, 0]


def test_layer_storage_by_hand():
    codes = np.zeros((4, 5), dtype=int)  # 20 weights
    codes[0, 1] = 3
    codes[3, 4] = 1  # flat position 19: gap 19 - 1 - 1 = 17 zeros -> with 2-bit index (max 3): 4 fillers
    s = layer_storage("t", codes, n_bias=5, code_bits=2, index_bits=2, n_pe=2, weight_width=16)
    assert s.params == 20 and s.nonzero == 2
    # gaps: 1 (first), 17 -> 17 // 4 = 4 fillers, remainder 1
    assert s.entries == 2 + 4
    assert s.code_stream_bits == 6 * 2 and s.index_stream_bits == 6 * 2
    assert s.codebook_bits == 4 * 32 and s.bias_bits == 5 * 32
    assert s.dense_bits == (20 + 5) * 32
    d = s.to_dict()
    assert d["ratio"] == s.dense_bits / (12 + 12 + 128 + 160)
    # Huffman: codes stream [3, 0, 0, 0, 0, 1] -> lengths 1 (code 0) + 2 + 2 = 4 + 2 + 2 = 8 bits + 3-symbol table
    assert s.huffman_code_bits == 8 + 8 * 3
    assert s.huffman_total_bits < s.total_bits + 8 * 8


def test_eie_storage_matches_design_rule():
    # W (out=4, in=2) on 2 PEs: PE0 rows 0, 2; PE1 rows 1, 3
    W = np.array([[1, 0], [0, 0], [0, 2], [3, 0]])
    out = eie_storage(W.T, n_pe=2, code_bits=4, index_bits=4, weight_width=16)
    det = out["detail"]
    assert det["entries_per_pe"] == [2, 1]  # PE0: (row0,col0), (row2,col1); PE1: (row3,col0)
    assert det["pe_capacity"] == 2 and det["ptr_bits"] == 2
    expect_bits = 2 * 2 * 4 + 2 * 2 * 4 + 2 * 3 * 2 + 2 * 16 * 16
    assert out["bytes"] == -(-expect_bits // 8)


def test_eie_fillers_restart_per_column():
    W = np.zeros((40, 1), dtype=int)
    W[39, 0] = 5  # one PE, 39 zeros before the entry: 39 // 16 = 2 fillers
    out = eie_storage(W.T, n_pe=1, code_bits=4, index_bits=4, weight_width=16)
    assert out["detail"]["entries_per_pe"] == [3]


def test_conv_layers_have_no_eie_figure():
    codes = np.zeros((3, 3, 2, 4), dtype=int)
    codes[1, 1, 0, 2] = 1
    s = layer_storage("conv", codes, n_bias=4, code_bits=4, index_bits=4, eie=False)
    assert s.eie_bytes == 0 and s.eie_detail is None
    assert s.params == 72 and s.nonzero == 1
