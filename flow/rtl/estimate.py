"""Resource estimate of the RTL engine (kernels/rtl/) for Xilinx 7-series / UltraScale+ as
Yosys `synth_xilinx` maps it: BRAM and DSP by the same rules (equal to Yosys), LUT and FF from
a structural count per component (within 20 % of Yosys; tests/rtl/test_rtl_tools.py, bench).

Rules that make BRAM exact: a memory of more than BLOCK_BITS bits is a block RAM (ram_style
"block", eie_pe.sv / eie_engine.sv), others are LUT RAM; a block RAM takes the cheapest RAMB18
/ RAMB36 geometry (Yosys memory_libmap costs 129 / 257 per primitive). One DSP48 per PE (the
weight x activation multiply).
"""

from __future__ import annotations

import math

from flow.rtl.params import LINE, WINDOW, EngineParams

BLOCK_BITS = 2048
#: (depth, width) geometries of a simple-dual-port RAMB18 and RAMB36 and Yosys' costs
RAMB18 = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
RAMB36 = ((512, 72), (1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2), (32768, 1))
COST18, COST36 = 129, 257


def _clog2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def block_ram(depth: int, width: int) -> tuple[int, int]:
    """(RAMB18, RAMB36) for one block memory: the cheapest geometry."""
    best = None
    for geoms, cost, kind in ((RAMB18, COST18, 0), (RAMB36, COST36, 1)):
        for d, w in geoms:
            n = math.ceil(width / w) * math.ceil(depth / d)
            key = (n * cost, kind)
            if best is None or key < best[0]:
                best = (key, kind, n)
    _, kind, n = best
    return (n, 0) if kind == 0 else (0, n)


def lut_ram(depth: int, width: int) -> int:
    """LUT sites of a distributed simple-dual-port RAM (RAM32M: 32 x 6, RAM64M: 64 x 3 per 4
    LUTs; deeper: RAM128X1D / RAM256X1D per bit plus the read mux)."""
    if depth <= 32:
        return 4 * math.ceil(width / 6)
    if depth <= 64:
        return 4 * math.ceil(width / 3)
    if depth <= 128:
        return 4 * width
    return width * (8 * math.ceil(depth / 256) + math.ceil(depth / 256) - 1)


def memories(p: EngineParams) -> dict:
    """Name -> (count, depth, width) of every RAM in the engine."""
    LW = max(1, _clog2(p.NL))
    ea = p.ptr_bits
    return {
        "entries": (p.P, p.ENT_D, p.CBW + p.IXW),
        "pointers": (p.P, p.PTR_D, 2 * ea),
        "codebooks": (p.P, (1 << LW) << p.CBW, p.WW),
        "biases": (p.P, p.BIAS_D, p.ACCW),
        "accumulators": (p.P, p.ACC_D, p.ACCW),
        "banks": (LINE, p.NX // LINE, p.XW),
    }


def estimate(p: EngineParams) -> dict:
    """{"LUT", "FF", "RAMB18", "RAMB36", "BRAM36", "DSP", "parts"} of the engine."""
    r18 = r36 = lutram = mem_ff = 0
    mems = {}
    for name, (n, depth, width) in memories(p).items():
        if depth * width > BLOCK_BITS:
            a, b = block_ram(depth, width)
            r18, r36 = r18 + n * a, r36 + n * b
            mems[name] = {"block": True, "RAMB18": n * a, "RAMB36": n * b}
        else:
            sites = lut_ram(depth, width)
            lutram += n * sites
            mem_ff += n * width  # the registered read port
            mems[name] = {"block": False, "LUT": n * sites}
    XW, ACCW, WW = p.XW, p.ACCW, p.WW
    CW = _clog2(p.NX)
    EA = p.ptr_bits
    RW = max(1, _clog2(p.ACC_D))
    QA = max(1, _clog2(p.DMAX))
    DW = _clog2(p.DMAX + 1)
    # ---- per PE (coefficients calibrated on Yosys' per-module counts, docs/rtl.md) ----
    queue = 4 * (math.ceil(CW / 6) + math.ceil(XW / 6)) if p.DMAX > 1 else 0  # RAM32M
    bc_mux = (CW + XW + 1) * max(0, math.ceil(p.MAXG / 4))
    control = 4 * EA + (CW + 4) + 3 * QA + 2 * DW + 2 * RW + 12
    accumulate = 2 * ACCW + 2 * RW + ACCW  # adder, forward mux, write-data mux
    term = 2 * ACCW + 6
    pe_lut = queue + 0.8 * (bc_mux + control + accumulate + term)
    pe_ff = (
        2 * QA + DW + XW + 2 * EA + XW + 2  # queue pointers, A, B
        + XW + 2 + RW  # C
        + RW + 1 + RW + 1  # D, E (product and activation registers sit in the DSP48)
        + RW + ACCW + 1 + ACCW  # forward, term
        + (p.DMAX * (CW + XW) if p.DMAX <= 1 else 0)
    )  # fmt: skip
    # ---- engine ----
    nwin = max(1, p.NX // WINDOW)
    LOL = _clog2(p.OL)
    win_mux = p.MAXG * 64 * math.ceil(nwin / 4)
    detector = p.MAXG * 170
    bc_x = p.MAXG * XW * 5
    bitmap = math.ceil(p.NX * 1.25)
    gather = (p.P - p.OL) * ACCW + (p.OL - 1) * ACCW + p.OL * ACCW * math.ceil((LOL + 1) / 4)
    requant = p.OL * (10 * ACCW + 3 * XW)
    store_write = 2 * LINE * XW + 64
    table = 150 * math.ceil(p.NL / 4)
    engine_lut = win_mux + detector + bc_x + bitmap + gather + requant + store_write + table + 150
    engine_ff = (
        p.NX + 128 + p.MAXG * (8 + CW + 5) + 2 * p.OL * ACCW + p.OL * XW
        + 5 * (_clog2(p.NX + 1) + 2) + p.NL * 100 + 80
    )  # fmt: skip
    lut = p.P * pe_lut + engine_lut + lutram
    ff = p.P * pe_ff + engine_ff + mem_ff
    return {
        "LUT": int(lut),
        "FF": int(ff),
        "RAMB18": r18,
        "RAMB36": r36,
        "BRAM36": r36 + r18 / 2,
        "DSP": p.P,
        "parts": {
            "pe_lut_each": pe_lut,
            "pe_ff_each": pe_ff,
            "lutram_sites": lutram,
            "engine_lut": engine_lut,
            "engine_ff": engine_ff,
            "memories": mems,
        },
        "source": "flow.rtl.estimate (structural model; BRAM/DSP by Yosys' rules)",
    }
