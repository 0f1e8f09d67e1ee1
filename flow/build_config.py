"""Build section of the config: board, clock and which vendor steps to run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BuildConfig:
    #: board name, a folder under boards/ (see `flow boards`)
    board: str = "pynq-z2"
    #: fabric clock in MHz; None takes the board's default
    clock_mhz: float | None = None
    #: run C/RTL co-simulation when Vitis HLS is present
    cosim: bool = True
    #: run Vivado through to the bitstream when Vivado is present
    bitstream: bool = True

    def __post_init__(self) -> None:
        if self.clock_mhz is not None and not (10.0 <= self.clock_mhz <= 500.0):
            raise ValueError(f"clock_mhz={self.clock_mhz} is out of range; use 10..500 MHz")
