#!/usr/bin/env python
"""Co-design of column groups and load-balanced pruning with the RTL's cycle model (issue 21).

    PYTHONPATH=. python bench/codesign.py --config examples/lenet300_mnist_p64_codesign.yaml \
        --data-dir ../shared/data/mnist [--seed 0] [--n 200] [--groups 2,4,8] [--out bench/results/codesign.json]

Load-balance-aware pruning keeps the same count of a column's weights on every row-PE of its
group, R = n_pe / G of them, so the column groups G of a layer decide its mask as well as its
schedule: they must be chosen before pruning. This trains the config's dense model (seconds for
LeNet-300-100), prunes each Dense layer one-shot with `balanced_mask` at the config's sparsity for
every G, and reports per layer and G:
- the modelled RTL cycles of the layer (SETUP + RUN + GATHER, flow.eie.perf_rtl, the model that
  tests/rtl proves equal to the RTL) on the first --n test images, each layer fed the previous
  masked layer's activations (float; only which are non-zero matters to the schedule);
- the kept magnitude relative to plain magnitude pruning at the same sparsity, a cheap proxy for
  what the balance costs in accuracy (the accuracy itself needs the whole flow: bench/deep_compression.py).
It picks, per layer, the G that keeps the most magnitude among those within --tolerance (5 %) of
the layer's fewest cycles: near-ties in cycles go to the milder balance. With --board B the pick
must also load onto B's P = n_pe overlay (boards/B/board.yaml: G <= MAXG, each layer's local rows
<= ACC_D, all layers' local rows <= BIAS_D): among the combinations that fit, the fewest total
cycles (then the most kept magnitude). The pick is modelled, on a one-shot mask; the
trained model's cycles are measured afterwards (bench/rtl.py --p64 / bench/rtl_cycles.py --model).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def dense_model(cfg):
    """(trained dense Keras model, dataset) exactly as `flow compress` starts."""
    from flow.compress.pipeline import prepare, train_dense

    ds, model, sp = prepare(cfg)
    train_dense(cfg, model, sp, progress=False)
    return model, ds


def layer_cycles(name, kernel, x_nz, n_pe, G, fifo_depth, index_bits, first, walk: int = 1):
    """Mean modelled RTL cycles (1 + RUN + GATHER) of a masked kernel for inputs x_nz (0/1) on an
    engine walking ``walk`` entries per PE per cycle (the engine parameter WALK)."""
    from flow.eie.perf_rtl import rtl_layer_cycles
    from flow.rtl.params import params_for
    from flow.testing import dense_layer

    q = np.where(kernel != 0, np.sign(kernel) / 8, 0.0)  # values do not change the schedule
    layer = dense_layer(name, q, np.zeros(kernel.shape[1]), n_pe=n_pe, col_groups=G, fifo_depth=fifo_depth,
                        index_bits=index_bits)
    xr = layer.input_t.quantize(x_nz)
    params = params_for([layer]).with_(WALK=walk)
    return float(np.mean([rtl_layer_cycles(layer, xr[i], params, first).total for i in range(len(xr))]))


def per_layer_pick(per_layer, choice) -> list[dict]:
    return [next(r for r in cands if r["G"] == choice[r["layer"]]) for cands in per_layer]


def main(argv=None) -> int:
    from flow.cli.options import load_config_with
    from flow.compress.matrices import get_kernel
    from flow.compress.prune import balanced_mask, magnitude_mask
    from flow.eie.perf_rtl import layout_problems
    from flow.models import weight_layers

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=200, help="test images for the cycle model")
    ap.add_argument("--groups", default="2,4,8", help="column groups to try (powers of two; the shipped overlays have MAXG = 8)")
    ap.add_argument("--board", default=None, help="pick only layouts that load onto this board's overlay preset")
    ap.add_argument("--walk", type=int, default=1, choices=(1, 2),
                    help="the engine's WALK: entries per PE per cycle (2: two multipliers a PE)")
    ap.add_argument("--tolerance", type=float, default=0.05, help="cycles within this fraction of the best tie")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "codesign.json")
    args = ap.parse_args(argv)
    if not args.config.is_file():
        print(f"error: no config file {args.config}", file=sys.stderr)
        return 2
    try:
        groups = [int(g) for g in args.groups.split(",")]
    except ValueError:
        print(f"error: --groups {args.groups!r} must be comma-separated integers, e.g. 2,4,8,16", file=sys.stderr)
        return 2
    cfg = load_config_with(argparse.Namespace(data_dir=args.data_dir), args.config)
    cfg.seed = args.seed
    cap = None
    if args.board:
        from flow.board.boards import load_board
        from flow.overlay.sizing import preset

        try:
            cap = preset(load_board(args.board), int(cfg.hls.n_pe))
        except Exception as e:  # noqa: BLE001 - an unknown board or P: one message, exit 2
            print(f"error: --board {args.board}: {e}", file=sys.stderr)
            return 2
    c = cfg.compress
    t0 = time.perf_counter()
    model, ds = dense_model(cfg)
    t_dense = time.perf_counter() - t0
    x = ds.x_test[: args.n].reshape(args.n, -1).astype(np.float64)
    rows, choice, per_layer = [], {}, []
    a = {g: x for g in groups}  # each G's own masked activations feed its next layer
    a_pick = x
    dense_layers = [l for l in weight_layers(model) if type(l).__name__ == "Dense"]
    for li, layer in enumerate(dense_layers):
        k = cfg.hls.knobs_of(layer.name)
        kernel = get_kernel(layer)
        bias = layer.get_weights()[1] if len(layer.get_weights()) > 1 else np.zeros(kernel.shape[1])
        sp = c.layer_sparsity.get(layer.name, c.sparsity)
        mag = magnitude_mask(kernel, sp)
        base = float(np.abs(kernel)[mag].sum())
        relu = li < len(dense_layers) - 1
        cands = []
        for G in groups:
            bad = layout_problems(int(k["n_pe"]), G)
            if bad or k["n_pe"] // G < 1:
                rows.append({"layer": layer.name, "G": G, "refused": "; ".join(bad)})
                continue
            m = balanced_mask(kernel, sp, k["n_pe"] // G)
            kk = kernel * m
            cyc = layer_cycles(layer.name, kk, (a_pick != 0).astype(float), int(k["n_pe"]), G,
                               int(k["fifo_depth"]), int(c.layer_index_bits.get(layer.name, c.index_bits)), li == 0, args.walk)
            row = {"layer": layer.name, "G": G, "R": k["n_pe"] // G, "kept": round(float(m.mean()), 4),
                   "local_rows": -(-kernel.shape[1] // (k["n_pe"] // G)),
                   "kept_magnitude_vs_magnitude_pruning": round(float(np.abs(kernel)[m].sum()) / base, 4),
                   "cycles": round(cyc, 2)}
            rows.append(row)
            out = a_pick @ kk + bias
            a[G] = np.maximum(out, 0) if relu else out
            cands.append(row)
        per_layer.append(cands)
        fastest = min(r["cycles"] for r in cands)
        near = [r for r in cands if r["cycles"] <= fastest * (1 + args.tolerance)]
        pick = max(near, key=lambda r: (r["kept_magnitude_vs_magnitude_pruning"], -r["cycles"]))["G"]
        choice[layer.name] = pick
        a_pick = a[pick]
    fit = None
    if cap is not None:
        combos = [c for c in itertools.product(*per_layer)
                  if all(r["G"] <= cap.MAXG and r["local_rows"] <= cap.ACC_D for r in c)
                  and sum(r["local_rows"] for r in c) <= cap.BIAS_D]
        if not combos:
            print(f"error: no layout of these groups fits the {args.board} P={cap.P} overlay "
                  f"(MAXG {cap.MAXG}, ACC_D {cap.ACC_D}, BIAS_D {cap.BIAS_D})", file=sys.stderr)
            return 2
        best = min(combos, key=lambda c: (sum(r["cycles"] for r in c),
                                          -sum(r["kept_magnitude_vs_magnitude_pruning"] for r in c)))
        if any(choice[r["layer"]] != r["G"] for r in best):
            print(f"(the per-layer pick {choice} does not load onto the {args.board} overlay: "
                  f"local rows {sum(r['local_rows'] for r in per_layer_pick(per_layer, choice))} > BIAS_D {cap.BIAS_D} "
                  "or a G/ACC_D limit; fewest total cycles among those that fit)")
        choice = {r["layer"]: r["G"] for r in best}
        fit = {"board": args.board, "P": cap.P, "MAXG": cap.MAXG, "ACC_D": cap.ACC_D, "BIAS_D": cap.BIAS_D,
               "local_rows": sum(r["local_rows"] for r in best)}
    res = {
        "config": str(args.config), "seed": args.seed, "n": args.n, "walk": args.walk, "dense_seconds": round(t_dense, 1),
        "source": "modelled: one-shot balanced masks of the dense model, flow.eie.perf_rtl cycles (= RTL)",
        "tolerance": args.tolerance, "rows": rows, "choice": choice, "overlay_fit": fit,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".part")
    tmp.write_text(json.dumps(res, indent=1))
    tmp.replace(args.out)  # never a half-written result
    print("| layer | G | R | kept | kept magnitude vs magnitude pruning | modelled cycles (1 + RUN + GATHER) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "refused" in r:
            print(f"| {r['layer']} | {r['G']} | refused: {r['refused']} | | | |")
        else:
            mark = " (pick)" if choice.get(r["layer"]) == r["G"] else ""
            print(f"| {r['layer']} | {r['G']}{mark} | {r['R']} | {r['kept']:.4f} | "
                  f"{r['kept_magnitude_vs_magnitude_pruning']:.3f} | {r['cycles']:.1f} |")
    if fit:
        print(f"\nloads onto the {fit['board']} P={fit['P']} overlay: {fit['local_rows']} local rows <= BIAS_D {fit['BIAS_D']}")
    how = (f"fewest modelled cycles among the layouts that load onto the {fit['board']} overlay" if fit else
           f"most kept magnitude within {args.tolerance:.0%} of the fewest modelled cycles")
    print(f"\npick ({how}): {choice}\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
