"""A compressed sequential-MNIST LSTM on the engine: its bit-exact numpy reference against the
Keras model (agreement of the predictions over the test set) and the modelled cycles per sequence
and per time step (flow.eie.perf_lstm: the RTL engine's mat-vec schedule + an element-wise unit of
assumed latency; no RTL exists for the LSTM yet, so every cycle figure here is modelled).

    python bench/lstm_seqmnist.py FOLDER --data-dir ../shared/data/mnist [--cycles 200] [--n-pe 16]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path, help="a folder written by flow compress (examples/lstm_seqmnist.yaml)")
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--n-pe", type=int, default=None, help="PEs (default: the folder's config hls.n_pe)")
    ap.add_argument("--fifo-depth", type=int, default=8)
    ap.add_argument("--cycles", type=int, default=200, help="test images for the cycle model")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lstm_seqmnist.json")
    args = ap.parse_args()

    from flow.compress.io import load_compressed
    from flow.compress.lstm_engine import compare, engine_network
    from flow.config import DataConfig, load_config
    from flow.data import load_dataset
    from flow.eie.perf_lstm import sequence_cycles

    cm = load_compressed(args.folder)
    n_pe = args.n_pe or load_config(args.folder / "config.yaml").hls.n_pe
    ds = load_dataset(DataConfig(name="mnist", data_dir=str(args.data_dir)))
    knobs = {"n_pe": n_pe, "fifo_depth": args.fifo_depth}
    res = compare(cm, ds.x_test, ds.y_test, **knobs)
    net = engine_network(cm, **knobs)
    xin = net.front.predict(ds.x_test[: args.cycles], verbose=0)
    seqs = sequence_cycles(net.lstm, net.lstm.types.input_t.quantize(xin))
    steps = np.array([[s.total for s in q.steps] for q in seqs])
    # a step without work (an all-zero image row with h = 0: MNIST's first rows) has no efficiency
    work = np.array([[s.entries > 0 for s in q.steps] for q in seqs])
    arr = np.ma.masked_array([[s.array_efficiency for s in q.steps] for q in seqs], ~work)
    eff = np.ma.masked_array([[s.step_efficiency for s in q.steps] for q in seqs], ~work)
    rep = cm.report
    out = {
        "folder": str(args.folder), "n_pe": n_pe, "fifo_depth": args.fifo_depth,
        "dense_error": rep["error"]["dense"], "compressed_error": rep["error"]["quantized"],
        "ratio": rep["total"]["ratio"], "huffman_ratio": rep["total"]["huffman_ratio"],
        "lstm_kept": next(layer["kept"] for layer in rep["layers"] if layer["name"] == net.lstm.name),
        "agreement": res,
        "cycles": {
            "source": "modelled: flow.eie.perf_lstm (RTL mat-vec schedule; element-wise latency assumed)",
            "images": len(seqs), "per_sequence_mean": float(np.mean([q.total for q in seqs])),
            "per_step_mean": float(steps.mean()), "per_step_min": int(steps.min()), "per_step_max": int(steps.max()),
            "efficiency_over": "steps with work (entries > 0)", "steps_without_work": int((~work).sum()),
            "array_efficiency_mean": float(arr.mean()), "step_efficiency_mean": float(eff.mean()),
            "array_efficiency_per_step": [None if v is np.ma.masked else round(float(v), 3) for v in arr.mean(axis=0)],
            "not_counted": "the Dense layer after the LSTM and the host's softmax",
        },
    }
    print(json.dumps(out, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
