"""`flow run <bundle> [--sim]`: the runtime's own run command (flow.runtime.cli), which the bundle
also ships; here it may compile the simulation library of a bundle that names only its HLS project,
and the simulated board of an RTL overlay bundle (flow.overlay.simlib: Verilator's eie_axi)."""

from __future__ import annotations

from pathlib import Path

from flow.runtime.cli import add_parser as _add_parser
from flow.runtime.cli import run as _run


def add_parser(subparsers) -> None:
    """The runtime's parser, running this module's `run` (which can compile the simulations)."""
    _add_parser(subparsers)
    subparsers.choices["run"].set_defaults(func=run)


def _build_library(meta, bundle) -> Path:
    from flow.board.axi_top import build_sim_library

    project_dir = Path(meta.hls_project)
    if not project_dir.is_absolute():
        project_dir = Path(bundle) / project_dir
    return build_sim_library(project_dir, meta.project)


def _build_overlay_library(bundle) -> Path:
    from flow.overlay.simlib import library_for_bundle

    return library_for_bundle(bundle)


def run(args) -> int:
    return _run(args, library_builder=_build_library, overlay_library_builder=_build_overlay_library)
