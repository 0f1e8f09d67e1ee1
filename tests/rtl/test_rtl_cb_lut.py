"""CB_LUT = 1 (eie_pe.sv g_w1l: the codebook in LUT RAM, read at an address registered in stage C)
with ACC_LUT = 1 (accumulators and biases in LUT RAM), the ECP5 flow's engine: bits against flow.eie.reference and cycles against flow.eie.perf_rtl, as
the default engine (the model has no CB_LUT: no cycle may change), through $readmemh images and
through the load port (the codebook's write port)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from flow.rtl.params import TEST_ENGINE

from test_rtl_sim import _check as check_sim  # bits against the reference, cycles against the model
from test_rtl_sim import _small_net, networks

pytestmark = pytest.mark.verilator

ENGINE_CBL = TEST_ENGINE.with_(CB_LUT=1, ACC_LUT=1)


@pytest.fixture(scope="module")
def exe_cbl():
    from flow.rtl import verilator

    return verilator.build(ENGINE_CBL)


def test_cb_lut_is_a_generic_only_when_set():
    assert "CB_LUT" not in TEST_ENGINE.generics() and "ACC_LUT" not in TEST_ENGINE.generics()
    g = ENGINE_CBL.generics()
    assert g["CB_LUT"] == 1 and g["ACC_LUT"] == 1 and ENGINE_CBL.key() != TEST_ENGINE.key()


def test_cb_lut_load_port_and_images(exe_cbl):
    layers, x = _small_net()
    a = check_sim(layers, x, exe_cbl, params=ENGINE_CBL)
    b = check_sim(layers, x, exe_cbl, params=ENGINE_CBL, load_port=True)
    assert (a["y"] == b["y"]).all()


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_cb_lut_equals_reference_and_cycle_model(net, exe_cbl):
    layers, x = net
    check_sim(layers, x, exe_cbl, params=ENGINE_CBL)
