"""`flow build --board pynq-z2` end to end on the small default (no vendor tools), as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flow.cli import main

pytestmark = pytest.mark.csim

EPOCHS = "3"  # enough for a working (if under-trained) network; the checks are about agreement


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "flow-build"
    rc = main(["build", "--board", "pynq-z2", "--out", str(out), "--epochs", EPOCHS, "--no-progress"])
    assert rc == 0
    return out


def test_bundle_has_what_the_board_needs(build_dir):
    bundle = build_dir / "bundle"
    meta = json.loads((bundle / "model.json").read_text())
    assert meta["board"] == "pynq-z2" and meta["project"] == "eie_net"
    assert meta["io"]["n_in"] == 64 and meta["io"]["n_out"] == 10
    assert meta["io"]["stream_bits"] == 64  # from boards/pynq-z2/board.yaml
    assert (bundle / meta["test_vectors"]).is_file() and (bundle / meta["sim_library"]).is_file()
    assert (bundle / "driver" / "flow" / "runtime" / "overlay.py").is_file()
    # no vendor tools here: no bitstream, and the build says so
    state = json.loads((build_dir / "build_state.json").read_text())
    assert not (bundle / "eie_net.bit").exists()
    assert any("Vitis HLS not found" in n for n in state["notes"])
    # the EIE Dense nodes stay hls4ml's Dense (class_name) but are not "other" layers
    hls_info = state["steps"]["hls"]["info"]
    assert len(hls_info["eie_layers"]) == 3 and "Dense" not in hls_info["other_layers"]
    hls_tcl = (build_dir / "hls" / "build_hls.tcl").read_text()
    assert "xc7z020clg400-1" in hls_tcl and "eie_net_axi" in hls_tcl
    assert "axi_dma_0" in (build_dir / "vivado" / "build_bd.tcl").read_text()
    # --engine auto (the default): the digits MLP is all Dense, so the RTL overlay's model image is
    # written too (laid out on P = 16, the smallest pynq-z2 preset >= its n_pe 8), the HLS bundle beside it
    assert state["summary"]["engine"].startswith("rtl overlay eie_pynq_z2_p16: all layers are Dense")
    from flow.runtime.eie_image import read_image

    img = read_image(build_dir / "overlay" / "model.eie")
    assert (img.n_in, img.n_out, img.capacity["P"]) == (64, 10, 16)


def test_reports_show_exact_agreement(build_dir):
    csim = json.loads((build_dir / "reports" / "csim.json").read_text())
    assert csim["reference_checked"] and csim["bit_mismatches"] == 0
    assert csim["top1_agreement"] >= 0.99
    sim = json.loads((build_dir / "reports" / "sim_board.json").read_text())
    assert sim["bit_agreement"] == 1.0 and sim["samples"] == csim["n"]
    res = json.loads((build_dir / "reports" / "resources.json").read_text())
    assert 0 < res["utilisation"]["bram18"] < 0.9 and res["cycles_per_inference"] > 0
    for layer in res["layers"]:
        assert (build_dir / "reports" / f"pe_load_{layer['name']}.png").stat().st_size > 1000


def test_simulated_board_equals_an_independent_reference(build_dir, tmp_path):
    """Recompute the reference from the compressed model (not from the build's vectors) and run the
    simulated board again through the public driver API."""
    from flow.compress.io import load_compressed
    from flow.eie.reference import eie_network
    from flow.config.hls import HLSConfig
    from flow.hls.convert import convert
    from flow.runtime.sim import load_test_vectors, sim_overlay
    from flow.runtime.bundle import BundleMeta

    cm = load_compressed(build_dir / "compressed")
    layers = convert(cm, HLSConfig(), tmp_path / "prj").eie_layers
    bundle = build_dir / "bundle"
    meta = BundleMeta.load(bundle)
    vec = load_test_vectors(bundle / meta.test_vectors, meta)
    ref = eie_network(layers[0].input_t.quantize(vec["x"]), layers)
    np.testing.assert_array_equal(ref, vec["y_raw"])
    ov = sim_overlay(bundle)
    try:
        got = ov.predict(layers[0].input_t.quantize(vec["x"]), raw=True, batch_size=50)
        probs = ov.predict(vec["x"][:5])
    finally:
        ov.close()
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)  # softmax on the host


def test_rebuild_skips_every_step_and_report_reprints(build_dir, capsys):
    rc = main(["build", "--board", "pynq-z2", "--out", str(build_dir), "--epochs", EPOCHS, "--no-progress"])
    assert rc == 0
    state = json.loads((build_dir / "build_state.json").read_text())
    assert {s["status"] for s in state["steps"].values()} == {"skipped"}
    capsys.readouterr()
    assert main(["report", str(build_dir)]) == 0
    out = capsys.readouterr().out
    assert "simulated board" in out and "bit-exact" in out


def test_flow_run_sim_cli(build_dir):
    res = subprocess.run([sys.executable, "-m", "flow.cli", "run", "--sim", str(build_dir / "bundle")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert res.returncode == 0, res.stderr
    report = json.loads((build_dir / "bundle" / "run_report_sim.json").read_text())
    assert report["bit_agreement"] == 1.0


def test_board_driver_installs_and_imports_without_tensorflow(build_dir, tmp_path):
    """What the README tells a board user to do: pip install the bundle's driver (no network, no
    TensorFlow), then import EIEOverlay from it."""
    target = tmp_path / "site"
    res = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps", "--no-index",
         "--target", str(target), str(build_dir / "bundle" / "driver")],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stderr
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, *a, **k):\n"
        "    if name.split('.')[0] in ('tensorflow', 'hls4ml', 'keras', 'qkeras'):\n"
        "        raise ImportError('blocked: ' + name)\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = guard\n"
        "from flow.runtime import EIEOverlay, BundleMeta\n"
        "import flow\n"
        f"assert flow.__file__.startswith({str(target)!r}), flow.__file__\n"
        f"print(BundleMeta.load({str(build_dir / 'bundle')!r}).io.n_in)\n"
    )
    run = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); "
                          "import site; site.main()\n" + code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "64"
    # `flow run` without the flow: the runtime's own entry point, here on the simulated board
    bundle = build_dir / "bundle"
    run = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); "
                          "import site; site.main()\n" + code.split("from flow.runtime")[0]
                          + f"from flow.runtime.__main__ import main; sys.exit(main(['--sim', {str(bundle)!r}, "
                          f"'--json', {str(tmp_path / 'r.json')!r}]))"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "r.json").read_text())["bit_agreement"] == 1.0


@pytest.mark.slow
def test_build_from_a_users_trained_h5(tmp_path):
    """A user's trained Keras model (Dense with fused ReLU, softmax output) goes through the whole build."""
    import tensorflow as tf

    from flow.config import DataConfig

    from flow.data import load_dataset

    ds = load_dataset(DataConfig())
    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential([
        tf.keras.layers.Input((64,)),
        tf.keras.layers.Dense(24, activation="relu", name="hidden"),
        tf.keras.layers.Dense(10, activation="softmax", name="out"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(ds.x_train.reshape(-1, 64), ds.y_train, epochs=20, verbose=0)
    path = tmp_path / "user.h5"
    model.save(path)
    out = tmp_path / "b"
    assert main(["build", "--model", str(path), "--out", str(out), "--epochs", "2", "--no-progress"]) == 0
    state = json.loads((out / "build_state.json").read_text())
    assert state["steps"]["compress"]["info"]["accuracy"]["dense"] > 0.9  # trained, and not retrained from scratch
    assert json.loads((out / "reports" / "sim_board.json").read_text())["bit_agreement"] == 1.0
    names = [ly["name"] for ly in json.loads((out / "bundle" / "model.json").read_text())["layers"]]
    assert names == ["hidden", "out"]
