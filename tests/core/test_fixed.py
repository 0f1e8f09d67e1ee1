"""FixedType against hand-worked values and, bit for bit, against the real ap_fixed headers."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.fixed import FixedType, integer_bits
from flow.errors import UsageError

# (source width, source frac, source signed, destination type): frac up/down, all modes, wide accumulators
CASES = [
    (24, 12, True, FixedType(16, 6, True, "TRN", "WRAP")),
    (24, 12, True, FixedType(16, 6, True, "RND", "SAT")),
    (24, 12, True, FixedType(8, 3, True, "RND", "WRAP")),
    (24, 12, True, FixedType(8, 3, True, "TRN", "SAT")),
    (40, 20, True, FixedType(16, 6, False, "RND", "SAT")),
    (40, 20, True, FixedType(16, 6, False, "TRN", "WRAP")),
    (40, 30, True, FixedType(12, 2, True, "RND", "SAT")),
    (16, 4, True, FixedType(20, 8, True, "TRN", "SAT")),  # more fractional bits: a left shift
    (16, 4, True, FixedType(10, 8, True, "RND", "WRAP")),
    (12, 12, True, FixedType(6, 1, True, "RND", "SAT")),
    (20, 0, True, FixedType(8, 10, True, "RND", "SAT")),  # negative frac on the destination
    (16, 8, False, FixedType(8, 4, True, "RND", "SAT")),
    (33, 17, True, FixedType(18, 2, True, "RND", "SAT")),
]


def _cpp_program() -> str:
    lines = []
    for i, (w, f, s, dst) in enumerate(CASES):
        src = f"{'ap_fixed' if s else 'ap_ufixed'}<{w},{w - f}>"
        lines.append(f"    case {i}: return run<{src}, {dst.cpp} >(kind, v);")
    return (
        """#include <ap_fixed.h>
#include <cstdio>
template <class T> long long raw_of(const T& x) {
  ap_int<T::width> s = x.range(T::width - 1, 0);
  ap_uint<T::width> u = x.range(T::width - 1, 0);
  return x < 0 ? (long long)s.to_int64() : (long long)u.to_int64();
}
template <class S, class D> long long run(char kind, double v) {
  D d;
  if (kind == 'c') { S s; s.range(S::width - 1, 0) = (long long)v; d = s; }
  else d = v;
  return raw_of(d);
}
long long dispatch(int c, char kind, double v) {
  switch (c) {
"""
        + "\n".join(lines)
        + """
  }
  return 0;
}
int main() {
  int c; char kind; double v;
  while (std::scanf(" %c %d %lf", &kind, &c, &v) == 3) std::printf("%lld\\n", dispatch(c, kind, v));
  return 0;
}
"""
    )


@pytest.fixture(scope="module")
def apfixed_exe():
    from flow.eie.csim import compile_cached

    return compile_cached({"fixed_check.cpp": _cpp_program()}, shared=False, tag="fixedcheck")


def _run(exe, queries):
    text = "".join(f"{k} {c} {v!r}\n" for k, c, v in queries)
    out = subprocess.run([str(exe)], input=text, capture_output=True, text=True, check=True).stdout
    return [int(t) for t in out.split()]


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
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_cast_matches_ap_fixed(apfixed_exe, data):
    queries, expected = [], []
    for c, (w, f, s, dst) in enumerate(CASES):
        lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if s else (0, (1 << w) - 1)
        hi = min(hi, 2**52)  # passed through a double
        lo = max(lo, -(2**52))
        raws = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=20))
        floats = data.draw(st.lists(st.floats(-300, 300, allow_nan=False), min_size=1, max_size=10))
        for r in raws:
            queries.append(("c", c, float(r)))
            expected.append(int(dst.cast(np.int64(r), from_frac=f)))
        for v in floats:
            queries.append(("q", c, v))
            expected.append(int(dst.quantize(v)))
    got = _run(apfixed_exe, queries)
    for q, e, g in zip(queries, expected, got):
        assert e == g, f"{q}: python {e} ap_fixed {g} ({CASES[q[1]][3].cpp})"


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
