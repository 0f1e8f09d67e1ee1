"""How big an MLP fits on chip, EIE-compressed vs dense 16-bit, and modelled EIE throughput.

Run:  python bench/board_fit.py        (with eie-flow installed; writes bench/results/board_fit.json)

1. Fit. Network family 784-h-h/3-10 (LeNet-300-100 is h=300), ReLU, params counted as dense
   weights + biases. EIE: 10 % of the weights kept (random mask, seed 0), 4-bit codes, 4-bit
   relative indices (filler entries counted exactly), 8-bit codebook values, 16-bit activations,
   the accumulator wide enough for n_in products. Dense: hls4ml-style, every weight on chip at 16
   bits, in as many banks as multipliers. For each board and each PE / multiplier count P in
   PE_CHOICES (per layer, at most n_out) the largest h whose estimate (flow.board.resources) passes
   check_fit at 90 % is found by bisection; the best P is reported.
2. Throughput. LeNet-300-100 at Deep Compression's sparsity (Han et al., ICLR 2016, Table 2:
   8 %, 9 %, 26 % of the weights kept), random shared weights (flow.testing.random_layer), the
   same formats. Cycles from flow.eie.perf (the kernel's schedule: one entry per PE per cycle, an
   empty column still costs one cycle per PE, FIFO back-pressure; plus the detector scan, bias
   preload and gather around the PE array), for all inputs non-zero and for the first 100 MNIST
   test images (zero pixels and zero ReLU outputs are skipped), plus the AXI-stream words in and
   out; one sample at a time, no overlap. Inferences/s = board clock / cycles. Every PE count of
   PE_CHOICES that fits is evaluated (JSON "sweep"); the table shows the fastest on MNIST. Next to
   it: numpy float32 on this CPU (batch 1 and batch 1000).
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np


from flow.board.boards import load_board  # noqa: E402
from flow.errors import FitError  # noqa: E402
from flow.board.resources import LayerFootprint, check_fit, estimate, estimate_dense  # noqa: E402

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


def mnist_inputs(n=100) -> tuple[np.ndarray, str]:
    """The first n MNIST test images in [0, 1] (only their zero pattern matters), or a stand-in.

    The folder is flow.testing.find_mnist_dir's: FLOW_DATA_DIR, else ../shared/data/mnist.
    """
    from flow.testing import find_mnist_dir
    from flow.data import read_mnist

    folder = find_mnist_dir()
    if folder is not None:
        data = read_mnist(folder, "x_test")
        return data[:n].reshape(n, 784) / 255.0, f"first {n} MNIST test images"
    rng = np.random.default_rng(2)
    x = np.where(rng.random((n, 784)) < 0.19, rng.random((n, 784)), 0.0)
    return x, f"{n} random inputs with 19 % non-zero pixels (MNIST idx files not found: set FLOW_DATA_DIR)"


def lenet_layers(n_pe, seed=1):
    from flow.testing import random_layer

    rng = np.random.default_rng(seed)
    shapes = [(784, 300), (300, 100), (100, 10)]
    return [random_layer(rng, a, b, density=d, n_pe=min(n_pe, b), activation=act, name=f"fc{i + 1}")
            for i, ((a, b), d, act) in enumerate(zip(shapes, PAPER_DENSITY, ("relu", "relu", "linear")))]


def lenet_throughput(board) -> dict:
    """LeNet-300-100 for every PE count of PE_CHOICES that fits; the fastest on MNIST inputs is `best`."""
    from flow.board.resources import estimate_eie_layers

    sweep = []
    for p in PE_CHOICES:
        layers = lenet_layers(p)
        if fits(estimate_eie_layers(layers), board):
            sweep.append(lenet_point(board, p, layers))
    best = max(sweep, key=lambda r: r["inf_per_s_mnist"])
    return {**best, "sweep": [{k: r[k] for k in ("P", "cycles_all_nonzero", "cycles_mnist", "inf_per_s_mnist",
                                                 "bram18", "dsp")} for r in sweep]}


def lenet_point(board, p, layers) -> dict:
    from flow.eie import perf
    from flow.board.resources import estimate_eie_layers

    est = estimate_eie_layers(layers)
    words = math.ceil(784 * ACT_BITS / board.dma.stream_bits) + math.ceil(10 * ACT_BITS / board.dma.stream_bits)
    dense_all = [perf.layer_cycles(ly) for ly in layers]  # every input activation non-zero
    x, what = mnist_inputs()
    x_raw = layers[0].input_t.quantize(x)
    per_sample = perf.network_cycles(layers, x_raw)
    hz = board.clock_mhz * 1e6
    pe_all = sum(c.cycles for c in dense_all)
    tot_all = sum(c.total_cycles for c in dense_all) + words
    pe_mnist = float(np.mean([sum(c.cycles for c in s) for s in per_sample]))
    tot_mnist = float(np.mean([sum(c.total_cycles for c in s) for s in per_sample])) + words
    return {
        "board": board.name, "P": p, "pe_per_layer": [ly.n_pe for ly in layers],
        "nnz": int(sum(ly.encoding.nnz for ly in layers)),
        "entries": int(sum(ly.encoding.n_entries for ly in layers)),
        "cycles_model": "flow.eie.perf.layer_cycles/network_cycles (PE-array schedule + detector scan, "
                        "bias preload, gather) + AXI-stream words in and out; one sample at a time",
        "inputs": what, "stream_words": words,
        "pe_cycles_all_nonzero": pe_all, "cycles_all_nonzero": tot_all, "inf_per_s_all_nonzero": hz / tot_all,
        "pe_cycles_mnist": pe_mnist, "cycles_mnist": tot_mnist, "inf_per_s_mnist": hz / tot_mnist,
        "load_efficiency": [round(c.efficiency, 3) for c in dense_all],
        "bram18": est.total.bram18, "dsp": est.total.dsp, "lut": est.total.lut,
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
    console.width = max(console.width, 140)
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
    t2 = Table(title="LeNet-300-100 at Deep Compression sparsity (8/9/26 %): modelled EIE vs numpy float32")
    for col in ("engine", "PEs/layer", "PE-array cycles", "total cycles", "inf/s", "MNIST: total cycles",
                "MNIST: inf/s", "BRAM18", "DSP"):
        t2.add_column(col, justify="left" if col == "engine" else "right")
    for r in thr:
        t2.add_row(f"EIE {r['board']} {load_board(r['board']).clock_mhz:g} MHz",
                   "/".join(map(str, r["pe_per_layer"])), f"{r['pe_cycles_all_nonzero']:,}",
                   f"{r['cycles_all_nonzero']:,}", f"{r['inf_per_s_all_nonzero']:,.0f}",
                   f"{r['cycles_mnist']:,.0f}", f"{r['inf_per_s_mnist']:,.0f}", str(r["bram18"]), str(r["dsp"]))
    t2.add_row(f"numpy f32 batch 1 ({cpu['cpu']})", "", "", "", f"{cpu['inf_per_s_batch1']:,.0f}", "", "", "", "")
    t2.add_row("numpy f32 batch 1000", "", "", "", f"{cpu['inf_per_s_batch1000']:,.0f}", "", "", "", "")
    console.print(t2)
    console.print(f"cycles: {thr[0]['cycles_model']}; inputs for the MNIST columns: {thr[0]['inputs']}")
    console.print(f"fit search took {t_fit:.1f} s")

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
