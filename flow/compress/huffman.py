"""Huffman coding: code lengths from a histogram (heapq), canonical codes, encode/decode.

Deep Compression Huffman-codes the weight codes and the relative indices of each layer;
their distributions are far from uniform, which saves another 20-30 %.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping


def code_lengths(freqs: Mapping[Hashable, int]) -> dict:
    """Optimal prefix-code length per symbol with a positive count (one symbol alone gets 1 bit)."""
    items = [(int(f), s) for s, f in freqs.items() if f > 0]
    if not items:
        return {}
    if len(items) == 1:
        return {items[0][1]: 1}
    # heap entries: (weight, tie-break, symbols in the subtree); each merge deepens its symbols by one
    heap = [(f, i, [s]) for i, (f, s) in enumerate(sorted(items, key=lambda t: (t[0], repr(t[1]))))]
    heapq.heapify(heap)
    lengths = {s: 0 for _, s in items}
    tie = len(heap)
    while len(heap) > 1:
        f1, _, s1 = heapq.heappop(heap)
        f2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (f1 + f2, tie, s1 + s2))
        tie += 1
    return lengths


def canonical_codes(lengths: Mapping[Hashable, int]) -> dict:
    """Canonical Huffman code words: symbol -> (code as int, length)."""
    order = sorted(lengths, key=lambda s: (lengths[s], repr(s)))
    codes, code, prev = {}, 0, 0
    for s in order:
        n = lengths[s]
        code <<= n - prev
        codes[s] = (code, n)
        code += 1
        prev = n
    return codes


class HuffmanCode:
    """A Huffman code built from a symbol sequence or a histogram."""

    def __init__(self, freqs: Mapping[Hashable, int]):
        self.lengths = code_lengths(freqs)
        self.codes = canonical_codes(self.lengths)
        self._decode = {(n, c): s for s, (c, n) in self.codes.items()}

    @classmethod
    def from_symbols(cls, symbols: Iterable[Hashable]) -> HuffmanCode:
        return cls(Counter(symbols))

    def encoded_bits(self, freqs: Mapping[Hashable, int]) -> int:
        return sum(int(f) * self.lengths[s] for s, f in freqs.items() if f > 0)

    def encode(self, symbols: Iterable[Hashable]) -> tuple[bytes, int]:
        """Bit stream (MSB first, zero padded) and its length in bits."""
        acc, nbits = 0, 0
        for s in symbols:
            c, n = self.codes[s]
            acc = (acc << n) | c
            nbits += n
        pad = (-nbits) % 8
        return (acc << pad).to_bytes((nbits + pad) // 8, "big"), nbits

    def decode(self, data: bytes, nbits: int) -> list:
        value = int.from_bytes(data, "big") >> (len(data) * 8 - nbits) if data else 0
        out, code, n = [], 0, 0
        for i in range(nbits - 1, -1, -1):
            code = (code << 1) | ((value >> i) & 1)
            n += 1
            sym = self._decode.get((n, code))
            if sym is not None:
                out.append(sym)
                code, n = 0, 0
        if n:
            raise ValueError(f"Huffman stream ends inside a code word ({n} dangling bits)")
        return out


def kraft_sum(lengths: Mapping[Hashable, int]) -> float:
    return sum(2.0**-n for n in lengths.values())
