"""`flow build` with load-balance-aware pruning on column groups: balanced masks, csim still bit-exact."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import flow.build.runner as build
from flow.build.context import BuildContext
from flow.build.steps import by_name
from flow.config import FlowConfig

CONFIG = "compress: {load_balance: true}\nhls: {col_groups: 2}\n"
EPOCHS = "1"  # the checks are about balance and agreement, not accuracy
N_PE, COL_GROUPS = 8, 2  # the default n_pe (asserted below) and the config's col_groups
R = N_PE // COL_GROUPS  # row PEs per column group


def assert_balanced(mask: np.ndarray, r: int, what: str = "") -> None:
    """mask (n_in, n_out): row o of W = mask.T is on row-PE o % r; every column j has one count c_j and
    row-PE q keeps min(c_j, rows of q) of it: the same on every row-PE with at least c_j rows."""
    w = np.asarray(mask, dtype=bool).T
    n_out = w.shape[0]
    rows = np.array([len(range(q, n_out, r)) for q in range(r)])
    kept = np.stack([w[q::r].sum(axis=0) for q in range(r)])  # (r, n_in)
    c = kept.max(axis=0)
    bad = np.flatnonzero((kept != np.minimum(c[None, :], rows[:, None])).any(axis=0))
    assert bad.size == 0, f"{what}: columns {bad[:8].tolist()} unbalanced: {kept[:, bad[:8]].T.tolist()}"


def test_balance_check_tells_balanced_from_magnitude_masks():
    """The checker used on the build's masks is not vacuous."""
    from flow.compress.prune import balanced_mask, magnitude_mask

    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(40, 30))  # n_out 30 is not a multiple of 4: PEs hold 8, 8, 7, 7 rows
    assert_balanced(balanced_mask(kernel, 0.6, 4), 4)
    with pytest.raises(AssertionError, match="unbalanced"):
        assert_balanced(magnitude_mask(kernel, 0.6), 4)


def _compress_fingerprint(cfg: FlowConfig, tmp_path: Path) -> str:
    ctx = BuildContext(cfg=cfg, out=tmp_path)
    return build._step_key(ctx, by_name("compress"))


def test_compress_reruns_when_the_pe_layout_of_load_balancing_changes(tmp_path):
    """With load_balance the masks depend on hls n_pe / col_groups / layers: a rebuild must retrain."""
    base = FlowConfig()
    lb = dataclasses.replace(base, compress=dataclasses.replace(base.compress, load_balance=True))

    def fp(cfg, **hls):
        return _compress_fingerprint(dataclasses.replace(cfg, hls=dataclasses.replace(cfg.hls, **hls)), tmp_path)

    assert fp(lb) != fp(lb, col_groups=2)
    assert fp(lb) != fp(lb, n_pe=16)
    assert fp(lb) != fp(lb, layers={"fc1": {"col_groups": 4}})
    assert fp(lb) != fp(lb, layers={"fc2": {"n_pe": 4}})
    # knobs pruning does not use
    assert fp(lb) == fp(lb, fifo_depth=2, broadcast=1) == fp(lb, layers={"fc1": {"fifo_depth": 2}})
    # without load balancing the PE array does not shape the masks: no retraining for --pe sweeps
    assert fp(base) == fp(base, col_groups=2) == fp(base, n_pe=16)


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    from flow.cli import main

    tmp = tmp_path_factory.mktemp("lb")
    cfg = tmp / "lb.yaml"
    cfg.write_text(CONFIG)
    out = tmp / "flow-build"
    rc = main(["build", "--config", str(cfg), "--out", str(out), "--epochs", EPOCHS, "--no-progress"])
    assert rc == 0
    return out


@pytest.mark.slow
@pytest.mark.csim
def test_build_succeeds_with_bit_exact_csim(build_dir):
    from flow.config.hls import HLSConfig

    assert HLSConfig().n_pe == N_PE  # col_groups 2 divides the default
    state = json.loads((build_dir / "build_state.json").read_text())
    assert {s["status"] for s in state["steps"].values()} == {"done"}
    csim = json.loads((build_dir / "reports" / "csim.json").read_text())
    assert csim["reference_checked"] is True
    assert csim["bit_mismatches"] == 0 and csim["mismatched_samples"] == 0
    assert csim["top1_agreement"] >= 0.99
    assert json.loads((build_dir / "reports" / "sim_board.json").read_text())["bit_agreement"] == 1.0
    # the hardware really runs on 2 column groups: every layer's generated config says so
    params = (build_dir / "hls" / "firmware" / "parameters.h").read_text()
    assert params.count(f"static const unsigned col_groups = {COL_GROUPS};") == 3


@pytest.mark.slow
@pytest.mark.csim
def test_report_and_config_record_load_balance(build_dir):
    folder = build_dir / "compressed"
    report = json.loads((folder / "report.json").read_text())
    assert report["load_balance"] == {"fc1": R, "fc2": R, "fc3": R}
    import yaml

    saved = yaml.safe_load((folder / "config.yaml").read_text())
    assert saved["compress"]["load_balance"] is True and saved["hls"]["col_groups"] == COL_GROUPS


@pytest.mark.slow
@pytest.mark.csim
def test_saved_masks_are_balanced_per_row_pe(build_dir):
    from flow.compress.io import load_compressed

    folder = build_dir / "compressed"
    with np.load(folder / "compression.npz") as z:
        masks = {k.split("/")[0]: z[k] for k in z.files if k.endswith("/mask")}
        codes = {k.split("/")[0]: z[k] for k in z.files if k.endswith("/codes")}
    assert sorted(masks) == ["fc1", "fc2", "fc3"]
    kept = params = 0
    for name, mask in masks.items():
        assert_balanced(mask, R, name)
        np.testing.assert_array_equal(codes[name] != 0, mask)  # every kept weight has a non-zero code
        kept, params = kept + int(mask.sum()), params + mask.size
    assert abs(kept / params - 0.4) < 0.01  # default sparsity 0.6, within the balancing rounding
    # the Keras kernels the hardware is built from are zero wherever the mask is
    cm = load_compressed(folder)
    for name, mask in masks.items():
        kernel = cm.model.get_layer(name).get_weights()[0]
        assert not kernel[~mask].any(), name


@pytest.mark.slow
@pytest.mark.csim
def test_eie_encoding_gives_every_pe_of_a_group_the_same_column_load(build_dir, tmp_path):
    """On the PE array itself: per input column, the non-zeros of each PE in its column group are equal
    (min(c_j, rows of the PE))."""
    from flow.compress.io import load_compressed
    from flow.config import load_config
    from flow.hls.convert import convert

    cfg = load_config(build_dir / "compressed" / "config.yaml")
    layers = convert(load_compressed(build_dir / "compressed"), cfg.hls, tmp_path / "prj").eie_layers
    for layer in layers:
        enc = layer.encoding
        assert (enc.n_pe, enc.col_groups, enc.row_pes) == (N_PE, COL_GROUPS, R)
        n_out, n_in = enc.shape
        nnz = np.zeros((enc.n_pe, n_in), dtype=np.int64)  # non-zeros of PE p in global column j
        for p, pe in enumerate(enc.pes):
            g = enc.group_of(p)
            for local in range(len(pe.colptr) - 1):
                j = local * COL_GROUPS + g
                if j < n_in:
                    seg = pe.codes[pe.colptr[local] : pe.colptr[local + 1]]
                    nnz[p, j] = np.count_nonzero(seg)
        rows = np.array([len(range(q, n_out, R)) for q in range(R)])
        for j in range(n_in):
            g = j % COL_GROUPS
            group = nnz[g * R : (g + 1) * R, j]
            assert (group == np.minimum(group.max(), rows)).all(), (layer.name, j, group.tolist())
            others = np.delete(nnz[:, j], np.arange(g * R, (g + 1) * R))
            assert not others.any()  # a column lives on its own group only
