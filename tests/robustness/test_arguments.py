"""Arguments of the newer commands, each checked once, before any work (issue 19): --data-dir on an
npz folder, `flow run --timeout`, `flow rtlsim`/`flow csim` --out and the RTL cache, the input width
against --data-dir, and the engine's activation check made by `flow compress` before training."""

from __future__ import annotations

import gzip
import math
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from robustness.helpers import assert_usage_error, env, flow_cmd, run_inproc, tree_digest


def _npz_folder(compressed_dir: Path, tmp_path: Path) -> Path:
    """A copy of the compressed folder whose config names a user's .npz (64 features, as digits)."""
    from flow.data import load_dataset

    ds = load_dataset()
    npz = tmp_path / "mine.npz"
    np.savez(npz, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test)
    folder = tmp_path / "cm-npz"
    shutil.copytree(compressed_dir, folder)
    (folder / "config.yaml").write_text(f"data: {{name: npz, path: {npz}}}\n")
    return folder


def _fake_mnist(folder: Path, n: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for stem, arr in (("train-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28))),
                      ("train-labels-idx1-ubyte", rng.integers(0, 10, n)),
                      ("t10k-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28))),
                      ("t10k-labels-idx1-ubyte", rng.integers(0, 10, n))):
        head = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
        with gzip.open(folder / f"{stem}.gz", "wb") as f:
            f.write(head + arr.astype(np.uint8).tobytes())
    return folder


# ---- --data-dir on a folder compressed from a user's .npz ----------------------------------------

@pytest.mark.parametrize("cmd", ["csim", "rtlsim"])
def test_data_dir_on_an_npz_folder_is_refused_naming_data_path(tmp_path, capsys, compressed_dir, cmd):
    folder = _npz_folder(compressed_dir, tmp_path)
    mnist = _fake_mnist(tmp_path / "mnist")
    before = tree_digest(folder)
    rc, _, err = run_inproc(capsys, [cmd, str(folder), "--data-dir", str(mnist), "--n", "5"])
    assert_usage_error(rc, err, "--data-dir", "data.path", "config.yaml")
    assert tree_digest(folder) == before  # nothing converted or written


def test_data_dir_with_an_npz_config_is_refused_by_compress(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: {{name: npz, path: {tmp_path / 'x.npz'}}}\n")
    rc, _, err = run_inproc(capsys, ["compress", "--config", str(cfg), "--data-dir", str(tmp_path),
                                     "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, "data.path", str(cfg))
    assert not (tmp_path / "o").exists()


# ---- flow run --timeout ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "0", "-1", "inf", "1e9"])
def test_run_timeout_out_of_range_is_refused(tmp_path, capsys, value):
    rc, _, err = run_inproc(capsys, ["run", str(tmp_path / "no-bundle"), "--sim", "--timeout", value])
    assert_usage_error(rc, err, "--timeout", "> 0")


def test_overlay_api_refuses_the_same_timeouts():
    from flow.errors import UsageError
    from flow.runtime.overlay import check_timeout

    assert check_timeout(2) == 2.0
    for bad in (math.nan, 0, -3, math.inf, "soon", None):
        with pytest.raises(UsageError, match="> 0"):
            check_timeout(bad)


# ---- the engine's activation check, before training, for every command -----------------------------

def _keras(tmp_path: Path, hidden_act: str, out_act: str) -> Path:
    import tensorflow as tf

    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input(shape=(64,)), L.Dense(16, activation=hidden_act), L.Dense(10, activation=out_act)])
    path = tmp_path / f"m-{hidden_act}-{out_act}.keras"
    m.save(path)
    return path


@pytest.mark.parametrize("hidden, out, needle", [("relu", "sigmoid", "sigmoid"), ("tanh", "softmax", "tanh")])
def test_compress_refuses_an_activation_the_engine_cannot_run_before_training(tmp_path, capsys, monkeypatch,
                                                                               hidden, out, needle):
    import flow.compress.pipeline as pipeline

    model = _keras(tmp_path, hidden, out)
    monkeypatch.setattr(pipeline, "compress", lambda *a, **k: pytest.fail("training started"))
    rc, _, err = run_inproc(capsys, ["compress", "--model", str(model), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, needle, model.name)
    assert not (tmp_path / "o").exists()


def test_recurrent_gate_activations_are_not_refused_as_activations():
    """An LSTM's sigmoid/tanh gates belong to the layer: the activation rules never name them; the
    recurrent layer gets its own check (today: not run by the engine yet)."""
    import tensorflow as tf

    from flow.errors import UsageError
    from flow.hls.convert import hardware_layers

    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input(shape=(5, 8)), L.LSTM(6, name="lstm"), L.Dense(4, name="fc")])
    with pytest.raises(UsageError) as info:
        hardware_layers(m)
    msg = str(info.value)
    assert "lstm" in msg and "recurrent" in msg
    assert "sigmoid" not in msg and "tanh" not in msg


# ---- flow rtlsim / flow csim: --out, the RTL cache, the data's width: before any work ---------------

@pytest.mark.parametrize("cmd", ["rtlsim", "csim"])
def test_out_checked_before_any_work(tmp_path, capsys, compressed_dir, cmd):
    (tmp_path / "f").write_text("x")
    before = tree_digest(compressed_dir)
    for out, needle in ((tmp_path / "f", "is a file"), (tmp_path / "f" / "sub", "is a file"),
                        (Path("/proc/flow-out"), "kernel")):
        rc, _, err = run_inproc(capsys, [cmd, str(compressed_dir), "--out", str(out), "--n", "5"])
        assert_usage_error(rc, err, "--out", needle)
    assert tree_digest(compressed_dir) == before
    assert (tmp_path / "f").read_text() == "x"


def test_relative_out_from_a_deleted_folder(tmp_path, capsys, compressed_dir, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    rc, _, err = run_inproc(capsys, ["rtlsim", str(compressed_dir), "--out", "rel", "--n", "5"])
    assert_usage_error(rc, err, "current folder no longer exists")


def _unshare_ro(folder: Path, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """`flow *args` with `folder` mounted read-only (a private mount namespace: works as root too)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("needs unshare -rm (user and mount namespaces) for a read-only mount")
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", *flow_cmd(*args)], capture_output=True,
                          text=True, env={**env(), **(extra_env or {})}, timeout=300)


def test_read_only_compressed_folder_as_default_output(tmp_path, compressed_dir):
    folder = tmp_path / "ro"
    shutil.copytree(compressed_dir, folder)
    res = _unshare_ro(folder, "rtlsim", str(folder), "--n", "5")
    assert_usage_error(res.returncode, res.stderr, "default output folder", "not writable", "--out")
    assert not (folder / "rtlsim").exists()


def test_unusable_rtl_cache_names_eie_rtl_cache(tmp_path, capsys, compressed_dir, monkeypatch):
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("EIE_RTL_CACHE", str(tmp_path / "f" / "cache"))
    rc, _, err = run_inproc(capsys, ["rtlsim", str(compressed_dir), "--out", str(tmp_path / "o"), "--n", "5"])
    assert_usage_error(rc, err, "EIE_RTL_CACHE", "writable folder")
    assert not (tmp_path / "o").exists()


def test_read_only_home_as_rtl_cache_names_eie_rtl_cache(tmp_path, compressed_dir):
    home = tmp_path / "home"
    home.mkdir()
    e = {k: v for k, v in env().items() if k != "EIE_RTL_CACHE"}
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("needs unshare -rm for a read-only mount")
    script = f'mount --bind "{home}" "{home}" && mount -o remount,bind,ro "{home}" && exec "$@"'
    res = subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh",
                          *flow_cmd("rtlsim", str(compressed_dir), "--out", str(tmp_path / "o"), "--n", "5")],
                         capture_output=True, text=True, env={**e, "HOME": str(home)}, timeout=300)
    assert_usage_error(res.returncode, res.stderr, "EIE_RTL_CACHE", str(home))


@pytest.mark.parametrize("cmd", ["rtlsim", "csim"])
def test_input_width_against_data_dir_names_the_folder_and_the_fix(tmp_path, capsys, compressed_dir, cmd):
    mnist = _fake_mnist(tmp_path / "mnist")
    rc, _, err = run_inproc(capsys, [cmd, str(compressed_dir), "--data-dir", str(mnist), "--n", "5",
                                     "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, str(mnist), "(784)", "(64", "pass --data-dir")
    assert not (tmp_path / "o" / "hls").exists()
