"""RTL tests: one engine build per session (cached on disk). The markers `verilator` and `yosys`
skip, naming the missing or broken tool, in tests/conftest.py (flow.rtl.tools finds them)."""

from __future__ import annotations

import pytest

from flow.rtl.params import TEST_ENGINE



def pytest_collection_modifyitems(config, items):
    ecp5_missing = None
    if any("ecp5" in item.keywords for item in items):
        from flow.rtl.ecp5 import tools_present

        ecp5_missing = tools_present()
    for item in items:
        if "ecp5" in item.keywords and ecp5_missing:
            item.add_marker(pytest.mark.skip(reason=ecp5_missing))


@pytest.fixture(scope="session")
def engine_exe():
    from flow.rtl import verilator

    return verilator.build(TEST_ENGINE)
