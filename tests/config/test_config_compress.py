"""Compression config: unknown keys, wrong types, out-of-range values are refused before training."""

from __future__ import annotations

import pytest

from flow.config.compress import CompressConfig
from flow.config import load_config
from flow.config.schema import from_dict
from flow.errors import ConfigError


def _load(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_config(p)


def test_defaults_and_per_layer_overrides(tmp_path):
    cfg = _load(
        tmp_path, "compress:\n  sparsity: 0.5\n  layer_sparsity: {fc1: 0.9}\n  layer_bits: {fc3: 5}\n"
    )
    c = cfg.compress
    assert c.sparsity_of("fc1") == 0.9 and c.sparsity_of("fc2") == 0.5
    assert c.bits_of("fc3") == 5 and c.bits_of("fc1") == c.bits


def test_unknown_key_named_with_its_path(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.compress.*'sparsty'"):
        from_dict(type(load_config()), {"compress": {"sparsty": 0.5}})


def test_wrong_type_named(tmp_path):
    with pytest.raises(ConfigError, match=r"compress\.bits: expected an integer"):
        _load(tmp_path, "compress:\n  bits: four\n")
    with pytest.raises(ConfigError, match=r"compress\.layer_sparsity\.fc1: expected a number"):
        _load(tmp_path, "compress:\n  layer_sparsity: {fc1: lots}\n")


@pytest.mark.parametrize(
    "text, word",
    [
        ("sparsity: 1.0", "sparsity=1.0"),
        ("sparsity: -0.1", "sparsity=-0.1"),
        ("layer_sparsity: {fc1: 1.5}", "layer_sparsity.fc1=1.5"),
        ("bits: 0", "bits=0"),
        ("bits: 9", "bits=9"),
        ("layer_bits: {fc2: 12}", "layer_bits.fc2=12"),
        ("epochs: -1", "epochs=-1"),
    ],
)
def test_out_of_range_refused(tmp_path, text, word):
    with pytest.raises(ConfigError, match=word.replace(".", r"\.")):
        _load(tmp_path, f"compress:\n  {text}\n")


def test_per_layer_keys_must_name_model_layers():
    c = CompressConfig(layer_bits={"nope": 3})
    with pytest.raises(ValueError, match="nope"):
        c.check_layers(["fc1", "fc2"])
