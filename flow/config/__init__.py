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
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    compress: CompressConfig = field(default_factory=CompressConfig)
    hls: HLSConfig = field(default_factory=HLSConfig)
    build: BuildConfig = field(default_factory=BuildConfig)

    def to_dict(self) -> dict:
        return to_dict(self)


def load_config(path: str | Path | None = None) -> FlowConfig:
    """Read a YAML config; None gives the defaults."""
    if path is None:
        return FlowConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return from_dict(FlowConfig, data, path=path.name)


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
