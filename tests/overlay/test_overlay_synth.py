"""Yosys synthesis of the whole overlay top (flow/overlay/synth.py): wrapper + FIFOs + engine, on a
small engine (the P = 64 preset's figures are `flow overlay --pe 64 --yosys`, minutes)."""

from __future__ import annotations

import shutil

import pytest

from flow.board.boards import load_board
from flow.build.overlay import rtl_files
from flow.overlay.project import write_top
from flow.overlay.synth import synthesize_overlay
from flow.rtl.params import EngineParams

SMALL = EngineParams(P=4, MAXG=2, DMAX=4, NL=2, NX=64, XW=16, WW=8, ACCW=32, CBW=4, IXW=4,
                     ENT_D=512, PTR_D=128, ACC_D=32, BIAS_D=64, OL=4)


@pytest.mark.yosys
@pytest.mark.slow
def test_overlay_top_synthesises(tmp_path):
    rtl = tmp_path / "rtl"
    rtl.mkdir()
    for f in rtl_files():
        shutil.copyfile(f, rtl / f.name)
    write_top(rtl, load_board("pynq-z2"), SMALL)
    rep = synthesize_overlay(rtl, SMALL, tmp_path / "yosys")
    assert rep["LUT"] > 0 and rep["FF"] > 0 and rep["DSP"] >= SMALL.P
    assert "eie_axi" in rep["modules"]  # the wrapper with the engine under the generated top
    assert rep["source"].endswith("measured")
