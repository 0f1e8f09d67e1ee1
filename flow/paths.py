"""Where the HLS kernels, board files and ap_types headers are, installed or in a source tree.

A missing folder is a FlowError (one line from the CLI, with the fix), never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from flow.errors import FlowError, ToolMissing

_PKG = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries them under flow/_data/; a source tree or editable install has them beside flow/.
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FlowError(
        f"eie-flow's '{name}' folder is missing (looked in {_PKG / '_data'} and {_PKG.parent}); "
        "reinstall eie-flow (the wheel carries it as package data)"
    )


def kernels_dir() -> Path:
    """The HLS kernel templates and their g++ testbenches (kernels/hls; kernels/rtl is the RTL engine's)."""
    path = _data_dir("kernels") / "hls"
    if not path.is_dir():
        raise FlowError(f"eie-flow's HLS kernels are missing at {path}; reinstall eie-flow")
    return path


def boards_dir() -> Path:
    return _data_dir("boards")


def ap_types_dir() -> Path:
    """The ap_types headers that hls4ml bundles (ap_fixed, ap_int, hls_stream for csim)."""
    import importlib.util

    spec = importlib.util.find_spec("hls4ml")
    if spec is None or spec.origin is None:
        raise ToolMissing("hls4ml is not installed; it provides the ap_types headers used for csim: pip install eie-flow")
    path = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
    if not path.is_dir():
        raise FlowError(f"hls4ml's ap_types headers are missing at {path}; reinstall hls4ml==1.3.0")
    return path
