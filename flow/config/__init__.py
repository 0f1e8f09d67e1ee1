"""The one config of a flow run: YAML -> typed dataclasses, validated with errors that name the key.

One module per section (data, model, compress, hls, build), composed here into FlowConfig; every
key has a default, so an empty file (or no file) is the built-in digits example. Command-line
options change a loaded config through `apply_overrides`, which validates with the same code as
the YAML (flow.config.schema). The EIE knobs' defaults and limits are flow.eie.knobs'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flow.config.build import BuildConfig
from flow.config.compress import CompressConfig
from flow.config.data import DataConfig
from flow.config.hls import HLSConfig
from flow.config.model import ModelConfig
from flow.config.schema import from_dict, to_dict
from flow.errors import ConfigError

__all__ = [
    "BuildConfig", "CompressConfig", "DataConfig", "FlowConfig", "HLSConfig", "ModelConfig",
    "apply_overrides", "dump_config", "load_config",
]


@dataclass
class FlowConfig:
    #: random seed of weight initialisation, minibatch order, augmentation shifts and k-means (`flow
    #: compress --seed`); the validation split (the last data.validation training images) and the
    #: digits train/test split do not depend on it
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    compress: CompressConfig = field(default_factory=CompressConfig)
    hls: HLSConfig = field(default_factory=HLSConfig)
    build: BuildConfig = field(default_factory=BuildConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed={self.seed} is out of range; use 0..{2**32 - 1}")

    def to_dict(self) -> dict:
        return to_dict(self)


def load_config(path: str | Path | None = None) -> FlowConfig:
    """Read a YAML config; None gives the defaults."""
    if path is None:
        return FlowConfig()
    from flow.runtime.files import FileError, read_text

    path = Path(path)
    fix = "pass a YAML config file to --config (see docs/config.md)"
    try:
        text = read_text(path, fix, kind="YAML config", allow_empty=True)
    except FileError as exc:
        raise ConfigError(str(exc)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level is a {type(data).__name__}, not a mapping of sections; {fix}")
    for section, value in (data or {}).items():
        if value is None and section in _SECTIONS:
            raise ConfigError(
                f"{path}: section {section!r} is empty (null); give its keys, or remove the line for the defaults"
            )
    return from_dict(FlowConfig, data, path=path.name)


_SECTIONS = ("data", "model", "compress", "hls", "build")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"key {key!r} is given twice (line {seen[key] + 1} and line {key_node.start_mark.line + 1}); "
                    "keep one", key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def dump_config(cfg: FlowConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def apply_overrides(cfg: FlowConfig, overrides: dict) -> FlowConfig:
    """A new config with command-line overrides applied, validated as the YAML is.

    overrides: {dotted key ("hls.n_pe"): (option ("--pe"), value)}; a None value is left out. A
    value the YAML would refuse raises ConfigError naming the option, the value and the key.
    """
    data = to_dict(cfg)
    for key, (option, value) in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node[part]
        if leaf not in node:
            raise KeyError(f"apply_overrides: the config has no key {key!r}")
        node[leaf] = value
        try:
            from_dict(FlowConfig, data, path="config")
        except ConfigError as exc:
            raise ConfigError(f"{option} {value}: {exc}") from None
    return from_dict(FlowConfig, data, path="config")
