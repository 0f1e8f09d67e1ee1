"""The integer reference against float math, layer construction errors, accumulator sizing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import FixedType
from flow.testing import Q16, W8, dense_layer, random_layer
from flow.eie.reference import accumulate, eie_dense, eie_network
from flow.eie.knobs import KnobDeprecation
from flow.errors import UsageError



@settings(max_examples=40, deadline=None)
@given(
    n_in=st.integers(1, 120),
    n_out=st.integers(1, 120),
    density=st.floats(0, 1),
    n_pe=st.integers(1, 70),
    rounding=st.sampled_from(["TRN", "RND"]),
    activation=st.sampled_from(["relu", "linear"]),
    out_int=st.integers(1, 10),
    seed=st.integers(0, 2**31),
)
def test_reference_within_quantization_bound(n_in, n_out, density, n_pe, rounding, activation, out_int, seed):
    rng = np.random.default_rng(seed)
    out_t = FixedType(12, out_int, True, rounding, "SAT")
    layer = random_layer(rng, n_in, n_out, density=density, n_pe=n_pe, activation=activation, output_t=out_t)
    x_raw = rng.integers(Q16.min_raw, Q16.max_raw + 1, size=(5, n_in))
    y = out_t.to_float(eie_dense(x_raw, layer))
    # float math on the quantized operands; only the output requantisation may differ
    yf = Q16.to_float(x_raw) @ layer.weights_float().T + Q16.to_float(layer.bias_raw)
    if activation == "relu":
        yf = np.maximum(yf, 0)
    yf = np.clip(yf, out_t.to_float(out_t.min_raw), out_t.to_float(out_t.max_raw))
    bound = out_t.lsb if rounding == "TRN" else out_t.lsb / 2
    assert np.all(np.abs(y - yf) <= bound + 1e-12)
    # the accumulator type holds every sum exactly
    assert layer.accum_t.representable(accumulate(x_raw, layer))


def test_float_kernel_within_weight_and_output_bound():
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, 15)
    kernel = np.where(rng.random((50, 20)) < 0.3, rng.choice(values, (50, 20)), 0.0)
    bias = rng.normal(size=20) * 0.1
    layer = dense_layer("fc", kernel, bias, activation="linear")
    x = rng.uniform(-4, 4, size=(8, 50))
    y = Q16.to_float(eie_dense(Q16.quantize(x), layer))
    xq = Q16.to_float(Q16.quantize(x))
    bound = np.abs(xq).sum(axis=1, keepdims=True) * W8.lsb / 2 + Q16.lsb / 2 + Q16.lsb / 2
    bound = bound + np.abs(x - xq) @ np.abs(kernel)
    assert np.all(np.abs(y - (x @ kernel + bias)) <= bound)


def test_accumulator_never_overflows_at_extremes():
    rng = np.random.default_rng(1)
    layer = random_layer(
        rng, 200, 30, density=1.0, activation="linear", output_t=FixedType(8, 2, True, "RND", "SAT")
    )
    for x in (Q16.min_raw, Q16.max_raw):
        acc = accumulate(np.full((1, 200), x), layer)
        assert layer.accum_t.representable(acc)
        y = eie_dense(np.full((1, 200), x), layer)
        assert set(np.unique(y)) <= {-128, 127} | set(range(-128, 128))
    assert layer.accum_t.frac == Q16.frac + W8.frac


def test_saturation_and_all_zero():
    layer = dense_layer(
        "sat",
        np.full((4, 2), 0.5),
        [0.0, 0.0],
        activation="linear", output_t=FixedType(6, 2, True, "RND", "SAT"),
    )
    y = eie_dense(np.full((1, 4), Q16.max_raw), layer)
    assert list(y[0]) == [31, 31]
    zero = dense_layer("zero", np.zeros((6, 3)), np.array([0.5, -0.5, 0.0]))
    assert zero.encoding.n_entries == 0
    assert list(Q16.to_float(eie_dense(np.zeros((1, 6), dtype=np.int64), zero))[0]) == [0.5, 0.0, 0.0]


def test_layer_errors_name_the_layer():
    with pytest.raises(UsageError, match="'fc1'.*n_pe=0"):
        dense_layer("fc1", np.ones((3, 2)), None, n_pe=0)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(UsageError, match="'fc1'.*broadcast="):
            dense_layer("fc1", np.ones((3, 2)), None, broadcast=bad)
    with pytest.warns(KnobDeprecation, match="'fc1'.*broadcast=65 is deprecated and ignored"):
        assert dense_layer("fc1", np.ones((3, 2)), None, broadcast=65).broadcast == 1
    for bad in (0, 65, -4, 4.0, True, "4", None):
        with pytest.raises(UsageError, match=r"'fc1'.*detect_width=.*1\.\.64"):
            dense_layer("fc1", np.ones((3, 2)), None, detect_width=bad)
    for good in (1, 3, 64, np.int64(16)):
        layer = dense_layer("fc1", np.ones((3, 2)), None, detect_width=good)
        assert layer.detect_width == int(good) and type(layer.detect_width) is int
    with pytest.raises(UsageError, match="'fc1'.*tanh"):
        dense_layer("fc1", np.ones((3, 2)), None, activation="tanh")
    with pytest.raises(UsageError, match="'fc1'.*24 distinct"):
        dense_layer("fc1", np.arange(1, 25.0).reshape(6, 4), None)
    with pytest.raises(UsageError, match="'fc1'.*fractional bits"):
        dense_layer("fc1", np.ones((3, 2)), None, bias_t=FixedType(32, 2))


def test_network_chains_and_checks_types():
    rng = np.random.default_rng(2)
    a = random_layer(rng, 10, 7, name="a")
    b = random_layer(rng, 7, 3, name="b", activation="linear")
    x = rng.integers(-500, 500, size=(4, 10))
    assert np.array_equal(eie_network(x, [a, b]), eie_dense(eie_dense(x, a), b))
    c = random_layer(rng, 7, 3, name="c", input_t=FixedType(8, 4))
    with pytest.raises(UsageError, match="do not chain"):
        eie_network(x, [a, c])
    with pytest.raises(UsageError, match="outside"):
        eie_dense(np.full((1, 10), 10**6), a)


def test_with_array_keeps_weights_and_codes():
    rng = np.random.default_rng(3)
    layer = random_layer(rng, 40, 23, density=0.3, n_pe=4, fifo_depth=8)
    moved = layer.with_array(n_pe=7, fifo_depth=2, broadcast=1)
    assert (moved.n_pe, moved.fifo_depth, moved.broadcast) == (7, 2, 1)
    np.testing.assert_array_equal(moved.weight_raw, layer.weight_raw)
    np.testing.assert_array_equal(moved.codebook_raw, layer.codebook_raw)
    x = rng.integers(-(1 << 12), 1 << 12, size=(5, 40))
    np.testing.assert_array_equal(eie_dense(x, moved), eie_dense(x, layer))


def test_detect_width_default_and_carried():
    rng = np.random.default_rng(4)
    layer = random_layer(rng, 20, 9, n_pe=4)
    assert layer.detect_width == 4
    wide = random_layer(rng, 20, 9, n_pe=4, detect_width=16)
    assert wide.detect_width == 16
    assert wide.with_array(n_pe=2).detect_width == 16  # kept when another knob changes
    assert wide.with_array(detect_width=1).detect_width == 1
    assert layer.with_array(detect_width=64, col_groups=2).detect_width == 64
    with pytest.raises(UsageError, match="'dense'.*detect_width=65"):
        layer.with_array(detect_width=65)
