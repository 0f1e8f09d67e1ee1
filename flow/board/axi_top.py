"""The board IP top `<project>_axi` and its C-simulation library, written into an hls4ml project.

`write_axi_top(project_dir, project_name, n_in, n_out, stream_bits)` writes
  firmware/eie_axi_top.h         (copy of kernels/hls/eie_axi_top.h: the stream packing templates)
  firmware/<project>_axi.h/.cpp  (the IP top: AXI4-Stream in/out, s_axilite n_samples + control)
  <project>_axi_sim.cpp          (extern "C" bridge for the simulated board)
around the project's top: io_parallel `void <project>(input_t in[N_IN], result_t out[N_OUT])`, or
io_stream `void <project>(hls::stream<input_t>&, hls::stream<result_t>&)` of nnet::array packs (the
AXI stream then carries the packs' values, input_t::value_type / result_t::value_type; the I/O type
is read from the project's header, `project_io`).
`build_sim_library(project_dir, project_name)` compiles the network, the AXI top and the bridge
with the C++ compiler (flow.cxx: $CXX, else g++) into a shared library, cached by the hash of the sources.

The bridge (docs/internals.md, "Board I/O"):
    extern "C" int <project>_axi_sim(const uint64_t* in_words, size_t n_in_words,
                                     uint64_t* out_words, size_t n_out_words, unsigned n_samples);
returns the number of output words written, or a negative code: -1 fewer input words than
n_samples need (the IP would wait forever), -2 input words left over, -3 out_words too small,
-4 TLAST not exactly on the last output word.
    extern "C" void <project>_axi_sim_layout(unsigned info[5]);
fills stream_bits, input bits, input words per sample, output bits, output words per sample.
    extern "C" const char *<project>_axi_sim_network(void);
returns the network fingerprint it was compiled for (`network_fingerprint`; "" when built without).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flow import cxx as _cxx  # (build_sim_library's argument is named cxx)
from flow.errors import UsageError
from flow.templating import render

#: the C++ templates of the IP top, its sim bridge and its testbench
TEMPLATES = Path(__file__).resolve().parent / "templates"

log = logging.getLogger(__name__)

STREAM_BITS = (8, 16, 32, 64)

def trace_globals(project_dir: Path) -> str:
    """The nnet trace globals hls4ml's nnet_helpers.h declares (its own bridge defines them; ours
    replace it), or "" for a project without that header."""
    helpers = Path(project_dir) / "firmware" / "nnet_utils" / "nnet_helpers.h"
    return render(TEMPLATES, "trace_globals.cpp.j2") if helpers.is_file() else ""


def _check_args(project_dir: Path, project_name: str) -> None:
    if not project_name.isidentifier():
        raise UsageError(f"project name {project_name!r} is not a C identifier")
    header = project_dir / "firmware" / f"{project_name}.h"
    if not header.is_file():
        raise UsageError(
            f"{header} not found: {project_dir} is not an hls4ml project named {project_name!r} "
            "(write it with hls_model.write() first)"
        )


def project_io(project_dir: Path, project_name: str) -> str:
    """'io_stream' when firmware/<project>.h declares the top with hls::stream arguments (hls4ml's
    io_stream), else 'io_parallel'."""
    header = (Path(project_dir) / "firmware" / f"{project_name}.h").read_text(errors="replace")
    top = re.search(rf"\bvoid\s+{re.escape(project_name)}\s*\(([^)]*)\)", header)
    return "io_stream" if top is not None and "hls::stream" in top.group(1) else "io_parallel"


def write_axi_top(project_dir, project_name: str, n_in: int, n_out: int, stream_bits: int) -> list[Path]:
    """Write the AXI IP top, its header and the sim bridge into an hls4ml project; returns the paths."""
    from flow.paths import kernels_dir

    project_dir = Path(project_dir)
    _check_args(project_dir, project_name)
    for name, v in (("n_in", n_in), ("n_out", n_out)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise UsageError(f"{name} must be a positive integer, got {v!r}")
    if stream_bits not in STREAM_BITS:
        raise UsageError(
            f"stream_bits must be one of {STREAM_BITS} (board.yaml dma.stream_bits), got {stream_bits!r}"
        )
    fw = project_dir / "firmware"
    stream = project_io(project_dir, project_name) == "io_stream"
    values = dict(
        project=project_name,
        stream=stream,
        in_value="input_t::value_type" if stream else "input_t",
        out_value="result_t::value_type" if stream else "result_t",
        guard=f"{project_name.upper()}_AXI_H_",
        stream_bits=stream_bits,
        n_in=n_in,
        n_out=n_out,
        trace_globals=trace_globals(project_dir),
    )
    written = []
    kernel = fw / "eie_axi_top.h"
    shutil.copyfile(kernels_dir() / "eie_axi_top.h", kernel)
    written.append(kernel)
    for path, template in (
        (fw / f"{project_name}_axi.h", "axi_top.h.j2"),
        (fw / f"{project_name}_axi.cpp", "axi_top.cpp.j2"),
        (project_dir / f"{project_name}_axi_sim.cpp", "axi_sim.cpp.j2"),
    ):
        path.write_text(render(TEMPLATES, template, **values))
        written.append(path)
    return written


def _sources(project_dir: Path, project_name: str) -> list[Path]:
    fw = project_dir / "firmware"
    bridge = project_dir / f"{project_name}_axi_sim.cpp"
    if not (fw / f"{project_name}_axi.cpp").is_file() or not bridge.is_file():
        raise UsageError(f"{project_dir} has no AXI top for {project_name!r}: call write_axi_top() first")
    return sorted(fw.glob("*.cpp")) + [bridge]


def _fingerprint(project_dir: Path, sources: list[Path], flags: list[str]) -> str:
    h = hashlib.sha256()
    h.update(" ".join(flags).encode())
    fw = project_dir / "firmware"
    files = set(sources)
    header = project_dir / "eie_weights_dir.h"  # -include'd by weights_dir_flags: part of every source
    if header.is_file():
        files.add(header)
    for pattern in ("*.h", "*.hpp", "*.cpp", "*.txt"):
        files.update(p for p in fw.rglob(pattern) if "ap_types" not in p.relative_to(fw).parts)
    for p in sorted(files):
        h.update(str(p.relative_to(project_dir)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def network_fingerprint(project_dir) -> str:
    """The hash of the compiled network: every firmware file (layer shapes, codebooks, entries and
    pointers in the weights headers, fixed-point types, the AXI top's stream layout), by path relative
    to firmware/ and content. Compiled into the simulation library and written into model.json, so
    that a library built for another network with the same interface is refused, not run."""
    fw = Path(project_dir) / "firmware"
    h = hashlib.sha256(b"eie-flow network 1\n")
    files = sorted(
        p for pattern in ("*.h", "*.hpp", "*.cpp", "*.txt") for p in fw.rglob(pattern)
        if "ap_types" not in p.relative_to(fw).parts and p.is_file()
    )
    if not files:
        raise UsageError(f"{fw} holds no firmware files: write the hls4ml project first")
    for p in files:
        rel = p.relative_to(fw).as_posix().encode()
        data = p.read_bytes()
        h.update(len(rel).to_bytes(4, "little") + rel + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:32]


#: environment variable naming the folder of hls4ml's text weights for a compiled simulation
WEIGHTS_ENV = "EIE_WEIGHTS_DIR"


def weights_dir_flags(project_dir: Path) -> list[str]:
    """g++ flags making hls4ml's WEIGHTS_DIR a run-time choice ($EIE_WEIGHTS_DIR, else the project's)."""
    header = Path(project_dir) / "eie_weights_dir.h"
    header.write_text(render(TEMPLATES, "eie_weights_dir.h.j2"))
    weights = Path(project_dir) / "firmware" / "weights"
    return ["-include", str(header), f'-DEIE_DEFAULT_WEIGHTS_DIR="{weights}"', "-DWEIGHTS_DIR=eie_weights_dir()"]


def sim_flags(project_dir: Path, compiler: list[str] | None = None) -> list[str]:
    """Compiler flags of the project's firmware (flow.cxx's, -fno-gnu-unique: loaded more than once)."""
    fw = Path(project_dir) / "firmware"
    return [
        *_cxx.flags(no_gnu_unique=True, cxx=compiler),
        *_cxx.include_flags(fw, project_dir, kernels=False),
        *weights_dir_flags(project_dir),
    ]


def build_sim_library(project_dir, project_name: str, *, cxx: str | None = None, jobs: int = 2) -> Path:
    """Compile firmware/*.cpp, the AXI top and the bridge into `sim/lib<project>_axi_sim-<hash>.so`.

    ``cxx``: the compiler command (default $CXX, else g++). Returns the cached library when the
    sources have not changed.
    """
    project_dir = Path(project_dir).resolve()
    _check_args(project_dir, project_name)
    compiler = _cxx.compiler(cxx, purpose="to compile the C simulation of the board")
    sources = _sources(project_dir, project_name)
    network = network_fingerprint(project_dir)
    flags = [*sim_flags(project_dir, compiler), f'-DEIE_NETWORK_FINGERPRINT="{network}"']
    out_dir = project_dir / "sim"
    lib = out_dir / f"lib{project_name}_axi_sim-{_fingerprint(project_dir, sources, flags)}.so"
    if lib.is_file():
        return lib
    out_dir.mkdir(exist_ok=True)
    objs = [out_dir / f"{src.stem}.{os.getpid()}.o" for src in sources]

    def compile_one(pair):
        src, obj = pair
        _cxx.run_compiler([*compiler, *flags, "-c", str(src), "-o", str(obj)], what=str(src))

    log.info("compiling the C simulation of %s_axi (%d files)", project_name, len(sources))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(compile_one, zip(sources, objs, strict=False)))  # the first FlowError is raised
    tmp = lib.with_suffix(f".tmp{os.getpid()}")
    _cxx.run_compiler([*compiler, "-shared", *map(str, objs), "-o", str(tmp)], what=f"{lib.name} (link)")
    tmp.replace(lib)  # atomic: a concurrent build never sees a half-written library
    for obj in objs:
        obj.unlink(missing_ok=True)
    return lib
