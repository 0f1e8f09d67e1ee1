"""`flow csim <compressed-model-dir>`: end to end on a saved compressed-like MLP, and its usage errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("hls4ml")

from flow.cli import main
from flow.compress.io import save_compressed
from flow.config import FlowConfig, dump_config
from flow.testing import as_compressed, shared_mlp


def _save(folder, cm):
    save_compressed(cm, folder)
    (folder / "config.yaml").write_text(dump_config(FlowConfig()))  # digits, like `flow compress` defaults
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from flow.data import load_dataset

    x = load_dataset().x_train[:300]
    model, types = shared_mlp([64, 24, 10], (0.4, 0.6), calib_x=x, seed=5)
    return _save(tmp_path_factory.mktemp("cm") / "compressed", as_compressed(model, types))


@pytest.mark.csim
def test_flow_csim_reports_and_writes_json(model_dir, tmp_path, capsys):
    out = tmp_path / "csim"
    assert main(["csim", str(model_dir), "--n", "150", "--pe", "3", "--out", str(out)]) == 0
    summary = json.loads((out / "csim.json").read_text())
    assert summary["ok"] is True and summary["n"] == 150
    assert summary["bit_mismatches"] == 0 and summary["reference_checked"] is True
    assert summary["top1_agreement"] >= 0.99
    assert [lyr["n_pe"] for lyr in summary["layers"]] == [3, 3]
    assert abs(summary["accuracy_csim"] - summary["accuracy_keras"]) <= 0.01
    assert "agreement" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--pe", "0"], "--pe 0: config.hls: n_pe=0: must be a positive integer"),
        (["--n", "-1"], "--n=-1"),
        (["--fifo-depth", "0"], "--fifo-depth 0: config.hls: fifo_depth=0"),
    ],
)
def test_flow_csim_bad_options_exit_2(model_dir, argv, message, capsys):
    assert main(["csim", str(model_dir), *argv]) == 2
    assert message in capsys.readouterr().err


def test_flow_csim_not_a_folder_exits_2(tmp_path, capsys):
    assert main(["csim", str(tmp_path / "nope")]) == 2
    assert "flow compress" in capsys.readouterr().err


def test_flow_csim_too_many_distinct_values_exits_2(tmp_path, capsys):
    model, types = shared_mlp([64, 8, 10], (0.5, 0.5), seed=1)
    kernel = model.get_layer("fc1").get_weights()[0]
    nz = np.flatnonzero(kernel)
    kernel.flat[nz[:20]] = np.arange(1, 21) / 128.0  # 20 + distinct values: more than 15
    model.get_layer("fc1").set_weights([kernel, model.get_layer("fc1").get_weights()[1]])
    folder = _save(tmp_path / "cm", as_compressed(model, types))
    assert main(["csim", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "layer 'fc1' has" in err and "4-bit codebook holds 15" in err
