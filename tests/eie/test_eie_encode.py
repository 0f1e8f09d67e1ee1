"""EIE storage format: Fig. 3 of the paper, fillers, edge cases, and encode -> decode == W."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import decode, encode
from flow.eie.encode import decode_codes
from flow.errors import UsageError


def fig3_matrix() -> np.ndarray:
    """A 16x8 matrix whose PE0 rows (0, 4, 8, 12 on 4 PEs) have EIE Fig. 3's sparsity pattern."""
    W = np.zeros((16, 8))
    pe0_local_rows = {0: [0, 2, 3], 1: [1], 2: [0, 3], 3: [], 4: [0, 1], 5: [0, 3], 6: [0], 7: [2, 3]}
    rng = np.random.default_rng(3)
    for col, rows in pe0_local_rows.items():
        for r in rows:
            W[4 * r, col] = rng.choice([-1.5, -0.5, 0.25, 1.0])
    # other PEs get some weights too; they must not disturb PE0
    W[1, 3] = W[6, 0] = W[15, 7] = 0.25
    return W


def test_fig3_pe0():
    enc = encode(fig3_matrix(), n_pe=4)
    pe0 = enc.pes[0]
    assert list(pe0.rel_index) == [0, 1, 0, 1, 0, 2, 0, 0, 0, 2, 0, 2, 0]
    assert list(pe0.colptr) == [0, 3, 4, 6, 6, 8, 10, 11, 13]
    assert pe0.codes.dtype == np.uint8 and pe0.rel_index.dtype == np.uint8
    assert np.array_equal(decode(enc, (16, 8)), fig3_matrix())


def test_long_zero_runs_get_fillers():
    W = np.zeros((40, 3))
    W[39, 0], W[0, 1], W[17, 1] = 1.0, 1.0, 2.0
    pe = encode(W, n_pe=1).pes[0]
    # column 0: two fillers of 16 rows, then 7 zeros; column 1: row 0, one filler, row 17
    assert list(pe.codes) == [0, 0, 1, 1, 0, 2]
    assert list(pe.rel_index) == [15, 15, 7, 0, 15, 0]
    assert list(pe.colptr) == [0, 3, 6, 6]
    assert pe.nnz == 3 and pe.n_entries == 6
    assert np.array_equal(decode(encode(W, 1), W.shape), W)


def test_run_of_exactly_15_needs_no_filler():
    W = np.zeros((16, 1))
    W[15, 0] = 1.0
    pe = encode(W, 1).pes[0]
    assert list(pe.rel_index) == [15] and list(pe.codes) == [1]


def test_all_zero_and_more_pes_than_rows():
    enc = encode(np.zeros((3, 5)), n_pe=8)
    assert enc.nnz == 0 and enc.n_entries == 0 and enc.pe_capacity == 1
    assert all(list(p.colptr) == [0] * 6 for p in enc.pes)
    assert not decode(enc).any()


def test_too_many_values_refused_with_count():
    W = np.arange(1, 21, dtype=float).reshape(4, 5)
    with pytest.raises(UsageError, match="20 distinct"):
        encode(W, 2, code_bits=4)


def test_given_codebook_and_foreign_values():
    cb = [0.0, -1.0, 0.5, 2.0]
    W = np.array([[0.5, 0.0], [2.0, -1.0]])
    enc = encode(W, 1, code_bits=2, codebook=cb)
    assert list(enc.codebook) == cb and list(decode_codes(enc).ravel()) == [2, 0, 3, 1]
    with pytest.raises(UsageError, match="not codebook values"):
        encode(W + 0.1, 1, code_bits=2, codebook=cb)
    with pytest.raises(UsageError, match=r"codebook\[0\]"):
        encode(W, 1, code_bits=2, codebook=[1.0, 0.0])


def test_bad_arguments():
    with pytest.raises(UsageError, match="n_pe"):
        encode(np.ones((2, 2)), 0)
    with pytest.raises(UsageError, match="index_bits"):
        encode(np.ones((2, 2)), 1, index_bits=9)


@st.composite
def sparse_matrices(draw, max_dim=300):
    rows = draw(st.integers(1, max_dim))
    cols = draw(st.integers(1, max_dim))
    density = draw(st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.3, 0.7, 1.0]))
    code_bits = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(1 << code_bits) - 1)
    W = np.where(rng.random((rows, cols)) < density, rng.choice(values, size=(rows, cols)), 0.0)
    return W, code_bits


@settings(max_examples=60, deadline=None)
@given(sparse_matrices(), st.integers(1, 64), st.integers(1, 8))
def test_encode_decode_roundtrip(wc, n_pe, index_bits):
    W, code_bits = wc
    enc = encode(W, n_pe, code_bits=code_bits, index_bits=index_bits)
    assert np.array_equal(decode(enc, W.shape), W)
    assert enc.nnz == np.count_nonzero(W)
    assert len(enc.codebook) == 1 << code_bits and enc.codebook[0] == 0
    for k, pe in enumerate(enc.pes):
        assert pe.colptr[0] == 0 and pe.colptr[-1] == pe.n_entries and np.all(np.diff(pe.colptr) >= 0)
        assert pe.rel_index.max(initial=0) < 1 << index_bits
        assert pe.n_rows == len(range(k, W.shape[0], n_pe))
