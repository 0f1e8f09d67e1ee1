"""eie::dense in C simulation with every ap_fixed rounding and overflow mode on its output, and
ap_int / ap_uint / ap_ufixed inputs and outputs: csim (native and exact-width EIE_HLS_TYPES
arithmetic) == flow.eie.reference bit for bit. The kernel requantises by assigning to res_T, so
the modes come from the ap_fixed headers; the reference from FixedType.cast (tests/core/test_fixed.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import EIELayer, FixedType
from flow.fixed import ROUNDING, SATURATION
from flow.eie.reference import eie_dense
from flow.errors import UsageError

pytestmark = pytest.mark.csim

#: input frac 4 + weight frac 3 = accumulator frac 7; outputs with frac 5 or 1 drop 2 or 6 bits (ties
#: at half an LSB happen), 8 integer bits of range against outputs of 2-4 (overflow happens)
IN_T = FixedType(10, 6, True, "RND", "SAT")
W_T = FixedType(6, 3, True, "RND", "SAT")


def _layer(name, output_t, *, input_t=IN_T, activation="linear", seed=0, **parity):
    rng = np.random.default_rng(seed)
    kernel = np.where(rng.random((10, 6)) < 0.6, rng.choice([-2.5, -0.875, -0.125, 0.375, 1.0, 3.75], (10, 6)), 0.0)
    bias = rng.choice([-1.5, -0.25, 0.0, 0.5, 2.0], 6)
    return EIELayer.from_dense(
        name,
        kernel,
        bias,
        n_pe=3,
        fifo_depth=4,
        code_bits=3,
        index_bits=3,
        activation=activation,
        input_t=input_t,
        weight_t=W_T,
        bias_t=FixedType(8, 5, True, "RND", "SAT"),  # frac 3 <= accumulator frac (ap_int input: 0 + 3)
        output_t=output_t,
        **parity,
    )


def pool() -> list[EIELayer]:
    layers = []
    for k, (r, o) in enumerate((r, o) for r in ROUNDING for o in SATURATION):
        layers.append(_layer(f"s_{r}_{o}", FixedType(7, 2, True, r, o), seed=k))
        if o != "WRAP":  # unsigned outputs of a linear layer: negative values saturate
            layers.append(_layer(f"u_{r}_{o}", FixedType(6, 5, False, r, o), seed=k))
    layers += [
        _layer("out_int", FixedType.int_type(5), seed=100),
        _layer("out_uint_relu", FixedType.int_type(4, signed=False), activation="relu", seed=101),
        _layer("in_int", FixedType(9, 5, True, "RND_CONV", "SAT_SYM"), input_t=FixedType.int_type(6), seed=102),
        _layer(
            "in_ufixed",
            FixedType(8, 4, True, "RND_ZERO", "SAT_ZERO"),
            input_t=FixedType(8, 3, False, "RND_CONV", "SAT"),
            seed=103,
        ),
        _layer("in_uint_out_sym", FixedType(6, 6, True, "RND_INF", "SAT_SYM"), input_t=FixedType.int_type(5, False)),
        # hls4ml parity: a narrow accumulator (products rounded into it, sums wrap) and the Dense
        # output type before a fused ReLU
        _layer("hls_acc_trn", FixedType(9, 4, True, "RND", "SAT"), hls_accum_t=FixedType(10, 6, True), seed=104),
        _layer(
            "hls_acc_conv_relu",
            FixedType(7, 3, False, "TRN", "SAT"),
            activation="relu",
            hls_accum_t=FixedType(9, 4, True, "RND_CONV", "WRAP"),
            seed=105,
        ),
        _layer(
            "pre_wrap_relu",
            FixedType(6, 3, False, "RND", "SAT"),
            activation="relu",
            pre_t=FixedType(8, 4, True, "TRN", "WRAP"),
            seed=106,
        ),
        _layer(
            "hls_acc_pre_relu",
            FixedType(5, 2, True, "RND_ZERO", "SAT_SYM"),
            activation="relu",
            hls_accum_t=FixedType(11, 5, True, "TRN_ZERO", "WRAP"),
            pre_t=FixedType(7, 3, True, "RND_INF", "SAT_ZERO"),
            seed=107,
        ),
        _layer("hls_acc_sat", FixedType(8, 3, True, "RND", "SAT"), hls_accum_t=FixedType(9, 5, True, "RND", "SAT"), seed=108),
        _layer(
            "hls_acc_satsym_relu",
            FixedType(6, 3, False, "TRN", "SAT"),
            activation="relu",
            hls_accum_t=FixedType(8, 4, True, "TRN_ZERO", "SAT_SYM"),
            pre_t=FixedType(7, 4, True, "RND", "WRAP"),
            seed=109,
        ),
        _layer("hls_acc_satzero", FixedType(8, 4), hls_accum_t=FixedType(9, 4, True, "RND_CONV", "SAT_ZERO"), seed=110),
    ]
    assert [layer.hls_accum for layer in layers[-7:]] == [True, True, False, True, True, True, True]
    assert [layer.pre_t is not None for layer in layers[-7:]] == [False, False, True, True, False, True, False]
    return layers


def test_saturating_narrow_hls_accum_is_refused_on_column_groups_naming_the_keys():
    with pytest.raises(UsageError, match=r"accum_t ap_fixed<10,6,AP_TRN,AP_SAT>.*\['EIE'\]\['col_groups'\] = 1"):
        _layer("acc_sat", FixedType(9, 4), hls_accum_t=FixedType(10, 6, True, "TRN", "SAT"), col_groups=3)
    exact = _layer("acc_exact", FixedType(9, 4), hls_accum_t=FixedType(40, 20, True, "TRN", "SAT"))
    assert not exact.hls_accum  # an accumulator that holds every sum exactly changes nothing


@pytest.fixture(scope="module")
def native():
    from flow.eie.csim import compile_chains

    return compile_chains([[layer] for layer in pool()])


@pytest.fixture(scope="module")
def hls_types():
    from flow.eie.csim import compile_chains

    return compile_chains([[layer] for layer in pool()], hls_types=True)


def _check(chain, x):
    layer = chain.layers[0]
    y, ref = chain(x), eie_dense(x, layer)
    assert np.array_equal(y, ref), (
        f"{layer.name} ({layer.output_t.cpp}): first mismatch at {np.argwhere(y != ref)[0]}: "
        f"csim {y[tuple(np.argwhere(y != ref)[0])]} reference {ref[tuple(np.argwhere(y != ref)[0])]}"
    )


def test_every_mode_native_and_hls_types(native, hls_types):
    rng = np.random.default_rng(5)
    for chains in (native, hls_types):
        for chain in chains:
            t = chain.layers[0].input_t
            x = rng.integers(t.min_raw, t.max_raw + 1, size=(64, chain.layers[0].n_in))
            _check(chain, x)
            _check(chain, np.array([[t.min_raw] * 10, [t.max_raw] * 10]))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_inputs(native, data):
    chain = native[data.draw(st.integers(0, len(native) - 1), label="layer")]
    t = chain.layers[0].input_t
    x = np.array(data.draw(st.lists(st.integers(t.min_raw, t.max_raw), min_size=10, max_size=10)))[None, :]
    _check(chain, x)


def test_pool_hits_ties_and_overflow():
    """The pool exercises what distinguishes the modes: exact half-LSB ties and out-of-range sums."""
    rng = np.random.default_rng(5)
    ties = overflows = 0
    for layer in pool():
        x = rng.integers(layer.input_t.min_raw, layer.input_t.max_raw + 1, size=(64, 10))
        from flow.eie.reference import accumulate

        acc = accumulate(x, layer)
        shift = layer.accum_t.frac - layer.output_t.frac
        if shift > 0:
            ties += int(np.sum((acc & ((1 << shift) - 1)) == (1 << (shift - 1))))
        exact = acc >> max(shift, 0)
        overflows += int(np.sum((exact > layer.output_t.max_raw) | (exact < layer.output_t.min_raw)))
    assert ties > 100 and overflows > 100


def test_every_mode_cycles_and_overhead_equal_the_model(native, hls_types):
    """The arithmetic modes do not change the schedule: PE-array cycles (fast path and the cycle-level
    loop of EIE_HLS_TYPES) equal flow.eie.perf's, and the overhead too, including the bias preload
    (n_local iterations) of a saturating hls4ml accumulator."""
    from flow.eie.perf import layer_cycles

    rng = np.random.default_rng(9)
    n_sat = 0
    for fast, slow in zip(native, hls_types):
        layer = fast.layers[0]
        sat = layer.hls_accum and layer.accum_t.saturation != "WRAP"
        n_sat += sat
        t = layer.input_t
        x = rng.integers(t.min_raw, t.max_raw + 1, size=(3, layer.n_in))
        x[1, ::2] = 0
        for row in x:
            cyc = layer_cycles(layer, row)
            fast(row[None, :])
            slow(row[None, :])
            assert fast.last_cycles()[0] == slow.last_cycles()[0] == cyc.cycles, layer.name
            assert fast.last_overhead_cycles()[0] == cyc.overhead_cycles, layer.name
            assert slow.last_overhead_cycles()[0] == cyc.overhead_cycles, layer.name
    assert n_sat >= 3  # hls_acc_sat, the SAT_SYM and the SAT_ZERO layers
