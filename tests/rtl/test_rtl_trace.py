"""`flow rtlsim --trace`: a separately cached Verilator build with --trace-fst writes an FST waveform
of the simulated inferences; the results stay bit- and cycle-exact."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from flow.testing import random_layer
from flow.rtl.params import params_for
from flow.rtl.run import rtlsim

#: an FST file opens with its header block: block type FST_BL_HDR (0), then the section length as a
#: big-endian uint64 (329 bytes), then start and end time (GTKWave's fstapi.h, fstWriterEmitHdrBytes)
FST_HEADER = bytes([0]) + (329).to_bytes(8, "big")
#: block types (fstapi.h): value changes (1, 5, 8), geometry (3), hierarchy gzip (4) / LZ4 (6, 7)
FST_VCDATA, FST_GEOM, FST_HIER, FST_HIER_LZ4 = {1, 5, 8}, 3, 4, 6


def fst_blocks(data: bytes) -> list[tuple[int, bytes]]:
    """(type, body) of each block: one type byte, then a big-endian uint64 length counting itself."""
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i + 1 : i + 9], "big")
        assert n >= 8 and i + 1 + n <= len(data), f"bad FST block at {i}"
        out.append((data[i], data[i + 9 : i + 1 + n]))
        i += 1 + n
    return out


def lz4_block(src: bytes) -> bytes:
    """An LZ4 block decoded (the format's reference: lz4_Block_format.md)."""
    out, i = bytearray(), 0
    while i < len(src):
        tok = src[i]
        i += 1
        n = tok >> 4
        if n == 15:
            while src[i] == 255:
                n, i = n + 255, i + 1
            n, i = n + src[i], i + 1
        out += src[i : i + n]
        i += n
        if i >= len(src):
            break
        off, i = src[i] | src[i + 1] << 8, i + 2
        m = tok & 15
        if m == 15:
            while src[i] == 255:
                m, i = m + 255, i + 1
            m, i = m + src[i], i + 1
        for _ in range(m + 4):
            out.append(out[-off])
    return bytes(out)


@pytest.mark.verilator
def test_trace_writes_an_fst_of_a_tiny_engine(tmp_path):
    rng = np.random.default_rng(3)
    layers = [random_layer(rng, 24, 10, density=0.4, n_pe=2, fifo_depth=2, name="fc1"),
              random_layer(rng, 10, 4, density=0.5, n_pe=2, fifo_depth=2, name="fc2", activation="linear")]
    x = layers[0].input_t.quantize(rng.uniform(0, 1, size=(3, 24)))
    params = params_for(layers)
    fst = tmp_path / "out" / "rtlsim.fst"
    s = rtlsim(layers, x, params=params, out_dir=tmp_path / "out", trace=fst)
    assert s["bit_mismatches"] == 0 and s["model_cycle_mismatches"] == 0
    assert s["trace"] == str(fst) and s["n"] == 3
    data = fst.read_bytes()
    assert data[:9] == FST_HEADER, data[:16].hex()
    assert int.from_bytes(data[9:17], "big") == 0  # start time
    end = int.from_bytes(data[17:25], "big")
    assert end >= 2 * s["cycles_max"] * 3  # two dumps per cycle, three inferences at least
    assert not list(tmp_path.rglob("*.part"))
    blocks = fst_blocks(data)
    kinds = [t for t, _ in blocks]
    assert kinds[0] == 0 and any(t in FST_VCDATA for t in kinds) and FST_GEOM in kinds, kinds
    # the hierarchy (LZ4: kernels/rtl/harness/lz4_stored where lz4.h is missing) names the signals
    hier = [body for t, body in blocks if t == FST_HIER_LZ4]
    if hier:  # body: uncompressed length (uint64), then the LZ4 block
        names = lz4_block(hier[0][8:])
        assert len(names) == int.from_bytes(hier[0][:8], "big")
        for sig in (b"eie_engine", b"clk", b"in_valid", b"out_data", b"g_pe"):
            assert sig in names, sig
    else:
        assert FST_HIER in kinds, kinds

    # the traced build is cached apart from the plain one (the fast path)
    from flow.rtl import verilator

    assert verilator.build(params, trace=True).parent.parent.name.endswith("-trace")


def test_trace_defaults_to_few_inferences(tmp_path):
    """--trace without --n simulates N_TRACE inferences; --n still wins; without --trace, 1000."""
    from flow.cli import rtlsim as cli

    def args(**kw):
        ns = argparse.Namespace(model_dir=tmp_path, model_n=5, trace=False, n=None)
        vars(ns).update(kw)
        cli._check_args(ns)
        return ns.n

    assert args(trace=True) == cli.N_TRACE == 10
    assert args(trace=True, n=3) == 3
    assert args() == cli.N_DEFAULT == 1000
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    ns = parser.parse_args(["rtlsim", str(tmp_path), "--trace"])
    assert ns.trace is True and ns.n is None and Path(ns.model_dir) == tmp_path
