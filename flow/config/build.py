"""Build section of the config: board, clock, which vendor steps to run, and the fit limit."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class BuildConfig:
    #: board name, a folder under boards/ (see `flow boards`)
    board: str = "pynq-z2"
    #: fabric clock in MHz; None takes the board's default (board.yaml clock_mhz)
    clock_mhz: float | None = None
    #: run C/RTL co-simulation when Vitis HLS is present
    cosim: bool = True
    #: run Vivado through to the bitstream when Vivado is present
    bitstream: bool = True
    #: refuse a design whose estimated use of any resource exceeds this fraction of the board's
    fit_limit: float = 0.90
    #: parallel Vivado jobs for synthesis/implementation (launch_runs -jobs)
    vivado_jobs: int = 2

    def __post_init__(self) -> None:
        if self.clock_mhz is not None and not (math.isfinite(self.clock_mhz) and 10.0 <= self.clock_mhz <= 500.0):
            raise ValueError(f"clock_mhz={self.clock_mhz} is out of range; use 10..500 MHz")
        if not (0.1 <= self.fit_limit <= 1.0):
            raise ValueError(f"fit_limit={self.fit_limit} is out of range; use 0.1..1.0 (e.g. 0.9)")
        if self.vivado_jobs < 1:
            raise ValueError(f"vivado_jobs={self.vivado_jobs} must be at least 1")
