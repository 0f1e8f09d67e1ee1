"""eie::dense_stream (hls4ml io_stream) in C simulation: the detector scans each input pack as it is
read (detect_stream). Outputs bit for bit against flow.eie.reference, the PE-array cycles and the
detector + gather iterations against flow.eie.perf with the pack size (windows never straddle packs),
on the native-integer fast path and on the synthesis types (hls::stream channels, register-level loop)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import codegen
from flow.eie.csim import TEMPLATES, compile_cached
from flow.eie.perf import detect_cycles, layer_cycles
from flow.eie.reference import eie_dense
from flow.templating import render
from flow.testing import dense_layer, random_layer

pytestmark = pytest.mark.csim

#: a minimal nnet::array: what dense_stream needs of hls4ml's pack type (value_type, size, [])
PACK = """
template <class T, unsigned N> struct pack {
  typedef T value_type;
  static const unsigned size = N;
  T data[N];
  T& operator[](unsigned i) { return data[i]; }
  const T& operator[](unsigned i) const { return data[i]; }
};
"""

BRIDGE = """
extern "C" void run_{n}(const int64_t* in, int64_t* out, int n_samples, uint64_t* counters) {{
  typedef pack<{in_t}, {pf}> in_pack;
  typedef pack<{out_t}, {po}> out_pack;
  for (int s = 0; s < n_samples; s++) {{
    hls::stream<in_pack> xs;
    hls::stream<out_pack> ys;
    for (int k = 0; k < {n_in} / {pf}; k++) {{
      in_pack p;
      for (int j = 0; j < {pf}; j++) eie::set_raw_bits(p[j], (long long)in[(long long)s * {n_in} + k * {pf} + j]);
      xs.write(p);
    }}
    {call}
    for (int k = 0; k < {n_out} / {po}; k++) {{
      out_pack p = ys.read();
      for (int j = 0; j < {po}; j++) out[(long long)s * {n_out} + k * {po} + j] = eie::raw_bits(p[j]);
    }}
    counters[0] = eie::cycle_counter();
    counters[1] = eie::overhead_counter();
  }}
}}
"""


def cases():
    """(layer, input pack, output pack): packs smaller, equal and larger than detect_width, not multiples
    of it, one pack of the whole input; column groups; a saturating hls4ml-free default accumulator."""
    rng = np.random.default_rng(13)
    k = np.where(rng.random((12, 10)) < 0.5, rng.choice([-0.75, -0.25, 0.5, 0.875], (12, 10)), 0.0)
    return [
        (dense_layer("pf6_w4", k, rng.normal(size=10) * 0.3, detect_width=4), 6, 5),  # 6 = 4 + 2
        (dense_layer("pf12_w4", k, None, detect_width=4), 12, 10),  # one pack: = io_parallel
        (dense_layer("pf1_w4", k, None, detect_width=4), 1, 1),
        (dense_layer("pf4_w3_g2", k, rng.normal(size=10) * 0.3, n_pe=4, col_groups=2, detect_width=3), 4, 2),
        (dense_layer("pf3_w16_g3", k, None, n_pe=6, col_groups=3, detect_width=16, fifo_depth=2), 3, 5),
        (random_layer(rng, 48, 20, density=0.3, n_pe=5, detect_width=16, name="pf24_w16"), 24, 4),
    ]


def _library(flags: tuple):
    src = render(TEMPLATES, "chain_head.cpp.j2") + PACK
    for i, (layer, pf, po) in enumerate(cases()):
        n = f"s{i}"
        call = codegen.function_call(layer, n, "xs", "ys", "in_pack", "out_pack", f"config{n}", stream=True)
        src += codegen.rom_header(layer, n) + "\n" + codegen.config_struct(layer, f"config{n}") + "\n"
        src += BRIDGE.format(n=n, in_t=layer.input_t.cpp, out_t=layer.output_t.cpp, pf=pf, po=po,
                             n_in=layer.n_in, n_out=layer.n_out, call=call)
    return ctypes.CDLL(str(compile_cached({"eie_stream.cpp": src}, tag="eiestream", extra_flags=flags)))


@pytest.fixture(scope="module", params=[(), ("-DEIE_HLS_TYPES",)], ids=["fast", "hls_types"])
def lib(request):
    return _library(request.param)


def _run(lib, i, layer, x):
    fn = getattr(lib, f"run_s{i}")
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    x = np.ascontiguousarray(np.atleast_2d(x), dtype=np.int64)
    out = np.zeros((x.shape[0], layer.n_out), dtype=np.int64)
    counters = np.zeros(2, dtype=np.uint64)
    fn(x.ctypes.data, out.ctypes.data, x.shape[0], counters.ctypes.data)
    return out, [int(c) for c in counters]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), density=st.sampled_from([0.0, 0.2, 0.6, 1.0]))
def test_stream_bit_and_cycle_exact(lib, seed, density):
    rng = np.random.default_rng(seed)
    for i, (layer, pf, _) in enumerate(cases()):
        x = np.where(rng.random(layer.n_in) < density, rng.integers(-3000, 3000, layer.n_in), 0)
        out, (pe, overhead) = _run(lib, i, layer, x)
        assert np.array_equal(out[0], eie_dense(x[None], layer)[0]), layer.name
        model = layer_cycles(layer, x, pack=pf)
        assert pe == model.cycles, layer.name
        assert overhead == model.overhead_cycles, layer.name


def test_stream_windows_follow_the_packs():
    """The model's pack windows differ from io_parallel's where a pack is not a multiple of the width
    (so the check above can tell them apart), and agree with one pack of the whole input."""
    layer, pf, _ = cases()[0]  # n_in 12, W 4, packs of 6: windows 4 + 2 per pack
    x = np.zeros(layer.n_in, dtype=np.int64)  # a cycle per window: 4 windows vs 3
    assert detect_cycles(layer, x, pack=pf) > detect_cycles(layer, x)
    assert detect_cycles(layer, x, pack=layer.n_in) == detect_cycles(layer, x)
    with pytest.raises(ValueError, match="must divide n_in"):
        detect_cycles(layer, x, pack=5)
