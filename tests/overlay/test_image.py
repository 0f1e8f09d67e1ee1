"""model.eie: written by flow.overlay.image, read and validated by flow.runtime.eie_image (numpy)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flow.board.boards import load_board
from flow.overlay.image import image_bytes, widths_of, write_image
from flow.overlay.sizing import preset
from flow.rtl.images import Images
from flow.rtl.params import params_for
from flow.runtime import regmap as rm
from flow.runtime.eie_image import (
    _CAP, _FIXED, _IO, F_CB, ImageError, _crc, check_capacity, check_input, engine_memories, read_image,
)
from flow.testing import lenet300_layers, random_layer

P64 = preset(load_board("pynq-z2"), 64)


def overlay_caps(p) -> dict:
    return {"P": p.P, "LAYERS": p.NL, "CB": p.NL, "MAXG": p.MAXG, "DMAX": p.DMAX, "NX": p.NX,
            "ENT": p.ENT_D, "PTR": p.PTR_D, "ACC": p.ACC_D, "BIAS": p.BIAS_D, "ANYR": p.ANYR,
            **widths_of(p)}  # fmt: skip


@st.composite
def nets(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = draw(st.sampled_from([1, 2, 4, 8]))
    sizes = [draw(st.integers(1, 70)) for _ in range(draw(st.integers(1, 3)) + 1)]
    return [random_layer(rng, sizes[k], sizes[k + 1], density=draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
                         n_pe=P, col_groups=draw(st.sampled_from([g for g in (1, 2) if P % g == 0])),
                         code_bits=draw(st.integers(1, 4)), index_bits=draw(st.integers(2, 4)), name=f"l{k}")
            for k in range(len(sizes) - 1)]  # fmt: skip


@given(layers=nets())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_gives_the_engine_memories(layers):
    """Applying the image's records as the wrapper does gives every memory word of Images."""
    p = params_for(layers)
    img = read_image(image_bytes(layers))
    mem = Images(layers, p)
    depths = {"ent": mem.ent[0].size, "ptr": mem.ptr[0].size, "cb": mem.cb[0].size, "bias": mem.bias[0].size,
              "table": mem.table.size}
    got = engine_memories(img, depths, p.ptr_bits)
    n_ptr = img.capacity["PTR"]  # pairs past the model's columns are not written (or padding)
    for name in ("ent", "ptr", "cb", "bias"):
        for k, a in enumerate(got[name]):
            want = getattr(mem, name)[k]
            if name == "ptr":
                a, want = a[:n_ptr], want[:n_ptr]
            np.testing.assert_array_equal(a, want, err_msg=f"{name} of PE {k}")
    want = mem.table.copy()
    want[F_CB : F_CB + 16 * len(layers) : 16] = np.arange(len(layers))  # the codebook slot field: the layer
    np.testing.assert_array_equal(got["table"], want)
    assert (img.n_in, img.n_out) == (layers[0].n_in, layers[-1].n_out)
    assert img.in_t == layers[0].input_t and img.out_t == layers[-1].output_t


def test_lenet300_p64_loads_in_far_fewer_words():
    """LeNet-300-100 at P = 64: bus beats (modelled from the image) against today's writes."""
    layers = lenet300_layers(64)
    img = read_image(image_bytes(layers, P64))
    check_capacity(img, overlay_caps(P64), "the pynq-z2 P=64 overlay")
    n = img.word_counts()
    today = len(Images(layers, params_for(layers)).load_commands())
    assert n["beats"] < today / 3, (n, today)
    assert n["beats"] / 100e6 <= 0.2e-3  # bus time at 100 MHz within the target
    # the wide load port: the engine writes (one cycle each) fit the target too (measured: bench/overlay.py --rtl)
    assert n["engine_writes"] < 1.5 * n["beats"] and n["engine_writes"] / 100e6 <= 0.2e-3, n
    cb = [r for r in img.records() if r["kind"] == "CB"]
    assert len(cb) == 1 and cb[0]["bcast"]  # one codebook record for all 64 PEs


def test_write_image_atomic(tmp_path):
    layers = lenet300_layers(64)
    out = write_image(layers, tmp_path / "m" / "model.eie", P64)
    assert out["bytes"] == (tmp_path / "m" / "model.eie").stat().st_size
    assert not list((tmp_path / "m").glob(".model-*"))
    assert read_image(tmp_path / "m").n_out == 10  # a folder holding model.eie


# ---- bad images: each refused with a message naming the problem ----

@pytest.fixture(scope="module")
def good():
    rng = np.random.default_rng(1)
    layers = [random_layer(rng, 40, 20, n_pe=4, name="a"), random_layer(rng, 20, 5, n_pe=4, name="b")]
    return image_bytes(layers)


def _recrc(data: bytes) -> bytes:
    """Recompute the CRC so that a deliberate change reaches the checks after it."""
    _, _, h, n = _FIXED.unpack_from(data, 0)
    words = np.frombuffer(data, "<u8", n, h)
    return data[: h - 4] + struct.pack("<I", _crc(data[: h - 4], words)) + data[h:]


@pytest.mark.parametrize("cut", [4, 100, -8])
def test_truncated(good, cut):
    with pytest.raises(ImageError, match="truncated"):
        read_image(good[:cut])


def test_wrong_magic(good):
    with pytest.raises(ImageError, match="not a model image"):
        read_image(b"EIEMODEX" + good[8:])


def test_newer_version(good):
    bad = good[:8] + struct.pack("<H", rm.FORMAT_VERSION + 1) + good[10:]
    with pytest.raises(ImageError, match=rf"format version {rm.FORMAT_VERSION + 1} is newer than this driver's {rm.FORMAT_VERSION}"):
        read_image(bad)


def test_crc_mismatch(good):
    bad = bytearray(good)
    bad[-3] ^= 0x40
    with pytest.raises(ImageError, match="CRC32 mismatch"):
        read_image(bytes(bad))


def test_too_big_names_both_numbers(good):
    img = read_image(good)
    caps = dict(img.capacity)  # an overlay exactly as large as the model ...
    caps["ENT"] -= 1  # ... but one entry word short
    with pytest.raises(ImageError, match=rf"ENT: the model needs {caps['ENT'] + 1}, the overlay holds {caps['ENT']}"):
        check_capacity(img, caps)
    with pytest.raises(ImageError, match=r"P: the image has 4, the overlay 64"):
        check_capacity(img, overlay_caps(P64))


def test_input_width_differs_from_data(good):
    """CONFIG says the stream packs 8-bit inputs, the header's input type is 16 bits."""
    _, _, h, n = _FIXED.unpack_from(good, 0)
    words = np.frombuffer(good, "<u8", n, h).copy()
    cfg = int(words[1])
    lo, nb = rm.CONFIG_FIELDS["IN_BITS"]
    words[1] = np.uint64((cfg & ~(((1 << nb) - 1) << lo)) | (8 << lo))
    bad = _recrc(good[:h] + words.astype("<u8").tobytes())
    with pytest.raises(ImageError, match="input width differs from the data's"):
        read_image(bad)


def test_raw_input_wider_than_the_model_input(good):
    img = read_image(good)
    with pytest.raises(ImageError, match=r"input is ap_fixed<16"):
        check_input(img, np.full((1, img.n_in), 1 << 20))


def test_table_tampered(good):
    bad = bytearray(good)
    off = _FIXED.size + _CAP.size + _IO.size
    bad[off] ^= 1  # layer 0's n_in in the header table
    with pytest.raises(ImageError, match="TABLE records differ"):
        read_image(_recrc(bytes(bad)))
