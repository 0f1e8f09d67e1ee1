"""Compression section of the config (owned by flow.compress)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CompressConfig:
    pass
