"""Example networks (owned by the compression work; placeholder)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelConfig:
    name: str = "digits_mlp"
