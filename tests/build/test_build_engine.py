"""`flow build --engine`: the overlay step picks the engine, says why, and for the RTL overlay writes
overlay/model.eie for an overlay in the known place (built there first when none exists).

Runs the steps the decision needs (compress from a saved compressed model, quality, hls, overlay),
not the whole build (the e2e test runs that)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("hls4ml")

from flow.build.runner import run_build
from flow.build.steps import RTL_STEPS, STEPS, by_name, steps_for
from flow.compress.io import save_compressed
from flow.config import FlowConfig, apply_overrides, dump_config
from flow.errors import UsageError
from flow.runtime.eie_image import read_image
from flow.testing import as_compressed, shared_mlp

FAST = tuple(by_name(n) for n in ("compress", "quality", "hls", "overlay"))


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    from flow.data import load_dataset

    x = load_dataset().x_train[:200]
    model, types = shared_mlp([64, 32, 10], (0.4, 0.5), calib_x=x, seed=3)
    folder = tmp_path_factory.mktemp("eng") / "compressed"
    save_compressed(as_compressed(model, types), folder)
    return folder


def _build(tmp_path, mlp, engine, n_pe=8, name="b"):
    cfg = apply_overrides(FlowConfig(), {"hls.n_pe": ("--pe", n_pe)})
    opts = {"model_path": str(mlp), "skip_train": True, "engine": engine, "allow_accuracy_drop": True,
            "progress": False}
    return run_build(cfg, tmp_path / name, options=opts, steps=FAST)


def test_steps_per_engine():
    assert steps_for("auto") == steps_for("hls") == STEPS and steps_for("rtl") == RTL_STEPS
    assert [s.name for s in RTL_STEPS] == ["compress", "quality", "hls", "rtl", "overlay"]
    with pytest.raises(ValueError):
        steps_for("fpga")


def test_auto_takes_the_overlay_for_dense_and_builds_it_once(tmp_path, mlp, monkeypatch):
    monkeypatch.setenv("EIE_OVERLAY_DIR", str(tmp_path / "home"))
    ctx = _build(tmp_path, mlp, "auto")  # n_pe 8: laid out on the smallest preset, P = 16
    line = ctx.summary["engine"]
    assert line.startswith("rtl overlay eie_pynq_z2_p16: all layers are Dense (laid out on P=16"), line
    assert "built by this build" in line and "the HLS bundle (bundle/) is built beside it" in line
    img = read_image(tmp_path / "b" / "overlay" / "model.eie")
    assert img.capacity["P"] == 16 and (img.n_in, img.n_out) == (64, 10)
    ovl = tmp_path / "home" / "eie_pynq_z2_p16"
    meta = json.loads((ovl / "overlay.json").read_text())
    assert meta["P"] == 16
    rec = json.loads((tmp_path / "b" / "reports" / "engine.json").read_text())
    assert rec["engine"] == "rtl" and rec["overlay"] == str(ovl) and rec["overlay_built_now"] is True
    # the same build again skips the step; a removed overlay makes it rerun and build it again
    _build(tmp_path, mlp, "auto")
    assert json.loads((tmp_path / "b" / "build_state.json").read_text())["steps"]["overlay"]["status"] == "skipped"
    import shutil

    shutil.rmtree(ovl)
    ctx = _build(tmp_path, mlp, "auto")
    assert "built by this build" in ctx.summary["engine"] and (ovl / "overlay.json").is_file()
    # a second build finds the overlay and does not rebuild it
    stamp = (ovl / "overlay.json").stat().st_mtime_ns
    ctx = _build(tmp_path, mlp, "rtl", n_pe=16, name="c")
    assert "built by this build" not in ctx.summary["engine"] and "--engine rtl" in ctx.summary["engine"]
    assert (ovl / "overlay.json").stat().st_mtime_ns == stamp


def test_hls_engine_writes_no_image(tmp_path, mlp, monkeypatch):
    monkeypatch.setenv("EIE_OVERLAY_DIR", str(tmp_path / "home"))
    ctx = _build(tmp_path, mlp, "hls")
    assert ctx.summary["engine"].startswith("hls: --engine hls")
    assert not (tmp_path / "b" / "overlay").exists() and not (tmp_path / "home").exists()


def test_no_preset_large_enough(tmp_path, mlp, monkeypatch):
    monkeypatch.setenv("EIE_OVERLAY_DIR", str(tmp_path / "home"))
    ctx = _build(tmp_path, mlp, "auto", n_pe=128)
    assert ctx.summary["engine"].startswith("hls: no overlay preset of pynq-z2 has P >= 128"), ctx.summary["engine"]
    with pytest.raises(UsageError, match="--engine rtl: no overlay preset of pynq-z2 has P >= 128"):
        _build(tmp_path, mlp, "rtl", n_pe=128, name="r")


def test_decide_lenet5_takes_hls():
    """LeNet-5's convolutions: auto takes the HLS kernel and says why; --engine rtl is a usage error."""
    from flow.board.boards import load_board
    from flow.build.steps.overlay import decide

    b = load_board("pynq-z2")
    other = ["conv1 (Conv2D)", "pool1 (Pooling2D)", "conv2 (Conv2D)", "pool2 (Pooling2D)", "flat (Reshape)"]
    P, why = decide("auto", other, 16, b)
    assert P is None and why.startswith("the network has layers the RTL engine does not run (conv1 (Conv2D)")
    assert why.endswith(", ...); the HLS kernel runs them")
    with pytest.raises(UsageError, match=r"--engine rtl: the network has layers .*: use --engine hls \(or auto\)"):
        decide("rtl", other, 16, b)
    assert decide("auto", [], 64, b) == (64, "all layers are Dense")
    assert decide("rtl", [], 32, b) == (32, "--engine rtl")


def test_cli_engine_option(capsys):
    from flow.cli import main
    from flow.cli.main import build_parser

    assert build_parser().parse_args(["build"]).engine == "auto"
    assert build_parser().parse_args(["build", "--engine", "rtl"]).engine == "rtl"
    with pytest.raises(SystemExit) as exc:
        main(["build", "--engine", "fpga"])
    assert exc.value.code == 2 and "invalid choice: 'fpga'" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.csim
def test_cli_engine_rtl_runs_only_the_overlay_steps(tmp_path, monkeypatch):
    from flow.cli import main

    monkeypatch.setenv("EIE_OVERLAY_DIR", str(tmp_path / "home"))
    out = tmp_path / "b"
    assert main(["build", "--engine", "rtl", "--epochs", "1", "--out", str(out), "--no-progress",
                 "--allow-accuracy-drop"]) == 0
    state = json.loads((out / "build_state.json").read_text())
    assert list(state["steps"]) == ["compress", "quality", "hls", "rtl", "overlay"]
    assert not (out / "bundle").exists() and read_image(out / "overlay" / "model.eie").capacity["P"] == 16
    assert state["summary"]["engine"].startswith("rtl overlay eie_pynq_z2_p16: --engine rtl")


def test_engine_rtl_refuses_a_conv_network_before_any_work(tmp_path, capsys):
    """A network with a convolution and --engine rtl: exit 2 in preflight, naming the layer and --engine hls."""
    import numpy as np
    import tensorflow as tf

    from flow.cli import main
    from flow.data import load_dataset

    shape = load_dataset().input_shape
    L = tf.keras.layers
    model = tf.keras.Sequential([L.Input(shape=shape), L.Reshape((8, 8, 1)), L.Conv2D(2, 3, name="conv"),
                                 L.Flatten(), L.Dense(10, activation="softmax", name="fc")])
    model.get_layer("fc").set_weights([np.zeros((72, 10)), np.zeros(10)])
    path = tmp_path / "conv.keras"
    model.save(path)
    out = tmp_path / "b"
    assert main(["build", "--engine", "rtl", "--model", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--engine rtl: --model" in err and "conv (Conv2D)" in err and "use --engine hls" in err, err
    assert not out.exists()
