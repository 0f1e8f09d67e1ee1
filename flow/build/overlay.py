"""Build the RTL overlay bundle of one board and size (`flow overlay`; `flow build --engine rtl`
builds one first when none exists).

The bundle (docs/overlay.md, "The overlay bundle"):

    overlay.json          {"bitstream", "hwh", "board", "P", "clock_mhz", "regmap_version",
                           "format_version", "build_hash", ...}: what the driver checks
    params.json           the engine preset (boards/<name>/board.yaml `overlay: p<P>`) + IFIFO_D, BUILD_HASH
    rtl/                  the wrapper and engine sources and the generated plain-Verilog top
    build_overlay.tcl     the Vivado block design, bitstream and .hwh export (flow/overlay/project.py)
    <name>.bit/.hwh       when Vivado ran (on PATH); otherwise overlay.json says it was not built
    driver/               the numpy-only runtime (pip-installable), notebooks/ when the repo has them
    dist/                 with --package: the PYNQ overlay package's wheel (flow.build.overlay_pkg)
    yosys_xc7.json        with --yosys: Yosys synthesis of the whole overlay top (measured)

Written into a temporary folder beside the destination and moved into place (flow.outdir), so a
failed or interrupted run leaves the previous bundle as it was.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Callable

from flow import __version__
from flow.board.boards import Board, load_board
from flow.errors import FlowError
from flow.overlay.project import SCRIPT, TOP, build_hash, overlay_name, write_overlay_tcl, write_top
from flow.overlay.sizing import IFIFO_D, overlay_fit, preset
from flow.runtime import regmap as rm

log = logging.getLogger(__name__)

META = "overlay.json"
#: overlay.json's own layout version (the driver checks regmap_version and format_version)
BUNDLE_VERSION = 1
#: where `flow build --engine rtl` keeps the overlays it builds (EIE_OVERLAY_DIR overrides)
OVERLAY_DIR_ENV = "EIE_OVERLAY_DIR"


def overlay_home() -> Path:
    """The known place of built overlays: $EIE_OVERLAY_DIR, else ~/.cache/eie-flow/overlays."""
    given = os.environ.get(OVERLAY_DIR_ENV)
    if given:
        return Path(given).expanduser()
    return Path.home() / ".cache" / "eie-flow" / "overlays"


def default_dir(board: Board, P: int) -> Path:
    return overlay_home() / overlay_name(board, P)


def rtl_files() -> list[Path]:
    """The overlay's RTL: the register-map include, the wrapper's and the engine's sources."""
    from flow.overlay.rtlsim import RTL, WRAPPER_SOURCES

    return [RTL / "overlay" / "eie_regmap.svh", *WRAPPER_SOURCES]


def notebooks_dir() -> Path:
    from flow.paths import kernels_dir

    return kernels_dir().parent.parent / "notebooks"


def read_meta(folder: Path) -> dict | None:
    """overlay.json of `folder` as a dict, or None when there is none or it is not an object."""
    try:
        meta = json.loads((Path(folder) / META).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return meta if isinstance(meta, dict) else None


def assemble(dest: Path, board: Board, P: int, *, say: Callable[[str], None] = log.info) -> dict:
    """Write the bundle's files (all but the bitstream) into the empty folder `dest`; returns the meta."""
    from flow.build.steps.bundle import copy_driver

    params = preset(board, P)
    name = overlay_name(board, P)
    rtl = dest / "rtl"
    rtl.mkdir(parents=True)
    for src in rtl_files():
        shutil.copyfile(src, rtl / src.name)
    top = write_top(rtl, board, params)
    sources = [p.name for p in rtl_files() if p.suffix != ".svh"] + [top.name]
    write_overlay_tcl(dest, board, params, rtl_dir=rtl, sources=sources, export_dir=dest, root=dest)
    fit = overlay_fit(params)
    (dest / "params.json").write_text(json.dumps(
        {**params.generics(), "IFIFO_D": IFIFO_D, "BUILD_HASH": f"0x{build_hash(params):08x}",
         "fit (modelled)": fit.to_dict()}, indent=1))
    copy_driver(dest / "driver")
    nb = notebooks_dir()
    if nb.is_dir() and any(nb.glob("*.ipynb")):
        shutil.copytree(nb, dest / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    say(f"wrote the RTL ({len(sources)} sources + {TOP}.v), {SCRIPT} and the driver")
    return {
        "bitstream": f"{name}.bit",
        "hwh": f"{name}.hwh",
        "board": board.name,
        "P": params.P,
        "clock_mhz": float(board.clock_mhz),
        "regmap_version": rm.REGMAP_VERSION,
        "format_version": rm.FORMAT_VERSION,
        "build_hash": build_hash(params),
        "name": name,
        "bundle_version": BUNDLE_VERSION,
        "eie_flow": __version__,
        "engine": params.generics(),
    }


#: what Vivado leaves in the bundle besides overlay.json
VIVADO_FILES = ("utilization.rpt", "timing.rpt")


def sources_digest(folder: Path) -> str:
    """SHA-256 of what the bitstream is made of: rtl/* and the block-design script."""
    import hashlib

    h = hashlib.sha256()
    files = sorted(p for p in (Path(folder) / "rtl").glob("*") if p.is_file()) + [Path(folder) / SCRIPT]
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _keep_bitstream(old: Path, dest: Path, meta: dict, say) -> bool:
    """Copy the previous bundle's bitstream into dest when it was built from the same sources (a
    rebuild without Vivado, or to add --package, must not drop an hour of Vivado); True if kept."""
    prev = read_meta(old)
    if not prev or not prev.get("bitstream_built") or prev.get("sources_sha256") != meta["sources_sha256"]:
        return False
    names = [prev.get("bitstream"), prev.get("hwh")]
    if not all(isinstance(n, str) and (old / n).is_file() for n in names):
        return False
    for n in [*names, *VIVADO_FILES]:
        if (old / n).is_file():
            shutil.copyfile(old / n, dest / n)
    meta["bitstream_built"] = True
    meta["vivado"] = prev.get("vivado")
    meta["bitstream_note"] = "kept from the previous build of the same sources (rtl/ and the script unchanged)"
    say(f"the bitstream of {old} was built from the same sources: kept ({names[0]}, {names[1]})")
    return True


def _run_vivado(dest: Path, meta: dict, say, keep_log: Path) -> None:
    from flow.board.vendor import find_tools, run_vivado

    vivado = find_tools(probe_versions=False)["vivado"]
    bit, hwh = dest / meta["bitstream"], dest / meta["hwh"]
    if vivado is None:
        meta["bitstream_built"] = False
        meta["bitstream_note"] = (f"Vivado not found on PATH: no bitstream; on a machine with Vivado run "
                                  f"`vivado -mode batch -source {SCRIPT}` in this folder (or `flow overlay` again)")
        say(meta["bitstream_note"])
        return
    say(f"Vivado: {vivado}; block design, synthesis, implementation and bitstream "
        f"(tens of minutes; log: vivado_run.log)")
    t0 = time.perf_counter()
    try:
        run_vivado(dest, SCRIPT, tool=vivado)
    except FlowError as exc:  # the temporary folder goes: keep its log beside the bundle
        if (dest / "vivado_run.log").is_file():
            shutil.copyfile(dest / "vivado_run.log", keep_log)
        raise FlowError(str(exc).replace(str(dest / "vivado_run.log"), str(keep_log))
                        + f"\n(the previous bundle, if any, is unchanged)") from None
    if not (bit.is_file() and hwh.is_file()):
        raise FlowError(f"Vivado finished but {bit.name} / {hwh.name} are missing; see {dest / 'vivado_run.log'}")
    meta["bitstream_built"] = True
    meta["vivado"] = {"tool": str(vivado), "seconds": round(time.perf_counter() - t0, 1)}
    say(f"Vivado wrote {bit.name} and {hwh.name} ({meta['vivado']['seconds']:.0f} s)")


def _run_yosys(dest: Path, board: Board, meta: dict, say) -> None:
    from flow.overlay.synth import synthesize_overlay

    say("Yosys: synthesis of the whole overlay top (wrapper + engine; minutes at P = 64)")
    try:
        rep = synthesize_overlay(dest / "rtl", preset(board, meta["P"]), out_dir=dest / "yosys")
    except FlowError as exc:  # a missing or broken Yosys never fails the bundle
        meta["yosys"] = {"skipped": str(exc)}
        say(f"Yosys: skipped ({exc})")
        return
    (dest / "yosys_xc7.json").write_text(json.dumps(rep, indent=1))
    meta["yosys"] = {k: rep[k] for k in ("LUT", "FF", "BRAM36", "DSP", "source")}
    say(f"Yosys {rep['device']}: LUT {rep['LUT']}, FF {rep['FF']}, BRAM36 {rep['BRAM36']}, DSP {rep['DSP']} "
        f"(measured, {rep['yosys_s']:.0f} s)")


def build_overlay(board_name: str, P: int, out: Path | None = None, *, vivado: bool = True, yosys: bool = False,
                  package: bool = False, say: Callable[[str], None] = log.info) -> tuple[Path, dict]:
    """Build the overlay bundle of `board_name` with P PEs into `out` (default: overlay_home()/<name>);
    returns (folder, overlay.json). Usage errors (unknown board, P not a preset, a folder that is
    not an overlay) come before any work. `package`: also the pip-installable PYNQ overlay package in
    <out>/dist (flow.build.overlay_pkg)."""
    from flow.outdir import OutputLock, atomic_folder, check_out

    board = load_board(board_name)
    preset(board, P)  # P not a preset: UsageError naming the presets
    out = check_out(out or default_dir(board, P), marker=META, kind="overlay folder")
    with OutputLock(out, "overlay"):
        with atomic_folder(out, derived=(META,)) as tmp:
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700: the mode any made folder has
            meta = assemble(tmp, board, P, say=say)
            meta["sources_sha256"] = sources_digest(tmp)
            if _keep_bitstream(out, tmp, meta, say):
                pass
            elif vivado:
                _run_vivado(tmp, meta, say, out.parent / f"{out.name}.vivado_run.log")
            else:
                meta["bitstream_built"] = False
                meta["bitstream_note"] = "not built (--no-vivado)"
            if yosys:
                _run_yosys(tmp, board, meta, say)
            (tmp / META).write_text(json.dumps(meta, indent=1))
            if package:
                from flow.build.overlay_pkg import build_package

                build_package(tmp, tmp / "dist", say=say)
    return out, meta


def ensure_overlay(board_name: str, P: int, say: Callable[[str], None] = log.info) -> tuple[Path, dict, bool]:
    """The overlay of that board and size in overlay_home(), built first when there is none;
    (folder, meta, built now)."""
    board = load_board(board_name)
    folder = default_dir(board, P)
    meta = read_meta(folder)
    current = {"P": P, "build_hash": build_hash(preset(board, P)), "regmap_version": rm.REGMAP_VERSION,
               "format_version": rm.FORMAT_VERSION}
    if meta is not None and all(meta.get(k) == v for k, v in current.items()):
        return folder, meta, False
    say(f"no overlay for {board.name} P={P} in {folder.parent}: building it first (flow overlay)")
    folder, meta = build_overlay(board_name, P, folder, say=say)
    return folder, meta, True
