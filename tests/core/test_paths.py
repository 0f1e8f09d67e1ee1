"""flow.paths: a missing data folder is a FlowError (one line from the CLI), never a traceback."""

from __future__ import annotations

import pytest

import flow.paths as paths
from flow.errors import FlowError


def test_kernels_are_the_hls_folder():
    assert paths.kernels_dir().name == "hls"
    assert (paths.kernels_dir() / "eie_dense.h").is_file()
    assert (paths.boards_dir() / "pynq-z2" / "board.yaml").is_file()


def test_missing_folder_is_a_flow_error(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "_PKG", tmp_path / "flow")
    with pytest.raises(FlowError, match="'boards' folder is missing.*reinstall"):
        paths.boards_dir()
    (tmp_path / "kernels").mkdir()  # a kernels folder without the HLS kernels
    with pytest.raises(FlowError, match="HLS kernels are missing"):
        paths.kernels_dir()
