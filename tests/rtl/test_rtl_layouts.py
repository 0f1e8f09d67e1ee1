"""The layouts the RTL engine runs (any n_pe 1..64, power-of-two col_groups) and the early, named
refusal of the others (the HLS kernel and flow.eie.encode take any col_groups dividing n_pe).
No tool needed: these run in every environment (tests/rtl/test_rtl_sim.py simulates them)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.build.preflight import warn_rtl_layouts
from flow.config import FlowConfig, apply_overrides
from flow.eie.perf_rtl import nearest_pow2, rtl_network_cycles
from flow.errors import UsageError
from flow.rtl.params import TEST_ENGINE, check_config_layouts, check_fit, params_for
from flow.testing import random_layer


def _pow2(n: int) -> bool:
    return n & (n - 1) == 0


@st.composite
def layouts(draw):
    P = draw(st.integers(1, 64))
    G = draw(st.sampled_from([g for g in range(1, P + 1) if P % g == 0]))
    return P, G


@settings(max_examples=60, deadline=None)
@given(layout=layouts(), seed=st.integers(0, 2**16))
def test_every_layout_1_to_64_runs_or_is_refused_by_name(layout, seed):
    """Any n_pe with a power-of-two G gets an engine (ANYR=1 when R = n_pe / G is not a power of
    two); a non-power-of-two G is refused naming the layer, the value and the nearest ones."""
    P, G = layout
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, int(rng.integers(1, 40)), int(rng.integers(1, 40)), density=0.3, n_pe=P,
                         col_groups=G, name="fc7")  # fmt: skip
    x = np.zeros((1, layer.n_in), np.int64)
    if _pow2(G) and G <= 16:
        params = params_for([layer])
        assert params.P == P and params.ANYR == int(not _pow2(P // G) or not _pow2(P))
        check_fit([layer], params)
        per, _ = rtl_network_cycles([layer], x, params)
        assert per[0][0].total > 0
        if G <= TEST_ENGINE.MAXG:
            check_fit([layer], TEST_ENGINE)
        return
    calls = {  # the call, its limit of col_groups
        "params_for": (lambda: params_for([layer]), 16),
        "check_fit": (lambda: check_fit([layer], TEST_ENGINE), TEST_ENGINE.MAXG),
        "perf_rtl": (lambda: rtl_network_cycles([layer], x, TEST_ENGINE), 16),
    }
    for what, (call, max_g) in calls.items():
        with pytest.raises(UsageError) as exc:
            call()
        msg = str(exc.value)
        assert "layer 'fc7'" in msg, what
        assert "n_pe=" not in msg, msg
        near = nearest_pow2(G, max_g)
        assert f"col_groups={G}:" in msg and f"nearest: {' or '.join(map(str, near))}" in msg, (what, msg)
        assert all(_pow2(n) and n <= max_g for n in near) and (G > max_g or near[0] < G < near[-1]), near


def test_nearest_values():
    assert nearest_pow2(12, 64) == [8, 16]
    assert nearest_pow2(48, 64) == [32, 64]
    assert nearest_pow2(3, 16) == [2, 4]
    assert nearest_pow2(100, 64) == [64]
    assert nearest_pow2(24, 16) == [16]


def _cfg(**knobs) -> FlowConfig:
    return apply_overrides(FlowConfig(), {f"hls.{k}": (f"--{k}", v) for k, v in knobs.items()})


def test_config_time_refusal_names_layer_value_and_nearest():
    two = r"layer 'fc1': col_groups=3: .*nearest: 2 or 4.*layer 'fc2': col_groups=3"
    with pytest.raises(UsageError, match=two):
        check_config_layouts(_cfg(n_pe=12, col_groups=3).hls, ["fc1", "fc2"])
    with pytest.raises(UsageError, match=r"layer 'fc1': col_groups=6: .*nearest: 4 or 8"):
        check_config_layouts(_cfg(n_pe=12, col_groups=6).hls, ["fc1"])
    check_config_layouts(_cfg(n_pe=16, col_groups=4).hls, ["fc1", "fc2"])
    check_config_layouts(_cfg(n_pe=12, col_groups=4).hls, ["fc1"])  # any n_pe, power-of-two G


def test_build_preflight_says_the_rtl_step_will_be_skipped(caplog):
    with caplog.at_level(logging.WARNING, logger="flow.build.preflight"):
        warn_rtl_layouts(_cfg(n_pe=6, col_groups=3), ["fc1"])
    text = caplog.text
    assert "rtl step will be skipped" in text and "col_groups=3" in text and "nearest: 2 or 4" in text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="flow.build.preflight"):
        warn_rtl_layouts(_cfg(n_pe=6, col_groups=2), ["fc1"])
    assert "rtl step" not in caplog.text
