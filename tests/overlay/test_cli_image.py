"""`flow image`: model.eie from a `flow compress` folder for a board's overlay preset."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("hls4ml")

from flow.cli import main
from flow.compress.io import save_compressed
from flow.config import FlowConfig, apply_overrides, dump_config
from flow.runtime.eie_image import read_image
from flow.testing import as_compressed, shared_mlp


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from flow.data import load_dataset

    x = load_dataset().x_train[:200]
    model, types = shared_mlp([64, 32, 10], (0.4, 0.5), calib_x=x, seed=3)
    folder = tmp_path_factory.mktemp("img") / "compressed"
    save_compressed(as_compressed(model, types), folder)
    cfg = apply_overrides(FlowConfig(), {"hls.n_pe": ("--pe", 16)})
    (folder / "config.yaml").write_text(dump_config(cfg))
    return folder


def test_image_written_and_readable(folder, capsys):
    assert main(["image", str(folder), "--board", "pynq-z2"]) == 0
    img = read_image(folder / "model.eie")
    assert (img.n_in, img.n_out, img.capacity["P"], img.softmax) == (64, 10, 16, True)
    assert "load-stream beats" in capsys.readouterr().out


def test_pe_relays_the_model_for_that_overlay(folder, tmp_path):
    """--pe is hls.n_pe, as for the other commands: the model is encoded for that overlay."""
    out = tmp_path / "m.eie"
    assert main(["image", str(folder), "--pe", "64", "--out", str(out)]) == 0
    assert read_image(out).capacity["P"] == 64


def test_model_larger_than_the_overlay_refused_before_writing(tmp_path, capsys):
    model, types = shared_mlp([1100, 8], (0.05,), seed=4)
    folder = tmp_path / "wide"
    save_compressed(as_compressed(model, types), folder)
    (folder / "config.yaml").write_text(dump_config(apply_overrides(FlowConfig(), {"hls.n_pe": ("--pe", 16)})))
    assert main(["image", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "NX: the model needs 1100, the pynq-z2 P=16 overlay holds 1024" in err, err
    assert len(err.strip().splitlines()) == 1 and not (folder / "model.eie").exists()


def test_image_without_preset(folder, capsys):
    assert main(["image", str(folder), "--pe", "8", "--out", str(folder / "x.eie")]) == 2
    assert "no overlay preset for P=8" in capsys.readouterr().err
