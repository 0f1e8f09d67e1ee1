"""Shared fixtures of the robustness suite: ONE small build for the whole session (a synthetic
compressed digits MLP, built with --skip-train: no training) and its compressed folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flow.cli import main
from robustness.helpers import build_args, make_compressed


@pytest.fixture(scope="session")
def compressed_dir(tmp_path_factory) -> Path:
    return make_compressed(tmp_path_factory.mktemp("cm") / "compressed")


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory, compressed_dir) -> Path:
    """The one real build of the suite (read-only for tests: copy it before changing anything)."""
    out = tmp_path_factory.mktemp("build") / "flow-build"
    assert main(build_args(compressed_dir, out)) == 0
    return out


@pytest.fixture
def bundle(shared_build, tmp_path) -> Path:
    """A copy of the shared build's bundle, for a test to damage."""
    dst = tmp_path / "bundle"
    shutil.copytree(shared_build / "bundle", dst, symlinks=True)
    return dst
