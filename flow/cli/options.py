"""Options several commands share, and the one way their values reach the config.

`add_*` put an option on a command's parser; `load_config_with(args, path)` loads the YAML (or the
defaults) and applies the options that were given through flow.config.apply_overrides, so a value
from the command line is validated exactly as the same value in the YAML would be.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flow.errors import UsageError


def add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="YAML config (default: the built-in digits example)")


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir", type=Path, default=None,
        help="MNIST idx folder (sets data.data_dir; the built-in digits set becomes mnist); or FLOW_DATA_DIR",
    )


def add_array(p: argparse.ArgumentParser, default_from: str = "the config") -> None:
    p.add_argument("--pe", type=int, default=None, help=f"processing elements per layer (default: {default_from}, hls.n_pe)")
    p.add_argument("--fifo-depth", type=int, default=None, help=f"activation FIFO depth per PE (default: {default_from}, hls.fifo_depth)")


def add_quality(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-accuracy-drop", action="store_true",
        help="go on when the compressed model's accuracy collapsed (more than --max-accuracy-drop below the "
        "dense model, or at chance); by default that stops with the numbers",
    )
    p.add_argument(
        "--max-accuracy-drop", type=float, default=None, metavar="POINTS",
        help="accuracy points the compressed model may lose against the dense model (default 5)",
    )


def quality_options(args: argparse.Namespace) -> dict:
    import math

    drop = getattr(args, "max_accuracy_drop", None)
    if drop is not None and not (math.isfinite(drop) and 0 <= drop <= 100):
        raise UsageError(f"--max-accuracy-drop {drop}: use 0..100 percentage points")
    out = {"allow_accuracy_drop": bool(getattr(args, "allow_accuracy_drop", False))}
    if drop is not None:
        out["max_accuracy_drop"] = drop
    return out


def add_no_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")


def overrides(args: argparse.Namespace, cfg) -> dict:
    """{dotted config key: (option, value)} of the shared options present on `args`."""
    out: dict = {}
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        raise UsageError(f"--epochs {args.epochs}: need at least 1")
    if getattr(args, "pe", None) is not None:
        out["hls.n_pe"] = ("--pe", args.pe)
    if getattr(args, "fifo_depth", None) is not None:
        out["hls.fifo_depth"] = ("--fifo-depth", args.fifo_depth)
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise UsageError(f"--data-dir {data_dir} is not a folder; pass the folder holding the dataset files")
        out["data.data_dir"] = ("--data-dir", str(data_dir))
        if cfg.data.name == "digits":  # an MNIST folder: the built-in digits set becomes mnist (npz stays)
            out["data.name"] = ("--data-dir", "mnist")
    return out


def load_config_with(args: argparse.Namespace, path=None, extra: dict | None = None):
    """The config at `path` (None: the defaults) with the shared options and `extra` overrides applied."""
    from flow.config import FlowConfig, apply_overrides, load_config

    cfg = load_config(path) if path is not None else FlowConfig()
    return apply_overrides(cfg, {**overrides(args, cfg), **(extra or {})})
