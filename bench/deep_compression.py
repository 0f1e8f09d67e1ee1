"""Deep Compression on MNIST (LeNet-300-100, LeNet-5): this flow vs the off-the-shelf route vs the paper.

Every number comes from `flow compress` run on a shipped example config (the same code and the same
config a user runs), with the validation split (the last 5,000 training images) making every
choice and the test set read once at the end:

- lenet300: examples/lenet300_mnist_target.yaml (per-layer settings searched for a storage budget)
- lenet5:   examples/lenet5_mnist.yaml
- ternary:  examples/lenet300_mnist_ternary.yaml vs examples/lenet300_mnist_kmeans2.yaml
            (trained ternary codebooks vs k-means, both 2-bit, same pruning)
- dsd:      examples/lenet300_mnist_kmeans2.yaml vs examples/lenet300_mnist_dsd.yaml (Dense-Sparse-Dense off/on)

For lenet300 and lenet5 the off-the-shelf route runs on the same dense model (`dense.keras` of the
flow's folder) with the per-layer sparsity and code bits the flow chose: tfmot `prune_low_magnitude`
(PolynomialDecay) on the same training split + `qkeras.codebook.weight_compression` without
fine-tuning. That function fits one codebook per input row (axis 0), clusters the pruned zeros with
the rest, and crashes when a row has fewer weights than clusters; such a layer falls back to one
codebook for the whole layer (recorded in the JSON).

    python bench/deep_compression.py [--data-dir DIR] [--only lenet300,lenet5,ternary,dsd]
                                     [--quick] [--repeat] [--keep DIR [--reuse]] [--no-off-the-shelf]
                                     [--out bench/results/deep_compression.json]
    python bench/deep_compression.py --seeds N [--workers W] [--ray-address ADDR] [--only lenet300,lenet5
                                     | --config FILE] [--quick] [--keep DIR]
                                     [--seeds-out bench/results/deep_compression_seeds.json]

--seeds N runs each part's config (or --config FILE) with N seeds in parallel worker processes and
records every seed's row and the mean, std, min and max (bench/deep_compression_seeds.py); the
single-run record above is left as it is.

Parts run with --only are merged into the existing JSON. --keep DIR --reuse reads the report of a
folder in DIR written by `flow compress` with the same settings instead of compressing again (the
same numbers: runs are deterministic; see --repeat). --repeat runs each flow config twice and
records whether the two runs gave identical numbers. --quick: 6,000 training images (1,000 of them
validation), 2,000 test images, 1-2 epochs per phase (a smoke test; its numbers mean nothing).
--no-off-the-shelf leaves out the tfmot + QKeras route (recorded as not run; it retrains for as many
epochs as the flow's pruning, which the shared machine could not afford for LeNet-5).
Paper (Han et al., ICLR 2016, Table 1): LeNet-300-100 1.64 % -> 1.58 %, 40x; LeNet-5 0.80 % -> 0.74 %, 39x.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "examples"

NETWORKS = {
    "lenet300": {
        "config": "lenet300_mnist_target.yaml",
        "paper": {"dense_error": 0.0164, "error": 0.0158, "huffman_ratio": 40},
        "goal": {"error": 0.0158, "huffman_ratio": 60},
    },
    "lenet5": {
        "config": "lenet5_mnist.yaml",
        "paper": {"dense_error": 0.0080, "error": 0.0074, "huffman_ratio": 39},
        "goal": {"error": 0.0074, "huffman_ratio": 45},
    },
}
COMPARISONS = {
    "ternary": {"ternary (TTQ)": "lenet300_mnist_ternary.yaml", "k-means 2-bit": "lenet300_mnist_kmeans2.yaml"},
    "dsd": {"DSD off": "lenet300_mnist_kmeans2.yaml", "DSD on": "lenet300_mnist_dsd.yaml"},
}
PARTS = list(NETWORKS) + list(COMPARISONS)
log = logging.getLogger("bench")


def load(config: str, data_dir: str, quick: bool):
    """The shipped example config as `flow compress --config ... --data-dir ...` reads it."""
    from flow.cli.options import load_config_with

    cfg = load_config_with(argparse.Namespace(data_dir=Path(data_dir)), EXAMPLES / config)
    if quick:
        cfg.data.train_subset, cfg.data.test_subset, cfg.data.validation = 6000, 2000, 1000
        c = cfg.compress
        c.epochs, c.prune_steps, c.prune_epochs, c.finetune_epochs = 2, min(c.prune_steps, 2), 1, 1
        c.dsd_epochs, c.plots = 1, False
        if c.target is not None:
            c.target.levels = c.target.levels[::3]
    return cfg


def settings_of(config: dict) -> dict:
    """What decides a run's numbers: the seed and the data, model and compress sections (where the
    data come from, `data.data_dir`, aside), and with compress.load_balance the engine layout
    (hls n_pe, col_groups, layers), whose row PEs the balanced masks follow."""
    from flow.eie.knobs import LAYOUT_KEYS

    out = {"seed": config.get("seed"), **{k: dict(config.get(k) or {}) for k in ("data", "model", "compress")}}
    out["data"].pop("data_dir", None)
    hls = config.get("hls") or {}
    out["hls"] = {k: hls.get(k) for k in LAYOUT_KEYS} if out["compress"].get("load_balance") else {}
    return out


def setting_differences(recorded: dict, cfg) -> list[str]:
    """The keys where `recorded` (settings_of a run's config) differs from `cfg`. A key the record
    lacks (added to the flow since) counts as its default; with compress.target, the per-layer
    settings it wrote are not compared."""
    from flow.config import FlowConfig
    from flow.config.compress import TargetConfig

    new, default = settings_of(cfg.to_dict()), settings_of(FlowConfig().to_dict())
    diffs = [] if recorded.get("seed") == new["seed"] else ["seed"]
    searched = {"layer_sparsity", "layer_bits", "layer_index_bits"} if new["compress"].get("target") else set()
    for section in ("data", "model", "compress", "hls"):
        old, cur = recorded.get(section) or {}, new[section]
        for key in sorted(set(cur) - (searched if section == "compress" else set())):
            was = old.get(key, default[section].get(key))
            if section == "compress" and key == "target" and isinstance(was, dict):
                was = {**_field_defaults(TargetConfig), **was}  # target keys added since
            if was != cur[key]:
                diffs.append(f"{section}.{key}")
    return diffs


def _field_defaults(cls) -> dict:
    import dataclasses

    from flow.config.schema import to_dict

    return {
        f.name: to_dict(f.default if f.default is not dataclasses.MISSING else f.default_factory())
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }


def _recorded_settings(folder: Path) -> dict | None:
    import yaml

    try:
        return settings_of(yaml.safe_load((folder / "config.yaml").read_text()))
    except OSError:
        return None


def run_flow(config: str, data_dir: str, quick: bool, out: Path, save_dense: bool = False, reuse: bool = False) -> dict:
    """One `flow compress` run; the numbers of its report.json. reuse: read the report of an earlier
    run in `out` instead when it was made with the same settings."""
    from flow.compress.pipeline import compress

    cfg = load(config, data_dir, quick)
    t0 = time.perf_counter()
    # the config the numbers come from (tests compare it with the examples), read once
    settings = _recorded_settings(out) if reuse and (out / "report.json").is_file() else None
    reused = settings is not None and not setting_differences(settings, cfg)
    if reused:
        rep = json.loads((out / "report.json").read_text())
        log.info("reusing %s (same settings as examples/%s)", out, config)
    else:
        rep = compress(cfg, out, progress=False, force=True, save_dense=save_dense).report
        settings = _recorded_settings(out)
    err, val = rep["error"], rep.get("validation_error") or {}
    return {
        "config": f"examples/{config}",
        "command": f"flow compress --config examples/{config} --data-dir <mnist>",
        "settings": settings,
        "dense_error": err["dense"],
        "dense_error_before_dsd": err.get("dense_before_dsd"),
        "error": err["quantized"],
        "validation_error": val.get("quantized"),
        "dense_validation_error": val.get("dense"),
        "dense_validation_error_before_dsd": val.get("dense_before_dsd"),
        "ratio": rep["total"]["ratio"],
        "huffman_ratio": rep["total"]["huffman_ratio"],
        "bytes": rep["total"]["compressed_bytes"],
        "huffman_bytes": rep["total"]["huffman_bytes"],
        "dense_bytes": rep["total"]["dense_bytes"],
        "errors": err,
        "layers": [
            {
                k: d.get(k)
                for k in ("name", "method", "params", "kept", "code_bits", "index_bits", "ratio", "huffman_ratio")
            }
            for d in rep["layers"]
        ],
        "selection": rep.get("selection"),
        "search": rep.get("search"),
        "seconds": {**rep["seconds"], "wall": sum(rep["seconds"].values()) if reused else time.perf_counter() - t0},
        "reused": bool(reused),
    }


def off_the_shelf(folder: Path, config: str, data_dir: str, quick: bool, flow_result: dict) -> dict:
    """tfmot pruning + qkeras.codebook.weight_compression (no fine-tuning) on the flow's dense model,
    at the flow's per-layer sparsity and code bits, trained on the same split; storage as the flow counts it."""
    import warnings

    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    from qkeras.codebook import weight_compression
    from sklearn.exceptions import ConvergenceWarning

    from flow.compress.storage import layer_storage
    from flow.compress.train import evaluate
    from flow.compress.validation import split
    from flow.data import load_dataset

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # zero-heavy rows: fewer distinct values
    t0 = time.perf_counter()
    cfg = load(config, data_dir, quick)
    c = cfg.compress
    if (folder / "dense.keras").is_file():
        ds = load_dataset(cfg.data)
        sp = split(ds.x_train, ds.y_train, cfg.data)
        dense = tf.keras.models.load_model(folder / "dense.keras", compile=False)
    else:  # a reused folder without dense.keras: the pipeline's own dense phase again (deterministic)
        from flow.compress.pipeline import prepare, train_dense

        ds, dense, sp = prepare(cfg)
        train_dense(cfg, dense, sp, progress=False)
    dense_err = 1 - evaluate(dense, ds.x_test, ds.y_test)
    if dense_err != flow_result["dense_error"]:
        raise RuntimeError(
            f"the dense model of the off-the-shelf route ({dense_err}) is not the flow's ({flow_result['dense_error']})"
        )
    t_dense = time.perf_counter() - t0
    t0 = time.perf_counter()
    tf.keras.utils.set_random_seed(cfg.seed)
    settings = {d["name"]: d for d in flow_result["layers"]}
    sparsity = {n: 1.0 - d["kept"] for n, d in settings.items()}
    epochs = 1 if quick else c.prune_steps * c.prune_epochs
    steps = int(np.ceil(len(sp.x_train) / c.batch_size)) * epochs

    def wrap(layer):
        if layer.name in sparsity:
            sched = tfmot.sparsity.keras.PolynomialDecay(
                0.0, sparsity[layer.name], 0, max(1, int(0.7 * steps)), frequency=max(1, steps // 40)
            )
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=sched)
        return layer

    pruned = tf.keras.models.clone_model(dense, clone_function=wrap)
    pruned.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    pruned.fit(
        sp.x_train,
        sp.y_train,
        epochs=epochs,
        batch_size=c.batch_size,
        verbose=0,
        callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
    )
    pruned = tfmot.sparsity.keras.strip_pruning(pruned)
    pruned_w = pruned.get_weights()
    layers, storage = {}, []
    for name, d in settings.items():
        bits = d["code_bits"]
        layer = pruned.get_layer(name)
        kernel, bias = layer.get_weights()
        flat = kernel.reshape(-1, kernel.shape[-1])  # conv kernels: one row per (kh, kw, cin)
        note = "per input row (axis 0)"
        try:
            idx, books = weight_compression(flat, bits, axis=0)
            decoded = np.take_along_axis(books, idx, axis=1)
            n_books = books.shape[0]
        except Exception as exc:  # noqa: BLE001 - recorded and reported, then the fallback
            note = f"crashed per row ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); fell back to one codebook"
            idx, books = weight_compression(flat.reshape(1, -1), bits, axis=0)
            decoded = books[0][idx].reshape(flat.shape)
            n_books = 1
        decoded = decoded.reshape(kernel.shape).astype(np.float32)
        layer.set_weights([decoded, bias])
        # zeros stay free only where the zero cluster's centroid is exactly 0
        codes = np.where(decoded != 0, np.asarray(idx).reshape(kernel.shape) + 1, 0)
        s = layer_storage(name, codes, bias.size, bits, d["index_bits"], eie=False)
        s.codebook_bits = n_books * 2**bits * 32
        storage.append(s)
        layers[name] = {
            "note": note,
            "codebooks": n_books,
            "kept": float(np.mean(decoded != 0)),
            "distinct_values": int(np.unique(decoded).size),
            "bytes": s.total_bits / 8,
            "huffman_bytes": s.huffman_total_bits / 8,
        }
    dense_b = sum(s.dense_bits for s in storage) / 8
    comp_b = sum(s.total_bits for s in storage) / 8
    huff_b = sum(s.huffman_total_bits for s in storage) / 8
    shared_err = 1 - evaluate(pruned, ds.x_test, ds.y_test)
    pruned.set_weights(pruned_w)
    return {
        "error_pruned": 1 - evaluate(pruned, ds.x_test, ds.y_test),
        "error": shared_err,
        "ratio": dense_b / comp_b,
        "huffman_ratio": dense_b / huff_b,
        "bytes": comp_b,
        "huffman_bytes": huff_b,
        "epochs": epochs,
        "layers": layers,
        "seconds": time.perf_counter() - t0,  # pruning + weight_compression (the dense model is shared)
        "dense_seconds": t_dense,
    }


def numbers(r: dict) -> tuple:
    """What two runs with the same seed must reproduce exactly."""
    return (r["dense_error"], r["error"], r["validation_error"], r["ratio"], r["huffman_ratio"])


def run_part(
    part: str, data_dir: str, quick: bool, repeat: bool, workdir: Path, reuse: bool = False,
    shelf: bool = True,
) -> dict:
    if part in NETWORKS:
        net = NETWORKS[part]
        folder = workdir / part
        res = run_flow(net["config"], data_dir, quick, folder, save_dense=True, reuse=reuse)
        res["off_the_shelf"] = off_the_shelf(folder, net["config"], data_dir, quick, res) if shelf else None
        res["paper"], res["goal"] = net["paper"], net["goal"]
        res["goal_met"] = res["error"] <= net["goal"]["error"] and res["huffman_ratio"] >= net["goal"]["huffman_ratio"]
        if repeat:
            again = run_flow(net["config"], data_dir, quick, workdir / f"{part}_again")
            res["repeat_identical"] = numbers(again) == numbers(res)
        return res
    out = {}
    for label, config in COMPARISONS[part].items():
        folder = workdir / Path(config).stem
        out[label] = run_flow(config, data_dir, quick, folder, reuse=reuse)
        if repeat:
            again = run_flow(config, data_dir, quick, workdir / f"{folder.name}_again")
            out[label]["repeat_identical"] = numbers(again) == numbers(out[label])
    return out


def print_tables(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    for part in NETWORKS:
        r = result.get(part)
        if not r:
            continue
        t = Table(title=f"{part} on MNIST ({r['config']})")
        for col in ("route", "test error", "ratio", "+ Huffman", "wall"):
            t.add_column(col, justify="left" if col == "route" else "right")
        t.add_row("dense", f"{100 * r['dense_error']:.2f}%", "1x", "", "")
        t.add_row(
            "this flow (validation-selected)",
            f"{100 * r['error']:.2f}%",
            f"{r['ratio']:.1f}x",
            f"{r['huffman_ratio']:.1f}x",
            f"{r['seconds']['wall']:.0f} s",
        )
        s = r["off_the_shelf"]
        if s is None:
            t.add_row("tfmot + qkeras.codebook", "not run", "", "", "")
        else:
            t.add_row(
                "tfmot + qkeras.codebook",
                f"{100 * s['error']:.2f}%",
                f"{s['ratio']:.1f}x",
                f"{s['huffman_ratio']:.1f}x",
                f"{s['seconds']:.0f} s",
            )
        p = r["paper"]
        t.add_row("paper (Deep Compression)", f"{100 * p['error']:.2f}%", "", f"{p['huffman_ratio']}x", "")
        g = r["goal"]
        t.caption = (
            f"goal <= {100 * g['error']:.2f}% at >= {g['huffman_ratio']}x: {'met' if r['goal_met'] else 'NOT met'}"
        )
        console.print(t)
    for part in COMPARISONS:
        r = result.get(part)
        if not r:
            continue
        t = Table(title=f"{part}: LeNet-300-100 on MNIST")
        for col in ("variant", "dense test err", "dense val err", "val err", "test err", "ratio", "+ Huffman", "wall"):
            t.add_column(col, justify="left" if col == "variant" else "right")
        for label, v in r.items():
            dval = v["dense_validation_error"]
            t.add_row(
                label,
                f"{100 * v['dense_error']:.2f}%",
                f"{100 * dval:.2f}%" if dval is not None else "-",
                f"{100 * v['validation_error']:.2f}%" if v["validation_error"] is not None else "-",
                f"{100 * v['error']:.2f}%",
                f"{v['ratio']:.1f}x",
                f"{v['huffman_ratio']:.1f}x",
                f"{v['seconds']['wall']:.0f} s",
            )
        console.print(t)


def main(argv=None) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")  # qkeras.codebook wraps its loop in tqdm
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="MNIST idx folder (default: FLOW_DATA_DIR or ../shared/data/mnist)")
    p.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {PARTS} (default: all)")
    p.add_argument("--quick", action="store_true", help="a smoke test on 6,000 images, 1-2 epochs per phase")
    p.add_argument("--repeat", action="store_true", help="run each flow config twice, check identical numbers")
    p.add_argument("--out", type=Path, default=HERE / "results" / "deep_compression.json")
    p.add_argument("--keep", type=Path, help="keep the compressed folders here (default: a temporary folder)")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: read the report of a folder there written by `flow compress` with the same settings",
    )
    p.add_argument("--no-off-the-shelf", action="store_true", help="leave out the tfmot + QKeras route")
    p.add_argument("--seeds", type=int, help="run each config with this many seeds (the config's seed + 0..N-1)")
    p.add_argument("--workers", type=int, default=1, help="with --seeds: seeds run at once, one process each")
    p.add_argument("--ray-address", help="with --seeds: run the seeds as Ray tasks there (needs eie-flow[ray])")
    p.add_argument("--config", type=Path, help="with --seeds: this config instead of the parts' (recorded by its stem)")
    p.add_argument("--seeds-out", type=Path, default=HERE / "results" / "deep_compression_seeds.json")
    args = p.parse_args(argv)
    if args.seeds is not None or args.config is not None:
        return _main_seeds(p, args)
    parts = [s for s in args.only.split(",") if s]
    bad = sorted(set(parts) - set(PARTS))
    if bad:
        p.error(f"--only: unknown part(s) {bad}; use {PARTS}")
    from flow.testing import find_mnist_dir

    data_dir = find_mnist_dir(args.data_dir)
    if data_dir is None:
        where = args.data_dir or "FLOW_DATA_DIR or ../shared/data/mnist"
        p.error(f"MNIST idx files not found in {where}: pass --data-dir or set FLOW_DATA_DIR")
    if args.reuse and not args.keep:
        p.error("--reuse needs --keep DIR")
    run(str(data_dir), parts, args.quick, args.repeat, args.out, args.keep, args.reuse,
        not args.no_off_the_shelf)
    return 0


def _main_seeds(p: argparse.ArgumentParser, args) -> int:
    sys.path.insert(0, str(HERE))
    import deep_compression_seeds as seeds_bench

    if args.seeds is None or args.seeds < 1:
        p.error(f"--seeds {args.seeds}: give the number of seeds (>= 1)")
    if args.workers < 1:
        p.error(f"--workers {args.workers}: need at least 1")
    if args.config is not None and not args.config.is_file():
        p.error(f"--config {args.config} is not a file")
    from flow.testing import find_mnist_dir

    data_dir = find_mnist_dir(args.data_dir)
    if data_dir is None:
        p.error("MNIST idx files not found: pass --data-dir or set FLOW_DATA_DIR")
    if args.config is not None:
        jobs = [(args.config.stem, args.config.resolve(), None)]
    else:
        parts = [s for s in args.only.split(",") if s]
        bad = sorted(set(parts) - set(NETWORKS))
        if bad:
            p.error(f"--seeds runs the networks {list(NETWORKS)} (or --config FILE), not {bad}")
        jobs = [(part, EXAMPLES / NETWORKS[part]["config"], NETWORKS[part]["goal"]) for part in parts]
    with tempfile.TemporaryDirectory() as tmp:
        for key, path, goal in jobs:
            cfg = load(str(path), str(data_dir), args.quick)
            label = f"examples/{path.name}" if path.parent == EXAMPLES else str(path)
            what = f"--config {label}" if args.config is not None else f"--only {key}"
            command = (f"python bench/deep_compression.py --data-dir <mnist> --seeds {args.seeds} --workers "
                       f"{args.workers} {what}" + (" --quick" if args.quick else ""))
            entry = seeds_bench.run(
                key, cfg, label, args.seeds, args.seeds_out, (args.keep or Path(tmp)) / key,
                workers=args.workers, ray_address=args.ray_address, goal=goal, quick=args.quick,
                command=command,
            )
            print(seeds_bench.describe(entry))
    return 0


def _pin_threads(tf) -> None:
    """Fixed TF thread counts, so a run's numbers do not depend on the machine's core count.

    TF takes them only before its first op; a process that already ran TF (pytest, after other tests)
    keeps its own setting, which is the same for both runs of a repeat check.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ.get("TF_NUM_INTRAOP_THREADS", "2")))
        tf.config.threading.set_inter_op_parallelism_threads(int(os.environ.get("TF_NUM_INTEROP_THREADS", "1")))
    except RuntimeError:
        log.info("TensorFlow already initialised in this process: its thread settings are kept")


def run(
    data_dir: str, parts: list[str], quick: bool, repeat: bool, out: Path, keep: Path | None = None,
    reuse: bool = False, shelf: bool = True,
) -> dict:
    import tensorflow as tf

    _pin_threads(tf)
    result = json.loads(out.read_text()) if out.is_file() else {}
    if result.get("quick") != quick:
        result = {}
    result["quick"] = quick
    with tempfile.TemporaryDirectory() as tmp:
        workdir = keep or Path(tmp)
        for part in parts:
            t0 = time.perf_counter()
            log.info("part %s", part)
            result[part] = run_part(part, data_dir, quick, repeat, workdir, reuse, shelf)
            result.setdefault("seconds", {})[part] = time.perf_counter() - t0
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1))
    print_tables(result)
    return result


if __name__ == "__main__":
    sys.exit(main())
