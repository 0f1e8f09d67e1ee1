"""`flow build`: from a network to a deploy bundle for a PYNQ board."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from flow.cli import options
from flow.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="train, compress, convert (hls4ml 'EIE'), csim, board project, deploy bundle",
        description=(
            "Build a deploy bundle for a PYNQ board. With no arguments: the built-in digits MLP, trained and "
            "compressed here, offline. Vendor steps (Vitis HLS csynth/cosim/export, Vivado bitstream) run "
            "when the tools are on PATH; otherwise they are reported as skipped and everything else is done. "
            "A rebuild skips up-to-date steps; the previous bundle stays intact until the new one is complete."
        ),
    )
    p.add_argument("--board", default=None, help="board name (see `flow boards`); default pynq-z2")
    options.add_config(p)
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a compressed-model folder from `flow compress` (skips training), or a trained Keras .h5/.keras "
        "to compress (pruned, shared and fine-tuned; no dense training)",
    )
    options.add_data_dir(p)
    p.add_argument("--out", type=Path, default=Path("flow-build"), help="build folder (default ./flow-build)")
    options.add_array(p)
    p.add_argument("--clock", type=float, default=None, help="fabric clock in MHz (default: the board's)")
    p.add_argument("--epochs", type=int, default=None, help="override every training epoch count (quick runs)")
    p.add_argument("--skip-train", action="store_true", help="require --model to be an already compressed model")
    p.add_argument(
        "--force", action="store_true",
        help="rerun every step even if up to date (only a folder a previous build wrote is ever replaced)",
    )
    p.add_argument(
        "--allow-ii",
        action="store_true",
        help="go on when Vitis HLS reports the PE array above II=1 (default: the build stops with the numbers)",
    )
    p.add_argument(
        "--engine", choices=("auto", "rtl", "hls"), default="auto",
        help="rtl: model.eie for the board's RTL overlay (built first when none exists), no HLS kernel; hls: the "
        "HLS kernel with the weights in ROM; auto (default): rtl for all-Dense networks, with the HLS bundle "
        "beside it, hls for networks with other layers (convolutions). The summary says which ran and why",
    )
    options.add_quality(p)
    options.add_no_progress(p)
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    """The config file (or defaults) with command-line overrides applied and validated."""
    extra = {"build.board": ("--board", args.board), "build.clock_mhz": ("--clock", args.clock)}
    for key in ("epochs", "prune_epochs", "finetune_epochs"):
        extra[f"compress.{key}"] = ("--epochs", args.epochs)
    return options.load_config_with(args, args.config, extra)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from flow.board.boards import load_board
    from flow.build.runner import check_output_dir, run_build
    from flow.build.summary import print_summary
    from flow.outdir import OutputLock

    console = Console(stderr=False)

    cfg = config_from_args(args)
    load_board(cfg.build.board)  # an unknown board is a usage error before any work
    out = check_output_dir(args.out, args.force)
    with OutputLock(out, "build"):  # held from the checks to the swap: a second run exits 2 at once
        return _run_locked(args, cfg, console, run_build, print_summary)


def _run_locked(args, cfg, console, run_build, print_summary) -> int:
    from flow.board.vendor import find_tools
    from flow.build import preflight

    opts: dict = {"progress": not args.no_progress, **options.quality_options(args)}
    if args.model is not None:
        if not args.model.exists():
            raise UsageError(f"--model {args.model} does not exist; pass a compressed-model folder or a .h5/.keras file")
        opts["model_path"] = str(args.model.resolve())
    elif args.skip_train:
        raise UsageError("--skip-train needs --model <compressed-model folder> (from `flow compress`)")
    opts["skip_train"] = bool(args.skip_train)
    opts["allow_ii"] = bool(getattr(args, "allow_ii", False))
    opts["engine"] = getattr(args, "engine", "auto")
    preflight.check(cfg, opts)  # every input read and checked before any work
    # a tool that appears (or goes) on PATH makes the vendor step rerun
    opts["vendor_tools"] = sorted(k for k, t in find_tools(probe_versions=False).items() if t is not None)

    t0 = time.perf_counter()

    def on_step(name: str, status: str, seconds: float) -> None:
        mark = "[green]done[/]" if status == "done" else "[dim]up to date, skipped[/]"
        console.print(f"[bold]{name:<14}[/] {mark} ({seconds:.1f} s)")

    from flow.build.steps import steps_for

    ctx = run_build(cfg, Path(args.out), options=opts, force=args.force, on_step=on_step,
                    steps=steps_for(opts["engine"]))
    print_summary(Path(args.out), console=console)
    console.print(f"build finished in {time.perf_counter() - t0:.1f} s -> {ctx.out}")
    return 0
