"""Every file the flow reads, damaged every way a file gets damaged: exit 2, one line naming the file,
no traceback, nothing written. Fast: in-process, no build (the build-folder cases are in test_build_folder)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from robustness.helpers import assert_usage_error, run_inproc, tree_digest

DAMAGE = {
    "empty": b"",
    "random": bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
    "text": b"hello: [unclosed\n",
    "nul": b"\x00" * 64,
}


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# ---- config YAML --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["random", "nul"])
def test_binary_config_is_refused(tmp_path, capsys, kind):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(DAMAGE[kind])
    rc, _, err = run_inproc(capsys, ["build", "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, str(cfg))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "text, needle",
    [
        ("hls: {n_pe: 4}\nhls: {n_pe: 8}\n", "given twice"),
        ("hls:\n  n_pe: 4\n  n_pe: 8\n", "given twice"),
        ("hls: null\n", "'hls' is empty"),
        ("hls:\n", "'hls' is empty"),
        ("- a\n- b\n", "not a mapping"),
        ("hls: {clock_period: -5}\n", "clock_period"),
        ("hls: {clock_period: .nan}\n", "clock_period"),
        ("build: {clock_mhz: .inf}\n", "clock_mhz"),
        ("hls: [1, 2]\n", "expected a mapping"),
        ("hls: {n_pe: 100000}\n", "PEs"),
        ("hls: {layers: {nosuch: {n_pe: 2}}}\n", "nosuch"),
        ("compress: {bits: 1}\n", "1 code bit"),
        ("hls: {clock_period: 5}\n", "build.clock_mhz"),
    ],
)
def test_config_mistakes_are_refused_before_work(tmp_path, capsys, text, needle):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    rc, _, err = run_inproc(capsys, ["build", "--config", str(cfg), "--out", str(tmp_path / "o"), "--no-progress"])
    assert_usage_error(rc, err, needle)
    assert not (tmp_path / "o").exists()


def test_folder_as_config(tmp_path, capsys):
    rc, _, err = run_inproc(capsys, ["build", "--config", str(tmp_path), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, "is a folder")


@pytest.mark.parametrize("value", ["0", "nan", "inf", "-100", "1e9", "-inf"])
def test_clock_option_validated_like_yaml(tmp_path, capsys, value):
    rc, _, err = run_inproc(capsys, ["build", f"--clock={value}", "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, "--clock", "clock_mhz")


@pytest.mark.parametrize("args, needle", [
    (["--pe", "0"], "--pe"), (["--pe", "-3"], "--pe"), (["--pe", "100000"], "PEs"),
    (["--fifo-depth", "0"], "--fifo-depth"), (["--epochs", "0"], "--epochs"),
    (["--max-accuracy-drop", "nan"], "--max-accuracy-drop"),
])
def test_array_options(tmp_path, capsys, args, needle):
    rc, _, err = run_inproc(capsys, ["build", *args, "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, needle)


# ---- data npz -----------------------------------------------------------------------------

def _npz_config(tmp_path, path) -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: {{name: npz, path: '{path}'}}\n")
    return cfg


def _good_arrays(rng, n=60, f=64):
    return dict(x_train=rng.random((n, f)), y_train=np.arange(n) % 10, x_test=rng.random((20, f)), y_test=np.arange(20) % 10)


@pytest.mark.parametrize("kind", list(DAMAGE) + ["npy", "truncated", "folder", "pickle"])
def test_damaged_npz(tmp_path, capsys, kind):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    if kind == "npy":
        np.save(tmp_path / "d.npy", rng.random((4, 4)))
        path = tmp_path / "d.npy"
    elif kind == "truncated":
        np.savez(path, **_good_arrays(rng))
        _truncate(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "pickle":
        np.savez(path, **{**_good_arrays(rng), "x_train": np.array([{"a": 1}] * 3, dtype=object)})
    else:
        path.write_bytes(DAMAGE[kind])
    rc, _, err = run_inproc(capsys, ["compress", "--config", str(_npz_config(tmp_path, path)), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, str(path))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("change, needle", [
    ({"x_test": np.zeros((20, 32))}, "same features"),
    ({"y_train": np.zeros(60, dtype=int)}, "single class"),
    ({"y_train": np.arange(60) % 10 + 0.5}, "non-integer labels"),
    ({"x_train": np.full((60, 64), "a")}, "numeric"),
    ({"y_train": np.arange(59) % 10}, "rows"),
    ({"x_train": np.zeros(60)}, "shape"),
])
def test_mismatched_npz(tmp_path, capsys, change, needle):
    path = tmp_path / "d.npz"
    np.savez(path, **{**_good_arrays(np.random.default_rng(0)), **change})
    rc, _, err = run_inproc(capsys, ["compress", "--config", str(_npz_config(tmp_path, path)), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, needle)


def test_npz_scaled_once_on_the_training_split():
    from flow.config.data import DataConfig
    from flow.data import load_dataset

    import tempfile

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "d.npz"
        a = _good_arrays(rng)
        a["x_train"] = a["x_train"] * 1.02  # max slightly above 1: scaled by 1/255 ...
        a["x_test"] = a["x_test"] / a["x_test"].max()  # ... and the test split, max 1.0, by the same
        np.savez(path, **a)
        ds = load_dataset(DataConfig(name="npz", path=str(path)))
    np.testing.assert_allclose(ds.x_test, (a["x_test"] / 255.0).astype(np.float32), rtol=1e-6)


def test_float_labels_that_are_integers_are_accepted(tmp_path):
    from flow.config.data import DataConfig
    from flow.data import load_dataset

    a = _good_arrays(np.random.default_rng(0))
    a["y_train"] = a["y_train"].astype(np.float32)
    np.savez(tmp_path / "d.npz", **a)
    ds = load_dataset(DataConfig(name="npz", path=str(tmp_path / "d.npz")))
    assert ds.y_train.dtype == np.int64 and ds.n_classes == 10


# ---- model files --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["empty", "random", "truncated", "folder"])
def test_damaged_keras_model(tmp_path, capsys, kind, compressed_dir):
    path = tmp_path / "m.keras"
    if kind == "truncated":
        shutil.copyfile(compressed_dir / "model.keras", path)
        _truncate(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(DAMAGE[kind])
    rc, _, err = run_inproc(capsys, ["build", "--model", str(path), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, str(path))
    assert not (tmp_path / "o").exists()


def test_model_input_width_differs_from_data(tmp_path, capsys):
    import tensorflow as tf

    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input(shape=(30,)), L.Dense(10, activation="softmax")])
    m.save(tmp_path / "m.keras")
    rc, _, err = run_inproc(capsys, ["build", "--model", str(tmp_path / "m.keras"), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, "m.keras", "(30,)")


def test_unsupported_activation_refused_before_training(tmp_path, capsys):
    import tensorflow as tf

    L = tf.keras.layers
    m = tf.keras.Sequential([L.Input(shape=(64,)), L.Dense(16, activation="tanh"), L.Dense(10, activation="softmax")])
    m.save(tmp_path / "m.keras")
    rc, _, err = run_inproc(capsys, ["build", "--model", str(tmp_path / "m.keras"), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, "tanh")


# ---- compressed folder --------------------------------------------------------------------

@pytest.mark.parametrize("target, kind", [
    ("compression.json", "empty"), ("compression.json", "random"), ("compression.json", "truncated"),
    ("compression.json", "list"), ("compression.json", "nolayers"),
    ("model.keras", "truncated"), ("model.keras", "random"), ("model.keras", "empty"),
    ("compression.npz", "truncated"), ("compression.npz", "random"), ("compression.npz", "wrongshape"),
    ("compression.npz", "missing"),
])
def test_damaged_compressed_folder(tmp_path, capsys, compressed_dir, target, kind):
    cm = tmp_path / "cm"
    shutil.copytree(compressed_dir, cm)
    f = cm / target
    if kind == "truncated":
        _truncate(f)
    elif kind == "list":
        f.write_text("[1, 2]")
    elif kind == "nolayers":
        f.write_text('{"format": 1, "layers": []}')
    elif kind == "wrongshape":
        z = dict(np.load(f))
        z["fc1/mask"] = z["fc1/mask"][:3]
        np.savez(f, **z)
    elif kind == "missing":
        z = dict(np.load(f))
        del z["fc1/codes"]
        np.savez(f, **z)
    else:
        f.write_bytes(DAMAGE[kind])
    before = tree_digest(cm)
    rc, _, err = run_inproc(capsys, ["build", "--model", str(cm), "--skip-train", "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, str(cm))
    assert ".building" not in err
    assert tree_digest(cm) == before and not (tmp_path / "o").exists()


def test_folder_that_is_not_a_compressed_model(tmp_path, capsys):
    (tmp_path / "m").mkdir()
    rc, _, err = run_inproc(capsys, ["build", "--model", str(tmp_path / "m"), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, "not a compressed-model folder")


# ---- output paths -------------------------------------------------------------------------

@pytest.mark.parametrize("cmd", ["build", "compress"])
def test_out_below_a_file_or_in_proc(tmp_path, capsys, cmd):
    (tmp_path / "f").write_text("x")
    for out, needle in ((tmp_path / "f" / "sub", "is a file"), (Path("/proc/flow-out"), "kernel"),
                        (tmp_path / "f", "is a file")):
        rc, _, err = run_inproc(capsys, [cmd, "--out", str(out)])
        assert_usage_error(rc, err, needle)


@pytest.mark.parametrize("cmd", ["build", "compress"])
def test_out_is_the_current_folder_or_an_ancestor(tmp_path, capsys, monkeypatch, cmd):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "mine.txt").write_text("user data")
    (work / "compression.json").write_text("{}")  # even with the marker
    (work / "build_state.json").write_text("{}")
    monkeypatch.chdir(work)
    before = tree_digest(tmp_path)
    for out in (".", "..", str(tmp_path)):
        rc, _, err = run_inproc(capsys, [cmd, "--out", out, "--force"])
        assert_usage_error(rc, err, "current folder")
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("cmd", ["build", "compress"])
def test_force_never_replaces_a_users_folder(tmp_path, capsys, cmd):
    user = tmp_path / "photos"
    user.mkdir()
    (user / "holiday.jpg").write_bytes(b"\xff\xd8 precious")
    before = tree_digest(user)
    rc, _, err = run_inproc(capsys, [cmd, "--out", str(user), "--force"])
    assert_usage_error(rc, err, str(user), "not an eie-flow")
    assert tree_digest(user) == before


def test_read_only_parent(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root ignores permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        rc, _, err = run_inproc(capsys, ["compress", "--out", str(ro / "x")])
        assert_usage_error(rc, err, "not writable")
    finally:
        ro.chmod(0o700)


# ---- report -------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b'{"steps": {"a"', b"[1, 2, 3]", b'"text"', b"\x00\x01binary",
                                     b'{"steps": [1]}', b'{"steps": {"a": 3}}'])
@pytest.mark.parametrize("as_json", [False, True])
def test_damaged_build_state(tmp_path, capsys, content, as_json):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "build_state.json").write_bytes(content)
    rc, _, err = run_inproc(capsys, ["report", str(tmp_path / "b"), *(["--json"] if as_json else [])])
    assert_usage_error(rc, err, "build_state.json")


@pytest.mark.parametrize("text, needle", [
    ("compress: {bits: 1}\n", "1 code bit"),
    ("compress: {layer_bits: {nosuch: 4}}\n", "nosuch"),
    ("model: {name: lenet5}\n", "12x12"),
])
def test_compress_refuses_before_training(tmp_path, capsys, text, needle):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    rc, _, err = run_inproc(capsys, ["compress", "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert_usage_error(rc, err, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
