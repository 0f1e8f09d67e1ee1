"""Verilator harness of kernels/rtl/eie_engine.sv: built once per parameter set (cached), run on
many inputs per process.

The build lives in $EIE_RTL_CACHE (default ~/.cache/eie-flow/rtl)/<params.key()>-<sources>; a build
is reused when its binary exists. Concurrent runs needing the same entry take turns on a lock file
beside it (`.<entry>.lock`, flock: dropped by the kernel when a run dies); the build happens in a
temporary folder renamed into place, so an entry is complete or absent, never half built. Verilator
and the compilers it starts run in a process group of their own, stopped with the flow (flow.proc).
Runs happen in a folder holding the $readmemh images (the engine
reads INIT_DIR=".", the working directory), optionally with load-port writes on top.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from flow.errors import FlowError, ToolMissing
from flow.rtl.params import EngineParams

log = logging.getLogger(__name__)

from flow.paths import kernels_dir

RTL_DIR = kernels_dir().parent / "rtl"  # kernels/rtl beside kernels/hls (source tree or wheel)
SOURCES = ("eie_ram.sv", "eie_detector.sv", "eie_requant.sv", "eie_pe.sv", "eie_engine.sv")


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
    from flow.proc import run_group

    res = run_group(cmd, cwd=cwd)
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
    """The harness binary for ``params`` (built on first use, then cached; see the module docstring)."""
    require("verilator")
    root = cache_dir()
    out = root / f"{params.key()}-{_source_stamp()}"
    exe = out / "obj" / "eie_harness"
    if exe.exists():
        return exe
    root.mkdir(parents=True, exist_ok=True)
    with _entry_lock(root / f".{out.name}.lock"):
        if exe.exists():  # another run built it while this one waited
            return exe
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=root))
        try:
            try:
                _compile(params, tmp, jobs)
            except FlowError as exc:  # the temporary folder goes: reproduce in the entry's place
                raise FlowError(str(exc).replace(f"cd {tmp} &&", f"mkdir -p {out} && cd {out} &&")) from None
            if out.exists():  # a half-built entry of an older flow (no lock then)
                shutil.rmtree(out)
            os.rename(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return exe


class _entry_lock:
    """flock on `path` for one cache entry (blocking: the other run's build is this run's result)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another run building the same RTL harness (%s)", self.path)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock; the file stays (unlinking it races with waiters)
            self.fd = None


def _compile(params: EngineParams, folder: Path, jobs: int) -> None:
    gflags = [f"-G{k}={v}" for k, v in params.generics().items()]
    cmd = [
        "verilator", "--cc", "--exe", "--build", "-j", str(jobs), "-O1", "--x-assign", "0",
        "--x-initial", "0", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "eie_engine",
        '-GINIT_DIR="."', *gflags, "-CFLAGS", f"-O1 -DEIE_XW={params.XW}", "--Mdir", "obj",
        "-o", "eie_harness", *map(str, rtl_sources()), str(RTL_DIR / "harness" / "eie_harness.cpp"),
    ]  # fmt: skip
    log.info("building the RTL harness in %s", folder)
    _run(cmd, cwd=folder, what="verilator build")


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
