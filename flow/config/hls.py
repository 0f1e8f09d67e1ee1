"""HLS section of the config: PE array and fixed-point choices of the EIE backend (defaults and limits
of the EIE knobs: flow.eie.knobs)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import flow.eie.knobs as knob_rules
from flow.eie.knobs import EIE_KNOBS, LAYER_KNOBS


@dataclass
class HLSConfig:
    #: processing elements per EIE layer (EIE used 64)
    n_pe: int = knob_rules.DEFAULT_N_PE
    #: activation FIFO depth per PE (EIE used 8)
    fifo_depth: int = knob_rules.DEFAULT_FIFO_DEPTH
    #: deprecated, always 1: the engine broadcasts one non-zero activation per cycle and column group
    #: (EIE's schedule, as the RTL engine). Another value is ignored with a warning; for more broadcasts
    #: per cycle raise col_groups, for a faster scan detect_width
    broadcast: int = knob_rules.DEFAULT_BROADCAST
    #: column groups: the PEs split into col_groups independent arrays of n_pe / col_groups PEs,
    #: group g owns the input columns j with j % col_groups == g (its own non-zero detector and
    #: broadcast) and the partial sums are added in the gather; 1 = the original EIE row interleaving.
    #: Small layers on many PEs need it (LeNet-300-100 on 64 PEs: 2 / 8 / 8)
    col_groups: int = knob_rules.DEFAULT_COL_GROUPS
    #: inputs the non-zero detector scans per cycle (1..64): its scan takes ceil(n_in / detect_width)
    #: cycles before the PE array starts, and its compaction logic (LUTs) grows with the width.
    #: LeNet-300-100 on 64 PEs: 784 inputs at 4 per cycle = 196 cycles, longer than the PE array;
    #: EIE's leading non-zero detector is a tree over many inputs
    detect_width: int = knob_rules.DEFAULT_DETECT_WIDTH
    #: default codebook index width, used when the compressed model does not record one (EIE: 4)
    code_bits: int = knob_rules.DEFAULT_CODE_BITS
    #: default relative-index width (EIE: 4)
    index_bits: int = knob_rules.DEFAULT_INDEX_BITS
    #: per-layer overrides of n_pe, fifo_depth, col_groups, detect_width (and the deprecated broadcast),
    #: e.g. {ip1: {col_groups: 2, detect_width: 16}}
    layers: dict[str, dict[str, int]] = field(default_factory=dict)
    #: name of the generated HLS project (C++ top function and library)
    project_name: str = "eie_net"
    #: FPGA part passed to hls4ml (the board build overrides it from board.yaml)
    part: str = "xc7z020clg400-1"
    #: clock period in ns
    clock_period: float = 10.0

    def __post_init__(self) -> None:
        self.broadcast = knob_rules.check(self.eie_defaults())["broadcast"]  # deprecated: 1
        for name, knobs in self.layers.items():
            unknown = set(knobs) - set(LAYER_KNOBS)
            if unknown:
                raise ValueError(
                    f"layers.{name}: unknown keys {sorted(unknown)}; a layer may set {list(LAYER_KNOBS)}"
                )
            knobs.update(knob_rules.check(knobs, f"layers.{name}"))  # (the deprecated broadcast becomes 1)
            knob_rules.check(self.knobs_of(name), f"layers.{name}")
        if not (math.isfinite(self.clock_period) and 1.0 <= self.clock_period <= 100.0):
            raise ValueError(f"clock_period={self.clock_period} is out of range; use 1..100 ns (10 = 100 MHz)")
        if not self.project_name.isidentifier():
            raise ValueError(f"project_name={self.project_name!r}: must be a C identifier, e.g. 'eie_net'")

    def knobs_of(self, layer_name: str) -> dict:
        """The EIE knobs of one layer: its `layers` entry over the section's defaults."""
        knobs = self.eie_defaults()
        knobs.update(self.layers.get(layer_name, {}))
        return knobs

    def eie_defaults(self) -> dict:
        """The model-level EIE knobs, as put in hls4ml's config['Model']['EIE']."""
        d = asdict(self)
        return {k: d[k] for k in EIE_KNOBS}
