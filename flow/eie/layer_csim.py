"""Compile EIE layers (or chains) with g++ into shared libraries and run them through ctypes.

The bridge takes and returns int64 raw fixed-point arrays, so csim is compared with
flow.eie.reference bit for bit. Libraries are cached by a hash of their sources, the kernel
headers and the compiler flags (``EIE_CSIM_CACHE`` or <tmp>/eie-flow-csim-cache).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from flow.errors import FlowError, ToolMissing, UsageError
from flow.paths import ap_types_dir, kernels_dir

log = logging.getLogger(__name__)

CXXFLAGS = ("-std=c++14", "-O2", "-fPIC", "-w")


def cache_dir() -> Path:
    path = Path(os.environ.get("EIE_CSIM_CACHE") or Path(tempfile.gettempdir()) / "eie-flow-csim-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def gxx() -> str:
    exe = shutil.which(os.environ.get("CXX", "g++"))
    if exe is None:
        raise ToolMissing("g++ is not on PATH: install g++ (apt-get install g++) to run C simulation")
    return exe


def _kernel_headers_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(kernels_dir().glob("*.h")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def compile_cached(sources: dict[str, str], *, shared: bool = True, extra_flags=(), tag: str = "eie") -> Path:
    """Write ``sources`` (name -> text), compile the .cpp ones, return the cached binary or .so."""
    compiler = gxx()
    flags = [*CXXFLAGS, *extra_flags, f"-I{ap_types_dir()}", f"-I{kernels_dir()}"]
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    h.update(" ".join(flags).encode() + str(shared).encode() + _kernel_headers_digest().encode())
    key = h.hexdigest()[:20]
    out = cache_dir() / f"{tag}-{key}{'.so' if shared else '.bin'}"
    if out.exists():
        return out
    work = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=cache_dir()))
    for name, text in sources.items():
        (work / name).write_text(text)
    cpps = [str(work / n) for n in sources if n.endswith(".cpp")]
    tmp_out = work / out.name
    cmd = [compiler, *flags, f"-I{work}", *(["-shared"] if shared else []), *cpps, "-o", str(tmp_out)]
    log.info("compiling %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise FlowError(f"g++ failed on {work} (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    os.replace(tmp_out, out)  # atomic: concurrent builders see a whole file or none
    shutil.rmtree(work, ignore_errors=True)
    return out
