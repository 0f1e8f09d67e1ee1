"""Fixed-point choices: integer bits, rounding/saturation, and QKeras quantizers on the same grid."""

from __future__ import annotations

import numpy as np
import pytest

from flow.compress.quantize import _qbits, _qrelu, fixed_type, integer_bits, quantize_values


@pytest.mark.parametrize("m, expect", [(0.0, 1), (0.4, 1), (0.99, 1), (1.0, 2), (1.5, 2), (3.9, 3), (4.0, 4)])
def test_integer_bits_cover_the_range(m, expect):
    i = integer_bits(m)
    assert i == expect
    if m > 0:
        assert 2.0 ** (i - 1) > m  # representable...
        assert i == 1 or 2.0 ** (i - 2) <= m  # ...and minimal
    assert integer_bits(m, margin=2) == expect + 2


def test_quantize_values_rnd_sat():
    t = fixed_type(8, 3)  # step 1/32, range [-4, 4 - 1/32]
    x = np.array([0.015625, -0.015625, 0.02, 10.0, -10.0, 1.0 / 3])
    q = quantize_values(x, t)
    assert q.tolist() == pytest.approx([1 / 32, 0.0, 1 / 32, 4 - 1 / 32, -4.0, 11 / 32])
    trn = quantize_values(np.array([0.06]), fixed_type(8, 3, rounding="TRN"))
    assert trn[0] == pytest.approx(1 / 32)


def test_qkeras_quantizers_match_the_recorded_types():
    from qkeras import QActivation

    rng = np.random.default_rng(0)
    t = fixed_type(10, 4)
    x = rng.uniform(-12, 12, size=2000).astype(np.float32)
    frac = t["width"] - t["integer"]
    x = x[
        np.abs(x * 2**frac - np.floor(x * 2**frac) - 0.5) > 1e-3
    ]  # avoid exact ties (QKeras rounds half-even)
    q = QActivation(_qbits(t))(x[None]).numpy()[0]
    assert np.array_equal(q, quantize_values(x, t))
    r = QActivation(_qrelu(t))(x[None]).numpy()[0]
    assert np.array_equal(r, quantize_values(np.maximum(x, 0), t))
