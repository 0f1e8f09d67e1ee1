"""End to end on digits (seconds): flow compress writes the folder, it reloads, and it refuses to clobber."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flow.cli import main
from flow.compress.io import load_compressed
from flow.compress.pipeline import compress
from flow.compress.train import check_finite, evaluate
from flow.config import FlowConfig
from flow.config import DataConfig
from flow.data import load_dataset
from flow.errors import DataError, FlowError, UsageError
from flow.config import ModelConfig
from flow.models import build_model

TYPE_KEYS = {"width", "integer", "signed", "rounding", "saturation"}


def quick_cfg(**compress) -> FlowConfig:
    cfg = FlowConfig()
    c = cfg.compress
    c.epochs, c.prune_steps, c.prune_epochs, c.finetune_epochs = 12, 2, 3, 2
    c.sparsity, c.layer_bits = 0.5, {"fc3": 5}
    for k, v in compress.items():
        setattr(c, k, v)
    return cfg


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    out = tmp_path_factory.mktemp("c") / "digits"
    cm = compress(quick_cfg(), out, progress=False)
    return cm, out


def test_folder_contents(compressed):
    _, out = compressed
    for name in ("model.keras", "compression.npz", "compression.json", "report.json", "config.yaml"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(
        [f"hist_fc{i}.png" for i in (1, 2, 3)] + [f"mask_fc{i}.png" for i in (1, 2, 3)]
    )
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
    meta = json.loads((out / "compression.json").read_text())
    for layer in meta["layers"]:
        for key in ("input_type", "weight_type", "bias_type", "output_type"):
            assert set(layer[key]) == TYPE_KEYS
        assert len(layer["codebook"]) == 2 ** layer["code_bits"] and layer["codebook"][0] == 0
    # chaining: each layer's input type is the previous layer's output type
    for a, b in zip(meta["layers"], meta["layers"][1:]):
        assert a["output_type"] == b["input_type"]
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["accuracy"]) >= {"dense", "pruned", "shared", "quantized"}
    assert rep["total"]["huffman_ratio"] > rep["total"]["ratio"] > 1.5


def test_reload_keeps_codebooks_masks_and_accuracy(compressed):
    cm, out = compressed
    loaded = load_compressed(out)
    ds = load_dataset(DataConfig())
    assert evaluate(loaded.model, ds.x_test, ds.y_test) == pytest.approx(cm.report["accuracy"]["quantized"])
    assert cm.report["accuracy"]["quantized"] > 0.8
    kinds = [type(layer).__name__ for layer in loaded.model.layers]
    assert kinds[-1] == "Activation" and "QDense" in kinds
    for name, layer in loaded.layers.items():
        kernel = loaded.model.get_layer(name).get_weights()[0]
        values = np.unique(kernel)
        assert len(values) <= 2**layer.code_bits and 0 in values
        assert set(values) <= set(layer.codebook)
        assert np.array_equal(kernel != 0, layer.mask)
        assert abs(layer.mask.mean() - 0.5) < 0.01
        # the codebook sits on the recorded weight type's grid
        frac = layer.weight_type["width"] - layer.weight_type["integer"]
        assert np.array_equal(layer.codebook * 2.0**frac, np.round(layer.codebook * 2.0**frac))


def test_existing_output_refused_then_replaced_with_force(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(UsageError, match="not an eie-flow"):
        compress(quick_cfg(), out, progress=False)
    assert (out / "keep.txt").exists()
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text("compress:\n  sparsity: 0.4\n  prune_steps: 1\n")
    argv = [
        "compress",
        "--config",
        str(cfg_path),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--prune-epochs",
        "1",
        "--finetune-epochs",
        "0",
        "--no-progress",
    ]
    assert main(argv) == 2  # exists, no --force
    assert main(argv + ["--force"]) == 2  # a folder flow compress did not write: never replaced (issue 12)
    assert (out / "keep.txt").exists()
    (out / "keep.txt").unlink()
    (out / "compression.json").write_text("{}")  # the marker of a folder flow compress wrote
    assert main(argv) == 2  # exists, no --force
    assert main(argv + ["--force"]) == 0
    assert (out / "model.keras").is_file()
    assert "x with Huffman" in capsys.readouterr().out


def test_cli_config_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("compress:\n  bits: 12\n")
    assert main(["compress", "--config", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "bits=12" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_nan_data_and_weights_reported(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((20, 4)).astype(np.float32)
    x[2, 1] = np.inf
    np.savez(
        tmp_path / "d.npz", x_train=x, y_train=rng.integers(0, 2, 20), x_test=x[:5], y_test=np.zeros(5, int)
    )
    cfg = quick_cfg()
    cfg.data = DataConfig(name="npz", path=str(tmp_path / "d.npz"))
    with pytest.raises(DataError, match="NaN/Inf"):
        compress(cfg, tmp_path / "o", progress=False)
    model = build_model(ModelConfig(), (64,), 10)
    w = model.get_layer("fc2").get_weights()
    w[0][0, 0] = np.nan
    model.get_layer("fc2").set_weights(w)
    with pytest.raises(FlowError, match="'fc2'"):
        check_finite(model, "test")
