"""EIE engine vs hls4ml's dense Vivado code on LeNet-300-100: csim speed, modelled cycles, on-chip bytes.

Run:  FLOW_DATA_DIR=/work/shared/data/mnist PYTHONPATH=. .venv/bin/python bench/engine.py \
          [--model-dir DIR] [--n 200] [--skip-vivado] [--rtl-results bench/results/rtl.json]
      (prints the tables, writes bench/results/engine.json)

Model: a compressed LeNet-300-100 folder (--model-dir, from `flow compress --model lenet300`), else
LeNet-300-100 re-created with Deep Compression's per-layer density (8 %, 9 %, 26 %) and 4-bit shared
weights, random values (flow.testing.lenet300): timing does not depend on the values. Inputs
are MNIST test images when the idx files are found (FLOW_DATA_DIR or ../shared/data/mnist), else
uniform noise with MNIST's ~19 % non-zero pixels.

Measured on the same weights and fixed-point types:
- EIE csim (hls4ml backend 'EIE'): g++ build time, time per sample through the raw bridge (one
  call for the batch) and through hls4ml's float predict (one ctypes call per sample);
- hls4ml's Vivado backend, io_parallel, Strategy Latency and Resource: build time and time per sample
  (hls4ml's predict, one call per sample);
- io_stream (--io stream|both): the same model and config on EIE (eie::dense_stream) and on Vivado
  (Latency), build time, time per sample, and bit mismatches against the EIE io_parallel csim;
- numpy float32 dense, batch 1 (one matrix-vector chain per sample);
- cycles per image at the csim build's P: counted by csim (the PE-array loop and the detector +
  gather iterations, per sample) beside flow.eie.perf's model of the same samples (they must agree);
- resources (modelled, flow.board.resources) of the EIE kernel for P = 16 and 64: the estimator of
  main before the PE-pipeline restructure (git show <--before-rev>:flow/board/resources.py) and
  now, beside the RTL engine's Yosys counts for the same P (measured: Yosys 0.23 synth_xilinx xc7,
  read from bench/results/rtl.json, written by bench/rtl.py; the RTL engine there is sized for its
  own LeNet-300-100 build, its engine parameters are recorded with the figures);
- flow.eie.perf: modelled PE-array cycles for P = 4, 16, 64 PEs, FIFO depth 1, 2, 8 (one broadcast
  per cycle and group: EIE's schedule, the only one; the broadcast knob is deprecated), with two
  efficiencies: load balance as the EIE paper defines it (1 - bubble cycles
  due to starvation / total computation cycles: sum of PE busy cycles / (P x cycles), where a PE
  popping an empty column is busy) and work efficiency ((entries / P) / cycles, perf's
  LayerCycles.efficiency, which also charges the one cycle an empty column costs); and on-chip bytes
  (EIE ROMs + codebooks + accumulators vs dense 16-bit weights).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

PES = (4, 16, 64)
FIFO_DEPTHS = (1, 2, 8)
RESOURCE_PES = (16, 64)


def load_model(args, x):
    from flow.testing import as_compressed, lenet300

    if args.model_dir:
        from flow.compress.io import load_compressed

        return load_compressed(args.model_dir), str(args.model_dir)
    model, types = lenet300(seed=0, calib_x=x)
    return as_compressed(model, types), "synthetic LeNet-300-100 (8/9/26 % kept, 4-bit shared weights)"


def time_per_sample(fn, x, repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(x)
        best = min(best, (time.perf_counter() - t0) / len(x))
    return best


def bench_eie(cm, x, out_dir: Path, n_pe: int) -> tuple[dict, object]:
    from flow.eie.reference import eie_network
    from flow.hls import csim
    from flow.config.hls import HLSConfig
    from flow.hls.convert import convert

    hls_cfg = HLSConfig(n_pe=n_pe, project_name="lenet_eie")
    hm = convert(cm, hls_cfg, out_dir / "eie")
    compile_s = csim.compile_model(hm)
    x_raw = hm.input_t.quantize(x)
    raw_s = time_per_sample(lambda v: csim.predict_raw(hm, v), x_raw, repeat=3)
    float_s = time_per_sample(lambda v: csim.predict(hm, v), x, repeat=3)
    mismatches = int(np.sum(csim.predict_raw(hm, x_raw) != eie_network(x_raw, hm.eie_layers)))
    return {
        "n_pe": n_pe,
        "compile_s": compile_s,
        "raw_s_per_sample": raw_s,
        "float_s_per_sample": float_s,
        "reference_bit_mismatches": mismatches,
    }, hm


def bench_vivado(hm, x, out_dir: Path, strategy: str, n: int) -> dict:
    import hls4ml

    cfg = copy.deepcopy(hm.graph.config.config["HLSConfig"])
    cfg["Model"].pop("EIE", None)
    cfg["Model"]["Strategy"] = strategy
    cfg["Model"]["ReuseFactor"] = 1 if strategy == "Latency" else 100
    for lcfg in cfg["LayerName"].values():
        lcfg.pop("EIE", None)
        if strategy == "Resource":
            lcfg.pop("ReuseFactor", None)
    vm = hls4ml.converters.convert_from_keras_model(
        hm.keras_twin,
        hls_config=cfg,
        output_dir=str(out_dir / f"vivado_{strategy.lower()}"),
        backend="Vivado",
        io_type="io_parallel",
        project_name=f"lenet_{strategy.lower()}",
    )
    t0 = time.perf_counter()
    vm.compile()
    compile_s = time.perf_counter() - t0
    xs = np.ascontiguousarray(x[:n], dtype=np.float64)
    per_sample = time_per_sample(lambda v: vm.predict(v), xs, repeat=3)
    y_v = np.asarray(vm.predict(xs))
    from flow.hls import csim

    y_e = csim.predict(hm, xs)
    return {
        "strategy": strategy,
        "compile_s": compile_s,
        "s_per_sample": per_sample,
        "samples": int(n),
        "top1_agreement_with_eie": float(np.mean(np.argmax(y_v, 1) == np.argmax(y_e, 1))),
    }


def bench_stream(hm, x, out_dir: Path, n: int, skip_vivado: bool) -> list[dict]:
    """io_stream rows: the same Keras model and hls4ml config converted with io_type='io_stream' on
    EIE (eie::dense_stream on nnet::array packs) and on Vivado (Strategy Latency); csim time per sample
    through hls4ml's predict, and bit-exactness against the io_parallel EIE csim of the same weights."""
    import hls4ml

    from flow.hls import csim

    xs = np.ascontiguousarray(x[:n], dtype=np.float64)
    y_parallel = csim.predict(hm, xs)
    rows = []
    for backend in ("EIE",) if skip_vivado else ("EIE", "Vivado"):
        cfg = copy.deepcopy(hm.graph.config.config["HLSConfig"])
        if backend == "Vivado":
            cfg["Model"].pop("EIE", None)
            cfg["Model"]["Strategy"] = "Latency"
            for lcfg in cfg["LayerName"].values():
                lcfg.pop("EIE", None)
        sm = hls4ml.converters.convert_from_keras_model(
            hm.keras_twin,
            hls_config=cfg,
            output_dir=str(out_dir / f"{backend.lower()}_stream"),
            backend=backend,
            io_type="io_stream",
            project_name=f"lenet_{backend.lower()}_stream",
        )
        t0 = time.perf_counter()
        sm.compile()
        compile_s = time.perf_counter() - t0
        per_sample = time_per_sample(lambda v: sm.predict(v), xs, repeat=3)
        y = np.asarray(sm.predict(xs)).reshape(y_parallel.shape)
        rows.append(
            {
                "backend": backend,
                "io_type": "io_stream",
                "strategy": "Latency",
                "compile_s": compile_s,
                "s_per_sample": per_sample,
                "samples": int(n),
                "bit_mismatches_vs_eie_io_parallel": int(np.sum(y != y_parallel)),
            }
        )
    return rows


def bench_numpy(hm, x) -> dict:
    weights = [
        (lyr.get_weights()[0].astype(np.float32), lyr.get_weights()[1].astype(np.float32))
        for lyr in hm.keras_twin.layers
        if lyr.get_weights()
    ]
    xs = x.astype(np.float32)

    def run(batch):
        for v in batch:
            a = v[None, :]
            for i, (w, b) in enumerate(weights):
                a = a @ w + b
                if i < len(weights) - 1:
                    a = np.maximum(a, 0)

    return {"s_per_sample": time_per_sample(run, xs, repeat=3)}


def bench_model(hm, x, n: int) -> list[dict]:
    from flow.eie.perf import network_cycles, pe_memory

    x_raw = hm.input_t.quantize(x[:n])
    rows = []
    for p in PES:
        for d in FIFO_DEPTHS:
            layers = [lyr.with_array(n_pe=p, fifo_depth=d) for lyr in hm.eie_layers]
            per_sample = network_cycles(layers, x_raw)
            cycles = np.array([[c.cycles for c in s] for s in per_sample])
            ideal = np.array([[c.ideal for c in s] for s in per_sample])
            total = np.array([[c.total_cycles for c in s] for s in per_sample])
            busy = np.array([[c.pe_busy.sum() for c in s] for s in per_sample])  # PE-cycles not starved
            slots = np.array([[c.n_pe * c.cycles for c in s] for s in per_sample])
            rows.append(
                {
                    "n_pe": p,
                    "fifo_depth": d,
                    "pe_array_cycles": float(cycles.sum(axis=1).mean()),
                    "total_cycles": float(total.sum(axis=1).mean()),
                    "load_balance_efficiency": float(busy.sum() / slots.sum()),
                    "load_balance_efficiency_per_layer": [float(v) for v in busy.sum(axis=0) / slots.sum(axis=0)],
                    "work_efficiency": float(ideal.sum() / cycles.sum()),
                    "work_efficiency_per_layer": [float(v) for v in ideal.sum(axis=0) / cycles.sum(axis=0)],
                    "onchip_bytes": int(sum(pe_memory(lyr).total_bytes * lyr.n_pe for lyr in layers)),
                }
            )
    return rows


def bench_cycles(hm, x) -> dict:
    """Cycles per image at the build's P: csim's counters (one call per sample) and the model."""
    from flow.eie.csim import CsimChain
    from flow.eie.perf import network_cycles

    chain = CsimChain(hm.eie_layers)
    x_raw = hm.input_t.quantize(x)
    csim_pe, csim_total = [], []
    for v in x_raw:
        chain(v[None, :])
        pe, ov = chain.last_cycles(), chain.last_overhead_cycles()
        csim_pe.append(sum(pe))
        csim_total.append(sum(pe) + sum(ov))
    model = network_cycles(hm.eie_layers, x_raw)
    model_pe = [sum(c.cycles for c in s) for s in model]
    model_total = [sum(c.total_cycles for c in s) for s in model]
    return {
        "n_pe": hm.eie_layers[0].n_pe,
        "csim_pe_array_cycles": float(np.mean(csim_pe)),
        "model_pe_array_cycles": float(np.mean(model_pe)),
        "csim_total_cycles": float(np.mean(csim_total)),
        "model_total_cycles": float(np.mean(model_total)),
        "samples_disagreeing": int(sum(a != b or c != d for a, b, c, d in
                                       zip(csim_pe, model_pe, csim_total, model_total))),
    }


def _estimator(rev: str | None):
    """flow.board.resources as of git revision `rev` (None: the working tree's)."""
    import importlib.util
    import subprocess
    import tempfile

    if rev is None:
        from flow.board import resources

        return resources
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:flow/board/resources.py"],
                          capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "resources_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("flow.board._resources_before", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def bench_resources(hm, before_rev: str, rtl_results: Path | None) -> list[dict]:
    rows = []
    mods = {"after": _estimator(None)}
    try:
        mods["before"] = _estimator(before_rev)
    except Exception as exc:  # noqa: BLE001 - no git / revision: the after figures alone
        print(f"estimator at {before_rev} unavailable: {exc}")
    for P in RESOURCE_PES:
        layers = [lyr.with_array(n_pe=P) for lyr in hm.eie_layers]
        row = {"n_pe": P}
        for key, mod in mods.items():
            try:
                t = mod.estimate_eie_layers(layers).total
                row[key] = {"LUT": t.lut, "FF": t.ff, "BRAM18": t.bram18, "DSP": t.dsp, "LUTRAM": t.lutram}
            except Exception as exc:  # noqa: BLE001 - an older estimator may not take new layers
                row[key] = {"error": str(exc)}
        if rtl_results is not None:
            row["rtl_yosys"] = rtl_yosys(rtl_results, P)
        rows.append(row)
    return rows


def rtl_yosys(path: Path, n_pe: int) -> dict:
    """The RTL engine's Yosys counts for n_pe PEs as bench/rtl.py recorded them (measured; a synthesis
    takes about half an hour here, so they are read, not re-run), with the engine parameters."""
    try:
        rows = [r for r in json.loads(path.read_text())["synth_xc7"] if r["P"] == n_pe and "yosys" in r]
    except (OSError, KeyError, ValueError) as exc:
        return {"error": f"{path}: {exc}"}
    if not rows:
        return {"error": f"{path}: no Yosys run for P={n_pe}"}
    y = rows[-1]["yosys"]  # bench/rtl.py sorts a P's rows by Yosys version: the newest
    return {"LUT": y["LUT"], "FF": y["FF"], "BRAM18": y["RAMB18"] + 2 * y["RAMB36"], "DSP": y["DSP"],
            "engine": y["engine"], "source": f"measured: {y['source']} ({y['device']}), {path.name}"}


def dense_bytes(hm) -> int:
    return int(sum(2 * (lyr.n_in * lyr.n_out + lyr.n_out) for lyr in hm.eie_layers))


def print_table(res: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    t = Table(
        title=f"csim per sample, LeNet-300-100 ({res['inputs']}, {res['n']} samples, "
        f"{res['eie']['n_pe']} PEs, one broadcast per cycle)"
    )
    for col in ("implementation", "build (s)", "time / sample", "vs EIE csim"):
        t.add_column(col, justify="right" if col != "implementation" else "left")
    eie = res["eie"]["float_s_per_sample"]
    t.add_row(
        "EIE csim, raw bridge (batch call)",
        f"{res['eie']['compile_s']:.1f}",
        f"{res['eie']['raw_s_per_sample'] * 1e6:.1f} us",
        "",
    )
    t.add_row("EIE csim, hls4ml predict (per sample)", "", f"{eie * 1e6:.1f} us", "1.0x")
    for v in res["vivado"]:
        t.add_row(
            f"hls4ml Vivado io_parallel {v['strategy']}",
            f"{v['compile_s']:.1f}",
            f"{v['s_per_sample'] * 1e6:.1f} us",
            f"{v['s_per_sample'] / eie:.1f}x slower",
        )
    for v in res.get("io_stream", []):
        t.add_row(
            f"{'EIE csim' if v['backend'] == 'EIE' else 'hls4ml Vivado'} io_stream {v['strategy']} "
            f"({v['bit_mismatches_vs_eie_io_parallel']} bits off EIE io_parallel)",
            f"{v['compile_s']:.1f}",
            f"{v['s_per_sample'] * 1e6:.1f} us",
            f"{v['s_per_sample'] / eie:.1f}x",
        )
    t.add_row(
        "numpy float32 dense, batch 1",
        "",
        f"{res['numpy']['s_per_sample'] * 1e6:.1f} us",
        f"{res['numpy']['s_per_sample'] / eie:.2f}x",
    )
    console.print(t)
    c = res["cycles"]
    console.print(
        f"cycles per image, P={c['n_pe']} (mean over {res['n']} samples): PE array csim "
        f"{c['csim_pe_array_cycles']:.1f} / model {c['model_pe_array_cycles']:.1f}; with detector + "
        f"gather csim {c['csim_total_cycles']:.1f} / model {c['model_total_cycles']:.1f}; samples "
        f"where csim and model disagree: {c['samples_disagreeing']}"
    )
    r = Table(title="resources (EIE kernel: modelled, flow.board.resources; RTL: Yosys xc7, measured)")
    for col in ("P", "design", "LUT", "FF", "BRAM", "DSP"):
        r.add_column(col, justify="right")
    for row in res["resources"]:
        for key, label in (("before", f"HLS kernel before ({res['before_rev']}), modelled"),
                           ("after", "HLS kernel now, modelled"), ("rtl_yosys", "RTL engine, Yosys xc7 (measured, rtl.json)")):
            v = row.get(key)
            if v is None:
                continue
            if "error" in v:
                r.add_row(str(row["n_pe"]), label, v["error"][:60], "", "", "")
                continue
            bram = f"{v['BRAM18']} x18" if "BRAM18" in v else f"{v['BRAM36']} x36"
            r.add_row(str(row["n_pe"]), label, str(v["LUT"]), str(v["FF"]), bram, str(v["DSP"]))
    console.print(r)
    m = Table(title="modelled EIE (flow.eie.perf), mean per sample")
    for col in (
        "PEs",
        "FIFO",
        "PE-array cycles",
        "total cycles",
        "load-balance eff.",
        "per layer",
        "work eff.",
        "on-chip KB",
    ):
        m.add_column(col, justify="right")
    for r in res["cycle_model"]:
        m.add_row(
            str(r["n_pe"]),
            str(r["fifo_depth"]),
            f"{r['pe_array_cycles']:.0f}",
            f"{r['total_cycles']:.0f}",
            f"{r['load_balance_efficiency']:.3f}",
            " ".join(f"{v:.2f}" for v in r["load_balance_efficiency_per_layer"]),
            f"{r['work_efficiency']:.3f}",
            f"{r['onchip_bytes'] / 1024:.1f}",
        )
    console.print(m)
    console.print(
        "load-balance eff. = 1 - starvation bubbles / PE cycles (EIE paper, Fig. 8); "
        "work eff. = (entries / P) / cycles (flow.eie.perf's LayerCycles.efficiency)"
    )
    console.print(
        f"dense 16-bit weights + biases on chip: {res['dense_16bit_bytes'] / 1024:.1f} KB; "
        f"EIE reference bit mismatches: {res['eie']['reference_bit_mismatches']}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, help="compressed LeNet-300-100 folder (default: synthetic)")
    ap.add_argument("--n", type=int, default=200, help="samples for the EIE csim and the cycle model")
    ap.add_argument("--n-vivado", type=int, default=50, help="samples for the (slow) hls4ml Vivado csim")
    ap.add_argument("--pe", type=int, default=16, help="PEs of the EIE csim build")
    ap.add_argument("--skip-vivado", action="store_true", help="skip the hls4ml Vivado builds")
    ap.add_argument("--rtl-results", type=Path, default=ROOT / "bench" / "results" / "rtl.json",
                    help="bench/rtl.py's results with the RTL engine's Yosys counts")
    ap.add_argument("--before-rev", default="7ce8d60",
                    help="git revision of the estimator before the restructure (default: main before hls11)")
    ap.add_argument(
        "--io", choices=("parallel", "stream", "both"), default="both",
        help="hls4ml I/O types to compare (the EIE io_parallel build always runs: it is the baseline)",
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/eie-bench-engine"), help="HLS project folder")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "engine.json")
    args = ap.parse_args(argv)

    from flow.testing import mnist_test

    x, inputs = mnist_test(args.n)
    cm, source = load_model(args, x)
    eie, hm = bench_eie(cm, x, args.work, args.pe)
    res = {
        "source": source,
        "inputs": inputs,
        "n": len(x),
        "eie": eie,
        "vivado": [],
        "numpy": bench_numpy(hm, x),
        "dense_16bit_bytes": dense_bytes(hm),
        "host": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "processor": platform.processor(),
        },
    }
    if not args.skip_vivado and args.io in ("parallel", "both"):
        for strategy in ("Latency", "Resource"):
            res["vivado"].append(bench_vivado(hm, x, args.work, strategy, args.n_vivado))
    if args.io in ("stream", "both"):
        res["io_stream"] = bench_stream(hm, x, args.work, args.n_vivado, args.skip_vivado)
    res["cycles"] = bench_cycles(hm, x)
    res["before_rev"] = args.before_rev
    res["resources"] = bench_resources(hm, args.before_rev, args.rtl_results)
    res["cycle_model"] = bench_model(hm, x, min(args.n, 100))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print_table(res)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
