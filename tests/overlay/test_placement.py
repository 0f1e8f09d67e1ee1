"""Two resident models (flow.runtime.placement): a relocated image writes the same memories at the
offsets, the table and CONFIG moved with them; a model that does not fit beside another is
refused naming both sizes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flow.overlay.image import capacity_of_params, image_bytes
from flow.rtl.params import EngineParams
from flow.runtime import regmap as rm
from flow.runtime.eie_image import F_BIAS, F_CB, F_PTR, ImageError, engine_memories, read_image
from flow.runtime.placement import footprint, place, relocate
from flow.testing import random_layer

OV = EngineParams(P=4, MAXG=2, DMAX=4, NL=4, NX=64, XW=16, WW=8, ACCW=32, CBW=4, IXW=4,
                  ENT_D=512, PTR_D=128, ACC_D=32, BIAS_D=64, OL=4, CB_SLOTS=4)
DEPTHS = {"ent": 512, "ptr": 128, "cb": 4 << 4, "bias": 64, "table": 4 * 16}


def _img(seed: int, sizes):
    rng = np.random.default_rng(seed)
    layers = [random_layer(rng, sizes[k], sizes[k + 1], density=0.4, n_pe=4, col_groups=2 if k == 0 else 1,
                           name=f"m{seed}l{k}") for k in range(len(sizes) - 1)]
    return read_image(image_bytes(layers, OV))


def test_relocated_model_lands_at_its_offsets():
    a, b = _img(1, [50, 24, 10]), _img(2, [37, 19])
    off = place(b, {"A": ({k: 0 for k in footprint(a)}, footprint(a))}, capacity_of_params(OV))
    assert off == footprint(a) and off["ENT"] % 8 == 0 and off["PTR"] % 2 == 0
    base = engine_memories(b, DEPTHS, OV.ptr_bits)
    moved = engine_memories(dataclasses.replace(b, words=relocate(b, off)), DEPTHS, OV.ptr_bits)
    fp = footprint(b)
    eb = OV.ptr_bits
    for k in range(4):
        e, o = off["ENT"], fp["ENT"]
        np.testing.assert_array_equal(moved["ent"][k][e : e + o], base["ent"][k][:o])
        n = b.capacity["PTR"]
        pairs = base["ptr"][k][:n]
        want = (((pairs >> np.uint64(eb)) + np.uint64(e)) << np.uint64(eb)) | ((pairs & np.uint64((1 << eb) - 1)) + np.uint64(e))
        np.testing.assert_array_equal(moved["ptr"][k][off["PTR"] : off["PTR"] + n], want)
        np.testing.assert_array_equal(moved["bias"][k][off["BIAS"] : off["BIAS"] + fp["BIAS"]], base["bias"][k][: fp["BIAS"]])
        cb = 1 << OV.CBW
        np.testing.assert_array_equal(moved["cb"][k][off["CB"] * cb : (off["CB"] + 1) * cb], base["cb"][k][:cb])
    t0, t1 = base["table"].reshape(-1, 16), moved["table"].reshape(-1, 16)
    L = off["LAYERS"]
    assert not t1[:L].any()  # nothing written where model A's layers are
    for field, delta in ((F_PTR, off["PTR"]), (F_BIAS, off["BIAS"]), (F_CB, off["CB"])):
        np.testing.assert_array_equal(t1[L : L + 1, field], t0[:1, field] + delta)
    cfg = [r for r in read_image_words(b, relocate(b, off)) if r["kind"] == "CONFIG"][0]["data"][0]
    lo, n = rm.CONFIG_FIELDS["BASE"]
    assert (int(cfg) >> lo) & ((1 << n) - 1) == L


def read_image_words(img, words):
    return dataclasses.replace(img, words=words).records()


def test_model_not_fitting_beside_another_names_both_sizes():
    a, b = _img(1, [50, 24, 10]), _img(2, [37, 19])
    cap = capacity_of_params(OV)
    fa = footprint(a)
    cap["ENT"] = fa["ENT"] + footprint(b)["ENT"] - 8
    with pytest.raises(ImageError, match=rf"ENT: it needs {footprint(b)['ENT']} after {fa['ENT']} used by A, "
                                         rf"the overlay holds {cap['ENT']}"):
        place(b, {"A": ({k: 0 for k in fa}, fa)}, cap)
    assert place(b, {}, cap) == {k: 0 for k in fa}  # alone it fits
