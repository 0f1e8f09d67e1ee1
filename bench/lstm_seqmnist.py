"""A compressed sequential-MNIST LSTM on the engine: its bit-exact numpy reference against the
Keras model (agreement of the predictions over the test set), the cycles per sequence and per time
step (flow.eie.perf_lstm, modelled) and, with --rtl N, the same network on the RTL engine's recurrent
table entry in Verilator for the first N test images (all: -1): bit mismatches against the reference
and the measured cycles, compared with the model (measured, RTL simulation).

    python bench/lstm_seqmnist.py FOLDER --data-dir ../shared/data/mnist [--cycles 200] [--n-pe 16] [--rtl N]
    python bench/lstm_seqmnist.py --synthetic --data-dir ../shared/data/mnist --rtl N   (no trained folder:
        a random LSTM(128) + Dense(10) at 10 % density, MNIST test images as its inputs; cycles only)
    python bench/lstm_seqmnist.py FOLDER --data-dir ... --yosys-only   (Yosys synth_xilinx on the xc7z020
        of the engine for this network with the LSTM lanes and of the same engine without them (LSTM=0),
        merged as "yosys_xc7" into the --out JSON; slow: run it niced, once)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _rtl(lstm, dense, x_raw, n_pe: int, ref_y: np.ndarray, n_model: int, chunk: int = 500) -> dict:
    """The network on the RTL engine for the sequences x_raw: mismatches, cycles, and the cycle
    model's equality on the first n_model sequences (the python model steps every cycle: slow)."""
    from flow.eie.perf_lstm import sequence_cycles
    from flow.rtl import verilator
    from flow.rtl.lstm_run import lstm_params, rtl_lstm, simulate_lstm

    lstm = rtl_lstm(lstm)
    params = lstm_params(lstm, dense)
    t0 = time.perf_counter()
    exe = verilator.build(params)
    build_s = time.perf_counter() - t0
    ys, cyc, per = [], [], []
    t0 = time.perf_counter()
    for i in range(0, len(x_raw), chunk):
        r = simulate_lstm(lstm, dense, x_raw[i : i + chunk], params, exe=exe)
        ys.append(r["y"])
        cyc.append(r["layer_cycles"])
        per.append(r["period"])
    sim_s = time.perf_counter() - t0
    y, cyc, per = np.concatenate(ys), np.concatenate(cyc), np.concatenate(per)
    n_model = min(n_model, len(x_raw))
    seqs = sequence_cycles(lstm, x_raw[:n_model], ol=params.OL, dense=dense, walk=params.WALK)
    model = np.array([[q.lstm, *q.dense] for q in seqs])
    T = x_raw.shape[1]
    return {
        "source": "measured: RTL simulation (Verilator, kernels/rtl eie_engine with LSTM=1) vs the numpy "
                  "reference (flow.eie.lstm + flow.eie.reference) and the cycle model (flow.eie.perf_lstm)",
        "engine": params.generics(), "images": int(len(x_raw)),
        "bit_mismatches": int((y != ref_y).sum()), "images_with_mismatch": int((y != ref_y).any(axis=1).sum()),
        "cycles_per_sequence_mean": float(per.mean()), "cycles_per_sequence_min": int(per.min()),
        "cycles_per_sequence_max": int(per.max()),
        "lstm_cycles_per_sequence_mean": float(cyc[:, 0].mean()),
        "cycles_per_step_mean": float(cyc[:, 0].mean() / T),
        "dense_cycles_mean": [float(v) for v in cyc[:, 1:].mean(axis=0)],
        "model_equals_rtl": {"images": n_model, "layer_cycles": bool(np.array_equal(model, cyc[:n_model])),
                             "period": bool(np.array_equal([q.total for q in seqs], per[:n_model]))},
        "verilator_build_s": round(build_s, 1), "simulation_s": round(sim_s, 1),
    }


def _synthetic(n_pe: int, rng):
    """A random LSTM(128) + Dense(10) at ESE's ~10 % density, with seqMNIST's types (flow.testing)."""
    from flow.eie.lstm import LSTMTypes
    from flow.fixed import FixedType
    from flow.testing import LSTM_TYPES_ARGS, random_layer, random_lstm

    types = LSTMTypes(**{**LSTM_TYPES_ARGS, "input_t": FixedType(16, 2, True, "RND", "SAT")})
    _, _, _, lstm = random_lstm(rng, 28, 128, 0.1, 0.1, types=types, n_pe=n_pe)
    out_t = FixedType(16, 6, True, "RND", "SAT")
    dense = random_layer(rng, 128, 10, density=0.1, n_pe=n_pe, input_t=types.input_t, output_t=out_t,
                         bias_t=out_t, name="fc", activation="linear")
    return lstm, [dense]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path, nargs="?", help="a folder written by flow compress (examples/lstm_seqmnist.yaml)")
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--n-pe", type=int, default=None, help="PEs (default: the folder's config hls.n_pe; 16 synthetic)")
    ap.add_argument("--fifo-depth", type=int, default=8)
    ap.add_argument("--cycles", type=int, default=200,
                    help="test images for the cycle model (and its comparison with the RTL)")
    ap.add_argument("--rtl", type=int, default=0, help="test images on the RTL engine (-1: all; 0: none)")
    ap.add_argument("--synthetic", action="store_true", help="no folder: a random LSTM(128) + Dense(10)")
    ap.add_argument("--yosys-only", action="store_true", help="only synthesise the engines, merge into --out")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lstm_seqmnist.json")
    args = ap.parse_args()
    if (args.folder is None) != args.synthetic:
        ap.error("give a FOLDER or --synthetic")

    from flow.config import DataConfig
    from flow.data import load_dataset
    from flow.eie.lstm import lstm_sequence
    from flow.eie.perf_lstm import sequence_cycles
    from flow.eie.reference import eie_network

    ds = load_dataset(DataConfig(name="mnist", data_dir=str(args.data_dir)))
    if args.synthetic:
        n_pe = args.n_pe or 16
        lstm, dense = _synthetic(n_pe, np.random.default_rng(0))
        xin = ds.x_test.reshape(len(ds.x_test), 28, 28)
        out = {"network": "synthetic: random LSTM(128) + Dense(10), 10 % density (flow.testing), not trained",
               "n_pe": n_pe, "fifo_depth": 8}
    else:
        from flow.compress.io import load_compressed
        from flow.compress.lstm_engine import compare, engine_network
        from flow.config import load_config

        cm = load_compressed(args.folder)
        n_pe = args.n_pe or load_config(args.folder / "config.yaml").hls.n_pe
        knobs = {"n_pe": n_pe, "fifo_depth": args.fifo_depth}
        net = engine_network(cm, **knobs)
        lstm, dense = net.lstm, net.dense
        if args.yosys_only:
            prev = json.loads(args.out.read_text()) if args.out.exists() else {}
            prev["yosys_xc7"] = _yosys(lstm, dense)
            _write(args.out, prev)
            return
        res = compare(cm, ds.x_test, ds.y_test, **knobs)
        xin = net.front.predict(ds.x_test, batch_size=1024, verbose=0)
        rep = cm.report
        out = {
            "folder": str(args.folder), "n_pe": n_pe, "fifo_depth": args.fifo_depth,
            "dense_error": rep["error"]["dense"], "compressed_error": rep["error"]["quantized"],
            "ratio": rep["total"]["ratio"], "huffman_ratio": rep["total"]["huffman_ratio"],
            "lstm_kept": next(layer["kept"] for layer in rep["layers"] if layer["name"] == lstm.name),
            "agreement": res,
        }
    if args.yosys_only:
        prev = json.loads(args.out.read_text()) if args.out.exists() else {}
        prev["yosys_xc7"] = _yosys(lstm, dense)
        _write(args.out, prev)
        return
    x_raw = lstm.types.input_t.quantize(xin)
    seqs = sequence_cycles(lstm, x_raw[: args.cycles], dense=dense)
    steps = np.array([[s.total for s in q.steps] for q in seqs])
    # a step without work (an all-zero image row with h = 0: MNIST's first rows) has no efficiency
    work = np.array([[s.entries > 0 for s in q.steps] for q in seqs])
    arr = np.ma.masked_array([[s.array_efficiency for s in q.steps] for q in seqs], ~work)
    eff = np.ma.masked_array([[s.step_efficiency for s in q.steps] for q in seqs], ~work)
    out["cycles"] = {
        "source": "modelled: flow.eie.perf_lstm (the RTL engine's recurrent entry; equal to its simulated "
                  "cycles, see rtl)",
        "images": len(seqs), "per_sequence_mean": float(np.mean([q.total for q in seqs])),
        "lstm_per_sequence_mean": float(np.mean([q.lstm for q in seqs])),
        "per_step_mean": float(steps.mean()), "per_step_min": int(steps.min()), "per_step_max": int(steps.max()),
        "efficiency_over": "steps with work (entries > 0)", "steps_without_work": int((~work).sum()),
        "array_efficiency_mean": float(arr.mean()), "step_efficiency_mean": float(eff.mean()),
        "array_efficiency_per_step": [None if v is np.ma.masked else round(float(v), 3) for v in arr.mean(axis=0)],
        "included": "the LSTM's steps (x_t streamed in during each step's RUN), the Dense layer on h_T, "
                    "the idle cycle before the next start; not the host's softmax",
    }
    if args.rtl:
        n = len(x_raw) if args.rtl < 0 else args.rtl
        hs, _ = lstm_sequence(x_raw[:n], lstm)
        ref = eie_network(hs[:, -1], dense)
        out["rtl"] = _rtl(lstm, dense, x_raw[:n], n_pe, ref, args.cycles)
    prev = json.loads(args.out.read_text()) if args.out.exists() else {}
    if "yosys_xc7" in prev and "yosys_xc7" not in out:  # synthesis is kept: it depends on the engine only
        out["yosys_xc7"] = prev["yosys_xc7"]
    _write(args.out, out)


def _write(path: Path, out: dict) -> None:
    print(json.dumps(out, indent=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(path)
    print(f"wrote {path}")


def _yosys(lstm, dense) -> dict:
    """synth_xilinx (xc7z020) of this network's engine with the LSTM lanes and without (LSTM=0)."""
    import tempfile

    from flow.rtl.lstm_run import lstm_params, rtl_lstm
    from flow.rtl.yosys import synthesize

    params = lstm_params(rtl_lstm(lstm), dense)
    keep = ("LUT", "LUT_logic", "FF", "RAMB18", "RAMB36", "BRAM36", "DSP", "sta_ns", "yosys_s", "source", "tool",
            "engine", "modules")
    out = {"source": "measured: Yosys synth_xilinx -family xc7 (flow.rtl.yosys.synthesize), pre-route"}
    for name, p in (("lstm_engine", params), ("dense_engine", params.with_(LSTM=0))):
        with tempfile.TemporaryDirectory() as tmp:
            rep = synthesize(p, "xc7", out_dir=tmp)
        out[name] = {k: rep[k] for k in keep if k in rep}
    return out


if __name__ == "__main__":
    main()
