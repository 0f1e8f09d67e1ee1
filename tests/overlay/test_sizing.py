"""Overlay presets in board.yaml: the sizing's result, fitting the board (modelled)."""

from __future__ import annotations

import pytest

from flow.board.boards import load_board
from flow.errors import UsageError
from flow.overlay.sizing import BRAM_LIMIT, LUT_LIMIT, overlay_fit, preset, size_for


@pytest.mark.parametrize("board", ["pynq-z2", "kv260"])
@pytest.mark.parametrize("P", [16, 32, 64])
def test_preset_is_the_sizing_and_fits(board, P):
    b = load_board(board)
    p = preset(b, P)
    assert p == size_for(b, P), "board.yaml is stale: python -m flow.overlay.sizing"
    fit = overlay_fit(p)
    assert fit.bram18 <= BRAM_LIMIT * b.resources.bram18
    assert fit.lut <= LUT_LIMIT * b.resources.lut
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
