"""Overlay presets in board.yaml: the sizing's result, fitting the board (modelled)."""

from __future__ import annotations

import pytest

from flow.board.boards import load_board
from flow.errors import UsageError
from flow.overlay.sizing import BRAM_LIMIT, LUT_LIMIT, TOTAL_LUT_LIMIT, overlay_fit, preset, size_for


@pytest.mark.parametrize("board", ["pynq-z2", "kv260"])
@pytest.mark.parametrize("P", [16, 32, 64])
def test_preset_is_the_sizing_and_fits(board, P):
    b = load_board(board)
    p = preset(b, P)
    assert p == size_for(b, P), "board.yaml is stale: python -m flow.overlay.sizing"
    fit = overlay_fit(p)
    assert fit.bram18 <= BRAM_LIMIT * b.resources.bram18
    assert fit.overlay_lut <= LUT_LIMIT * b.resources.lut and fit.lut <= TOTAL_LUT_LIMIT * b.resources.lut
    assert fit.lut_problem(b.resources.lut) == ""
    # it fills the budget: one more step of entries would not fit
    assert overlay_fit(p.with_(ENT_D=p.ENT_D + 2048)).bram18 > BRAM_LIMIT * b.resources.bram18


def test_missing_preset_names_the_ones_there():
    with pytest.raises(UsageError, match=r"no overlay preset for P=8 \(presets: p16, p32, p64\)"):
        preset(load_board("pynq-z2"), 8)


def test_p64_holds_lenet300():
    """The P = 64 overlay holds LeNet-300-100 as the flow lays it out (ENT_D, PTR_D, layers)."""
    from flow.rtl.params import check_fit
    from flow.testing import lenet300_layers

    check_fit(lenet300_layers(64), preset(load_board("pynq-z2"), 64))


def test_lut_rules_name_the_numbers():
    """The overlay (what Yosys measures) within LUT_LIMIT, overlay + DMA platform within TOTAL_LUT_LIMIT."""
    fit = overlay_fit(preset(load_board("pynq-z2"), 64))
    assert fit.lut_problem(45000) == (f"the P=64 overlay needs about {fit.overlay_lut} LUT (modelled), more than "
                                      "80% of the board's 45000")
    small = overlay_fit(preset(load_board("pynq-z2"), 16))
    part = int(small.overlay_lut / 0.8) + 1  # a part it fits at 80 % alone, but not at 90 % with the DMA
    assert small.overlay_lut <= 0.8 * part < part < small.lut / 0.9
    assert small.lut_problem(part) == (f"the P=16 overlay with the DMA platform needs about {small.lut} LUT "
                                       f"(modelled), more than 90% of the board's {part}")
