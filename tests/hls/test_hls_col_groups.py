"""Per-layer column groups through the hls4ml backend: `hls.layers` reaches the EIELayer, csim == reference."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("hls4ml")

from flow.eie.perf import layer_cycles
from flow.eie.reference import eie_network
from flow.errors import UsageError
from flow.hls import csim
from flow.config.hls import HLSConfig
from flow.hls.convert import convert
from flow.testing import as_compressed, shared_mlp

WIDTHS = [64, 32, 16, 10]


@pytest.fixture(scope="module")
def compressed():
    model, types = shared_mlp(WIDTHS, (0.3, 0.4, 0.6), seed=5)
    return as_compressed(model, types)


@pytest.fixture(scope="module")
def converted(tmp_path_factory, compressed):
    """fc1 (the first Dense) on 4 column groups of 2 PEs, the others on the default 1 group of 8."""
    out = tmp_path_factory.mktemp("col_groups")
    cfg = HLSConfig(n_pe=8, fifo_depth=4, layers={"fc1": {"col_groups": 4}}, project_name="cg_eie")
    return convert(compressed, cfg, out / "hls"), out / "hls"


@pytest.fixture(scope="module")
def compiled(converted):
    hm, _ = converted
    csim.compile_model(hm)
    return hm


def test_layer_override_reaches_the_eie_layers(converted):
    hm, _ = converted
    layers = hm.eie_layers
    assert [ly.name for ly in layers] == ["fc1", "fc2", "fc3"]
    assert [ly.col_groups for ly in layers] == [4, 1, 1]
    assert [ly.encoding.col_groups for ly in layers] == [4, 1, 1]
    assert [ly.n_pe for ly in layers] == [8, 8, 8]
    # the hls4ml config carries the knob for fc1 only; the model-level default stays 1
    hls = hm.graph.config.config["HLSConfig"]
    assert hls["Model"]["EIE"]["col_groups"] == 1
    assert hls["LayerName"]["fc1"]["EIE"]["col_groups"] == 4
    assert "col_groups" not in hls["LayerName"]["fc2"].get("EIE", {})


@pytest.mark.csim
def test_generated_configs_carry_col_groups(converted, compiled):
    _, prj = converted
    params = (prj / "firmware" / "parameters.h").read_text()
    assert params.count("static const unsigned col_groups = 4;") == 1
    assert params.count("static const unsigned col_groups = 1;") == 2


def test_other_knobs_of_a_layer_entry_are_applied(tmp_path, compressed):
    cfg = HLSConfig(
        n_pe=8,
        col_groups=2,
        layers={"fc2": {"n_pe": 4, "col_groups": 1, "fifo_depth": 2, "broadcast": 1}},
    )
    layers = convert(compressed, cfg, tmp_path / "hls").eie_layers
    assert [(ly.n_pe, ly.col_groups, ly.fifo_depth, ly.broadcast) for ly in layers] == [
        (8, 2, 8, 1),  # broadcast: always 1 (deprecated knob)
        (4, 1, 2, 1),
        (8, 2, 8, 1),
    ]


def test_unknown_layer_in_hls_layers_is_a_usage_error(tmp_path, compressed):
    cfg = HLSConfig(n_pe=8, layers={"fc9": {"col_groups": 2}})
    with pytest.raises(UsageError, match=r"hls\.layers: .*unknown layers \['fc9'\].*fc1"):
        convert(compressed, cfg, tmp_path / "hls")


def test_layer_col_groups_not_dividing_a_cli_n_pe(tmp_path, compressed):
    """layer_knobs (the API's per-layer override) over hls.layers: the merged knobs are checked too."""
    cfg = HLSConfig(n_pe=8, layers={"fc1": {"col_groups": 4}})
    with pytest.raises(UsageError, match=r"\['fc1'\]\['EIE'\]: col_groups=4 must divide n_pe=6"):
        convert(compressed, cfg, tmp_path / "hls", layer_knobs={"fc1": {"n_pe": 6}})


def _inputs(hm, n=64, seed=0):
    """Raw inputs: random full-range, sparse (most inputs zero, whole column groups silent), edges."""
    t = hm.input_t
    rng = np.random.default_rng(seed)
    dense = rng.integers(t.min_raw, t.max_raw + 1, size=(n, WIDTHS[0]))
    sparse = dense.copy()
    sparse[rng.random(sparse.shape) < 0.85] = 0
    only_group = np.zeros((4, WIDTHS[0]), dtype=np.int64)
    for g in range(4):  # only the columns of column group g of fc1 are non-zero
        only_group[g, g::4] = rng.integers(1, t.max_raw + 1, size=WIDTHS[0] // 4)
    edges = np.stack([
        np.zeros(WIDTHS[0], dtype=np.int64),
        np.full(WIDTHS[0], t.max_raw),
        np.full(WIDTHS[0], t.min_raw),
    ])
    return np.concatenate([dense, sparse, only_group, edges]).astype(np.int64)


@pytest.mark.csim
def test_csim_equals_reference_bit_for_bit(compiled):
    hm = compiled
    x = _inputs(hm)
    np.testing.assert_array_equal(csim.predict_raw(hm, x), eie_network(x, hm.eie_layers))
    # the silent groups cost fc1 nothing: with only one group's columns non-zero, the others idle
    fc1 = hm.eie_layers[0]
    for g in range(4):
        cyc = layer_cycles(fc1, x[2 * 64 + g])
        assert cyc.pe_entries[[q for q in range(8) if q // 2 != g]].sum() == 0


@pytest.mark.csim
def test_float_path_agrees_with_the_reference_and_keras(compiled, compressed):
    hm = compiled
    rng = np.random.default_rng(1)
    x = rng.random((200, WIDTHS[0]))
    res = csim.check_agreement(hm, compressed.model, x, hm.eie_layers)
    assert res["reference_checked"] is True
    assert res["bit_mismatches"] == 0 and res["mismatched_samples"] == 0
    assert res["n"] == 200
