"""Huffman coding: Kraft, optimality against entropy, round trips."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.compress.huffman import HuffmanCode, canonical_codes, code_lengths, kraft_sum

symbols = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=400)


@given(symbols)
@settings(max_examples=150, deadline=None)
def test_lengths_satisfy_kraft_and_beat_entropy_plus_one(seq):
    freqs = Counter(seq)
    lengths = code_lengths(freqs)
    assert set(lengths) == set(freqs)
    assert kraft_sum(lengths) <= 1.0 + 1e-12
    if len(freqs) > 1:  # a complete code: Kraft with equality
        assert kraft_sum(lengths) == pytest.approx(1.0)
        n = len(seq)
        entropy = -sum(f / n * math.log2(f / n) for f in freqs.values())
        avg = sum(f * lengths[s] for s, f in freqs.items()) / n
        assert entropy - 1e-9 <= avg < entropy + 1


@given(symbols)
@settings(max_examples=150, deadline=None)
def test_encode_decode_round_trip(seq):
    code = HuffmanCode.from_symbols(seq)
    data, nbits = code.encode(seq)
    assert nbits == code.encoded_bits(Counter(seq))
    assert len(data) == (nbits + 7) // 8
    assert code.decode(data, nbits) == seq


def test_canonical_codes_are_prefix_free():
    lengths = code_lengths({"a": 45, "b": 13, "c": 12, "d": 16, "e": 9, "f": 5})
    codes = canonical_codes(lengths)
    words = [format(c, f"0{n}b") for c, n in codes.values()]
    for w in words:
        assert not any(o != w and o.startswith(w) for o in words)
    # the textbook example (CLRS): 45,13,12,16,9,5 -> total 224 bits per 100 symbols
    assert sum(f * lengths[s] for s, f in {"a": 45, "b": 13, "c": 12, "d": 16, "e": 9, "f": 5}.items()) == 224


def test_single_symbol_gets_one_bit_and_truncated_stream_is_refused():
    code = HuffmanCode.from_symbols([7, 7, 7])
    assert code.lengths == {7: 1}
    data, nbits = code.encode([7, 7, 7])
    assert code.decode(data, nbits) == [7, 7, 7]
    code2 = HuffmanCode({0: 1, 1: 1, 2: 2})
    data, nbits = code2.encode([0, 1])
    with pytest.raises(ValueError, match="dangling"):
        code2.decode(data, nbits - 1)
