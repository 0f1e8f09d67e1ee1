"""Verilator harness of kernels/rtl/eie_engine.sv: built once per parameter set (cached), run on
many inputs per process.

The build lives in $EIE_RTL_CACHE (default ~/.cache/eie-flow/rtl)/<params.key()>; a build is
reused when its binary exists. Runs happen in a folder holding the $readmemh images (the engine
reads INIT_DIR=".", the working directory), optionally with load-port writes on top.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from flow.errors import FlowError, ToolMissing, UsageError
from flow.rtl.params import EngineParams

log = logging.getLogger(__name__)

from flow.paths import kernels_dir

RTL_DIR = kernels_dir().parent / "rtl"  # kernels/rtl beside kernels/hls (source tree or wheel)
SOURCES = ("eie_ram.sv", "eie_detector.sv", "eie_requant.sv", "eie_pe.sv", "eie_engine.sv")


def rtl_sources() -> list[Path]:
    return [RTL_DIR / s for s in SOURCES]


def cache_dir() -> Path:
    given = os.environ.get("EIE_RTL_CACHE")
    if given:
        return Path(given)
    try:
        return Path.home() / ".cache" / "eie-flow" / "rtl"
    except RuntimeError:  # no HOME and no passwd entry
        return Path(tempfile.gettempdir()) / "eie-flow-rtl-cache"


def usable_cache_dir() -> Path:
    """cache_dir(), created, or a UsageError naming EIE_RTL_CACHE and the fix when it cannot be written
    (a read-only HOME, an EIE_RTL_CACHE below a file or on a read-only disk): checked before any work."""
    path = cache_dir()
    where = "EIE_RTL_CACHE" if os.environ.get("EIE_RTL_CACHE") else "the default (EIE_RTL_CACHE not set: under $HOME)"
    fix = "set EIE_RTL_CACHE to a writable folder (e.g. export EIE_RTL_CACHE=/tmp/eie-rtl-cache)"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UsageError(
            f"the RTL build cache {path} ({where}) cannot be written: {exc.strerror or exc}; {fix}"
        ) from None
    return path


def require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolMissing(f"{tool} is not on PATH (Debian: apt-get install -y {tool})")
    return path


def _run(cmd, cwd=None, what="command"):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-25:])
        raise FlowError(f"{what} failed (exit {res.returncode}):\n{tail}\nreproduce: cd {cwd or '.'} && {' '.join(map(str, cmd))}")
    return res


def _source_stamp() -> str:
    import hashlib

    h = hashlib.sha256()
    for p in rtl_sources() + [RTL_DIR / "harness" / "eie_harness.cpp"]:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def build(params: EngineParams, jobs: int = 2) -> Path:
    """The harness binary for ``params`` (built on first use, then cached)."""
    require("verilator")
    out = usable_cache_dir() / f"{params.key()}-{_source_stamp()}"
    exe = out / "obj" / "eie_harness"
    if exe.exists():
        return exe
    out.mkdir(parents=True, exist_ok=True)
    gflags = [f"-G{k}={v}" for k, v in params.generics().items()]
    cmd = [
        "verilator", "--cc", "--exe", "--build", "-j", str(jobs), "-O1", "--x-assign", "0",
        "--x-initial", "0", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "eie_engine",
        '-GINIT_DIR="."', *gflags, "-CFLAGS", f"-O1 -DEIE_XW={params.XW}", "--Mdir", "obj",
        "-o", "eie_harness", *map(str, rtl_sources()), str(RTL_DIR / "harness" / "eie_harness.cpp"),
    ]  # fmt: skip
    log.info("building the RTL harness in %s", out)
    _run(cmd, cwd=out, what="verilator build")
    return exe


def simulate(exe: Path, mem_dir, x_raw, n_out: int, n_layers: int, load_file=None):
    """(outputs int64 [n, n_out], per-layer cycles int64 [n, n_layers], period int64 [n])."""
    x = np.atleast_2d(np.asarray(x_raw, dtype=np.int64))
    with tempfile.TemporaryDirectory() as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        hdr = np.array([x.shape[0], x.shape[1], n_out, n_layers], np.int32)
        fin.write_bytes(hdr.tobytes() + x.astype(np.int32).tobytes())
        cmd = [str(exe), str(fin), str(fout)] + ([str(Path(load_file).resolve())] if load_file else [])
        _run(cmd, cwd=mem_dir, what="RTL simulation")
        res = np.fromfile(fout, dtype=np.int32).reshape(x.shape[0], n_out + n_layers + 1)
    res = res.astype(np.int64)
    return res[:, :n_out], res[:, n_out : n_out + n_layers], res[:, -1]
