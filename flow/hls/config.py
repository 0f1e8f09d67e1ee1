"""HLS section of the config: PE array and fixed-point choices of the EIE backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flow.errors import UsageError

#: the per-layer EIE knobs accepted in config['LayerName'][name]['EIE'] and config['Model']['EIE']
EIE_KNOBS = ("n_pe", "fifo_depth", "broadcast", "code_bits", "index_bits")


@dataclass
class HLSConfig:
    #: processing elements per EIE layer (EIE used 64)
    n_pe: int = 8
    #: activation FIFO depth per PE (EIE used 8)
    fifo_depth: int = 8
    #: non-zero activations broadcast per cycle, = empty columns a PE retires per cycle (EIE: 1)
    broadcast: int = 4
    #: default codebook index width, used when the compressed model does not record one (EIE: 4)
    code_bits: int = 4
    #: default relative-index width (EIE: 4)
    index_bits: int = 4
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
        for key in ("code_bits", "index_bits"):
            value = getattr(self, key)
            if not 1 <= value <= 8:
                raise ValueError(f"{key}={value}: must be 1..8 (codes and indices are stored as uint8)")
        if not self.project_name.isidentifier():
            raise ValueError(f"project_name={self.project_name!r}: must be a C identifier, e.g. 'eie_net'")

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
    if knobs["code_bits"] > 8 or knobs["index_bits"] > 8:
        raise UsageError(
            f"layer '{layer_name}': code_bits={knobs['code_bits']}, index_bits={knobs['index_bits']}; "
            "both must be at most 8 (stored as uint8)"
        )
    return knobs
