"""Resource estimate of the RTL engine (kernels/rtl/) for Xilinx 7-series / UltraScale+ as
Yosys `synth_xilinx` maps it: BRAM and DSP by the same rules (equal to Yosys), LUT and FF from
a structural count per component (within 20 % of Yosys; tests/rtl/test_rtl_tools.py, bench),
calibrated on the per-module counts of Yosys' hierarchical synthesis (eie_pe, eie_detector,
eie_requant, the engine's glue; flow.rtl.yosys.module_breakdown).

Rules that make BRAM exact: a memory of more than BLOCK_BITS (1024) bits is a block RAM (ram_style
"block", eie_pe.sv / eie_act_store.sv), others are LUT RAM; a block RAM takes the cheapest RAMB18
/ RAMB36 geometry (Yosys memory_libmap costs 129 / 257 per primitive). One DSP48 per PE (the
weight x activation multiply), two with WALK = 2 (eie_pe.sv: the accumulators in two banks, the
codebook and, with one-word rows, the entry RAM one memory with a second read port, wide rows two
banks of half the width).
"""

from __future__ import annotations

import math

from flow.rtl.params import LINE, WINDOW, EngineParams

BLOCK_BITS = 1024
#: LUTs per compare of a PE's index against R * k (ANYR=1; checked against Yosys, bench/rtl_anyr.py)
ANYR_CMP = 8
#: LUTs per 10-bit adder of the R * k shift-and-add (ANYR=1)
ANYR_ADD = 10
#: (depth, width) geometries of a simple-dual-port RAMB18 and RAMB36 and Yosys' costs
RAMB18 = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
RAMB36 = ((512, 72), (1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2), (32768, 1))
#: true dual-port geometries (a RAM with a second read port, eie_ram_2r): at most half as wide
RAMB18_TDP = ((1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
RAMB36_TDP = ((1024, 36), (2048, 18), (4096, 9), (8192, 4), (16384, 2), (32768, 1))
COST18, COST36 = 129, 257


def _clog2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def block_ram(depth: int, width: int, tdp: bool = False) -> tuple[int, int]:
    """(RAMB18, RAMB36) for one block memory: the cheapest geometry (``tdp``: true dual-port)."""
    best = None
    r18, r36 = (RAMB18_TDP, RAMB36_TDP) if tdp else (RAMB18, RAMB36)
    for geoms, cost, kind in ((r18, COST18, 0), (r36, COST36, 1)):
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


def wide_rows(p: EngineParams) -> int:
    """Entry words per entry-RAM row of the overlay's engine (eie_axi EPR: one 64-bit load beat
    of entries at their lane width, a power of two >= CBW + IXW and >= 8)."""
    lane = 8
    while lane < p.CBW + p.IXW:
        lane *= 2
    return 64 // lane


def memories(p: EngineParams, wide_load: bool = False) -> dict:
    """Name -> (count, depth, width) of every RAM in the engine. wide_load: the overlay's
    geometry (eie_axi.sv: ENT_L = wide_rows, PTR_L = 2)."""
    ea = p.ptr_bits
    if wide_load:
        epr = wide_rows(p)
        ent = (p.P, -(-p.ENT_D // epr), epr * (p.CBW + p.IXW))
        ptr = (p.P, -(-p.PTR_D // 2), 3 * ea)
    else:
        ent, ptr = (p.P, p.ENT_D, p.CBW + p.IXW), (p.P, p.PTR_D, 2 * ea)
    # a bit per pointer pair, beside it: the column has entries in the PE (eie_pe u_nzc)
    nzc = (p.P, ptr[1], 2) if wide_load else (p.P, p.PTR_D, 1)
    skip = {"nonempty": nzc} if p.SKIP else {}
    if p.WALK == 2 and wide_load and ent[1] <= 512:  # two banks by word-address parity (eie_pe.sv g_ent2)
        ent = (2 * p.P, ent[1], ent[2] // 2)
    return {
        "entries": ent,
        "pointers": ptr,
        **skip,
        "codebooks": (p.P, p.cb_depth, p.WW),
        "biases": (p.P, p.BIAS_D, p.ACCW),
        # OVERLAP = 2: ping-pong, two banks of each (eie_pe_acc)
        "accumulators": ((2 if p.OVERLAP == 2 else 1) * p.WALK * p.P, p.ACC_D, p.ACCW),
        "banks": (LINE, p.NX // LINE, p.XW),
    }


def two_read(p: EngineParams, wide_load: bool = False) -> set[str]:
    """The memories with a second read port (eie_ram_2r): with WALK = 2 the codebook, and the entry
    RAM unless it is two parity banks (wide rows, up to 512 of them)."""
    if p.WALK != 2:
        return set()
    banks = wide_load and memories(p, wide_load)["entries"][0] == 2 * p.P
    return {"codebooks"} if banks else {"codebooks", "entries"}


def estimate(p: EngineParams, wide_load: bool = False) -> dict:
    """{"LUT", "FF", "RAMB18", "RAMB36", "BRAM36", "DSP", "parts"} of the engine; wide_load: with
    the overlay's load-port geometry (memories(wide_load=True)): row read multiplexers added."""
    r18 = r36 = lutram = mem_ff = 0
    mems = {}
    tdp = two_read(p, wide_load)
    for name, (n, depth, width) in memories(p, wide_load).items():
        lut = (name == "codebooks" and p.CB_LUT) or (name in ("accumulators", "biases") and p.ACC_LUT)
        if depth * width > BLOCK_BITS and not lut:
            a, b = block_ram(depth, width, name in tdp)
            r18, r36 = r18 + n * a, r36 + n * b
            mems[name] = {"block": True, "RAMB18": n * a, "RAMB36": n * b}
        else:
            sites = lut_ram(depth, width)
            if name in tdp:
                sites = 2 * width * math.ceil(depth / 64)  # a second read port: RAM64X1D, 2 LUTs a bit
            lutram += n * sites
            mem_ff += n * width  # the registered read port
            mems[name] = {"block": False, "LUT": n * sites}
    XW, ACCW = p.XW, p.ACCW
    CW = _clog2(p.NX)
    EA = p.ptr_bits
    RW = max(1, _clog2(p.ACC_D))
    QA = max(1, _clog2(p.DMAX))
    DW = _clog2(p.DMAX + 1)
    GW = max(1, _clog2(p.MAXG))
    # ---- per PE (one eie_pe module; coefficients calibrated on Yosys' per-module counts) ----
    queue = 4 * (math.ceil(CW / 6) + math.ceil(XW / 6)) if p.DMAX > 1 else 0  # RAM32M
    control = 4 * EA + CW + 3 * QA + 2 * DW + 2 * RW + 12  # queue, pointer walk, row, gate
    control += 2 * p.SKIP  # the push gated by the non-empty bit (its address adder is the pop's, moved)
    accumulate = ACCW + 2 * RW  # forward compare and mux (the add is the DSP48's post-adder)
    term = ACCW + 4  # acc + bias (the select is the register's synchronous reset)
    acc_valid = p.ACC_D  # accumulator row valid bits: write decode and read mux, ~1 LUT a row
    # OVERLAP = 2: the second bank's valid bits, each bank's read-address mux, the word selects of
    # the accumulate and of the gather (per slot)
    pp = (p.ACC_D + 2 * RW + 2 * ACCW) * p.WALK if p.OVERLAP == 2 else 0
    # the overlay's row reads: an entry lane mux (one LUT6 per 4 ways a bit), a pointer-pair mux
    row_mux = (p.CBW + p.IXW) * -(-wide_rows(p) // 4) + EA if wide_load else 0
    # readback (LD_READ): read-address muxes of four RAMs, the memory select and the OR tree
    readback = (2 * EA + p.CBW + 3 + RW + 1 + 64 + 13) if p.LD_READ else 0
    # WALK = 2: the second row adder, entry-word and bank-address muxes, the second accumulate and
    # valid bits, the three-input term (calibrated against Yosys, docs/rtl.md)
    walk2 = ((RW + p.IXW) + 2 * (p.CBW + p.IXW) + 2 * EA + accumulate + acc_valid + ACCW
             if p.WALK == 2 else 0)  # fmt: skip
    pe_lut = queue + 1.07 * (control + accumulate + term + acc_valid + row_mux + readback + walk2 + pp)
    pe_ff = (
        2 * QA + DW + XW + 2 * EA + XW + 2  # queue pointers, A, B
        + XW + 2 + RW  # C
        + RW + 1 + RW + 1  # D, E (product and activation registers sit in the DSP48)
        + RW + ACCW + 1 + ACCW  # forward, term
        + p.ACC_D + 1  # accumulator row valid bits and the one read
        + p.SKIP * _clog2(max(2, p.PTR_D))  # SKIP: the pointer address registered for the push
        + (p.DMAX * (CW + XW) if p.DMAX <= 1 else 0)
        + ((1 + RW + 1 + RW + 1 + RW + ACCW + 1 + p.ACC_D + 1 + 1) if p.WALK == 2 else 0)  # slot 1's C-F
        + ((p.ACC_D + 1) * p.WALK + 7 if p.OVERLAP == 2 else 0)  # second bank's valid bits, gather select
    )  # fmt: skip
    # ---- engine: detectors, requantisers, glue (eie_engine's own logic) ----
    nwin = max(1, p.NX // WINDOW)
    LOL = _clog2(p.OL)
    detector = 200  # one eie_detector: window select, priority encoder, position
    requant = 8.5 * ACCW  # one eie_requant lane: shifter, compares, wrap
    if p.ANYR:  # any R: group by compares against R * k, MAXG-way bus, q = p - R * g
        ways = p.MAXG
        mapping = p.P * (ANYR_CMP * (p.MAXG - 1) + 6 * math.ceil(p.MAXG / 4) + 12)
        # R * k by shift-and-add at SETUP: one 10-bit adder per extra set bit of k
        mapping += ANYR_ADD * sum(max(0, bin(k).count("1") - 1) for k in range(p.MAXG))
    else:  # R a power of two: the (GW+1) buses p >> k can be its group
        ways = GW + 1
        mapping = 0
    # each PE's bus: a column (the broadcast's, or with SKIP the emit register's), value and valid
    bus_select = p.P * ((CW + XW + 1) * math.ceil(ways / 4) + 8) + mapping
    gate = p.MAXG * p.P // 3
    # a detector's window multiplexer covers only the bits its group can own (eie_broadcast.sv)
    win_bits = sum(64 // (1 if g == 0 else 1 << _clog2(g + 1)) for g in range(p.MAXG))
    win_mux = win_bits * (math.ceil(nwin / 4) if nwin > 1 else 0)
    bc_x = p.MAXG * XW * 5
    bitmap = math.ceil(p.NX * 1.25)
    gather = (p.P - p.OL) * ACCW + (p.OL - 1) * ACCW + p.OL * ACCW  # lane sums, tree, lane mux
    store_write = 2 * LINE * XW + 64
    table = 150 * math.ceil(p.NL / 4)
    # each detector's window bits as a register (issue 21's timing levers): loaded from the next
    # window or kept, with the store's write of that edge merged in, and the window limit beside it
    win_reg = 4 * win_bits
    glue_lut = bus_select + gate + win_mux + bc_x + bitmap + gather + store_write + table + ACCW + 150 + win_reg
    engine_lut = p.MAXG * detector + p.OL * requant + glue_lut
    engine_ff = (
        p.NX + p.MAXG * (8 + CW + 5) + 2 * p.OL * ACCW + p.OL * XW
        + 5 * (_clog2(p.NX + 1) + 2) + p.NL * 100 + 80
        + (p.ANYR * (7 + 10 * p.MAXG + _clog2(p.NX + 1) + 1))  # R, R * k, the gather's row base
        + (p.ANYR * p.P * (GW + 6 + 1))  # each PE's registered group, row-PE index, active flag
        # registered at SETUP by the layer table (issue 21's timing levers): the detectors' group
        # masks (MAXG distinct columns per group at most), the input line count
        + sum(p.MAXG // (1 if g == 0 else 1 << _clog2(g + 1)) for g in range(p.MAXG)) + _clog2(p.NX + 1) - 4
        # the requantisers' saturation thresholds (eie_gather)
        + 2 * (ACCW + 2)
        # each detector's window register and its limit-and-taken mask (eie_detector win, m: the
        # bits its group can own), the window counter and its live flag
        + 2 * win_bits + p.MAXG * (_clog2(p.NX // WINDOW + 1) + 1)
        # OVERLAP: the gather's fields held (flags, shift, width, omin/omax, n_out, log2e) and
        # eie_control's written-lines count, its five-stage pipeline and the last-chunk flags
        + min(1, p.OVERLAP) * (5 + 12 + 2 * XW + _clog2(p.NX + 1) + 3 + 6 * (_clog2(p.NX + 1) - 4) + 1 + 5)
        # OVERLAP = 2: the gather's own rows, R, log2 R, E and bias base; the two bank flags
        + (RW + 1 + 7 + 3 + 3 + _clog2(max(2, p.BIAS_D)) + 2 if p.OVERLAP == 2 else 0)
    )  # fmt: skip
    dsp = p.WALK * p.P  # ANYR's R * k are shift-and-add (no DSP48)
    lut = p.P * pe_lut + engine_lut + lutram
    ff = p.P * pe_ff + engine_ff + mem_ff
    return {
        "LUT": int(lut),
        "FF": int(ff),
        "RAMB18": r18,
        "RAMB36": r36,
        "BRAM36": r36 + r18 / 2,
        "DSP": dsp,
        "parts": {
            "pe_lut_each": pe_lut,
            "pe_ff_each": pe_ff,
            "lutram_sites": lutram,
            "engine_lut": engine_lut,
            "modules_lut": {"eie_pe": p.P * pe_lut, "eie_detector": p.MAXG * detector,
                            "eie_requant": p.OL * requant, "glue": glue_lut},  # fmt: skip
            "engine_ff": engine_ff,
            "memories": mems,
        },
        "source": "flow.rtl.estimate (structural model; BRAM/DSP by Yosys' rules)",
    }
