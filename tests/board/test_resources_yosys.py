"""flow/board/resources.py against Yosys synthesis of the RTL engine (kernels/rtl) on the structures the
HLS kernel and the RTL share: the packed 8-bit entry memory and the pointer-pair memory per PE (block
RAM count, or LUTs below 2048 bits: codegen's and the RTL's rule), the codebook and the accumulators
as LUT RAM, one DSP per PE multiply. The measurement wins: where they disagreed, the estimator was
fixed (LUT RAM: RAM32M / RAM64M banks, lutram_luts). Each structure is synthesised on its own
(eie_ram, eie_pe with small memories), results cached in pytest's cache per RTL source digest."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from flow.board.resources import LayerFootprint, bits_for, estimate
from flow.eie.codegen import BLOCK_BITS

pytestmark = [
    pytest.mark.slow,  # about 20 s a structure on a loaded 2-core machine, uncached
    pytest.mark.yosys,  # skipped naming the missing or broken Yosys (tests/conftest.py, flow.rtl.tools)
]

#: one PE's entry memories (pe_capacity x 8 bits): LUT (1600 bits), 2Kx9 RAMB18, RAMB36, 3 x RAMB18
ENTRY_DEPTHS = (200, 1100, 3000, 5000)
#: (pointer-pair words = local columns, pe_capacity): 2 x 11-bit pairs, 2200 bits (block) and LUT
POINTERS = ((100, 1100), (60, 200))
#: LUT RAMs: (depth, width) of accumulators (16, 32, 64 local rows of 32 bits) and codebooks (4/8-bit codes)
LUT_RAMS = ((16, 32), (32, 32), (64, 32), (16, 8), (256, 8))


def _sources():
    from flow.rtl.verilator import rtl_sources

    return [p for p in rtl_sources() if p.name in ("eie_ram.sv", "eie_pe_acc.sv", "eie_pe.sv")]


def _synth(tmp_path, cache, top: str, params: dict) -> dict:
    """Yosys synth_xilinx (xc7) of one module: flow.rtl.yosys.parse_stat's counts + LUT sites."""
    from flow.rtl import tools
    from flow.rtl.yosys import lut_total, parse_stat

    yosys = tools.require("yosys")
    srcs = _sources()
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in srcs)).hexdigest()[:12]
    key = f"eie/yosys/{top}-" + "-".join(f"{k}{v}" for k, v in sorted(params.items())) + f"-{digest}-{yosys.key()}"
    hit = cache.get(key, None)
    if hit is not None:
        return hit
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    (tmp_path / "s.ys").write_text(
        f"read_verilog -sv -DSYNTHESIS {' '.join(os.path.relpath(p, tmp_path) for p in srcs)}\nchparam {chparam} {top}\n"
        f"synth_xilinx -family xc7 -top {top} -flatten -noiopad -noclkbuf\ntee -q -o stat.txt stat\n"
    )
    # sources relative to tmp_path: the WebAssembly Yosys has its own /tmp (flow.rtl.yosys)
    subprocess.run(yosys.cmd("-q", "-s", "s.ys"), cwd=tmp_path, check=True, capture_output=True, env=yosys.child_env())
    c = parse_stat((tmp_path / "stat.txt").read_text())
    out = {"LUT": lut_total(c), "LUT_logic": c["LUT"], "LUTRAM": lut_total(c) - c["LUT"] - c["SRL"],
           "BRAM18": c["RAMB18"] + 2 * c["RAMB36"], "DSP": c["DSP"]}
    cache.set(key, out)
    return out


def _ram(tmp_path, request, depth: int, width: int) -> dict:
    block = int(depth * width > BLOCK_BITS)  # the kernel's rule (codegen.rom_impl); eie_ram takes it as a parameter
    return _synth(tmp_path, request.config.cache, "eie_ram", {"DEPTH": depth, "WIDTH": width, "BLOCK": block})


def _memories(**kw) -> dict:
    """The estimator's memories of a one-PE layer, by kind (spmat, colptr, accum, codebook)."""
    kw = {"name": "l", "n_in": 64, "n_out": 16, "n_pe": 1, "pe_entries": (64,), **kw}
    return {m.name.split(".")[1]: m for m in estimate([LayerFootprint(**kw)]).memories}


@pytest.mark.parametrize("depth", ENTRY_DEPTHS)
def test_entry_memory_blocks(tmp_path, request, depth):
    mem = _memories(pe_entries=(depth,))["spmat"]
    assert mem.width == 8  # code | index packed in one word
    got = _ram(tmp_path, request, depth, 8)
    assert mem.usage().bram18 == got["BRAM18"], (depth, got)
    assert mem.in_lut == (got["BRAM18"] == 0)


@pytest.mark.parametrize("n_cols, capacity", POINTERS)
def test_pointer_memory_blocks(tmp_path, request, n_cols, capacity):
    mem = _memories(n_in=n_cols, pe_entries=(capacity,))["colptr"]
    assert (mem.depth, mem.width) == (n_cols, 2 * bits_for(capacity))  # {end, start}, the RTL's 2 x EA
    got = _ram(tmp_path, request, mem.depth, mem.width)
    assert mem.usage().bram18 == got["BRAM18"], got
    assert mem.in_lut == (got["BRAM18"] == 0)


@pytest.mark.parametrize("depth, width", LUT_RAMS)
def test_lut_rams(tmp_path, request, depth, width):
    """Accumulators and codebooks: LUTs as memory exactly, the read mux over banks within a few LUTs."""
    if width == 32:
        mem = _memories(n_out=depth, accum_bits=width)["accum"]
    else:
        mem = _memories(code_bits=depth.bit_length() - 1, weight_bits=width)["codebook"]
    assert (mem.depth, mem.width, mem.in_lut) == (depth, width, True)
    got = _ram(tmp_path, request, depth, width)
    use = mem.usage()
    assert got["BRAM18"] == 0 and use.lutram == got["LUTRAM"], (use, got)
    assert abs(use.lut - got["LUT"]) <= max(4, got["LUT"] // 10), (use, got)


def test_one_dsp_per_pe_multiply(tmp_path, request):
    """A whole PE (16-bit activations x 8-bit weights): one DSP48E1, as the estimator counts per PE;
    its other memories under both engines' LUT thresholds (the RTL's 1024 bits, the kernel's 2048), so its
    block RAMs are the entry memory's alone."""
    params = {"ENT_D": 1100, "PTR_D": 40, "ACC_D": 16, "BIAS_D": 16, "NL": 1, "DMAX": 4,
              "XW": 16, "WW": 8, "ACCW": 32}
    got = _synth(tmp_path, request.config.cache, "eie_pe", params)
    est = estimate([LayerFootprint("l", n_in=40, n_out=16, n_pe=1, pe_entries=(1100,))])
    assert est.layers["l"].dsp == got["DSP"] == 1
    mems = {m.name.split(".")[1]: m for m in est.memories}
    assert mems["spmat"].usage().bram18 + mems["colptr"].usage().bram18 == got["BRAM18"] == 1
