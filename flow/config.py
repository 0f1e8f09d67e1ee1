"""The one YAML config of a flow run -> typed dataclasses, validated with clear errors.

Each section's dataclass lives with the code that uses it; this module only composes them.
Every key has a default, so an empty file (or no file) is the built-in digits example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flow.build_config import BuildConfig
from flow.compress.config import CompressConfig
from flow.configtools import from_dict, to_dict
from flow.data import DataConfig
from flow.errors import ConfigError
from flow.hls.config import HLSConfig
from flow.models import ModelConfig


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
