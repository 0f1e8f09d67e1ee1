"""Datasets (owned by the compression work; placeholder)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataConfig:
    name: str = "digits"
