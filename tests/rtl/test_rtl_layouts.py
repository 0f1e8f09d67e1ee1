"""The layouts the RTL engine runs (power-of-two n_pe and col_groups) and the early, named refusal
of the others (the HLS kernel and flow.eie.encode take any n_pe and any col_groups dividing it).
No tool needed: these run in every environment."""

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
    P, G = layout
    rng = np.random.default_rng(seed)
    layer = random_layer(rng, int(rng.integers(1, 40)), int(rng.integers(1, 40)), density=0.3, n_pe=P,
                         col_groups=G, name="fc7")  # fmt: skip
    x = np.zeros((1, layer.n_in), np.int64)
    if _pow2(P) and _pow2(G):
        params = params_for([layer])
        assert params.P == P
        check_fit([layer], params)
        per, _ = rtl_network_cycles([layer], x, params)
        assert per[0][0].total > 0
        if G <= TEST_ENGINE.MAXG:
            check_fit([layer], TEST_ENGINE)
        return
    calls = {  # the call, its limits of n_pe and col_groups
        "params_for": (lambda: params_for([layer]), 64, 16),
        "check_fit": (lambda: check_fit([layer], TEST_ENGINE), TEST_ENGINE.P, TEST_ENGINE.MAXG),
        "perf_rtl": (lambda: rtl_network_cycles([layer], x, TEST_ENGINE), 64, 16),
    }
    for what, (call, max_p, max_g) in calls.items():
        with pytest.raises(UsageError) as exc:
            call()
        msg = str(exc.value)
        assert "layer 'fc7'" in msg, what
        for name, v in (("n_pe", P), ("col_groups", G)):
            if not _pow2(v):
                hi = max_p if name == "n_pe" else max_g
                near = nearest_pow2(v, hi)
                assert f"{name}={v}:" in msg and f"nearest: {' or '.join(map(str, near))}" in msg, (what, msg)
                assert all(_pow2(n) and n <= hi for n in near) and (v > hi or near[0] < v < near[-1]), near


def test_nearest_values():
    assert nearest_pow2(12, 64) == [8, 16]
    assert nearest_pow2(48, 64) == [32, 64]
    assert nearest_pow2(3, 16) == [2, 4]
    assert nearest_pow2(100, 64) == [64]
    assert nearest_pow2(24, 16) == [16]


def _cfg(**knobs) -> FlowConfig:
    return apply_overrides(FlowConfig(), {f"hls.{k}": (f"--{k}", v) for k, v in knobs.items()})


def test_config_time_refusal_names_layer_value_and_nearest():
    with pytest.raises(UsageError, match=r"layer 'fc1': n_pe=12: .*nearest: 8 or 16.*layer 'fc2': n_pe=12"):
        check_config_layouts(_cfg(n_pe=12).hls, ["fc1", "fc2"])
    with pytest.raises(UsageError, match=r"layer 'fc1': col_groups=3: .*nearest: 2 or 4"):
        check_config_layouts(_cfg(n_pe=12, col_groups=3).hls, ["fc1"])
    check_config_layouts(_cfg(n_pe=16, col_groups=4).hls, ["fc1", "fc2"])  # power-of-two layouts pass


def test_build_preflight_says_the_rtl_step_will_be_skipped(caplog):
    with caplog.at_level(logging.WARNING, logger="flow.build.preflight"):
        warn_rtl_layouts(_cfg(n_pe=6), ["fc1"])
    assert "rtl step will be skipped" in caplog.text and "n_pe=6" in caplog.text and "nearest: 4 or 8" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="flow.build.preflight"):
        warn_rtl_layouts(_cfg(n_pe=8), ["fc1"])
    assert "rtl step" not in caplog.text
