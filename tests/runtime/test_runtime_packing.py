"""flow.runtime.packing: fixed-point quantization and AXI-stream word packing (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.errors import UsageError
from flow.fixed import FixedType
from flow.runtime.packing import StreamLayout, pack_floats, unpack_floats


def raw_range(t: dict) -> tuple[int, int]:
    ft = FixedType.from_dict(t)
    return ft.min_raw, ft.max_raw


def quantize(x, t: dict):
    return FixedType.from_dict(t).quantize(x)


def to_float(raw, t: dict):
    return FixedType.from_dict(t).to_float(raw)


@st.composite
def layouts(draw):
    stream_bits = draw(st.sampled_from([8, 16, 32, 64]))
    bits = draw(st.integers(1, stream_bits))
    n = draw(st.integers(1, 40))
    signed = draw(st.booleans())
    return StreamLayout(n, bits, stream_bits), signed


@st.composite
def layout_and_raw(draw):
    (layout, signed) = draw(layouts())
    batch = draw(st.integers(1, 6))
    w = layout.bits
    # raw values are int64 (the API's type): an unsigned 64-bit field holds at most 2**63 - 1 of them
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << min(w, 63)) - 1)
    values = draw(st.lists(st.integers(lo, hi), min_size=batch * layout.n, max_size=batch * layout.n))
    raw = np.array(values, dtype=np.int64).reshape(batch, layout.n)
    return layout, signed, raw


@settings(max_examples=60, deadline=None)
@given(layout_and_raw())
def test_pack_unpack_round_trip(case):
    layout, signed, raw = case
    words = layout.pack(raw)
    assert words.dtype == np.dtype(f"uint{layout.stream_bits}")
    assert words.size == raw.shape[0] * layout.words_per_sample
    np.testing.assert_array_equal(layout.unpack(words, raw.shape[0], signed=signed), raw)


@settings(max_examples=50, deadline=None)
@given(layout_and_raw())
def test_pack_matches_a_bit_by_bit_golden_model(case):
    layout, _, raw = case
    words = layout.pack(raw).astype(object)
    vpw, bits = layout.values_per_word, layout.bits
    for s in range(raw.shape[0]):
        expect = [0] * layout.words_per_sample
        for k in range(layout.n):
            expect[k // vpw] |= (int(raw[s, k]) & ((1 << bits) - 1)) << ((k % vpw) * bits)
        got = [int(w) for w in words[s * layout.words_per_sample : (s + 1) * layout.words_per_sample]]
        assert got == expect  # includes: padding slots and unused high bits are zero


def test_known_words_negative_values_and_padding():
    layout = StreamLayout(5, 12, 32)  # 2 values per word, 3 words, the last half empty
    raw = np.array([[1, -1, -2048, 2047, -3]], dtype=np.int64)
    words = layout.pack(raw)
    assert [hex(int(w)) for w in words] == ["0xfff001", "0x7ff800", "0xffd"]
    np.testing.assert_array_equal(layout.unpack(words, 1), raw)
    assert layout.unpack(words, 1, signed=False)[0, 1] == 4095


@st.composite
def fixed_types(draw):
    width = draw(st.integers(2, 24))
    return {
        "width": width,
        "integer": draw(st.integers(-4, width + 4)),
        "signed": draw(st.booleans()),
        "rounding": draw(st.sampled_from(["RND", "TRN"])),
        "saturation": draw(st.sampled_from(["SAT", "WRAP"])),
    }


@settings(max_examples=60, deadline=None)
@given(fixed_types(), st.data())
def test_quantize_is_exact_on_representable_values(t, data):
    lo, hi = raw_range(t)
    raw = np.array(data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=20)), dtype=np.int64)
    np.testing.assert_array_equal(quantize(to_float(raw, t), t), raw)
    words = pack_floats(to_float(raw, t)[None, :], t, 32 if t["width"] <= 32 else 64)
    np.testing.assert_array_equal(unpack_floats(words, 1, raw.size, t, 32), to_float(raw, t)[None, :])


@settings(max_examples=60, deadline=None)
@given(fixed_types(), st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=20))
def test_quantize_rounding_and_overflow_semantics(t, xs):
    x = np.array(xs)
    raw = quantize(x, t)
    lo, hi = raw_range(t)
    assert raw.min() >= lo and raw.max() <= hi
    scaled = x * 2.0 ** (t["width"] - t["integer"])
    exact = np.floor(scaled + 0.5) if t["rounding"] == "RND" else np.floor(scaled)
    if t["rounding"] == "TRN":  # a negative value below the float range of the scaled LSB (x * 2^-k
        # underflows to -0.0) still floors to -1 LSB, as ap_fixed's AP_TRN does (flow.fixed, b7ab4d0)
        exact = np.where((x < 0) & (scaled == 0), -1.0, exact)
    if t["saturation"] == "SAT":
        np.testing.assert_array_equal(raw, np.clip(exact, lo, hi))
    else:
        assert np.all((raw - exact) % (1 << t["width"]) == 0)


def test_ap_fixed_corner_cases():
    rnd = {"width": 8, "integer": 4, "rounding": "RND", "saturation": "SAT"}
    # AP_RND: ties go towards +inf, also for negative values
    np.testing.assert_array_equal(quantize([1 / 32, -1 / 32, -3 / 32], rnd), [1, 0, -1])
    trn = dict(rnd, rounding="TRN")
    np.testing.assert_array_equal(quantize([1 / 32, -1 / 32], trn), [0, -1])  # floor
    np.testing.assert_array_equal(quantize([100.0, -100.0, 7.9375, -8.0], rnd), [127, -128, 127, -128])
    wrap = dict(rnd, saturation="WRAP")
    np.testing.assert_array_equal(quantize([8.0, -8.0625], wrap), [-128, 127])
    u = {"width": 4, "integer": 4, "signed": False, "rounding": "TRN", "saturation": "SAT"}
    np.testing.assert_array_equal(quantize([-3.0, 20.0, 5.7], u), [0, 15, 5])


def test_errors_name_the_bad_value():
    with pytest.raises(UsageError, match="NaN/Inf"):
        quantize([1.0, np.nan], {"width": 8, "integer": 4})
    with pytest.raises(ValueError, match="stream_bits"):
        StreamLayout(4, 8, 24)
    with pytest.raises(ValueError, match="between 1 and stream_bits=32"):
        StreamLayout(4, 33, 32)
    with pytest.raises(ValueError, match=r"shape \(batch, 4\)"):
        StreamLayout(4, 8, 32).pack(np.zeros((2, 5), dtype=np.int64))
    with pytest.raises(UsageError, match="rounding"):
        FixedType.from_dict({"width": 8, "integer": 4, "rounding": "CONV"})
    with pytest.raises(UsageError, match="width"):
        FixedType.from_dict({"width": 0, "integer": 0})
    with pytest.raises(UsageError, match="value 128 at index"):
        FixedType(8, 4).check_raw(np.array([[0, 128]]))
    with pytest.raises(UsageError, match="integers"):
        FixedType(8, 4).check_raw(np.array([0.5]))
