"""How big an MLP fits on chip, EIE-compressed vs dense 16-bit, and modelled EIE throughput.

Run:  /work/venv/bin/python bench/board_fit.py        (writes bench/results/board_fit.json)

1. Fit. Network family 784-h-h/3-10 (LeNet-300-100 is h=300), ReLU, params counted as dense
   weights + biases. EIE: 10 % of the weights kept (random mask, seed 0), 4-bit codes, 4-bit
   relative indices (filler entries counted exactly), 8-bit codebook values, 16-bit activations,
   the accumulator wide enough for n_in products. Dense: hls4ml-style, every weight on chip at 16
   bits, in as many banks as multipliers. For each board and each PE / multiplier count P in
   PE_CHOICES (per layer, at most n_out) the largest h whose estimate (flow.resources) passes
   check_fit at 90 % is found by bisection; the best P is reported.
2. Throughput. LeNet-300-100 at Deep Compression's sparsity (Han et al., ICLR 2016, Table 2:
   8 %, 9 %, 26 % of the weights kept), same formats, with the largest P of PE_CHOICES that fits.
   Cycles = sum over layers of the largest per-PE entry count (each PE retires one entry per
   cycle; every input activation non-zero; no pipeline fill), as flow.eie.perf is not there yet;
   a second, conservative figure charges at least one cycle per column per PE (pointer fetch of an
   empty column) and adds the AXI-stream transfer of the input and output words. Inferences/s =
   board clock / cycles, batch 1, no overlap of samples. Next to it: numpy float32 on this CPU
   (batch 1 and batch 1000).
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flow.boards import load_board  # noqa: E402
from flow.errors import FitError  # noqa: E402
from flow.resources import LayerFootprint, check_fit, estimate, estimate_dense  # noqa: E402

BOARDS = ["pynq-z2", "kv260"]
PE_CHOICES = [8, 16, 32, 64, 128]
DENSITY = 0.10
CODE_BITS, INDEX_BITS, WEIGHT_BITS, ACT_BITS = 4, 4, 8, 16
PAPER_DENSITY = (0.08, 0.09, 0.26)
LIMIT = 0.90
URAM_MIN_DEPTH = 4096  # boards with UltraRAM: per-PE sparse-matrix ROMs this deep go to URAM
OUT = Path(__file__).resolve().parent / "results" / "board_fit.json"


def family(h: int) -> list[tuple[int, int]]:
    return [(784, h), (h, max(1, h // 3)), (max(1, h // 3), 10)]


def dense_params(shapes) -> int:
    return sum(n_in * n_out + n_out for n_in, n_out in shapes)


def accum_bits(n_in: int) -> int:
    return ACT_BITS + WEIGHT_BITS + math.ceil(math.log2(n_in)) + 1


def eie_layers(shapes, densities, n_pe, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for i, ((n_in, n_out), d) in enumerate(zip(shapes, densities)):
        mask = rng.random((n_out, n_in), dtype=np.float32) < d
        layers.append(LayerFootprint.from_mask(
            f"fc{i + 1}", mask, min(n_pe, n_out), index_bits=INDEX_BITS, code_bits=CODE_BITS,
            accum_bits=accum_bits(n_in), input_bits=ACT_BITS, weight_bits=WEIGHT_BITS,
            output_bits=ACT_BITS))
    return layers


def fits(est, board) -> bool:
    try:
        check_fit(est, board, LIMIT)
        return True
    except FitError:
        return False


def eie_estimate(h, p):
    shapes = family(h)
    return estimate(eie_layers(shapes, [DENSITY] * 3, p))


def eie_uram_estimate(h, p):
    shapes = family(h)
    return estimate(eie_layers(shapes, [DENSITY] * 3, p), uram_min_depth=URAM_MIN_DEPTH)


def dense_estimate(h, p):
    shapes = family(h)
    return estimate_dense(shapes, [min(p, n_out) for _, n_out in shapes], weight_bits=16)


def largest(make, board, p, lo=30, hi=12000):
    """Largest h in [lo, hi] whose design fits (bisection; fit is monotone in h up to noise)."""
    if not fits(make(lo, p), board):
        return None
    while hi - lo > max(2, lo // 100):
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(make(mid, p), board) else (lo, mid)
    return lo


def fit_row(board, design, make):
    best = None
    for p in PE_CHOICES:
        h = largest(make, board, p)
        if h is not None and (best is None or h > best[0]):
            best = (h, p)
    if best is None:
        return {"board": board.name, "design": design, "fits": False}
    h, p = best
    est = make(h, p)
    util = est.utilisation(board)
    shapes = family(h)
    return {
        "board": board.name, "design": design, "fits": True, "h": h, "layers": shapes, "P": p,
        "dense_params": dense_params(shapes),
        "spmat_words": sum(m.depth * m.copies for m in est.memories if m.name.endswith(".spmat")),
        "bram18": est.total.bram18, "uram": est.total.uram, "dsp": est.total.dsp, "lut": est.total.lut,
        "utilisation": {k: round(v, 3) for k, v in util.items()},
    }


def column_entries(local_mask) -> np.ndarray:
    """Entries (fillers included) of each column of one PE's rows, as flow.eie.encode stores them."""
    cols, rows = np.nonzero(local_mask.T)
    prev = np.empty_like(rows)
    prev[0:1] = -1
    prev[1:] = np.where(cols[1:] == cols[:-1], rows[:-1], -1)
    cost = 1 + (rows - prev - 1) // (1 << INDEX_BITS)
    return np.bincount(cols, weights=cost, minlength=local_mask.shape[1]).astype(np.int64)


def lenet_cycles(layers) -> dict:
    compute = sum(max(ly.pe_entries) for ly in layers)
    return {"compute": int(compute)}


def lenet_throughput(board) -> dict:
    shapes = [(784, 300), (300, 100), (100, 10)]
    chosen = None
    for p in PE_CHOICES:
        layers = eie_layers(shapes, PAPER_DENSITY, p, seed=1)
        if fits(estimate(layers), board):
            chosen = (p, layers)
    p, layers = chosen
    # conservative: per PE, each column costs max(1, its entries incl. fillers); plus the stream words
    rng = np.random.default_rng(1)
    conservative = 0
    for (n_in, n_out), d, ly in zip(shapes, PAPER_DENSITY, layers):
        mask = rng.random((n_out, n_in), dtype=np.float32) < d  # the masks eie_layers drew (same seed)
        conservative += max(int(np.maximum(column_entries(mask[k::ly.n_pe]), 1).sum()) for k in range(ly.n_pe))
    words = math.ceil(784 * ACT_BITS / board.dma.stream_bits) + math.ceil(10 * ACT_BITS / board.dma.stream_bits)
    compute = lenet_cycles(layers)["compute"]
    hz = board.clock_mhz * 1e6
    est = estimate(layers)
    return {
        "board": board.name, "P": p, "pe_per_layer": [ly.n_pe for ly in layers],
        "nnz_kept": int(sum(round(d * a * b) for (a, b), d in zip(shapes, PAPER_DENSITY))),
        "entries": int(sum(sum(ly.pe_entries) for ly in layers)),
        "cycles_model": "sum over layers of max per-PE entries (flow.eie.perf not available)",
        "cycles": compute, "cycles_conservative": conservative + words,
        "inf_per_s": hz / compute, "inf_per_s_conservative": hz / (conservative + words),
        "bram18": est.total.bram18, "dsp": est.total.dsp,
    }


def numpy_baseline(repeats=2000) -> dict:
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((a, b)).astype(np.float32) * 0.05 for a, b in ((784, 300), (300, 100), (100, 10))]
    bs = [np.zeros(b, np.float32) for b in (300, 100, 10)]

    def forward(x):
        for i, (w, b) in enumerate(zip(ws, bs)):
            x = x @ w + b
            if i < 2:
                x = np.maximum(x, 0)
        return x

    x1 = rng.standard_normal((1, 784)).astype(np.float32)
    xb = rng.standard_normal((1000, 784)).astype(np.float32)
    forward(x1), forward(xb)
    t = time.perf_counter()
    for _ in range(repeats):
        forward(x1)
    single = repeats / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(20):
        forward(xb)
    batched = 20 * 1000 / (time.perf_counter() - t)
    return {"cpu": platform.processor() or platform.machine(), "numpy": np.__version__,
            "inf_per_s_batch1": single, "inf_per_s_batch1000": batched}


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.width = max(console.width, 120)
    boards = [load_board(n) for n in BOARDS]
    t0 = time.perf_counter()
    fit = []
    for b in boards:
        fit.append(fit_row(b, f"EIE {DENSITY:.0%} density, {CODE_BITS}b code + {INDEX_BITS}b index", eie_estimate))
        if b.resources.uram:
            fit.append(fit_row(b, "EIE, same, deep ROMs in UltraRAM", eie_uram_estimate))
        fit.append(fit_row(b, "dense 16-bit (hls4ml-style)", dense_estimate))
    t_fit = time.perf_counter() - t0
    table = Table(title=f"Largest 784-h-h/3-10 MLP on chip (estimate <= {LIMIT:.0%} of every resource)")
    for col in ("board", "design", "h", "P", "dense params", "BRAM18", "URAM", "DSP", "LUT", "BRAM %", "LUT %"):
        table.add_column(col, justify="left" if col in ("board", "design") else "right")
    for r in fit:
        if not r["fits"]:
            table.add_row(r["board"], r["design"], "-", "-", "none fits", "", "", "", "", "", "")
            continue
        u = r["utilisation"]
        table.add_row(r["board"], r["design"], str(r["h"]), str(r["P"]), f"{r['dense_params']:,}",
                      str(r["bram18"]), str(r["uram"]), str(r["dsp"]), f"{r['lut']:,}", f"{u['bram18']:.0%}", f"{u['lut']:.0%}")
    console.print(table)

    thr = [lenet_throughput(b) for b in boards]
    cpu = numpy_baseline()
    t2 = Table(title="LeNet-300-100 at Deep Compression sparsity (8/9/26 %), modelled EIE vs numpy float32")
    for col in ("engine", "PEs/layer", "cycles", "inf/s", "conservative cycles", "inf/s (cons.)", "BRAM18", "DSP"):
        t2.add_column(col, justify="left" if col == "engine" else "right")
    for r in thr:
        t2.add_row(f"EIE on {r['board']} @ {load_board(r['board']).clock_mhz:g} MHz",
                   "/".join(map(str, r["pe_per_layer"])), f"{r['cycles']:,}", f"{r['inf_per_s']:,.0f}",
                   f"{r['cycles_conservative']:,}", f"{r['inf_per_s_conservative']:,.0f}",
                   str(r["bram18"]), str(r["dsp"]))
    t2.add_row(f"numpy float32, batch 1 ({cpu['cpu']})", "", "", f"{cpu['inf_per_s_batch1']:,.0f}", "", "", "", "")
    t2.add_row("numpy float32, batch 1000", "", "", f"{cpu['inf_per_s_batch1000']:,.0f}", "", "", "", "")
    console.print(t2)
    console.print(f"cycle model: {thr[0]['cycles_model']}; fit search took {t_fit:.1f} s")

    goal = next(r for r in fit if r["board"] == "pynq-z2" and r["design"].startswith("EIE"))
    ok = goal["fits"] and goal["dense_params"] >= 1_000_000
    console.print(f"goal (>= 1M dense parameters on chip on PYNQ-Z2): {'met' if ok else 'NOT met'}"
                  f" ({goal.get('dense_params', 0):,})")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"limit": LIMIT, "density": DENSITY, "code_bits": CODE_BITS,
                               "index_bits": INDEX_BITS, "fit": fit, "lenet_300_100": thr,
                               "numpy": cpu, "goal_1M_on_pynq_z2": ok}, indent=2))
    console.print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
