"""Load efficiency of LeNet-300-100 on 64 PEs, FIFO depth 8: PE layout x pruning.

Why: with EIE's row interleaving the busiest PE sets the pace, and on a small network (300 / 100 /
10 rows on 64 PEs) a broadcast column gives most PEs 0 or 1 entries, so a few PEs do the work of
the column while the others wait. Two remedies, measured here on the same MNIST test images:
- column groups (hls `col_groups`): the PEs split into G arrays that each own every G-th input
  column and add their partial sums in the gather, so every PE sees G times more rows per column;
- load-balance-aware pruning (compress `load_balance`, as in ESE, Han et al. FPGA 2017): the mask
  gives every row-PE the same number of weights in every column, so every broadcast activation
  costs every PE the same cycles.

Rows:
  1. magnitude pruning, row interleaving (G = 1)                      --baseline folder
  2. magnitude pruning, best G per layer (picked by the cycle model)  --baseline folder
  3. load-balance-aware pruning with the folder's own hls section     --balanced folder
Columns: test error of the compressed (fixed-point) model, work efficiency per layer and for the
network (ideal / modelled cycles, ideal = entries / P: flow.eie.perf, which csim's cycle counter
matches exactly), the EIE paper's load balance (1 - starvation bubbles / PE cycles), mean PE-array
and total cycles (with the detector scan, bias preload and gather), on-chip KB. With --csim, the
balanced model also runs through the kernel in C simulation: bit mismatches against the reference
and cycle-count mismatches against the model are reported (both must be 0).

    python bench/load_balance.py --data-dir ../shared/data/mnist [--n 200] [--csim]

The two compressed folders (--baseline, --balanced; default under --work) are made when missing,
about 6 min each, as by
    flow compress --config examples/lenet300_mnist.yaml --data-dir ../shared/data/mnist --out DIR
    flow compress --config examples/lenet300_mnist_p64.yaml --data-dir ../shared/data/mnist --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

N_PE, DEPTH = 64, 8  # one broadcast per cycle and column group (EIE's schedule, the only one)
GROUPS = (1, 2, 4, 8, 16)


def eie_layers(folder: Path, hls_layers: dict, work: Path, detect_width: int):
    from flow.compress.io import load_compressed
    from flow.config.hls import HLSConfig
    from flow.hls.convert import convert

    cm = load_compressed(folder)
    hls = HLSConfig(
        n_pe=N_PE, fifo_depth=DEPTH, detect_width=detect_width, layers=hls_layers
    )
    hm = convert(cm, hls, work)
    report = json.loads((folder / "report.json").read_text())
    return hm, 1.0 - report["accuracy"]["quantized"]


def measure(layers, x_raw) -> dict:
    from flow.eie.perf import network_cycles, pe_memory

    per_sample = network_cycles(layers, x_raw)
    cycles = np.array([[c.cycles for c in s] for s in per_sample])
    ideal = np.array([[c.ideal for c in s] for s in per_sample])
    total = np.array([[c.total_cycles for c in s] for s in per_sample])
    busy = np.array([[c.pe_busy.sum() for c in s] for s in per_sample])
    slots = np.array([[c.n_pe * c.cycles for c in s] for s in per_sample])
    return {
        "col_groups": [lyr.col_groups for lyr in layers],
        "work_efficiency": float(ideal.sum() / cycles.sum()),
        "work_efficiency_per_layer": [float(v) for v in ideal.sum(0) / cycles.sum(0)],
        "load_balance_efficiency": float(busy.sum() / slots.sum()),
        "pe_array_cycles": float(cycles.sum(1).mean()),
        "ideal_cycles": float(ideal.sum(1).mean()),
        "total_cycles": float(total.sum(1).mean()),
        "onchip_bytes": int(sum(pe_memory(lyr).total_bytes * lyr.n_pe for lyr in layers)),
    }


def best_groups(layers, x_raw) -> list:
    """Per layer, the G with the fewest modelled cycles on these inputs (each layer on its own inputs)."""
    from flow.eie.perf import layer_cycles
    from flow.eie.reference import eie_dense

    out, x = [], x_raw
    for lyr in layers:
        options = []
        for g in GROUPS:
            cand = lyr.with_array(col_groups=g)
            options.append((sum(layer_cycles(cand, v).cycles for v in x), g, cand))
        out.append(min(options, key=lambda o: o[:2])[2])
        x = eie_dense(x, lyr)
    return out


def csim_check(layers, x_raw) -> dict:
    from flow.eie.csim import compile_chains
    from flow.eie.perf import layer_cycles
    from flow.eie.reference import eie_dense

    chains = compile_chains([[lyr] for lyr in layers])  # one library per layer: its cycle count
    bit, cyc, x = 0, 0, x_raw
    for lyr, one in zip(layers, chains):
        for v in x:
            y = one(v[None, :])
            bit += int(np.sum(y != eie_dense(v[None, :], lyr)))
            model = layer_cycles(lyr, v)
            cyc += int(one.last_cycles()[0] != model.cycles)
            cyc += int(one.last_overhead_cycles()[0] != model.overhead_cycles)
        x = eie_dense(x, lyr)
    return {"samples": int(len(x_raw)), "bit_mismatches": bit, "cycle_mismatches": cyc}


def ensure_compressed(folder: Path, example: str, data_dir: str | None) -> None:
    """Compress LeNet-300-100 with examples/<example> into `folder` unless it is there."""
    if (folder / "compression.json").is_file():
        return
    from flow.compress.pipeline import compress
    from flow.config import load_config

    cfg = load_config(ROOT / "examples" / example)
    if data_dir:
        cfg.data.data_dir = data_dir
    print(f"compressing LeNet-300-100 with examples/{example} into {folder} (about 6 min)")
    compress(cfg, folder, progress=False)


def main(argv=None) -> int:
    from flow.testing import mnist_test

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "eie-bench-load-balance")
    ap.add_argument("--baseline", type=Path, help="compressed LeNet-300-100, magnitude pruning "
                    "(default WORK/magnitude, made with examples/lenet300_mnist.yaml when missing)")
    ap.add_argument("--balanced", type=Path, help="compressed with compress.load_balance "
                    "(default WORK/balanced, made with examples/lenet300_mnist_p64.yaml when missing)")
    ap.add_argument("--data-dir", help="MNIST idx folder (else FLOW_DATA_DIR or ../shared/data/mnist)")
    ap.add_argument("--n", type=int, default=200, help="MNIST test images")
    ap.add_argument("--csim", action="store_true", help="also check the balanced model in C simulation")
    ap.add_argument("--detect-width", type=int, default=16,
                    help="inputs the non-zero detector scans per cycle, every row (default 16, as in "
                    "examples/lenet300_mnist_p64.yaml); only the total cycles depend on it")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load_balance.json")
    args = ap.parse_args(argv)
    from flow.testing import find_mnist_dir

    found = find_mnist_dir(args.data_dir)
    if found is None:
        where = args.data_dir or "FLOW_DATA_DIR or ../shared/data/mnist"
        ap.error(f"MNIST idx files not found in {where}: pass --data-dir or set FLOW_DATA_DIR")
    data_dir = str(found)
    os.environ["FLOW_DATA_DIR"] = data_dir  # the test images below come from the same folder
    args.baseline = args.baseline or args.work / "magnitude"
    args.balanced = args.balanced or args.work / "balanced"
    for folder, example in ((args.baseline, "lenet300_mnist.yaml"), (args.balanced, "lenet300_mnist_p64.yaml")):
        if folder.exists() and not (folder / "compression.json").is_file():
            ap.error(f"{folder} exists but is not a compressed-model folder (no compression.json)")
        ensure_compressed(folder, example, data_dir)

    from flow.config import load_config

    x, inputs = mnist_test(args.n)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        hm, err = eie_layers(args.baseline, {}, Path(tmp) / "base", args.detect_width)
        x_raw = hm.input_t.quantize(x)
        base = hm.eie_layers
        rows.append({"route": "magnitude pruning, row interleaving", "test_error": err, **measure(base, x_raw)})
        best = best_groups(base, x_raw)
        rows.append({"route": "magnitude pruning, best column groups", "test_error": err, **measure(best, x_raw)})
        cfg = load_config(args.balanced / "config.yaml")
        layers = {k: {g: v for g, v in knobs.items() if g == "col_groups"} for k, knobs in cfg.hls.layers.items()}
        hm_b, err_b = eie_layers(args.balanced, layers, Path(tmp) / "bal", args.detect_width)
        bal = hm_b.eie_layers
        row = {"route": "load-balance-aware pruning + its column groups", "test_error": err_b, **measure(bal, x_raw)}
        if args.csim:
            row["csim"] = csim_check(bal, x_raw[: min(50, len(x_raw))])
        rows.append(row)

    from rich.console import Console
    from rich.table import Table

    t = Table(
        title=f"LeNet-300-100 on {N_PE} PEs, FIFO {DEPTH}, one broadcast per cycle and group, detector width "
        f"{args.detect_width}, {inputs}, {len(x)} images"
    )
    for col in ("route", "G per layer", "test err", "work eff. per layer", "work eff.", "load bal.",
                "PE-array cyc.", "total cyc.", "on-chip KB"):
        t.add_column(col, justify="left" if col == "route" else "right")
    for r in rows:
        t.add_row(
            r["route"],
            "/".join(map(str, r["col_groups"])),
            f"{100 * r['test_error']:.2f} %",
            " ".join(f"{v:.2f}" for v in r["work_efficiency_per_layer"]),
            f"{r['work_efficiency']:.3f}",
            f"{r['load_balance_efficiency']:.3f}",
            f"{r['pe_array_cycles']:.1f}",
            f"{r['total_cycles']:.1f}",
            f"{r['onchip_bytes'] / 1024:.1f}",
        )
    console = Console(width=160)
    console.print(t)
    console.print("work eff. = (entries / P) / PE-array cycles, summed over the images; the issue's target is >= 0.85")
    if "csim" in rows[-1]:
        c = rows[-1]["csim"]
        console.print(
            f"csim of the balanced model, {c['samples']} images: {c['bit_mismatches']} bit mismatches, "
            f"{c['cycle_mismatches']} cycle-count mismatches (PE array, overhead) against flow.eie.perf"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"n_pe": N_PE, "fifo_depth": DEPTH, "broadcast": 1,
                                    "detect_width": args.detect_width,
                                    "inputs": inputs, "n": len(x), "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
