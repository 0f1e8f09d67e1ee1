"""Fixed point <-> AXI-stream words, in numpy only (the board has no TensorFlow).

A sample of n values, each the `bits`-bit two's complement raw integer of a fixed-point type,
is packed little-endian: value k of the sample sits at bits [j*bits, (j+1)*bits) of word
k // values_per_word, j = k % values_per_word, values_per_word = stream_bits // bits. A sample
is padded to whole words with zero bits, so samples start on word boundaries (docs/internals.md,
"Board I/O"). The kernel side of this contract is kernels/hls/eie_axi_top.h.

Fixed types are the FixedType dicts of docs/internals.md; their rounding and overflow rules are
flow.fixed's (the one implementation, shipped to the board with this package).
"""

from __future__ import annotations

import numpy as np

from flow.fixed import FixedType, wrap

STREAM_DTYPES = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


class StreamLayout:
    """How `n` values of `bits` bits each fill `stream_bits`-bit words."""

    def __init__(self, n: int, bits: int, stream_bits: int):
        if stream_bits not in STREAM_DTYPES:
            raise ValueError(f"stream_bits must be one of {sorted(STREAM_DTYPES)}, got {stream_bits!r}")
        if not isinstance(bits, int) or not 1 <= bits <= stream_bits:
            raise ValueError(f"value width {bits!r} must be between 1 and stream_bits={stream_bits}")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"values per sample must be a positive integer, got {n!r}")
        self.n, self.bits, self.stream_bits = n, bits, stream_bits
        self.values_per_word = stream_bits // bits
        self.words_per_sample = -(-n // self.values_per_word)
        self.dtype = np.dtype(STREAM_DTYPES[stream_bits])
        self.bytes_per_sample = self.words_per_sample * self.dtype.itemsize

    def __repr__(self) -> str:
        return (
            f"StreamLayout(n={self.n}, bits={self.bits}, stream_bits={self.stream_bits}: "
            f"{self.values_per_word}/word, {self.words_per_sample} words/sample)"
        )

    def _shifts(self) -> np.ndarray:
        return (np.arange(self.values_per_word, dtype=np.uint64) * np.uint64(self.bits)).astype(np.uint64)

    def pack(self, raw) -> np.ndarray:
        """int raw values (batch, n) -> words (batch * words_per_sample,) of dtype uint<stream_bits>."""
        raw = np.asarray(raw)
        if raw.ndim != 2 or raw.shape[1] != self.n:
            raise ValueError(f"expected raw values of shape (batch, {self.n}), got {raw.shape}")
        batch = raw.shape[0]
        slots = self.words_per_sample * self.values_per_word
        u = np.zeros((batch, slots), dtype=np.uint64)
        mask = np.uint64((1 << self.bits) - 1) if self.bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        u[:, : self.n] = raw.astype(np.int64).astype(np.uint64) & mask
        u = u.reshape(batch, self.words_per_sample, self.values_per_word) << self._shifts()
        words = np.bitwise_or.reduce(u, axis=2) if self.values_per_word > 1 else u[:, :, 0]
        return words.reshape(-1).astype(self.dtype)

    def unpack(self, words, batch: int, signed: bool = True) -> np.ndarray:
        """words (>= batch * words_per_sample,) -> int64 raw values (batch, n), sign-extended if `signed`."""
        words = np.asarray(words).reshape(-1)
        need = batch * self.words_per_sample
        if words.size < need:
            raise ValueError(f"{batch} samples need {need} words, got {words.size}")
        w = words[:need].astype(np.uint64).reshape(batch, self.words_per_sample, 1)
        mask = np.uint64((1 << self.bits) - 1) if self.bits < 64 else np.uint64(0xFFFFFFFFFFFFFFFF)
        v = (w >> self._shifts()) & mask
        v = v.reshape(batch, -1)[:, : self.n]
        return wrap(v, self.bits, signed)


def pack_floats(x, t, stream_bits: int) -> np.ndarray:
    """Float array (batch, n) -> stream words, quantizing with `t`'s rounding and saturation."""
    t = FixedType.from_dict(t)
    x = np.asarray(x)
    return StreamLayout(x.shape[1], t.width, stream_bits).pack(t.quantize(x))


def unpack_floats(words, batch: int, n: int, t, stream_bits: int) -> np.ndarray:
    """Stream words -> float64 values (batch, n) of type `t`."""
    t = FixedType.from_dict(t)
    return t.to_float(StreamLayout(n, t.width, stream_bits).unpack(words, batch, signed=t.signed))
