"""C simulation of EIE layers: chains compiled with g++ into shared libraries, run through ctypes.

The bridge takes and returns int64 raw fixed-point arrays, so csim is compared with
flow.eie.reference bit for bit. Libraries are cached by a hash of their sources, the kernel
headers and the compiler flags (``EIE_CSIM_CACHE`` or <tmp>/eie-flow-csim-cache).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shlex
import shutil
import tempfile
from pathlib import Path

import numpy as np

from flow import cxx
from flow.errors import UsageError
from flow.paths import kernels_dir
from flow.templating import render

log = logging.getLogger(__name__)


def cxxflags(compiler: list[str]) -> list[str]:
    """flow.cxx's common flags for ``compiler``, plus -fno-gnu-unique where it is taken.

    -fno-gnu-unique: the kernel keeps `static` accumulators in templates named by the config struct only, so
    two csim libraries loaded in one process (P = 4, then P = 16) must not share them. Decided per compiler
    at compile time (not at import) so a $CXX set later, or a clang that rejects the flag, is honoured.
    """
    return cxx.flags(no_gnu_unique=True, cxx=compiler)


def cache_dir() -> Path:
    path = Path(os.environ.get("EIE_CSIM_CACHE") or Path(tempfile.gettempdir()) / "eie-flow-csim-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def gxx() -> str:
    """The C++ compiler command ($CXX, else g++; flow.cxx.compiler) as one string; ToolMissing if absent."""
    return shlex.join(cxx.compiler())


def _kernel_headers_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(kernels_dir().glob("*.h")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def compile_cached(sources: dict[str, str], *, shared: bool = True, extra_flags=(), tag: str = "eie") -> Path:
    """Write ``sources`` (name -> text), compile the .cpp ones, return the cached binary or .so."""
    compiler = cxx.compiler()
    flags = [*cxxflags(compiler), *extra_flags, *cxx.include_flags()]
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
    cmd = [*compiler, *flags, f"-I{work}", *(["-shared"] if shared else []), *cpps, "-o", str(tmp_out)]
    log.info("compiling %s", " ".join(cmd))
    cxx.run_compiler(cmd, what=str(work))  # FlowError with the compiler's stderr, or on the time limit
    os.replace(tmp_out, out)  # atomic: concurrent builders see a whole file or none
    shutil.rmtree(work, ignore_errors=True)
    return out


#: the C++ templates of this module
TEMPLATES = Path(__file__).resolve().parent / "templates"


def bridge_source(layers, tag: str = "") -> str:
    """C++ of a chain of layers with ``extern "C" eie_run<tag>(in, out, n)`` on raw int64 arrays
    and ``eie_last_cycles<tag>(out)`` (PE-array cycles of each layer for the last sample),
    ``eie_last_overhead<tag>(out)`` (its bias preload + detector scan + gather iterations)."""
    from flow.eie import codegen

    items = []
    for k, layer in enumerate(layers):
        n = f"{tag}_{k}"
        src = "x" if k == 0 else f"y{tag}_{k - 1}"
        items.append({
            "n": n, "n_in": layer.n_in, "n_out": layer.n_out, "in_t": layer.input_t.cpp,
            "out_t": layer.output_t.cpp, "rom": codegen.rom_header(layer, n),
            "config": codegen.config_struct(layer, f"config{n}"),
            "call": codegen.function_call(layer, n, src, f"y{n}", f"in{n}_t", f"out{n}_t", f"config{n}"),
        })
    return render(TEMPLATES, "chain_bridge.cpp.j2", layers=items, tag=tag)


def _source(chains: list[list], tags: list[str]) -> str:
    """One translation unit: the header, then each chain's bridge."""
    return render(TEMPLATES, "chain_head.cpp.j2") + "".join(bridge_source(c, t) for c, t in zip(chains, tags))


class CsimChain:
    """A compiled chain of EIE layers: ``chain(x_raw) -> y_raw`` (int64), like reference.eie_network."""

    def __init__(self, layers, *, hls_types: bool = False, _lib=None, _tag: str = ""):
        if not layers:
            raise UsageError("CsimChain needs at least one layer")
        self.layers = list(layers)
        if _lib is None:
            path = compile_cached(
                {"eie_chain.cpp": _source([self.layers], [""])},
                tag="eiechain",
                extra_flags=_flags(hls_types),
            )
            _lib = ctypes.CDLL(str(path))
        self._run = getattr(_lib, f"eie_run{_tag}")
        self._run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self._cycles = getattr(_lib, f"eie_last_cycles{_tag}")
        self._cycles.argtypes = [ctypes.c_void_p]
        self._overhead = getattr(_lib, f"eie_last_overhead{_tag}")
        self._overhead.argtypes = [ctypes.c_void_p]

    def __call__(self, x_raw) -> np.ndarray:
        from flow.eie.reference import _check_input

        x = np.ascontiguousarray(_check_input(x_raw, self.layers[0]), dtype=np.int64)
        out = np.zeros((x.shape[0], self.layers[-1].n_out), dtype=np.int64)
        self._run(x.ctypes.data, out.ctypes.data, x.shape[0])
        return out

    def last_cycles(self) -> list[int]:
        """PE-array cycles of each layer for the last sample run (csim's count of the kernel loop)."""
        out = np.zeros(len(self.layers), dtype=np.uint64)
        self._cycles(out.ctypes.data)
        return [int(c) for c in out]

    def last_overhead_cycles(self) -> list[int]:
        """Iterations of each layer's bias preload, detector scan and gather for the last sample
        (one cycle each at II=1: flow.eie.perf's overhead_cycles)."""
        out = np.zeros(len(self.layers), dtype=np.uint64)
        self._overhead(out.ctypes.data)
        return [int(c) for c in out]


def _flags(hls_types: bool, cycle_level: bool = False) -> tuple:
    # EIE_HLS_TYPES: the exact-width ap_int arithmetic that synthesis uses (slower csim, same results)
    # EIE_CSIM_CYCLE_LEVEL: native integers, but the PE-array loop register by register instead of
    # the per-column fast path (same results and cycle counts; the tests compare the two). The
    # EIE_HLS_TYPES build always runs the cycle-level loop.
    return (("-DEIE_HLS_TYPES",) if hls_types else ()) + (("-DEIE_CSIM_CYCLE_LEVEL",) if cycle_level else ())


def compile_chains(chains, *, hls_types: bool = False, cycle_level: bool = False) -> list[CsimChain]:
    """Several independent chains in one shared library (one g++ run: much faster than one each)."""
    chains = [list(c) for c in chains]
    src = _source(chains, [f"c{i}" for i in range(len(chains))])
    lib = ctypes.CDLL(
        str(compile_cached({"eie_chains.cpp": src}, tag="eiechains", extra_flags=_flags(hls_types, cycle_level)))
    )
    return [CsimChain(c, _lib=lib, _tag=f"c{i}") for i, c in enumerate(chains)]
