"""`flow build`: from a network to a deploy bundle for a PYNQ board."""

from __future__ import annotations

import argparse
from pathlib import Path


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
    p.add_argument("--config", type=Path, default=None, help="YAML config (see README, 'Config')")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a compressed-model folder from `flow compress` (skips training), or a trained Keras .h5/.keras "
        "to compress (pruned, shared and fine-tuned; no dense training)",
    )
    p.add_argument("--data-dir", type=Path, default=None, help="dataset folder (MNIST idx files); or FLOW_DATA_DIR")
    p.add_argument("--out", type=Path, default=Path("flow-build"), help="build folder (default ./flow-build)")
    p.add_argument("--pe", type=int, default=None, help="processing elements per layer (default from config: 8)")
    p.add_argument("--fifo-depth", type=int, default=None, help="activation FIFO depth per PE (default 8)")
    p.add_argument("--clock", type=float, default=None, help="fabric clock in MHz (default: the board's)")
    p.add_argument("--epochs", type=int, default=None, help="override every training epoch count (quick runs)")
    p.add_argument("--skip-train", action="store_true", help="require --model to be an already compressed model")
    p.add_argument("--force", action="store_true", help="rerun every step even if up to date")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flow.buildcli import run_build_command

    return run_build_command(args)
