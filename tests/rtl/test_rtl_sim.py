"""RTL engine in Verilator against flow.eie.reference (bits) and flow.eie.perf_rtl (cycles)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flow.fixed import FixedType
from flow.testing import random_layer
from flow.eie.perf_rtl import rtl_network_cycles
from flow.eie.reference import eie_network
from flow.errors import UsageError
from flow.rtl.params import TEST_ENGINE, EngineParams, check_fit, params_for
from flow.rtl.run import simulate_layers

pytestmark = pytest.mark.verilator


def _check(layers, x, exe, params=TEST_ENGINE, load_port=False):
    res = simulate_layers(layers, x, params, exe=exe, load_port=load_port)
    ref = eie_network(x, layers)
    bad = np.argwhere(res["y"] != ref)
    assert bad.size == 0, f"first mismatch at {bad[0]}: rtl {res['y'][tuple(bad[0])]} ref {ref[tuple(bad[0])]}"
    per, period = rtl_network_cycles(layers, x, params)
    model = np.array([[c.total for c in p] for p in per])
    np.testing.assert_array_equal(res["layer_cycles"], model)
    np.testing.assert_array_equal(res["period"], period)
    return res


#: the default run's P: powers of two and small non-powers of two; the slow run takes any 1..64
SMALL_P = st.sampled_from([1, 2, 3, 4, 5, 6, 8, 12, 16, 32, 64])


@st.composite
def networks(draw, pes=SMALL_P):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_layers = draw(st.integers(1, 3))
    P = draw(pes)
    sizes = [draw(st.integers(1, 300)) for _ in range(n_layers + 1)]
    in_t = FixedType(16, draw(st.integers(2, 8)), True, draw(st.sampled_from(["RND", "TRN"])), "SAT")
    layers = []
    for k in range(n_layers):
        G = draw(st.sampled_from([g for g in (1, 2, 4, 8) if P % g == 0]))  # R = P / G any
        ow = draw(st.integers(4, 16))
        out_t = FixedType(ow, draw(st.integers(1, ow)), True, draw(st.sampled_from(["RND", "TRN"])),
                          draw(st.sampled_from(["SAT", "WRAP"])))
        if out_t.frac > in_t.frac + 7:  # the RTL only shifts right: keep accum.frac >= out.frac
            out_t = FixedType(ow, ow - (in_t.frac + 7), True, out_t.rounding, out_t.saturation) if ow - (in_t.frac + 7) >= 1 else in_t
        density = draw(st.sampled_from([0.0, 0.02, 0.1, 0.3, 0.7, 1.0]))
        layers.append(random_layer(
            rng, sizes[k], sizes[k + 1], density=density, n_pe=P, col_groups=G,
            fifo_depth=draw(st.integers(1, 16)), code_bits=draw(st.integers(1, 4)),
            index_bits=draw(st.integers(2, 8)), activation=draw(st.sampled_from(["relu", "linear"])),
            input_t=in_t, output_t=out_t, name=f"l{k}",
            bias_t=FixedType(16, 16 - min(10, in_t.frac + 7), True, "RND", "SAT"),
        ))  # fmt: skip
        in_t = out_t
    try:
        check_fit(layers, TEST_ENGINE)
    except UsageError:
        assume(False)
    t = layers[0].input_t
    kind = draw(st.sampled_from(["random", "zero", "extreme", "sparse"]))
    n = sizes[0]
    if kind == "zero":
        x = np.zeros((2, n), np.int64)
    elif kind == "extreme":
        x = rng.choice([t.min_raw, t.max_raw, 0], size=(2, n))
    else:
        dens = 0.2 if kind == "sparse" else 0.8
        x = np.where(rng.random((3, n)) < dens, rng.integers(t.min_raw, t.max_raw + 1, size=(3, n)), 0)
    return layers, x.astype(np.int64)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks())
def test_rtl_equals_reference_and_cycle_model(net, engine_exe):
    layers, x = net
    _check(layers, x, engine_exe)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=networks(st.integers(1, 64)))
def test_rtl_equals_reference_and_cycle_model_many(net, engine_exe):
    layers, x = net
    _check(layers, x, engine_exe)


def _small_net(seed=1):
    rng = np.random.default_rng(seed)
    l1 = random_layer(rng, 100, 60, density=0.2, n_pe=16, col_groups=4, fifo_depth=4, index_bits=3, name="a")
    l2 = random_layer(rng, 60, 10, density=0.5, n_pe=16, col_groups=2, fifo_depth=8,
                      input_t=l1.output_t, name="b")  # fmt: skip
    x = l1.input_t.quantize(np.where(rng.random((4, 100)) < 0.3, rng.normal(size=(4, 100)), 0))
    return [l1, l2], x


def test_any_r_mapping_changes_between_layers_at_full_load(engine_exe):
    """ANYR: each PE's group, row PE and active flag are registered from R * k, so the new
    layer's values arrive in its second RUN cycle. Dense inputs and weights with queue depth 1
    broadcast and gate from that cycle on, while R changes every layer (3, 12, 6 at P = 12; the
    PEs' groups and rows all move): bits and cycles must still equal the reference and the model."""
    rng = np.random.default_rng(5)
    sizes, groups = [120, 90, 70, 30], [4, 1, 2]
    layers, in_t = [], None
    for k, G in enumerate(groups):
        kw = {} if in_t is None else {"input_t": in_t}
        layers.append(random_layer(rng, sizes[k], sizes[k + 1], density=1.0, n_pe=12, col_groups=G,
                                   fifo_depth=1, activation="linear", name=f"l{k}", **kw))  # fmt: skip
        in_t = layers[-1].output_t
    t = layers[0].input_t
    x = rng.integers(1, t.max_raw + 1, size=(2, sizes[0])) * rng.choice([-1, 1], size=(2, sizes[0]))
    res = _check(layers, x.astype(np.int64), engine_exe)
    assert np.count_nonzero(res["y"]) > 0


def test_load_port_equals_readmemh(engine_exe):
    layers, x = _small_net()
    a = _check(layers, x, engine_exe)
    b = _check(layers, x, engine_exe, load_port=True)
    np.testing.assert_array_equal(a["y"], b["y"])
    np.testing.assert_array_equal(a["period"], b["period"])


def test_load_port_replaces_a_model_at_run_time(engine_exe):
    """$readmemh images of one network, then every word of another through the load port."""
    first, _ = _small_net(seed=7)
    layers, x = _small_net(seed=3)
    res = simulate_layers(layers, x, TEST_ENGINE, exe=engine_exe, load_port=True, preload=first)
    np.testing.assert_array_equal(res["y"], eie_network(x, layers))
    assert not np.array_equal(eie_network(x, first), res["y"])


def test_too_big_network_refused_before_files(tmp_path, engine_exe):
    layers, x = _small_net()
    small = TEST_ENGINE.with_(ENT_D=16)
    work = tmp_path / "work"
    with pytest.raises(UsageError, match=r"layer 'a'.*needs \d+ entry words.*ENT_D=16"):
        simulate_layers(layers, x, small, exe=engine_exe, workdir=work)
    assert not work.exists()
    with pytest.raises(UsageError, match=r"layer 'a'.*col_groups=3"):
        rng = np.random.default_rng(0)
        check_fit([random_layer(rng, 30, 30, n_pe=6, col_groups=3, name="a")], TEST_ENGINE)
    with pytest.raises(UsageError, match="NL=1"):
        check_fit(layers, TEST_ENGINE.with_(NL=1))


def test_engine_parameters_validated():
    with pytest.raises(UsageError, match=r"power of two <= 64 \(nearest: 8 or 16\), or any 1..64 with ANYR"):
        EngineParams(P=12)
    EngineParams(P=12, OL=8, ANYR=1)
    rng = np.random.default_rng(0)
    layer = random_layer(rng, 30, 30, n_pe=12, col_groups=4, name="a")  # R = 3
    with pytest.raises(UsageError, match=r"layer 'a'.*3 PEs per group needs an engine with ANYR=1"):
        check_fit([layer], TEST_ENGINE.with_(ANYR=0))
    check_fit([layer], TEST_ENGINE)


def test_input_filling_the_last_window_of_a_power_of_two_store():
    """n_in = 100 gives NX = 128 (2 windows): the detector's window counter must reach 2 to end
    the scan (it had clog2(NX / 64) = 1 bit and the engine never finished)."""
    rng = np.random.default_rng(5)
    layer = random_layer(rng, 100, 20, density=0.4, n_pe=4, col_groups=2, fifo_depth=4, name="a")
    params = params_for([layer])
    assert params.NX == 128
    x = layer.input_t.quantize(np.where(rng.random((2, 100)) < 0.5, rng.normal(size=(2, 100)), 0))
    _check([layer], x, None, params)
