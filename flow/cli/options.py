"""Options several commands share, and the one way their values reach the config.

`add_*` put an option on a command's parser; `load_config_with(args, path)` loads the YAML (or the
defaults) and applies the options that were given through flow.config.apply_overrides, so a value
from the command line is validated exactly as the same value in the YAML would be.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flow.errors import UsageError

#: kernel file systems: never an output place
SYSTEM_DIRS = ("/proc", "/sys", "/dev")


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


def overrides(args: argparse.Namespace, cfg, source: str = "the config") -> dict:
    """{dotted config key: (option, value)} of the shared options present on `args`.

    `source` names where `cfg` came from (a YAML file, a compressed folder's config.yaml), for the
    messages that tell the user which file to edit instead.
    """
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
        if cfg.data.name == "npz":  # --data-dir names an MNIST idx folder; an npz dataset is one file
            raise UsageError(
                f"--data-dir {data_dir}: {source} reads its dataset from the .npz file data.path "
                f"({cfg.data.path}), which --data-dir (an MNIST idx folder) does not change; leave "
                f"--data-dir out, or set data.path in {source} to the .npz to use"
            )
        out["data.data_dir"] = ("--data-dir", str(data_dir))
        if cfg.data.name == "digits":  # an MNIST folder: the built-in digits set becomes mnist (npz stays)
            out["data.name"] = ("--data-dir", "mnist")
    return out


def load_config_with(args: argparse.Namespace, path=None, extra: dict | None = None):
    """The config at `path` (None: the defaults) with the shared options and `extra` overrides applied."""
    from flow.config import FlowConfig, apply_overrides, load_config

    cfg = load_config(path) if path is not None else FlowConfig()
    source = str(path) if path is not None else "the default config"
    return apply_overrides(cfg, {**overrides(args, cfg, source), **(extra or {})})


def check_out_folder(given: Path | None, default: Path, option: str = "--out") -> Path:
    """The folder a command writes its results into (`flow csim`/`flow rtlsim` --out, or their default
    place inside the compressed folder), resolved, or a UsageError saying why it cannot be written -
    checked before any conversion, compilation or data loading. The folder is written into (files
    replaced one by one), not replaced as a whole, so an existing folder is fine."""
    import os

    path = Path(given) if given is not None else Path(default)
    what = f"{option} {path}" if given is not None else f"the default output folder {path}"
    fix = f"pass {option} a folder in a writable place"
    try:
        out = path.expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        why = ("the current folder no longer exists" if isinstance(exc, FileNotFoundError)
               else f"cannot resolve the path ({exc})")
        raise UsageError(f"{what}: {why}; cd to an existing folder or {fix} (an absolute path)") from None
    if any(str(out) == p or str(out).startswith(p + "/") for p in SYSTEM_DIRS):
        raise UsageError(f"{what} is inside the kernel's {str(out).split('/')[1]} file system; {fix}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{what} exists and is a file, not a folder; {fix}")
    existing = next(p for p in [out, *out.parents] if p.exists())
    if existing != out and not existing.is_dir():
        raise UsageError(f"{what}: {existing} is a file, not a folder; {fix}")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "is" if existing == out else f"would be created in {existing}, which is"
        raise UsageError(f"{what} {where} not writable; {fix}")
    return out
