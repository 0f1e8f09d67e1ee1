"""HLS section of the config: PE array and fixed-point choices of the EIE backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from flow.errors import UsageError

#: the per-layer EIE knobs accepted in config['LayerName'][name]['EIE'] and config['Model']['EIE']
EIE_KNOBS = ("n_pe", "fifo_depth", "broadcast", "code_bits", "index_bits", "col_groups", "detect_width")
#: the knobs a layer may override in the YAML `hls.layers: {name: {...}}`
LAYER_KNOBS = ("n_pe", "fifo_depth", "broadcast", "col_groups", "detect_width")
#: largest detect_width (the kernel unrolls the detector's scan and compaction that wide)
MAX_DETECT_WIDTH = 64


@dataclass
class HLSConfig:
    #: processing elements per EIE layer (EIE used 64)
    n_pe: int = 8
    #: activation FIFO depth per PE (EIE used 8)
    fifo_depth: int = 8
    #: non-zero activations broadcast per cycle, = empty columns a PE retires per cycle (EIE: 1)
    broadcast: int = 4
    #: column groups: the PEs split into col_groups independent arrays of n_pe / col_groups PEs,
    #: group g owns the input columns j with j % col_groups == g (its own non-zero detector and
    #: broadcast) and the partial sums are added in the gather; 1 = the original EIE row interleaving.
    #: Small layers on many PEs need it (LeNet-300-100 on 64 PEs: 2 / 8 / 8)
    col_groups: int = 1
    #: inputs the non-zero detector scans per cycle (1..64): its scan takes ceil(n_in / detect_width)
    #: cycles before the PE array starts, and its compaction logic (LUTs) grows with the width.
    #: LeNet-300-100 on 64 PEs: 784 inputs at 4 per cycle = 196 cycles, longer than the PE array;
    #: EIE's leading non-zero detector is a tree over many inputs
    detect_width: int = 4
    #: default codebook index width, used when the compressed model does not record one (EIE: 4)
    code_bits: int = 4
    #: default relative-index width (EIE: 4)
    index_bits: int = 4
    #: per-layer overrides of n_pe, fifo_depth, broadcast, col_groups, detect_width,
    #: e.g. {ip1: {col_groups: 2, detect_width: 16}}
    layers: dict[str, dict[str, int]] = field(default_factory=dict)
    #: name of the generated HLS project (C++ top function and library)
    project_name: str = "eie_net"
    #: FPGA part passed to hls4ml (the board build overrides it from board.yaml)
    part: str = "xc7z020clg400-1"
    #: clock period in ns
    clock_period: float = 10.0

    def __post_init__(self) -> None:
        if self.n_pe < 1:
            raise ValueError(f"n_pe={self.n_pe}: need at least 1 processing element")
        if self.fifo_depth < 1:
            raise ValueError(f"fifo_depth={self.fifo_depth}: need a FIFO depth of at least 1")
        if not 1 <= self.broadcast <= 64:
            raise ValueError(
                f"broadcast={self.broadcast}: non-zeros broadcast per cycle must be 1..64 (EIE: 1)"
            )
        if not 1 <= self.detect_width <= MAX_DETECT_WIDTH:
            raise ValueError(
                f"detect_width={self.detect_width}: inputs the non-zero detector scans per cycle must be "
                f"1..{MAX_DETECT_WIDTH}"
            )
        for key in ("code_bits", "index_bits"):
            value = getattr(self, key)
            if not 1 <= value <= 8:
                raise ValueError(f"{key}={value}: must be 1..8 (codes and indices are stored as uint8)")
        if self.col_groups < 1 or self.n_pe % self.col_groups:
            raise ValueError(
                f"col_groups={self.col_groups}: must be >= 1 and divide n_pe={self.n_pe} "
                "(every column group has n_pe / col_groups PEs)"
            )
        for name, knobs in self.layers.items():
            unknown = set(knobs) - set(LAYER_KNOBS)
            if unknown:
                raise ValueError(
                    f"layers.{name}: unknown keys {sorted(unknown)}; a layer may set {list(LAYER_KNOBS)}"
                )
            for key, value in knobs.items():
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ValueError(f"layers.{name}.{key}={value!r}: must be a positive integer")
                if key == "broadcast" and value > 64:  # as the section's broadcast (EIELayer's limit)
                    raise ValueError(f"layers.{name}.broadcast={value}: must be 1..64 (EIE: 1)")
                if key == "detect_width" and value > MAX_DETECT_WIDTH:
                    raise ValueError(f"layers.{name}.detect_width={value}: must be 1..{MAX_DETECT_WIDTH}")
            k = self.knobs_of(name)
            if k["n_pe"] % k["col_groups"]:
                raise ValueError(
                    f"layers.{name}: col_groups={k['col_groups']} must divide n_pe={k['n_pe']}"
                )
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


def eie_knobs(model_config, layer_name: str) -> dict:
    """EIE knobs of one layer from an hls4ml ModelConfig: layer > model > HLSConfig defaults."""
    hls = model_config.config.get("HLSConfig", {})
    knobs = HLSConfig().eie_defaults()
    for source, where in (
        (hls.get("Model", {}).get("EIE", {}), "config['Model']['EIE']"),
        (
            hls.get("LayerName", {}).get(layer_name, {}).get("EIE", {}),
            f"config['LayerName']['{layer_name}']['EIE']",
        ),
    ):
        unknown = set(source) - set(EIE_KNOBS)
        if unknown:
            raise UsageError(f"{where}: unknown keys {sorted(unknown)}; the EIE knobs are {list(EIE_KNOBS)}")
        knobs.update(source)
    for key, value in knobs.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UsageError(f"layer '{layer_name}': EIE {key}={value!r}; set it to a positive integer")
    if knobs["n_pe"] % knobs["col_groups"]:
        raise UsageError(
            f"layer '{layer_name}': col_groups={knobs['col_groups']} does not divide n_pe={knobs['n_pe']}; "
            "pick a divisor (each column group has n_pe / col_groups PEs)"
        )
    if knobs["detect_width"] > MAX_DETECT_WIDTH:
        raise UsageError(
            f"layer '{layer_name}': EIE detect_width={knobs['detect_width']}; inputs the non-zero detector "
            f"scans per cycle must be 1..{MAX_DETECT_WIDTH}"
        )
    if knobs["code_bits"] > 8 or knobs["index_bits"] > 8:
        raise UsageError(
            f"layer '{layer_name}': code_bits={knobs['code_bits']}, index_bits={knobs['index_bits']}; "
            "both must be at most 8 (stored as uint8)"
        )
    return knobs
