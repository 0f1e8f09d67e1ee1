"""Glue between `flow build`'s arguments, the config and the step runner (kept out of cli.py)."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from flow.errors import UsageError


def config_from_args(args: argparse.Namespace):
    """The config file (or defaults) with command-line overrides applied and validated."""
    from flow.config import load_config

    cfg = load_config(args.config)
    if args.board is not None:
        cfg.build = dataclasses.replace(cfg.build, board=args.board)
    if args.clock is not None:
        cfg.build = dataclasses.replace(cfg.build, clock_mhz=args.clock)
    try:
        if args.pe is not None:
            cfg.hls = dataclasses.replace(cfg.hls, n_pe=args.pe)
        if args.fifo_depth is not None:
            cfg.hls = dataclasses.replace(cfg.hls, fifo_depth=args.fifo_depth)
    except ValueError as exc:
        raise UsageError(f"{exc} (from --pe/--fifo-depth)") from None
    if args.data_dir is not None:
        if not args.data_dir.is_dir():
            raise UsageError(f"--data-dir {args.data_dir} is not a folder; pass the folder holding the dataset files")
        from flow.data import set_data_dir

        set_data_dir(cfg.data, str(args.data_dir))  # as in flow compress/csim: digits becomes mnist
    if args.epochs is not None:
        if args.epochs < 1:
            raise UsageError(f"--epochs {args.epochs}: need at least 1")
        cfg.compress = dataclasses.replace(
            cfg.compress, epochs=args.epochs, prune_epochs=args.epochs, finetune_epochs=args.epochs
        )
    return cfg


def run_build_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from flow.boards import load_board
    from flow.build import run_build
    from flow.summary import print_summary

    console = Console(stderr=False)
    cfg = config_from_args(args)
    load_board(cfg.build.board)  # an unknown board is a usage error before any work
    options: dict = {"progress": not args.no_progress}
    if args.model is not None:
        if not args.model.exists():
            raise UsageError(f"--model {args.model} does not exist; pass a compressed-model folder or a .h5/.keras file")
        options["model_path"] = str(args.model.resolve())
    elif args.skip_train:
        raise UsageError("--skip-train needs --model <compressed-model folder> (from `flow compress`)")
    options["skip_train"] = bool(args.skip_train)
    from flow.vendor import find_tools

    # a tool that appears (or goes) on PATH makes the vendor step rerun
    options["vendor_tools"] = sorted(k for k, t in find_tools(probe_versions=False).items() if t is not None)

    t0 = time.perf_counter()

    def on_step(name: str, status: str, seconds: float) -> None:
        mark = "[green]done[/]" if status == "done" else "[dim]up to date, skipped[/]"
        console.print(f"[bold]{name:<14}[/] {mark} ({seconds:.1f} s)")

    ctx = run_build(cfg, Path(args.out), options=options, force=args.force, on_step=on_step)
    print_summary(Path(args.out), console=console)
    console.print(f"build finished in {time.perf_counter() - t0:.1f} s -> {ctx.out}")
    return 0
