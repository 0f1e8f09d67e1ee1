"""`flow csim`: C-simulate a compressed model on the EIE backend and check it against Keras and the reference.

Converts the folder written by `flow compress` with hls4ml backend 'EIE', builds the csim library
with g++, runs the test set, and reports accuracy, top-1 agreement with the Keras model, and bit
mismatches against the numpy reference (flow.eie.reference). Writes <out>/csim.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from flow.cli import options
from flow.errors import FlowError, UsageError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "csim",
        help="C simulation of the EIE HLS code: accuracy, agreement, bit-exactness",
        description=__doc__,
    )
    p.add_argument("model_dir", type=Path, help="compressed-model folder written by `flow compress`")
    options.add_data_dir(p)
    p.add_argument("--n", type=int, default=1000, help="test samples to simulate (default 1000, 0 = all)")
    options.add_array(p, default_from="the folder's config")
    p.add_argument(
        "--min-agreement", type=float, default=0.99, help="minimum top-1 agreement with Keras (default 0.99)"
    )
    p.add_argument("--out", type=Path, help="output folder (default: <model_dir>/csim)")
    p.set_defaults(func=run)


def _check_args(args) -> None:
    if args.n < 0:
        raise UsageError(f"--n={args.n}: give a number of samples >= 0 (0 = the whole test set)")
    if not 0.0 <= args.min_agreement <= 1.0:
        raise UsageError(f"--min-agreement={args.min_agreement}: give a fraction between 0 and 1")
    if not args.model_dir.is_dir():
        raise UsageError(f"{args.model_dir} is not a folder; pass the output folder of `flow compress`")


def _config(args):
    cfg_path = args.model_dir / "config.yaml"
    return options.load_config_with(args, cfg_path if cfg_path.is_file() else None)


def load_model_data(cm, cfg, model_dir: Path):
    """The dataset of a compressed model's simulation, after the checks every simulating command makes
    before converting (flow.build.preflight): layers and activations the hardware runs, and an input
    width that matches the data (the message names the data's file and the fix)."""
    from flow.build import preflight
    from flow.data import load_dataset

    preflight.check_engine_layers(cm.model, str(model_dir))
    ds = load_dataset(cfg.data)
    preflight.check_model_vs_data(
        cm.model, ds, f"the model in {model_dir}", data_cfg=cfg.data,
        fix="pass --data-dir the dataset the model was compressed on (its config.yaml's data section names it)",
    )
    return ds


def simulate(model_dir: Path, cfg, out_dir: Path, n: int, min_agreement: float = 0.99) -> dict:
    """Convert, compile and simulate; returns the csim.json dict (also written to out_dir)."""
    from flow.compress.io import load_compressed
    from flow.hls import csim
    from flow.hls.convert import convert

    cm = load_compressed(model_dir)
    ds = load_model_data(cm, cfg, model_dir)
    x, y = (ds.x_test, ds.y_test) if n == 0 else (ds.x_test[:n], ds.y_test[:n])
    if tuple(x.shape[1:]) != tuple(cm.model.input_shape[1:]):
        raise UsageError(
            f"dataset '{ds.name}' has samples of shape {x.shape[1:]} but the model takes "
            f"{cm.model.input_shape[1:]}; pass the dataset the model was compressed on (--data-dir)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    hls_model = convert(cm, cfg.hls, out_dir / "hls")
    convert_s = time.perf_counter() - t0
    compile_s = csim.compile_model(hls_model)
    res = csim.check_agreement(
        hls_model, cm.model, x, hls_model.eie_layers, min_agreement=min_agreement, raise_on_failure=False, labels=y
    )
    summary = {
        "model_dir": str(model_dir),
        "dataset": ds.name,
        **{k: v for k, v in res.items() if k not in ("predictions", "csim_s_per_sample")},
        "csim_us_per_sample": res["csim_s_per_sample"] * 1e6,
        "convert_s": convert_s,
        "compile_s": compile_s,
        "hls_project": str(out_dir / "hls"),
        "layers": [layer.summary() for layer in hls_model.eie_layers],
        "ok": not res["failures"],
    }
    (out_dir / "csim.json").write_text(json.dumps(summary, indent=1))
    return summary


def print_summary(summary: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title=f"csim of {summary['model_dir']} on {summary['dataset']} ({summary['n']} samples)")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("accuracy (csim)", f"{summary['accuracy_csim']:.4f}")
    t.add_row("accuracy (Keras)", f"{summary['accuracy_keras']:.4f}")
    t.add_row("top-1 agreement with Keras", f"{summary['top1_agreement']:.4f}")
    ref = (
        "not covered (non-EIE layers)"
        if not summary["reference_checked"]
        else (f"{summary['bit_mismatches']} bits in {summary['mismatched_samples']} samples")
    )
    t.add_row("mismatches vs reference", ref)
    t.add_row("csim time per sample", f"{summary['csim_us_per_sample']:.1f} us")
    t.add_row("g++ build", f"{summary['compile_s']:.1f} s")
    console.print(t)
    lt = Table(title="EIE layers")
    for col in ("layer", "shape", "PEs", "FIFO", "non-zeros", "code/index bits", "act", "output type"):
        lt.add_column(col)
    for lyr in summary["layers"]:
        o = lyr["output_type"]
        lt.add_row(
            lyr["name"],
            f"{lyr['n_in']}x{lyr['n_out']}",
            str(lyr["n_pe"]),
            str(lyr["fifo_depth"]),
            str(lyr["nnz"]),
            f"{lyr['code_bits']}/{lyr['index_bits']}",
            lyr["activation"],
            f"<{o['width']},{o['integer']}>",
        )
    console.print(lt)


def run(args) -> int:
    _check_args(args)
    cfg = _config(args)
    out_dir = options.check_out_folder(args.out, args.model_dir / "csim")  # before any work
    summary = simulate(args.model_dir, cfg, out_dir, args.n, args.min_agreement)
    print_summary(summary)
    print(f"wrote {out_dir / 'csim.json'}")
    if summary["failures"]:
        raise FlowError(summary["failures"][0])
    return 0
