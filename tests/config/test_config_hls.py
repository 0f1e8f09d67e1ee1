"""HLS section of the config: col_groups and per-layer `hls.layers` overrides are validated up front."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest

from flow.config import load_config
from flow.errors import ConfigError, UsageError
from flow.eie.knobs import EIE_KNOBS, LAYER_KNOBS, KnobDeprecation
from flow.config.hls import HLSConfig
from flow.hls.passes.replace_dense import eie_knobs


def _load(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_config(p)


def test_defaults():
    h = HLSConfig()
    assert h.n_pe == 8 and h.col_groups == 1 and h.layers == {}
    assert set(h.eie_defaults()) == set(EIE_KNOBS)
    assert h.eie_defaults()["col_groups"] == 1


@pytest.mark.parametrize("n_pe, col_groups", [(8, 1), (8, 2), (8, 4), (8, 8), (6, 3), (1, 1)])
def test_col_groups_dividing_n_pe_accepted(n_pe, col_groups):
    assert HLSConfig(n_pe=n_pe, col_groups=col_groups).col_groups == col_groups


@pytest.mark.parametrize("n_pe, col_groups", [(8, 3), (8, 16), (6, 4), (8, 0), (8, -2)])
def test_col_groups_not_dividing_n_pe_refused(n_pe, col_groups):
    with pytest.raises(ValueError, match=rf"col_groups={col_groups}.*n_pe={n_pe}"):
        HLSConfig(n_pe=n_pe, col_groups=col_groups)


def test_layers_unknown_key_refused():
    with pytest.raises(ValueError, match=r"layers\.fc1: unknown keys \['col_group'\]") as exc:
        HLSConfig(layers={"fc1": {"col_group": 2}})
    for knob in LAYER_KNOBS:  # the message lists what a layer may set
        assert knob in str(exc.value)
    with pytest.raises(ValueError, match=r"layers\.fc2: unknown keys \['code_bits'\]"):
        HLSConfig(layers={"fc2": {"code_bits": 3}})  # code_bits comes from the compressed model


@pytest.mark.parametrize("key", LAYER_KNOBS)
@pytest.mark.parametrize("value", [0, -1])
def test_layers_non_positive_values_refused(key, value):
    with pytest.raises(ValueError, match=rf"layers\.fc1: {key}={value}: must be (a positive integer|an integer 1)"):
        HLSConfig(layers={"fc1": {key: value}})


@pytest.mark.parametrize("value", [True, 2.0, "2"])
def test_layers_non_integer_values_refused(value):
    with pytest.raises(ValueError, match=r"layers\.fc1: col_groups=.*positive integer"):
        HLSConfig(layers={"fc1": {"col_groups": value}})


def test_layer_col_groups_must_divide_that_layers_n_pe():
    # default n_pe 8: 3 does not divide it
    with pytest.raises(ValueError, match=r"layers\.fc1: col_groups=3 must divide n_pe=8"):
        HLSConfig(layers={"fc1": {"col_groups": 3}})
    # the layer's own n_pe counts, not the section's
    with pytest.raises(ValueError, match=r"layers\.fc2: col_groups=4 must divide n_pe=6"):
        HLSConfig(n_pe=8, layers={"fc2": {"n_pe": 6, "col_groups": 4}})
    assert HLSConfig(n_pe=8, layers={"fc2": {"n_pe": 6, "col_groups": 3}}).knobs_of("fc2")["col_groups"] == 3
    # a section col_groups inherited by a layer with a smaller n_pe it does not divide
    with pytest.raises(ValueError, match=r"layers\.fc3: col_groups=4 must divide n_pe=2"):
        HLSConfig(n_pe=8, col_groups=4, layers={"fc3": {"n_pe": 2}})


def test_knobs_of_merges_layer_over_section():
    h = HLSConfig(
        n_pe=16, fifo_depth=4, col_groups=2,
        layers={"fc1": {"col_groups": 4}, "fc2": {"n_pe": 4, "fifo_depth": 2, "broadcast": 1, "col_groups": 1}},
    )
    base = {
        "n_pe": 16, "fifo_depth": 4, "broadcast": 1, "code_bits": 4, "index_bits": 4, "col_groups": 2,
        "detect_width": 4,
    }
    assert h.eie_defaults() == base
    assert h.knobs_of("fc1") == {**base, "col_groups": 4}
    assert h.knobs_of("fc2") == {**base, "n_pe": 4, "fifo_depth": 2, "broadcast": 1, "col_groups": 1}
    assert h.knobs_of("not_listed") == base
    # knobs_of returns a fresh dict: mutating it leaves the config alone
    h.knobs_of("fc1")["col_groups"] = 99
    assert h.knobs_of("fc1")["col_groups"] == 4 and h.layers["fc1"] == {"col_groups": 4}


def test_yaml_col_groups_and_layers(tmp_path):
    cfg = _load(tmp_path, "hls:\n  n_pe: 8\n  layers: {fc1: {col_groups: 2}}\n")
    assert cfg.hls.layers == {"fc1": {"col_groups": 2}}
    assert cfg.hls.knobs_of("fc1")["col_groups"] == 2 and cfg.hls.knobs_of("fc2")["col_groups"] == 1
    cfg = _load(tmp_path, "hls:\n  col_groups: 4\n")
    assert cfg.hls.col_groups == 4 and cfg.hls.knobs_of("fc1")["col_groups"] == 4


@pytest.mark.parametrize(
    "text, pattern",
    [
        # unknown key inside a layer entry: section path + layer path + the key
        ("hls: {layers: {fc1: {col_group: 2}}}", r"c\.yaml\.hls: layers\.fc1: unknown keys \['col_group'\]"),
        # wrong types: the full key path
        ("hls: {layers: {fc1: {col_groups: two}}}", r"c\.yaml\.hls\.layers\.fc1\.col_groups: expected an integer"),
        ("hls: {layers: {fc1: {col_groups: true}}}", r"c\.yaml\.hls\.layers\.fc1\.col_groups: expected an integer"),
        ("hls: {layers: {fc1: 4}}", r"c\.yaml\.hls\.layers\.fc1: expected a mapping"),
        ("hls: {layers: [fc1]}", r"c\.yaml\.hls\.layers: expected a mapping"),
        # ranges
        ("hls: {layers: {fc1: {n_pe: 0}}}", r"c\.yaml\.hls: layers\.fc1: n_pe=0: must be a positive integer"),
        ("hls: {layers: {fc1: {col_groups: 3}}}", r"c\.yaml\.hls: layers\.fc1: col_groups=3 must divide n_pe=8"),
        ("hls: {col_groups: 3}", r"c\.yaml\.hls: col_groups=3 must divide n_pe=8"),
        ("hls: {col_groups: 0}", r"c\.yaml\.hls: col_groups=0"),
        # a misspelt section key is still named
        ("hls: {col_group: 2}", r"c\.yaml\.hls: unknown key\(s\) 'col_group'"),
    ],
)
def test_yaml_errors_name_the_key_path(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        _load(tmp_path, text + "\n")


def _model_config(model_eie=None, layer_eie=None, layer="fc1"):
    hls = {}
    if model_eie is not None:
        hls["Model"] = {"EIE": model_eie}
    if layer_eie is not None:
        hls["LayerName"] = {layer: {"EIE": layer_eie}}
    return SimpleNamespace(config={"HLSConfig": hls})


def test_eie_knobs_layer_over_model_over_defaults():
    mc = _model_config({"n_pe": 8, "col_groups": 2}, {"col_groups": 4})
    assert eie_knobs(mc, "fc1")["col_groups"] == 4 and eie_knobs(mc, "fc1")["n_pe"] == 8
    assert eie_knobs(mc, "fc2")["col_groups"] == 2
    assert eie_knobs(_model_config(), "fc1") == HLSConfig().eie_defaults()


@pytest.mark.parametrize(
    "model_eie, layer_eie",
    [({"n_pe": 8, "col_groups": 3}, None), ({"n_pe": 8}, {"col_groups": 3}), (None, {"n_pe": 8, "col_groups": 3})],
)
def test_eie_knobs_col_groups_not_dividing_n_pe(model_eie, layer_eie):
    with pytest.raises(UsageError, match=r"col_groups=3 must divide n_pe=8"):
        eie_knobs(_model_config(model_eie, layer_eie), "fc1")


def test_eie_knobs_bad_values_and_keys():
    with pytest.raises(UsageError, match=r"col_groups=0: must be a positive integer"):
        eie_knobs(_model_config(None, {"col_groups": 0}), "fc1")
    with pytest.raises(UsageError, match=r"unknown EIE knob\(s\) \['col_group'\]"):
        eie_knobs(_model_config(None, {"col_group": 2}), "fc1")


def test_broadcast_is_deprecated_warned_and_ignored():
    """broadcast has one value (one broadcast per cycle and column group): 1 is silent, another value
    warns naming what replaced it and becomes 1, a non-positive one is refused with the config."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert HLSConfig(broadcast=1, layers={"fc1": {"broadcast": 1}}).knobs_of("fc1")["broadcast"] == 1
        assert HLSConfig().broadcast == 1
    with pytest.warns(KnobDeprecation, match=r"layers\.fc1: broadcast=64 is deprecated and ignored.*col_groups"):
        h = HLSConfig(layers={"fc1": {"broadcast": 64}})
    assert h.knobs_of("fc1")["broadcast"] == 1
    with pytest.warns(KnobDeprecation, match=r"broadcast=4 is deprecated.*detect_width"):
        assert HLSConfig(broadcast=4).broadcast == 1
    with pytest.raises(ValueError, match=r"layers\.fc1: broadcast=0: must be a positive integer"):
        HLSConfig(layers={"fc1": {"broadcast": 0}})


def test_detect_width_section_and_layers():
    assert HLSConfig().detect_width == 4 and HLSConfig().eie_defaults()["detect_width"] == 4
    assert "detect_width" in EIE_KNOBS and "detect_width" in LAYER_KNOBS
    for good in (1, 3, 16, 64):
        assert HLSConfig(detect_width=good).eie_defaults()["detect_width"] == good
        assert HLSConfig(layers={"fc1": {"detect_width": good}}).knobs_of("fc1")["detect_width"] == good
    h = HLSConfig(detect_width=8, layers={"fc1": {"detect_width": 64}})
    assert h.knobs_of("fc1")["detect_width"] == 64 and h.knobs_of("fc2")["detect_width"] == 8


@pytest.mark.parametrize("value", [0, -1, 65, 128])
def test_detect_width_out_of_range_refused(value):
    with pytest.raises(ValueError, match=rf"detect_width={value}.*1\.\.64"):
        HLSConfig(detect_width=value)
    with pytest.raises(ValueError, match=rf"layers\.fc1: detect_width={value}: must be"):
        HLSConfig(layers={"fc1": {"detect_width": value}})


def test_yaml_detect_width(tmp_path):
    cfg = _load(tmp_path, "hls:\n  detect_width: 16\n  layers: {fc1: {detect_width: 64}}\n")
    assert cfg.hls.detect_width == 16 and cfg.hls.knobs_of("fc1")["detect_width"] == 64
    with pytest.raises(ConfigError, match=r"c\.yaml\.hls: layers\.fc1: detect_width=65: must be an integer 1\.\.64"):
        _load(tmp_path, "hls: {layers: {fc1: {detect_width: 65}}}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml\.hls: detect_width=0"):
        _load(tmp_path, "hls: {detect_width: 0}\n")


def test_eie_knobs_detect_width():
    mc = _model_config({"detect_width": 16}, {"detect_width": 64})
    assert eie_knobs(mc, "fc1")["detect_width"] == 64 and eie_knobs(mc, "fc2")["detect_width"] == 16
    assert eie_knobs(_model_config(), "fc1")["detect_width"] == 4
    for bad, pattern in ((0, r"detect_width=0: must be an integer 1\.\.64"),
                         (65, r"detect_width=65: must be an integer 1\.\.64"),
                         (2.0, r"detect_width=2\.0: must be an integer 1")):
        with pytest.raises(UsageError, match=pattern):
            eie_knobs(_model_config(None, {"detect_width": bad}), "fc1")
