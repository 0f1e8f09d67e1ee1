"""Helpers of the robustness suite: ONE small build for the whole session (a synthetic
compressed digits MLP, built with --skip-train: no training), its compressed folder, and helpers
that run `flow` in-process or as a subprocess and check the one-line, no-traceback contract."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flow.cli import main

REPO = Path(__file__).resolve().parents[2]


def make_compressed(folder: Path) -> Path:
    """A compressed-model folder for the digits data (64 -> 16 -> 10), made without training."""
    from flow.compress.io import save_compressed
    from flow.data import load_dataset
    from flow.testing import as_compressed, shared_mlp

    ds = load_dataset()
    model, types = shared_mlp([64, 16, 10], [0.5, 0.5], calib_x=ds.x_train[:256], seed=1)
    cm = as_compressed(model, types)
    save_compressed(cm, folder)
    return folder


def build_args(compressed: Path, out: Path, *extra: str) -> list[str]:
    return ["build", "--model", str(compressed), "--skip-train", "--out", str(out), "--no-progress", "--pe", "2", *extra]


def tree_digest(folder: Path) -> str:
    """Hash of every path and file content under `folder` (byte-identical check)."""
    h = hashlib.sha256()
    for p in sorted(Path(folder).rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


def run_inproc(capsys, args: list[str]) -> tuple[int, str, str]:
    rc = main(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def assert_usage_error(rc: int, err: str, *needles: str, code: int = 2) -> None:
    assert rc == code, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def flow_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from flow.cli import main; sys.exit(main(sys.argv[1:]))", *args]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    e["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return e


def copy_build(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def run_sub(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(flow_cmd(*args), capture_output=True, text=True, env=env(), **kw)
