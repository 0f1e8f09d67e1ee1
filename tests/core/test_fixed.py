"""FixedType against hand-worked values and, bit for bit, against the real ap_fixed headers."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.fixed import FixedType, integer_bits
from flow.errors import UsageError

ROUNDINGS = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV")
SATURATIONS = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
#: (width, integer, signed) of the destination types, each in every rounding x saturation mode:
#: fewer and more fractional bits than the sources, negative frac, unsigned, a 2-bit type
SHAPES = [(8, 3, True), (8, 3, False), (10, 12, True), (2, 1, True), (16, 6, True)]
DESTS = [FixedType(w, i, s, r, o) for (w, i, s) in SHAPES for r in ROUNDINGS for o in SATURATIONS] + [
    FixedType.int_type(8),
    FixedType.int_type(8, signed=False),
    FixedType.int_type(1),
    FixedType.int_type(12),
]
#: (C++ type, width, frac, signed) of the sources of a cast: a wide accumulator, few fractional bits
#: (left shifts into most destinations), unsigned, an ap_int
SOURCES = [
    ("ap_fixed<48,24>", 48, 24, True),
    ("ap_fixed<20,18>", 20, 2, True),
    ("ap_ufixed<30,20>", 30, 10, False),
    ("ap_int<40>", 40, 0, True),
]


def _cpp_program() -> str:
    """One case per destination: read 'c <dst> <src> <raw>' (cast the raw bits of source type src)
    or 'q <dst> <double>' (assign a double); print the destination's raw bits."""
    cases = []
    for i, dst in enumerate(DESTS):
        srcs = "".join(f"      case {k}: return cast_from<{cpp}, {dst.cpp} >(raw);\n" for k, (cpp, *_) in enumerate(SOURCES))
        cases.append(
            f"    case {i}:\n      if (kind == 'q') return from_double<{dst.cpp} >(v);\n"
            f"      switch (src) {{\n{srcs}      }}\n      return 0;\n"
        )
    return (
        """#include <ap_fixed.h>
#include <cstdio>
template <class T> long long raw_of(const T& x) {
  ap_int<T::width> s = x.range(T::width - 1, 0);
  ap_uint<T::width> u = x.range(T::width - 1, 0);
  return x < 0 ? (long long)s.to_int64() : (long long)u.to_int64();
}
template <class S, class D> long long cast_from(long long raw) {
  S s; s.range(S::width - 1, 0) = raw; D d = s; return raw_of(d);
}
template <class D> long long from_double(double v) { D d = v; return raw_of(d); }
long long dispatch(char kind, int c, int src, long long raw, double v) {
  switch (c) {
"""
        + "".join(cases)
        + """  }
  return 0;
}
int main() {
  char kind; int c, src; long long raw; double v;
  while (std::scanf(" %c %d", &kind, &c) == 2) {
    if (kind == 'c') { if (std::scanf("%d %lld", &src, &raw) != 2) return 1; v = 0; }
    else { if (std::scanf("%lf", &v) != 1) return 1; src = 0; raw = 0; }
    std::printf("%lld\\n", dispatch(kind, c, src, raw, v));
  }
  return 0;
}
"""
    )


@pytest.fixture(scope="module")
def apfixed_exe():
    """The checker, compiled once (cached across sessions by its source hash); -O0: ~600 small
    template instances compile faster unoptimised and run fast enough."""
    from flow.eie.csim import compile_cached

    return compile_cached({"fixed_check.cpp": _cpp_program()}, shared=False, extra_flags=("-O0",), tag="fixedmodes")


def _run(exe, queries):
    lines = []
    for q in queries:
        if q[0] == "c":
            lines.append(f"c {q[1]} {q[2]} {q[3]}\n")
        else:
            lines.append(f"q {q[1]} {q[2]!r}\n")
    out = subprocess.run([str(exe)], input="".join(lines), capture_output=True, text=True, check=True).stdout
    return [int(t) for t in out.split()]


def _python(q):
    dst = DESTS[q[1]]
    if q[0] == "c":
        return int(dst.cast(np.int64(q[3]), from_frac=SOURCES[q[2]][2]))
    return int(dst.quantize(q[2]))


def _check(exe, queries):
    got = _run(exe, queries)
    assert len(got) == len(queries)
    bad = [(q, _python(q), g) for q, g in zip(queries, got) if _python(q) != g]
    assert not bad, (
        f"{len(bad)} of {len(queries)} differ; first: {bad[0][0]} into {DESTS[bad[0][0][1]].cpp}: "
        f"python {bad[0][1]} ap_fixed {bad[0][2]}"
    )


def test_hand_values():
    t = FixedType(8, 4, True, "RND", "SAT")  # lsb 1/16, range [-8, 8)
    assert list(t.quantize([0.03125, -0.03125, 0.09375, 100.0, -100.0])) == [1, 0, 2, 127, -128]
    t = FixedType(8, 4, True, "TRN", "WRAP")
    assert list(t.quantize([-0.01, 8.0])) == [-1, -128]
    assert list(FixedType(8, 8, True, "RND", "SAT").cast([3, -3, 2, -2], from_frac=2)) == [1, -1, 1, 0]
    assert t.cpp == "ap_fixed<8,4,AP_TRN,AP_WRAP>"
    assert FixedType.from_dict(t.to_dict()) == t


def test_bad_types_are_refused():
    with pytest.raises(UsageError, match="rounding"):
        FixedType(8, 4, rounding="CONV")
    with pytest.raises(UsageError, match="width"):
        FixedType(80, 4)


@pytest.mark.csim
def test_cast_every_mode_exhaustive_small(apfixed_exe):
    """Every destination, every raw value of a 10-bit window of each source (ties, carries, overflow)."""
    queries = []
    for c in range(len(DESTS)):
        for k, (_, w, f, s) in enumerate(SOURCES):
            lo = -512 if s else 0
            queries += [("c", c, k, r) for r in range(lo, lo + 1024)]
    _check(apfixed_exe, queries)


def _raw(draw, k):
    _, w, _, s = SOURCES[k]
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if s else (0, (1 << w) - 1)
    return draw(st.one_of(st.integers(lo, hi), st.sampled_from([lo, hi, lo + 1, hi - 1, 0, -1 if s else 1])))


def _double(draw, dst):
    tie = st.integers(-(2**40), 2**40).map(lambda n: math.ldexp(n + 0.5, -dst.frac))  # exact half-LSB ties
    fine = st.integers(-(2**30), 2**30).map(lambda n: math.ldexp(n, -dst.frac - 3))  # quarter/eighth LSBs
    return draw(st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-4, 4), tie, fine,
                          st.sampled_from([1e15, -1e15, 2.0**60 + 2.0**10, -(2.0**70), 1e-300, -1e-300, 5e-324, -5e-324])))


@pytest.mark.csim
@settings(max_examples=40, deadline=None)
@given(st.data())
def test_cast_and_quantize_match_ap_fixed(apfixed_exe, data):
    """Random raw values of every source and random doubles (incl. exact ties and huge values),
    into random destinations of every mode."""
    draw = data.draw
    queries = []
    for _ in range(150):
        c = draw(st.integers(0, len(DESTS) - 1))
        if draw(st.booleans()):
            k = draw(st.integers(0, len(SOURCES) - 1))
            queries.append(("c", c, k, _raw(draw, k)))
        else:
            queries.append(("q", c, _double(draw, DESTS[c])))
    _check(apfixed_exe, queries)


@pytest.mark.csim
def test_values_far_below_one_lsb_match_ap_fixed(apfixed_exe):
    """Subnormal and tiny doubles into every destination: scaled by a negative frac they underflow
    to -0.0, yet AP_TRN must floor a negative one to -1 LSB (found by hypothesis: -5e-324)."""
    tiny = [5e-324, -5e-324, 1e-310, -1e-310, 2.0**-1022, -(2.0**-1022), 1e-300, -1e-300, 0.0, -0.0]
    _check(apfixed_exe, [("q", c, v) for c in range(len(DESTS)) for v in tiny])
    assert FixedType(10, 12, True, "TRN", "SAT").quantize(-5e-324) == -1


def test_parse_and_dict_round_trip():
    for t in DESTS:
        assert FixedType.parse(t.cpp) == t
        assert FixedType.from_dict(t.to_dict()) == t
    assert FixedType.parse("fixed<8,3,RND_CONV,SAT_SYM>") == FixedType(8, 3, True, "RND_CONV", "SAT_SYM")
    assert FixedType.parse("ap_ufixed<6,2>") == FixedType(6, 2, False)
    assert FixedType.parse("uint<4>") == FixedType.int_type(4, signed=False)
    assert FixedType.parse("ap_fixed<16,6,AP_RND,AP_SAT,0>") == FixedType(16, 6, True, "RND", "SAT")
    with pytest.raises(UsageError, match="saturation bits"):
        FixedType.parse("ap_fixed<16,6,AP_RND,AP_WRAP,2>")
    with pytest.raises(UsageError, match="not an ap_fixed"):
        FixedType.parse("float")
    with pytest.raises(UsageError, match="rounding"):
        FixedType.parse("ap_fixed<16,6,AP_ROUND>")
    with pytest.raises(UsageError, match="is_int"):
        FixedType(8, 8, True, "TRN", "WRAP", is_int=True)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_integer_bits_refuses_nan_and_inf(bad):
    with pytest.raises(UsageError, match=r"max \|x\| = .*(nan|inf).*NaN/Inf"):
        integer_bits(bad)


def test_integer_bits_one_definition():
    from flow.compress import quantize
    from flow.hls import convert

    assert quantize.integer_bits is integer_bits and convert.integer_bits is integer_bits
    assert [integer_bits(m) for m in (-1.0, 0.0, 0.99, 1.0, 3.9, 4.0)] == [1, 1, 1, 2, 3, 4]
    assert integer_bits(3.9, signed=False) == 2 and integer_bits(3.9, margin=2) == 5
    assert convert.profiled_type(3.9).integer == 3
