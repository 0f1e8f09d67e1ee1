"""The overlay driver's refusals and timeouts without hardware (the RTL runs are in
cocotb_eie_axi.py::driver_on_rtl): a register file standing in for eie_axi's identity, and DMA
channels that never finish."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from flow.errors import FlowError, UsageError
from flow.overlay.image import capacity_of_params, image_bytes
from flow.rtl.params import EngineParams
from flow.runtime import regmap as rm
from flow.runtime.overlay import EIEOverlay
from flow.runtime.rtl_overlay import OverlayCore, OverlayTimeout, read_identity
from flow.testing import random_layer

SMALL = EngineParams(P=4, MAXG=2, DMAX=8, NL=2, NX=64, XW=16, WW=8, ACCW=32, CBW=4, IXW=4,
                     ENT_D=512, PTR_D=128, ACC_D=32, BIAS_D=64, OL=4)


class FakeRegs:
    """The identity registers of an overlay built with `p`; STATUS follows CTRL.LOAD only."""

    def __init__(self, p: EngineParams, version: int = rm.REGMAP_VERSION | rm.FORMAT_VERSION << 16):
        self.regs = {rm.offset("IDENT"): rm.IDENT_VALUE, rm.offset("VERSION"): version,
                     rm.offset("STATUS"): rm.bit("STATUS", "IDLE")}
        for name, v in (("P", p.P), ("DMAX", p.DMAX), ("ENT", p.ENT_D), ("PTR", p.PTR_D), ("ACC", p.ACC_D),
                        ("BIAS", p.BIAS_D), ("NX", p.NX), ("CB", p.NL), ("LAYERS", p.NL)):
            self.regs[rm.offset(f"CAP_{name}")] = v
        self.regs[rm.offset("CAP_WIDTHS")] = p.XW | p.WW << 8 | p.ACCW << 16 | p.CBW << 24 | p.IXW << 28
        self.regs[rm.offset("CAP_LAYOUT")] = p.MAXG | p.OL << 8 | p.ANYR << 16 | 8 << 24
        self.writes = []

    def read(self, off):
        return self.regs.get(off, 0)

    def write(self, off, v):
        self.writes.append((off, v))
        if off == rm.offset("CTRL") and v & rm.bit("CTRL", "LOAD"):
            self.regs[rm.offset("STATUS")] = rm.bit("STATUS", "LOADING")


class StuckChannel:
    idle = False
    error = False

    def transfer(self, buf):
        pass

    def wait(self):
        pass


def _image():
    rng = np.random.default_rng(0)
    return image_bytes([random_layer(rng, 30, 10, n_pe=4, name="a")], SMALL)


def test_identity_reads_capacity():
    cap = read_identity(FakeRegs(SMALL))
    want = capacity_of_params(SMALL)
    assert {k: cap[k] for k in want} == want


def test_unknown_regmap_version_names_both():
    with pytest.raises(FlowError, match=rf"register map version 9 and model format version {rm.FORMAT_VERSION}; "
                                        rf"this driver knows register map {rm.REGMAP_VERSION}"):
        read_identity(FakeRegs(SMALL, version=9 | rm.FORMAT_VERSION << 16))


def test_not_an_overlay():
    regs = FakeRegs(SMALL)
    regs.regs[rm.offset("IDENT")] = 0
    with pytest.raises(FlowError, match="not an eie-flow RTL overlay"):
        read_identity(regs)


def test_stalled_load_stream_times_out_naming_the_channel():
    regs = FakeRegs(SMALL)
    core = OverlayCore(regs, StuckChannel(), StuckChannel(), StuckChannel(), lambda shape, dtype: np.zeros(shape, dtype),
                       timeout=0.05)
    with pytest.raises(OverlayTimeout, match=r"axi_dma_1 send channel \(model load stream\)"):
        core.load(_image())


def test_model_too_big_refused_before_any_write():
    regs = FakeRegs(SMALL.with_(ENT_D=8))
    core = OverlayCore(regs, StuckChannel(), StuckChannel(), StuckChannel(), None)
    with pytest.raises(UsageError, match=r"ENT: the model needs \d+, the overlay \(P=4\) holds 8"):
        core.load(_image())
    assert regs.writes == []


def test_predict_before_load():
    core = OverlayCore(FakeRegs(SMALL), StuckChannel(), StuckChannel(), StuckChannel(), None)
    with pytest.raises(UsageError, match="no model is loaded"):
        core.run_raw(np.zeros((1, 30)))


def test_overlay_bundle_with_unknown_versions(tmp_path):
    (tmp_path / "overlay.json").write_text(json.dumps({"bitstream": "o.bit", "regmap_version": 99,
                                                       "format_version": rm.FORMAT_VERSION}))
    with pytest.raises(FlowError, match=f"regmap_version 99 is not this driver's {rm.REGMAP_VERSION}"):
        EIEOverlay(tmp_path)


def test_hls_bundle_cannot_load():
    with pytest.raises(UsageError, match="HLS kernel with its weights in ROM"):
        EIEOverlay.load(SimpleNamespace(bundle_dir="b"), "m.eie")


def _core(models: int = 2):
    regs = FakeRegs(SMALL)
    regs.regs[rm.offset("CAP_MODELS")] = models
    return regs, OverlayCore(regs, StuckChannel(), StuckChannel(), StuckChannel(), None)


def test_model_slot_out_of_range_refused_before_any_write():
    regs, core = _core()
    with pytest.raises(UsageError, match=r"model slot 2: the overlay has slots 0\.\.1 \(CAP_MODELS\)"):
        core.load(_image(), slot=2)
    assert regs.writes == []


def test_select_of_an_empty_slot_refused_before_any_write():
    regs, core = _core()
    with pytest.raises(UsageError, match=r"model slot 1 holds no model this driver loaded \(resident: none\)"):
        core.select(1)
    assert regs.writes == []


def test_verify_load_needs_the_readback():
    regs, core = _core()
    assert core.capacity["READ"] == 0
    with pytest.raises(UsageError, match=r"no load readback \(CAP_LAYOUT\.READ is 0"):
        core.verify_load(0)
    assert regs.writes == []
