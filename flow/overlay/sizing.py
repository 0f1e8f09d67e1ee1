"""Overlay sizing: an engine per board and P whose memories fill the BRAM the board leaves.

The overlay is built once and loaded with any model that fits, so its depths are the board's,
not one model's. `size_for(board, P)` searches the per-PE entry and pointer depths (multiples of
512 and 256) and accumulator/bias rows that fit the board's RAMB18 budget (`limit` of them, after
the DMA platform and the AXI wrapper's FIFOs): the most entries, then the most pointers, then
the most rows. BRAM by flow.rtl.estimate, whose block-RAM rules equal Yosys' (a model: the
Yosys fit of the preset is `bench/overlay.py --synth`). The result is stated in
`boards/<name>/board.yaml` under `overlay: p<P>:`; `preset(board, P)` reads it back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flow.board.resources import PLATFORM
from flow.errors import UsageError
from flow.rtl.estimate import BLOCK_BITS, block_ram, estimate
from flow.rtl.params import LINE, EngineParams

#: the fixed part of every preset: widths that hold what `flow compress` makes (LeNet-300-100:
#: 5-bit codes, 6-bit indices, 16-bit weights, a 36-bit accumulator), EIE's queue depth, R a power of
#: two; 8 table layers and 8 codebook slots (one RAMB18 per PE either way): two resident models
BASE = dict(MAXG=8, DMAX=8, NL=8, NX=1024, XW=16, WW=16, ACCW=36, CBW=5, IXW=6, ANYR=0, CB_SLOTS=8)
#: input FIFO depth in 64-bit beats: two LeNet-300-100 images at 16 bits (2 x 196)
IFIFO_D = 512
#: LUTs and FFs of the AXI wrapper (control, AXI4-Lite, unpacker, packer, loader, FIFOs): measured,
#: Yosys 0.70 synth_xilinx of the whole P = 64 pynq-z2 overlay minus its engine (41,288 - 36,285 LUT,
#: bench/results/overlay.json "synth_overlay"); it was modelled at 2,500 before that measurement
WRAPPER_LUT = 5003
WRAPPER_FF = 2500
#: LUT share the overlay (engine + wrapper + FIFOs, what Yosys measures) may take: issue 20's target,
#: leaving the rest of the chip for the DMA, the interconnect and routing
LUT_LIMIT = 0.80
#: LUT share of overlay + platform (AXI DMAs, interconnect, PLATFORM: modelled), leaving 10 % for routing
TOTAL_LUT_LIMIT = 0.90
#: BRAM share the sizing fills (0.95: the P = 64 overlay's wide load port takes 4 RAMB18 per PE, 262 of 280)
BRAM_LIMIT = 0.95


def _pow2_up(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


@dataclass(frozen=True)
class OverlayFit:
    """What an overlay takes on a board (modelled): the engine's estimate plus the wrapper and DMA."""

    params: EngineParams
    bram18: float
    lut: int  # overlay + platform
    ff: int
    dsp: int
    overlay_lut: int = 0  # engine + wrapper + FIFOs (what Yosys synthesises), without the platform

    def to_dict(self) -> dict:
        return {"bram18": self.bram18, "lut": self.lut, "overlay_lut": self.overlay_lut, "ff": self.ff,
                "dsp": self.dsp, "source": "flow.rtl.estimate + AXI wrapper (Yosys-measured constant) + DMA "
                "platform (modelled)"}

    def lut_problem(self, board_lut: int, lut_limit: float = LUT_LIMIT) -> str:
        """"" when the LUTs fit both rules, else what does not, with the numbers."""
        if self.overlay_lut > lut_limit * board_lut:
            return (f"the P={self.params.P} overlay needs about {self.overlay_lut} LUT (modelled), more than "
                    f"{lut_limit:.0%} of the board's {board_lut}")
        if self.lut > TOTAL_LUT_LIMIT * board_lut:
            return (f"the P={self.params.P} overlay with the DMA platform needs about {self.lut} LUT (modelled), "
                    f"more than {TOTAL_LUT_LIMIT:.0%} of the board's {board_lut}")
        return ""


def wrapper_bram18(p: EngineParams) -> int:
    """RAMB18 of the wrapper: the input FIFO (IFIFO_D x 64 bits) in block RAM; the output line
    FIFO (NX / 16 lines x 16 XW bits) is LUT RAM when it is 64 deep or less."""
    a, b = block_ram(IFIFO_D, 64)
    lines = p.NX // LINE
    oa, ob = block_ram(lines, LINE * p.XW) if lines > 64 else (0, 0)
    return a + 2 * b + oa + 2 * ob


def overlay_fit(p: EngineParams) -> OverlayFit:
    est = estimate(p, wide_load=True)
    bram18 = est["RAMB18"] + 2 * est["RAMB36"] + wrapper_bram18(p) + PLATFORM.bram18
    overlay_lut = est["LUT"] + WRAPPER_LUT
    ff = est["FF"] + WRAPPER_FF + PLATFORM.ff
    return OverlayFit(p, bram18, int(overlay_lut + PLATFORM.lut), int(ff), est["DSP"], int(overlay_lut))


def _largest(P: int, skip: int, budget: float):
    """(params, fit) of the most entries, then pointers, then rows within the RAMB18 budget; None."""
    lut_rows = BLOCK_BITS // BASE["ACCW"]  # accumulator / bias memories in LUT RAM up to this depth
    best = None
    for rows in (lut_rows, 64, 128):
        for ent in range(512, 32768 + 1, 512):  # PTR_LANE 16 bits: ENT_D <= 32768
            for ptr in range(512, 8192 + 1, 256):
                p = EngineParams(P=P, OL=min(16, P), ENT_D=ent, PTR_D=ptr, ACC_D=rows, BIAS_D=rows, SKIP=skip,
                                 **BASE)
                fit = overlay_fit(p)
                if fit.bram18 > budget:
                    continue
                key = (ent, ptr, rows)
                if best is None or key > best[0]:
                    best = (key, p, fit)
    return None if best is None else best[1:]


def size_for(board, P: int, *, bram_limit: float = BRAM_LIMIT, lut_limit: float = LUT_LIMIT) -> EngineParams:
    """The largest overlay engine with P PEs for `board` (a flow.board.boards.Board): with the PEs'
    non-empty column bits (SKIP = 1) where their LUTs fit, else without (SKIP = 0)."""
    res = board.resources
    budget = bram_limit * res.bram18
    problem = ""
    for skip in (1, 0):
        found = _largest(P, skip, budget)
        if found is None:
            continue
        p, fit = found
        problem = fit.lut_problem(res.lut, lut_limit)
        if not problem:
            break
    else:
        if problem:
            raise UsageError(f"{problem} ({board.name}); take a smaller P")
        raise UsageError(
            f"no overlay with P={P} fits {board.name}: even ENT_D=512, PTR_D=512 needs more than "
            f"{budget:.0f} of {res.bram18} RAMB18; take a smaller P"
        )
    # the load readback (LOAD_READ) where its LUTs fit too
    if not overlay_fit(p.with_(LD_READ=1)).lut_problem(res.lut, lut_limit):
        p = p.with_(LD_READ=1)
    return p


def preset(board, P: int) -> EngineParams:
    """The engine preset `overlay: p<P>` of board.yaml (validated as EngineParams)."""
    key = f"p{P}"
    if key not in board.overlay:
        have = ", ".join(sorted(board.overlay, key=lambda k: int(k[1:]))) or "none"
        raise UsageError(
            f"board {board.name} has no overlay preset for P={P} (presets: {have}); add `overlay: {key}:` "
            f"to boards/{board.name}/board.yaml (python -m flow.overlay.sizing {board.name} {P} prints one)"
        )
    return EngineParams(**board.overlay[key])


def preset_yaml(p: EngineParams) -> str:
    keys = ("P", "DMAX", "NL", "NX", "ENT_D", "PTR_D", "ACC_D", "BIAS_D", "MAXG", "OL", "ANYR",
            "XW", "WW", "ACCW", "CBW", "IXW", "CB_SLOTS", "LD_READ", "SKIP")
    return f"  p{p.P}: {{" + ", ".join(f"{k}: {getattr(p, k)}" for k in keys) + "}"


if __name__ == "__main__":  # python -m flow.overlay.sizing <board> <P>...
    import sys

    from flow.board.boards import load_board

    b = load_board(sys.argv[1])
    for P in map(int, sys.argv[2:]):
        p = size_for(b, P)
        f = overlay_fit(p)
        print(preset_yaml(p) + f"  # modelled: {f.bram18:.0f}/{b.resources.bram18} RAMB18, "
              f"{f.overlay_lut} LUT overlay, {f.lut}/{b.resources.lut} with the DMA, {f.dsp} DSP")
