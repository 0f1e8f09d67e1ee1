#!/usr/bin/env python
"""Roofline of the RTL engine at P = 64: where each layer sits under the multiplier roof and the
weight-memory roof.

    PYTHONPATH=. python bench/roofline.py [--rtl] [--n 50] [--data-dir ../shared/data/mnist]
        [--out bench/results/roofline.json]   (also writes the .png beside it)

Axes: operational intensity I = useful MACs per entry word read from the PEs' entry memories (an
entry word is CBW + IXW bits, code and relative index, 8 to 10 bits here: the JSON gives bytes
too; fillers cost a word but no MAC), and attained MACs per cycle = useful MACs / the layer's
cycles (SETUP + RUN + GATHER, the engine's full per-layer cost).
Roofs (the engine's, not a device's): the multiplier roof, P MACs per cycle (one multiplier per
PE: 64 DSPs at P = 64 by Yosys, bench/results/rtl.json), and the on-chip memory roof: each PE's
entry memory has one read port, P entry words per cycle, so attained <= P x I. A stored entry
gives at most one MAC, so I <= 1 (the ridge): EIE has no weight reuse, every point sits on the
memory slope, and its distance below the roof is cycles in which a PE reads no entry (broadcast
starvation, queue gating, pipeline drain, SETUP and GATHER).

Points (every one labelled):
- LeNet-300-100 (784-300-100-10) laid out as the accuracy model of bench/results/rtl.json (P = 64,
  G = 4/2/8, D = 8, code bits 4/4/5, index bits 6/5/4, sparsity 0.94/0.92/0.75 by load-balance-
  aware pruning) but with SYNTHETIC weights (random, flow.compress.prune.balanced_mask,
  shared values as flow.testing.shared_kernel): the trained model is not in the repository.
  Inputs: the first --n MNIST test images (flow.testing.mnist_test). Cycles measured by RTL
  simulation (Verilator, flow.rtl.run.simulate_layers) with --rtl, else modelled by
  flow.eie.perf_rtl (equal to the RTL cycle for cycle in tests/rtl/test_rtl_sim.py): the
  label says which. The trained model's measured per-layer cycles are in rtl.json.
- EIE's Table III layer shapes (Han et al., ISCA 2016: weight and activation densities) at
  P = 64, G = 1, D = 8, 4-bit codes and indices, random weights and activations of those
  densities: modelled by flow.eie.perf_rtl (the engine is not sized for them); at most
  --max-cols input columns of a layer are modelled (a slice: the label says so).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

P = 64
#: EIE (ISCA 2016) Table III: name, n_in, n_out, weight density, activation density
TABLE_III = [
    ("Alex-6", 9216, 4096, 0.09, 0.351), ("Alex-7", 4096, 4096, 0.09, 0.353),
    ("Alex-8", 4096, 1000, 0.25, 0.375), ("VGG-6", 25088, 4096, 0.04, 0.183),
    ("VGG-7", 4096, 4096, 0.04, 0.375), ("VGG-8", 4096, 1000, 0.23, 0.411),
    ("NT-We", 4096, 600, 0.10, 1.0), ("NT-Wd", 600, 8791, 0.11, 1.0), ("NT-LSTM", 1201, 2400, 0.10, 1.0),
]  # fmt: skip
#: the accuracy model's layout (examples/lenet300_mnist_p64.yaml)
LENET = [("ip1", 784, 300, 0.94, 4, 4, 6), ("ip2", 300, 100, 0.92, 2, 4, 5), ("ip3", 100, 10, 0.75, 8, 5, 4)]


def work(layer, x_raw) -> tuple[np.ndarray, np.ndarray]:
    """(useful MACs, entry words read) per input row: over the columns with a non-zero
    activation, the non-filler entries and all entries of every PE."""
    enc = layer.encoding
    macs_col = np.zeros(enc.shape[1], np.int64)
    ent_col = np.zeros(enc.shape[1], np.int64)
    for k, pe in enumerate(enc.pes):
        cols = enc.pe_columns(k)
        cs = np.concatenate([[0], np.cumsum(pe.codes != 0)])
        lo, hi = pe.colptr[:-1][: cols.size], pe.colptr[1:][: cols.size]
        macs_col[cols] += cs[hi] - cs[lo]
        ent_col[cols] += hi - lo
    nz = np.atleast_2d(x_raw) != 0
    return nz @ macs_col, nz @ ent_col


def synthetic_layer(rng, name, n_in, n_out, sparsity, G, code_bits, index_bits, balanced=True, relu=True):
    from flow.compress.prune import balanced_mask, magnitude_mask
    from flow.testing import dense_layer, shared_kernel

    kernel = shared_kernel(rng, (n_in, n_out), 1.0, code_bits, scale=1.5 / np.sqrt(max(1.0, (1 - sparsity) * n_in)))
    rank = rng.normal(size=kernel.shape)  # continuous magnitudes for the mask: no ties among the shared values
    mask = balanced_mask(rank, sparsity, P // G) if balanced else magnitude_mask(rank, sparsity)
    bias = np.round(rng.normal(0, 0.05, n_out) * 1024) / 1024
    return dense_layer(name, kernel * mask, bias, n_pe=P, col_groups=G, code_bits=code_bits,
                       index_bits=index_bits, activation="relu" if relu else "linear")  # fmt: skip


def lenet_points(n: int, rtl: bool, seed: int) -> list[dict]:
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.eie.reference import eie_dense
    from flow.rtl.params import params_for
    from flow.testing import mnist_test

    rng = np.random.default_rng(seed)
    layers = [synthetic_layer(rng, nm, i, o, s, g, cb, ib, relu=nm != "ip3") for nm, i, o, s, g, cb, ib in LENET]
    x, source = mnist_test(n)
    x_raw = layers[0].input_t.quantize(x)
    params = params_for(layers)
    if rtl:
        from flow.rtl.run import simulate_layers

        cycles = simulate_layers(layers, x_raw, params)["layer_cycles"].astype(float)
        how = "measured (RTL simulation, Verilator)"
    else:
        per, _ = rtl_network_cycles(layers, x_raw, params)
        cycles = np.array([[c.total for c in p] for p in per], float)
        how = "modelled (flow.eie.perf_rtl, equal to the RTL)"
    pts, a = [], x_raw
    for li, layer in enumerate(layers):
        macs, ents = work(layer, a)
        pts.append(_point(f"LeNet-300-100 {layer.name} (synthetic weights, {source} inputs)", how, layer,
                          macs.mean(), ents.mean(), cycles[:, li].mean(), n=len(a)))  # fmt: skip
        a = eie_dense(a, layer)
    return pts


def table3_points(max_cols: int, seed: int) -> list[dict]:
    from flow.eie.perf_rtl import rtl_layer_cycles
    from flow.rtl.params import params_for

    rng = np.random.default_rng(seed)
    pts = []
    for name, n_in, n_out, wd, ad in TABLE_III:
        cols = min(n_in, max_cols)
        layer = synthetic_layer(rng, name, cols, n_out, 1 - wd, 1, 4, 4, balanced=False)
        x = np.where(rng.random(cols) < ad, rng.integers(1, 256, cols), 0)
        c = rtl_layer_cycles(layer, x, params_for([layer], NX=-(-max(cols, n_out) // 64) * 64), first=False)
        macs, ents = work(layer, x)
        label = f"EIE Table III {name} ({n_in}x{n_out}{f', first {cols} columns' if cols < n_in else ''})"
        pts.append(_point(label, "modelled (flow.eie.perf_rtl)", layer, float(macs[0]), float(ents[0]), float(c.total),
                          run_cycles=c.run))  # fmt: skip
    return pts


def _point(label, how, layer, macs, entries, cycles, **extra) -> dict:
    eb = (layer.code_bits + layer.index_bits) / 8
    return {"label": label, "how": how, "macs": round(float(macs), 1), "entry_words": round(float(entries), 1),
            "entry_bytes": eb, "cycles": round(float(cycles), 1),
            "intensity_mac_per_word": float(macs / max(entries, 1e-9)),
            "intensity_mac_per_byte": float(macs / max(entries * eb, 1e-9)),
            "macs_per_cycle": float(macs / cycles), **extra}  # fmt: skip


def plot(points: list[dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = np.logspace(-1, 1, 200)
    ax.plot(xs, np.minimum(P, P * xs), "k-", lw=1,
            label=f"roofs: {P} multipliers (MAC/cycle); {P} entry-memory reads per cycle")  # fmt: skip
    for pt in points:
        meas = pt["how"].startswith("measured")
        ax.scatter(pt["intensity_mac_per_word"], pt["macs_per_cycle"], marker="o" if meas else "s",
                   facecolors="C0" if meas else "none", edgecolors="C0" if "LeNet" in pt["label"] else "C3")  # fmt: skip
        ax.annotate(pt["label"].split(" (")[0].replace("EIE Table III ", "").replace("LeNet-300-100 ", "LeNet "),
                    (pt["intensity_mac_per_word"], pt["macs_per_cycle"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(0.3, 3)
    ax.set_ylim(1, 2 * P)
    ax.set_xlabel("useful MACs per entry word read (entry: code + relative index)")
    ax.set_ylabel("MACs per cycle (layer: SETUP + RUN + GATHER)")
    lenet_how = next((p["how"] for p in points if "LeNet" in p["label"]), "")
    ax.set_title(f"EIE RTL engine, P = {P}: blue LeNet-300-100 (synthetic weights, {lenet_how.split(' (')[0]}), "
                 "red EIE Table III shapes (modelled)", fontsize=8)  # fmt: skip
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(True, which="both", lw=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtl", action="store_true", help="LeNet cycles by Verilator (else the cycle model)")
    ap.add_argument("--n", type=int, default=50, help="MNIST test images for the LeNet points")
    ap.add_argument("--max-cols", type=int, default=2048, help="input columns modelled per Table III layer")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", type=Path, default=None, help="MNIST idx folder (else $FLOW_DATA_DIR, ../shared/data/mnist)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "roofline.json")
    ap.add_argument("--png", type=Path, default=None, help="default: --out with .png")
    args = ap.parse_args(argv)
    if args.data_dir:
        os.environ["FLOW_DATA_DIR"] = str(args.data_dir)
    t0 = time.perf_counter()
    from flow.errors import FlowError

    try:
        points = lenet_points(args.n, args.rtl, args.seed) + table3_points(args.max_cols, args.seed)
    except FlowError as e:  # e.g. --rtl without verilator: one line, nothing written
        print(f"bench/roofline.py: {e}", file=sys.stderr)
        return 1
    res = {"P": P, "roofs": {"macs_per_cycle": P, "entry_words_per_cycle": P,
                             "note": "engine roofs: one multiplier and one entry-memory read port per PE"},
           "points": points, "wall_s": round(time.perf_counter() - t0, 1), "command": " ".join(sys.argv)}  # fmt: skip
    png = args.png or args.out.with_suffix(".png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(points, png)
    args.out.write_text(json.dumps(res, indent=1))
    print("| point | how | MACs | entry words | cycles | MAC/word | MAC/cycle | of roof |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for p in points:
        roof = min(P, P * p["intensity_mac_per_word"])
        print(f"| {p['label']} | {p['how']} | {p['macs']:.0f} | {p['entry_words']:.0f} | {p['cycles']:.0f} | "
              f"{p['intensity_mac_per_word']:.3f} | {p['macs_per_cycle']:.1f} | {100 * p['macs_per_cycle'] / roof:.0f} % |")  # fmt: skip
    print(f"\nwrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
