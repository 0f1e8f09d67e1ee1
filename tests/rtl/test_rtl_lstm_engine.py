"""The RTL engine's recurrent (LSTM) table entry in Verilator: an LSTM over T time steps then Dense
layers on h_T, bit-exact with flow.eie.lstm.lstm_sequence + flow.eie.reference and cycle-exact with
flow.eie.perf_lstm (per layer and per inference)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from flow.eie.lstm import LSTMTypes, lstm_sequence
from flow.eie.perf_lstm import sequence_cycles
from flow.eie.reference import eie_network
from flow.errors import UsageError
from flow.fixed import FixedType
from flow.rtl.lstm_cell import cell_generics
from flow.rtl.lstm_run import check_lstm_fit, lstm_params, rtl_lstm, simulate_lstm
from flow.rtl.params import EngineParams
from flow.testing import LSTM_TYPES_ARGS, random_layer, random_lstm

pytestmark = pytest.mark.verilator

TYPES = LSTMTypes(**LSTM_TYPES_ARGS)
OUT_T = FixedType(16, 6, True, "RND", "SAT")


def _engine() -> EngineParams:
    from flow.eie.elementwise import ElementwiseUnit

    g = cell_generics(ElementwiseUnit.build(TYPES.gate_t, TYPES.cell_t, TYPES.input_t))
    return EngineParams(
        P=8, ANYR=1, MAXG=2, DMAX=8, NL=3, NX=128, XW=16, WW=12, ACCW=40, CBW=4, IXW=4, ENT_D=8192, PTR_D=256,
        ACC_D=128, BIAS_D=160, OL=8, LSTM=1, CELL_D=32, L_GF=g["GF"], L_CLW=g["CLW"], L_CLF=g["CLF"],
        L_C_RND=g["C_RND"], L_C_SAT=g["C_SAT"], L_HW=g["HW"], L_HF=g["HF"], L_H_RND=g["H_RND"], L_H_SAT=g["H_SAT"],
    )  # fmt: skip


ENGINE = _engine()


@pytest.fixture(scope="module")
def lstm_exe():
    from flow.rtl import verilator

    return verilator.build(ENGINE)


def _check(lstm, dense, x, exe, params=ENGINE):
    res = simulate_lstm(lstm, dense, x, params, exe=exe)
    hs, _ = lstm_sequence(x, lstm)
    ref = eie_network(hs[:, -1], dense) if dense else hs[:, -1]
    bad = np.argwhere(res["y"] != ref)
    assert bad.size == 0, f"first mismatch at {bad[0]}: rtl {res['y'][tuple(bad[0])]} ref {ref[tuple(bad[0])]}"
    seqs = sequence_cycles(lstm, x, ol=params.OL, dense=dense, walk=params.WALK)
    np.testing.assert_array_equal(res["layer_cycles"], [[q.lstm, *q.dense] for q in seqs])
    np.testing.assert_array_equal(res["period"], [q.total for q in seqs])
    return res, seqs


@st.composite
def lstm_nets(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
    G = draw(st.sampled_from([g for g in (1, 2) if P % g == 0]))
    I, H, T = draw(st.integers(1, 40)), draw(st.integers(1, 24)), draw(st.integers(1, 5))
    dx, dh = draw(st.sampled_from([0.0, 0.1, 0.4, 1.0])), draw(st.sampled_from([0.0, 0.1, 0.4, 1.0]))
    _, _, _, lstm = random_lstm(rng, I, H, dx, dh, n_pe=P, col_groups=G, fifo_depth=draw(st.integers(1, 8)))
    lstm = rtl_lstm(lstm)
    dense = []
    if draw(st.booleans()):
        dense.append(random_layer(rng, H, draw(st.integers(1, 20)), density=0.5, n_pe=P, input_t=TYPES.input_t,
                                  output_t=OUT_T, bias_t=OUT_T, name="d0", activation=draw(st.sampled_from(["relu", "linear"]))))
    it = TYPES.input_t
    kind = draw(st.sampled_from(["random", "sparse", "extreme", "zero"]))
    shape = (2, T, I)
    if kind == "zero":
        x = np.zeros(shape, np.int64)
    elif kind == "extreme":
        x = rng.choice([it.min_raw, it.max_raw, 0], size=shape)
    else:
        x = np.where(rng.random(shape) < (0.2 if kind == "sparse" else 0.8),
                     rng.integers(it.min_raw, it.max_raw + 1, shape), 0)
    try:
        from flow.rtl.params import check_fit

        check_fit([lstm.matvec, *dense], ENGINE)
        check_lstm_fit(lstm, dense, ENGINE, T)
    except UsageError:
        assume(False)
    return lstm, dense, x.astype(np.int64)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(net=lstm_nets())
def test_lstm_on_the_engine_bit_and_cycle_exact(net, lstm_exe):
    """Random sparse LSTMs (P 1..8, col_groups 1 or 2, any I, H, T) with or without a Dense layer."""
    _check(*net, lstm_exe)


def test_tiny_lstm_seeds(lstm_exe):
    """The issue's tiny shape, I = 6, H = 8, T = 4, P = 4, then Dense(5), on a few seeds; and the
    recurrence matters (h_{t-1} is broadcast: step t > 0 takes more than step 0's x columns)."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        _, _, _, lstm = random_lstm(rng, 6, 8, 0.4, 0.4, n_pe=4)
        lstm = rtl_lstm(lstm)
        d = random_layer(rng, 8, 5, density=0.5, n_pe=4, input_t=TYPES.input_t, output_t=OUT_T, bias_t=OUT_T,
                         name="d0", activation="linear")
        it = TYPES.input_t
        x = np.where(rng.random((4, 4, 6)) < 0.6, rng.integers(it.min_raw, it.max_raw + 1, (4, 4, 6)), 0)
        _, seqs = _check(lstm, [d], x, lstm_exe)
        assert all(q.steps[1].broadcasts > np.count_nonzero(x[b, 1]) for b, q in enumerate(seqs))
        # every step's cycles: the RTL's LSTM cycles over the first t steps are the model's steps 0 .. t-1
        for t in range(1, 4):
            res = simulate_lstm(lstm, [d], x[:, :t], ENGINE, exe=lstm_exe)
            np.testing.assert_array_equal(res["layer_cycles"][:, 0], [sum(s.total for s in q.steps[:t]) for q in seqs])


def test_tiny_lstm_walk2():
    """WALK = 2 on the LSTM engine: the recurrent mat-vec walks two entries a cycle, bits and cycles
    (flow.eie.perf_lstm with walk = 2) exact; dense weights so the columns are long."""
    from flow.rtl import verilator

    params = ENGINE.with_(WALK=2)
    exe = verilator.build(params)
    for seed in range(2):
        rng = np.random.default_rng(10 + seed)
        _, _, _, lstm = random_lstm(rng, 12, 16, 1.0, 0.7, n_pe=4, col_groups=2)
        lstm = rtl_lstm(lstm)
        d = random_layer(rng, 16, 5, density=0.8, n_pe=4, input_t=TYPES.input_t, output_t=OUT_T, bias_t=OUT_T,
                         name="d0", activation="linear")
        it = TYPES.input_t
        x = np.where(rng.random((3, 4, 12)) < 0.7, rng.integers(it.min_raw, it.max_raw + 1, (3, 4, 12)), 0)
        _, seqs = _check(lstm, [d], x, exe, params)
        walk1 = sequence_cycles(lstm, x, ol=params.OL, dense=[d])
        assert sum(q.total for q in seqs) < sum(q.total for q in walk1)


def test_dense_only_network_on_the_lstm_engine(lstm_exe):
    """The lanes change nothing for Dense layers: a Dense network on the LSTM engine is exact too."""
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.rtl.run import simulate_layers

    rng = np.random.default_rng(7)
    layers = [random_layer(rng, 30, 20, density=0.3, n_pe=8, input_t=TYPES.input_t, output_t=TYPES.input_t,
                           bias_t=OUT_T, name="a", activation="relu"),
              random_layer(rng, 20, 7, density=0.5, n_pe=8, input_t=TYPES.input_t, output_t=OUT_T, bias_t=OUT_T,
                           name="b", activation="linear")]
    it = TYPES.input_t
    x = rng.integers(it.min_raw, it.max_raw + 1, (3, 30))
    res = simulate_layers(layers, x, ENGINE, exe=lstm_exe)
    np.testing.assert_array_equal(res["y"], eie_network(x, layers))
    per, period = rtl_network_cycles(layers, x, ENGINE)
    np.testing.assert_array_equal(res["layer_cycles"], [[c.total for c in p] for p in per])
    np.testing.assert_array_equal(res["period"], period)


def test_refusals_name_the_problem():
    rng = np.random.default_rng(0)
    _, _, _, lstm = random_lstm(rng, 6, 8, 0.4, 0.4, n_pe=4)
    with pytest.raises(UsageError, match="store line"):
        check_lstm_fit(lstm, [], lstm_params(rtl_lstm(lstm)), 3)
    lstm = rtl_lstm(lstm)
    with pytest.raises(UsageError, match="LSTM=0"):
        check_lstm_fit(lstm, [], lstm_params(lstm).with_(LSTM=0), 3)
    with pytest.raises(UsageError, match="types differ"):
        check_lstm_fit(lstm, [], lstm_params(lstm).with_(L_CLF=3), 3)
    _, _, _, pg = random_lstm(rng, 6, 8, 0.4, 0.4, per_gate=True, n_pe=4)
    with pytest.raises(UsageError, match="codebook per gate"):
        check_lstm_fit(rtl_lstm(pg), [], lstm_params(rtl_lstm(pg)), 3)
    with pytest.raises(UsageError, match="time steps"):
        check_lstm_fit(lstm, [], lstm_params(lstm), 70000)


@pytest.mark.slow
def test_seqmnist_shaped_lstm_at_p16():
    """LSTM(128) over 28 steps of 28 inputs + Dense(10), 10 % density, P = 16 (the sequential-MNIST
    network's shape, random weights): bit- and cycle-exact on 20 sparse sequences."""
    rng = np.random.default_rng(11)
    types = LSTMTypes(**{**LSTM_TYPES_ARGS, "input_t": FixedType(16, 2, True, "RND", "SAT")})
    _, _, _, lstm = random_lstm(rng, 28, 128, 0.1, 0.1, types=types, n_pe=16)
    lstm = rtl_lstm(lstm)
    d = random_layer(rng, 128, 10, density=0.1, n_pe=16, input_t=types.input_t, output_t=OUT_T, bias_t=OUT_T,
                     name="fc", activation="linear")
    it = types.input_t
    x = np.where(rng.random((20, 28, 28)) < 0.2, rng.integers(0, it.max_raw + 1, (20, 28, 28)), 0)
    from flow.rtl import verilator

    params = lstm_params(lstm, [d])
    _, seqs = _check(lstm, [d], x, verilator.build(params), params)
    assert params.P == 16 and all(len(q.steps) == 28 for q in seqs)
