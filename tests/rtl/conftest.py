"""RTL tests: one engine build per session (cached on disk). The markers `verilator` and `yosys`
skip, naming the missing or broken tool, in tests/conftest.py (flow.rtl.tools finds them)."""

from __future__ import annotations

import pytest

from flow.rtl.params import TEST_ENGINE


@pytest.fixture(scope="session")
def engine_exe():
    from flow.rtl import verilator

    return verilator.build(TEST_ENGINE)
