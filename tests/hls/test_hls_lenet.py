"""LeNet-300-100 (paper densities, 4-bit shared weights): build time, bit-exactness, speed vs hls4ml Vivado csim."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("tensorflow")
hls4ml = pytest.importorskip("hls4ml")

from flow.eie.reference import eie_network
from flow.hls import csim
from flow.config.hls import HLSConfig
from flow.hls.convert import convert
from flow.testing import as_compressed, lenet300

pytestmark = [pytest.mark.slow, pytest.mark.csim]


def test_lenet300_builds_fast_is_bit_exact_and_beats_vivado_csim(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((64, 784)) * (rng.random((64, 784)) < 0.19)  # MNIST-like: ~19 % non-zero pixels
    x[0] = 0.0
    model, types = lenet300(calib_x=x)
    hm = convert(as_compressed(model, types), HLSConfig(n_pe=16, project_name="lenet_eie"), tmp_path / "eie")
    assert csim.compile_model(hm) < 60  # ~5-10 s on an idle 2-core machine
    x_raw = hm.input_t.quantize(x)
    np.testing.assert_array_equal(csim.predict_raw(hm, x_raw), eie_network(x_raw, hm.eie_layers))
    t0 = time.perf_counter()
    csim.predict(hm, x)
    eie_s = (time.perf_counter() - t0) / len(x)

    cfg = hls4ml.utils.config_from_keras_model(
        hm.keras_twin, granularity="model", default_precision="ap_fixed<16,6>"
    )
    vm = hls4ml.converters.convert_from_keras_model(
        hm.keras_twin,
        hls_config=cfg,
        output_dir=str(tmp_path / "vivado"),
        backend="Vivado",
        io_type="io_parallel",
    )
    vm.compile()
    xs = np.ascontiguousarray(x[:16])
    t0 = time.perf_counter()
    vm.predict(xs)
    vivado_s = (time.perf_counter() - t0) / len(xs)
    assert vivado_s > 10 * eie_s, (
        f"EIE csim {eie_s * 1e6:.0f} us/sample vs hls4ml Vivado {vivado_s * 1e6:.0f} us"
    )
