"""Resource estimator: block RAM shapes, a hand-computed EIE layer and dense layer, the fit check."""

from __future__ import annotations

import numpy as np
import pytest

from flow.board.boards import load_board
from flow.errors import FitError, UsageError
from flow.board.resources import (
    LayerFootprint,
    ResourceEstimate,
    Usage,
    bram18_blocks,
    check_fit,
    dsp_per_mult,
    estimate,
    estimate_dense,
    estimate_eie_layers,
    lut_blocks,
    lutram_luts,
    pe_entry_counts,
)


@pytest.mark.parametrize(
    "depth, width, blocks",
    [
        (1024, 18, 1),  # 1Kx18
        (1024, 16, 1),
        (2048, 8, 1),  # 2Kx9
        (2049, 9, 2),
        (512, 36, 1),  # 512x36 (simple dual port)
        (512, 72, 2),  # RAMB36 512x72 = 2 RAMB18
        (16384, 1, 1),
        (32768, 1, 2),
        (4096, 16, 4),  # 64 Kb: 4 x 2Kx9 pairs or 4 x 1Kx18
        (1000, 20, 2),
        (100000, 8, 49),  # 49 x 2Kx9 beats 25 x RAMB36 4Kx9 (= 50)
        (0, 8, 0),
    ],
)
def test_bram18_blocks(depth, width, blocks):
    assert bram18_blocks(depth, width) == blocks


def test_lut_blocks_and_dsp():
    assert lut_blocks(16, 8) == 8 and lut_blocks(65, 3) == 6 and lut_blocks(64, 1) == 1
    # LUT RAM (Yosys' mapping, measured in test_resources_yosys.py): RAM32M 32x6 / RAM64M 64x3, + mux
    assert lutram_luts(16, 32) == (24, 0) and lutram_luts(64, 32) == (44, 0)
    assert lutram_luts(75, 36) == (72, 36) and lutram_luts(0, 8) == (0, 0)
    assert dsp_per_mult(16, 8) == 1 and dsp_per_mult(25, 18) == 1 and dsp_per_mult(32, 16) == 2


def test_entry_counts_with_fillers_by_hand():
    mask = np.zeros((51, 1), dtype=bool)
    mask[[0, 17, 50], 0] = True  # zero runs 0, 16, 32 -> 0 + 1 + 2 fillers
    assert pe_entry_counts(mask, 1, 4) == [6]
    assert pe_entry_counts(mask, 1, 5) == [4]  # runs of 16 fit a 5-bit index; 32 needs one filler
    # two PEs: PE0 holds rows 0, 2, ..., 50 (local 0..25); kept local rows 0 and 25 -> run 24 -> 1 filler
    assert pe_entry_counts(mask, 2, 4) == [3, 1]


def test_entry_counts_match_the_encoder():
    encode = pytest.importorskip("flow.eie.encode").encode
    rng = np.random.default_rng(1)
    for density, n_pe, bits in ((0.03, 8, 4), (0.1, 3, 2), (0.6, 5, 4)):
        W = np.where(rng.random((97, 131)) < density, rng.integers(1, 9, (97, 131)), 0).astype(float)
        assert pe_entry_counts(W != 0, n_pe, bits) == list(encode(W, n_pe, 4, bits).entries_per_pe)


def hand_layer(**kw):
    return LayerFootprint("fc", n_in=100, n_out=64, n_pe=4, pe_entries=(1000, 900, 950, 980), **kw)


def test_eie_layer_by_hand():
    est = estimate([hand_layer()], platform=Usage())
    # spmat 1000x8 (8000 b > 2048: block RAM, as codegen binds it) -> 2Kx9: 1 BRAM18 per PE;
    # in_buf 100x16 = 1600 b -> 1 BRAM18; pair ROM 100 x 2*10 (2000 b: LUT RAM) -> 40 LUT/PE;
    # LUT RAM as Yosys maps it (lutram_luts): accum 16x32 -> 6 RAM32M = 24 LUT/PE; codebook 16x8 ->
    # 2 RAM32M = 8 LUT/PE; out_buf 64x16 -> 6 RAM64M = 24; bias 64x16 (ROM) -> 16 LUT of logic
    # logic per PE (D = 8, value 16 + column 7 bits, rows 4 bits, pointers 10):
    #   LUT 90 + 3*32 + 10 + queue mux 23*2 + 8 enables + 2*4 + 2 = 260
    #   FF 120 + queue 8*23 + count 4 + head/tail 2*3 + stages 4*10 + 4*16 + 5*4 + 8 + 4*32 + 8 = 582
    u = est.layers["fc"]
    assert u.bram18 == 5
    assert u.dsp == 4
    assert u.lut == (160 + 96 + 32 + 16 + 24) + (4 * 260 + 300)
    assert u.ff == 4 * 582 + 400
    assert u.lutram == 96 + 32 + 24  # the queues are registers now
    names = {m.name: m for m in est.memories}
    assert (names["fc.spmat"].depth, names["fc.spmat"].width, names["fc.spmat"].copies) == (1000, 8, 4)
    assert not names["fc.spmat"].in_lut and names["fc.colptr"].in_lut
    assert names["fc.colptr"].width == 20  # {end, start}, 0..1000 each
    assert "fc.colnz" not in names and "fc.colany" not in names
    assert est.total == u


def test_column_groups_shrink_pointers_and_add_gather_adders():
    one = estimate([hand_layer()], platform=Usage())
    two = estimate([hand_layer(col_groups=2)], platform=Usage())
    names = {m.name: m for m in two.memories}
    # 2 groups of 2 PEs: each PE points into 50 columns and holds 32 rows
    assert names["fc.colptr"].depth == 50 and names["fc.accum"].depth == 32
    # pairs 50x20 -> 20 LUT/PE (was 40); queue column 6 bits (-2 mux LUT/PE); rows 5 bits (+2 LUT/PE);
    # + 1 x 2 adders x 32 bits
    assert two.total.lut - one.total.lut == 4 * (20 - 40) + 4 * (-2 + 2) + 64
    with pytest.raises(ValueError, match="col_groups=3 must divide n_pe=4"):
        hand_layer(col_groups=3)


@pytest.mark.parametrize("width, extra", [(4, 0), (1, -3 * 23), (3, -23), (16, 12 * 23), (64, 60 * 23)])
def test_detector_width_adds_compaction_luts(width, extra):
    # lanes beyond the default 4 x (input 16 bits + local column 7 bits: 0..99); nothing else changes
    base = estimate([hand_layer()], platform=Usage())
    est = estimate([hand_layer(detect_width=width)], platform=Usage())
    assert est.total.lut - base.total.lut == extra
    assert (est.total.ff, est.total.bram18, est.total.dsp, est.total.lutram) == (
        base.total.ff, base.total.bram18, base.total.dsp, base.total.lutram)
    assert est.memories == base.memories


def test_detector_width_column_bits_follow_the_groups():
    # col_groups 2: 50 local columns, 6 bits -> (16 + 6) per lane
    base = estimate([hand_layer(col_groups=2)], platform=Usage()).total.lut
    assert estimate([hand_layer(col_groups=2, detect_width=16)], platform=Usage()).total.lut - base == 12 * 22
    with pytest.raises(ValueError, match="detect_width=0"):
        hand_layer(detect_width=0)


def test_unpacked_code_and_index_roms_cost_more():
    packed = estimate([hand_layer()], platform=Usage()).total.bram18
    unpacked = estimate([hand_layer()], packed=False, platform=Usage()).total.bram18
    assert (packed, unpacked) == (5, 9)  # 1000x4 fits a 4Kx4 RAMB18: 2 per PE instead of 1


def test_from_eie_layer():
    from flow.testing import random_layer

    layer = random_layer(np.random.default_rng(0), 50, 40, n_pe=4)
    fp = LayerFootprint.from_eie_layer(layer)
    assert fp.pe_entries == tuple(int(x) for x in layer.encoding.entries_per_pe)
    assert (fp.n_in, fp.n_out, fp.n_pe, fp.accum_bits) == (50, 40, 4, layer.accum_t.width)
    assert fp.pe_capacity == layer.pe_capacity
    assert estimate_eie_layers([layer]).total == estimate([fp]).total
    assert fp.detect_width == 4
    wide = layer.with_array(detect_width=32)
    assert LayerFootprint.from_eie_layer(wide).detect_width == 32
    assert estimate_eie_layers([wide]).total.lut > estimate_eie_layers([layer]).total.lut


def test_dense_by_hand():
    est = estimate_dense([(100, 64)], 8, platform=Usage())
    u = est.layers["dense_0"]
    assert u.bram18 == 8 + 1  # 8 banks of 800x16 (1Kx18 each) + in_buf
    assert u.dsp == 8
    assert est.design == "dense16"


def test_check_fit_passes_and_reports_utilisation():
    board = load_board("pynq-z2")
    util = check_fit(estimate([hand_layer()]), board)
    assert 0 < util["bram18"] < 0.1 and set(util) == {"lut", "ff", "bram18", "dsp", "lutram", "uram"}


def test_check_fit_refuses_with_numbers_and_advice():
    board = load_board("pynq-z2")
    est = ResourceEstimate("eie", platform=Usage(bram18=300, dsp=10))
    with pytest.raises(FitError) as exc:
        check_fit(est, board)
    msg = str(exc.value)
    assert "300 of 280" in msg and "107%" in msg and "pynq-z2" in msg
    assert "prune more" in msg and "bigger board" in msg
    assert isinstance(exc.value, UsageError)  # exit code 2
    est = ResourceEstimate("eie", platform=Usage(dsp=210))
    with pytest.raises(FitError, match="DSP 210 of 220.*fewer PEs"):
        check_fit(est, board)
    check_fit(est, board, limit=1.0)  # 95 % passes a 100 % limit


def test_dense_lenet_300_100_does_not_fit_pynq_z2_but_eie_does():
    board = load_board("pynq-z2")
    shapes = [(784, 300), (300, 100), (100, 10)]
    with pytest.raises(FitError, match="dense16.*prune and use the EIE design"):
        check_fit(estimate_dense(shapes, [32, 16, 10]), board)
    rng = np.random.default_rng(0)
    layers = [LayerFootprint.from_mask(f"fc{i}", rng.random((o, n)) < d, p)
              for i, ((n, o), d, p) in enumerate(zip(shapes, (0.08, 0.09, 0.26), (32, 16, 10)))]
    check_fit(estimate(layers), board)


def test_uram_for_deep_sparse_matrix_roms():
    est = estimate([hand_layer()], uram_min_depth=512, platform=Usage())
    assert (est.total.uram, est.total.bram18) == (4, 1)  # 1000x8 -> one 4Kx72 URAM per PE; in_buf stays
    deep = LayerFootprint("fc", n_in=100, n_out=64, n_pe=1, pe_entries=(40000,))
    assert estimate([deep], uram_min_depth=4096, platform=Usage()).total.uram == 2  # 9 x 4096 per URAM
    assert estimate([hand_layer()], uram_min_depth=4096, platform=Usage()).total.uram == 0  # not deep enough
    check_fit(est, load_board("kv260"))
    with pytest.raises(FitError, match="UltraRAM 4 of 0"):
        check_fit(est, load_board("pynq-z2"))
