"""`flow run <bundle> [--sim]`: the runtime's own run command (flow.runtime.cli), which the bundle
also ships; here it may compile the simulation library of a bundle that names only its HLS project."""

from __future__ import annotations

from pathlib import Path

from flow.runtime.cli import add_parser  # noqa: F401  (the command's parser is the runtime's)
from flow.runtime.cli import run as _run


def _build_library(meta, bundle) -> Path:
    from flow.board.axi_top import build_sim_library

    project_dir = Path(meta.hls_project)
    if not project_dir.is_absolute():
        project_dir = Path(bundle) / project_dir
    return build_sim_library(project_dir, meta.project)


def run(args) -> int:
    return _run(args, library_builder=_build_library)
