"""The flow's own compressed model goes through the README's "Use from hls4ml" call as it is: its input
layer is not named "input" (reserved by hls4ml), and a folder from an older flow that used that name is
renamed on load (flow.compress.io.load_compressed)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

hls4ml = pytest.importorskip("hls4ml")
tf = pytest.importorskip("tensorflow")

from flow.cli import main  # noqa: E402
from flow.compress.io import custom_objects, load_compressed, save_compressed  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_call(model, out: Path):
    """The README's call, read from the README itself (so the test follows the documentation)."""
    text = README.read_text()
    block = text[text.index("## Use from hls4ml"):]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    scope = {"model": model, "x": np.random.default_rng(0).random((4, int(model.input_shape[-1])))}
    code = code.replace('output_dir="prj"', f'output_dir="{out}"')
    exec(compile(code, str(README), "exec"), scope)  # noqa: S102 -- the documented snippet, verbatim
    return scope["hls_model"], scope["y"]


def _synthetic(folder: Path) -> Path:
    """A compressed digits MLP (64 -> 16 -> 10) saved as `flow compress` saves one, without training."""
    from flow.data import load_dataset
    from flow.testing import as_compressed, shared_mlp

    ds = load_dataset()
    model, types = shared_mlp([64, 16, 10], [0.5, 0.5], calib_x=ds.x_train[:256], seed=1)
    save_compressed(as_compressed(model, types), folder)
    return folder


def _legacy(folder: Path, src: Path) -> Path:
    """The same folder as an older flow wrote it: the input layer named "input"."""
    cm = load_compressed(src)
    config = cm.model.get_config()
    config["layers"][0]["config"]["name"] = "input"
    with tf.keras.utils.custom_object_scope(custom_objects()):
        old = tf.keras.Sequential.from_config(config)
    old.set_weights(cm.model.get_weights())
    assert old.get_config()["layers"][0]["config"]["name"] == "input"
    cm.model = old
    save_compressed(cm, folder)
    return folder


def test_flow_models_never_name_a_layer_input():
    from flow.config import ModelConfig
    from flow.models import build_model

    for name, shape in (("digits_mlp", (64,)), ("lenet300", (784,)), ("lenet5", (784,))):
        model = build_model(ModelConfig(name=name), shape, 10)
        names = [layer["config"]["name"] for layer in model.get_config()["layers"]]
        assert "input" not in names, (name, names)


@pytest.mark.csim
def test_compressed_folder_converts_with_the_readme_call(tmp_path):
    folder = _synthetic(tmp_path / "cm")
    model = tf.keras.models.load_model(folder / "model.keras", custom_objects=custom_objects(), compile=False)
    hls_model, y = readme_call(model, tmp_path / "prj")
    assert np.asarray(y).shape == (4, 10)


@pytest.mark.csim
def test_an_older_folder_with_an_input_layer_named_input_is_renamed_on_load(tmp_path):
    legacy = _legacy(tmp_path / "old", _synthetic(tmp_path / "cm"))
    cm = load_compressed(legacy)
    assert "input" not in [e["config"]["name"] for e in cm.model.get_config()["layers"]]
    x = np.random.default_rng(1).random((8, 64)).astype(np.float32)
    raw = tf.keras.models.load_model(legacy / "model.keras", custom_objects=custom_objects(), compile=False)
    np.testing.assert_array_equal(cm.model.predict(x, verbose=0), raw.predict(x, verbose=0))  # same network
    hls_model, y = readme_call(cm.model, tmp_path / "prj")
    assert np.asarray(y).shape == (4, 10)


def test_the_rename_keeps_a_functional_model_working():
    from flow.models import rename_reserved_input

    L = tf.keras.layers
    inp = L.Input(shape=(6,), name="input")
    out = L.Dense(3, name="fc")(L.Dense(4, name="h")(inp))
    model = tf.keras.Model(inp, out)
    new = rename_reserved_input(model)
    assert new.input_names == ["input_1"]
    x = np.ones((2, 6), np.float32)
    np.testing.assert_array_equal(new.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.slow
@pytest.mark.csim
def test_flow_compress_output_converts_with_the_readme_call(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data: {train_subset: 400, test_subset: 100}\n")
    out = tmp_path / "cm"
    assert main(["compress", "--config", str(cfg), "--epochs", "1", "--prune-epochs", "1", "--finetune-epochs", "1",
                 "--out", str(out), "--no-progress", "--allow-accuracy-drop"]) == 0
    model = tf.keras.models.load_model(out / "model.keras", custom_objects=custom_objects(), compile=False)
    hls_model, y = readme_call(model, tmp_path / "prj")
    assert np.asarray(y).shape == (4, 10)
