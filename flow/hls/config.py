"""HLS section of the config: PE array and fixed-point choices of the EIE backend."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class HLSConfig:
    #: processing elements per EIE layer (EIE used 64)
    n_pe: int = 8
    #: activation FIFO depth per PE (EIE used 8)
    fifo_depth: int = 8

    def __post_init__(self) -> None:
        if self.n_pe < 1:
            raise ValueError(f"n_pe={self.n_pe}: need at least 1 processing element")
        if self.fifo_depth < 1:
            raise ValueError(f"fifo_depth={self.fifo_depth}: need a FIFO depth of at least 1")
