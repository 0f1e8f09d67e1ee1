"""Where the HLS kernels, board files and ap_types headers are, installed or in a source tree."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries them under flow/_data/; a source tree or editable install has them beside flow/.
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"eie-flow's '{name}' folder is missing (looked in {_PKG / '_data'} and {_PKG.parent})")


def kernels_dir() -> Path:
    return _data_dir("kernels")


def boards_dir() -> Path:
    return _data_dir("boards")


def ap_types_dir() -> Path:
    """The ap_types headers that hls4ml bundles (ap_fixed, ap_int, hls_stream for csim)."""
    import importlib.util

    spec = importlib.util.find_spec("hls4ml")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("hls4ml is not installed; it provides the ap_types headers used for csim")
    path = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
    if not path.is_dir():
        raise FileNotFoundError(f"hls4ml's ap_types headers are missing at {path}")
    return path
