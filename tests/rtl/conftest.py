"""RTL tests: skip naming the missing tool; one engine build per session (cached on disk)."""

from __future__ import annotations

import shutil

import pytest

from flow.rtl.params import TEST_ENGINE



def pytest_collection_modifyitems(config, items):
    for item in items:
        for tool in ("verilator", "yosys"):
            if tool in item.keywords and shutil.which(tool) is None:
                item.add_marker(pytest.mark.skip(reason=f"{tool} is not on PATH (apt-get install -y {tool})"))


@pytest.fixture(scope="session")
def engine_exe():
    from flow.rtl import verilator

    return verilator.build(TEST_ENGINE)
