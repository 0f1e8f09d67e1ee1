"""The EIE engine's knobs: their defaults, their limits and their checks (the one place).

A layer on the engine is set by six integers. The config (flow.config.hls), the hls4ml backend
(config['Model' | 'LayerName'][...]['EIE']), EIELayer and the resource model all take their
defaults from here and validate through `check`, so a knob means one thing and is refused with
one message everywhere.

`broadcast` is deprecated (DEPRECATED): the engine broadcasts one non-zero activation per cycle and
column group (EIE's schedule, the RTL engine's too), so the key is accepted, any other value than 1
is warned about (KnobDeprecation, a FutureWarning: shown to users) and replaced by 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from flow.errors import UsageError

#: processing elements per layer (EIE used 64)
DEFAULT_N_PE = 8
#: activation FIFO depth per PE (EIE used 8)
DEFAULT_FIFO_DEPTH = 8
#: non-zero activations broadcast per cycle and column group: always 1 (deprecated knob, see DEPRECATED)
DEFAULT_BROADCAST = 1
#: column groups: 1 is EIE's row interleaving (see flow.eie.encode)
DEFAULT_COL_GROUPS = 1
#: inputs the non-zero detector scans per cycle
DEFAULT_DETECT_WIDTH = 4
#: codebook index and relative-index widths (EIE: 4 and 4)
DEFAULT_CODE_BITS = 4
DEFAULT_INDEX_BITS = 4

#: upper bound of detect_width: the kernel unrolls a detect_width-wide scan and compaction
MAX_DETECT_WIDTH = 64
#: upper bound of code_bits and index_bits: codes and indices are stored as uint8
MAX_BITS = 8

#: every knob with its default, in the order hls4ml's config['Model']['EIE'] lists them
DEFAULTS = {
    "n_pe": DEFAULT_N_PE,
    "fifo_depth": DEFAULT_FIFO_DEPTH,
    "broadcast": DEFAULT_BROADCAST,
    "code_bits": DEFAULT_CODE_BITS,
    "index_bits": DEFAULT_INDEX_BITS,
    "col_groups": DEFAULT_COL_GROUPS,
    "detect_width": DEFAULT_DETECT_WIDTH,
}
#: the knobs accepted in hls4ml's config['LayerName'][name]['EIE'] and config['Model']['EIE']
EIE_KNOBS = tuple(DEFAULTS)
#: the knobs a layer may override in the YAML `hls.layers: {name: {...}}` (the bit widths come
#: from the compressed model)
LAYER_KNOBS = ("n_pe", "fifo_depth", "broadcast", "col_groups", "detect_width")
#: the hls keys that decide an engine layout's row PEs, so a load-balanced mask (bench/deep_compression*.py
#: compare them before reusing a recorded run)
LAYOUT_KEYS = ("n_pe", "col_groups", "layers")
#: deprecated knobs: (the only value the engine has, what replaced the knob)
DEPRECATED = {
    "broadcast": (
        DEFAULT_BROADCAST,
        "the engine broadcasts one non-zero activation per cycle and column group (EIE's schedule, as the "
        "RTL engine); for more broadcasts per cycle raise col_groups (G groups broadcast G per cycle), "
        "for a faster scan detect_width",
    ),
}

_UPPER = {
    "detect_width": (MAX_DETECT_WIDTH, "inputs the non-zero detector scans per cycle"),
    "code_bits": (MAX_BITS, "codes and indices are stored as uint8"),
    "index_bits": (MAX_BITS, "codes and indices are stored as uint8"),
}


class KnobError(UsageError, ValueError):
    """An EIE knob out of range: a usage error (exit 2), and a ValueError for config validation."""


class KnobDeprecation(FutureWarning):
    """A deprecated EIE knob set to a value the engine does not have (it is ignored)."""


def is_int(value) -> bool:
    """An integer, not a bool: the knobs come from YAML and hls4ml dicts."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check(knobs: dict, where: str = "") -> dict:
    """Validate the knobs given (any subset of EIE_KNOBS); returns them as ints.

    `where` prefixes every message ("layer 'fc1'", "layers.fc1", ...). col_groups is checked
    against n_pe when both are given. A deprecated knob (DEPRECATED) comes back as the engine's value,
    with a KnobDeprecation warning when it was set to another.
    """
    pre = f"{where}: " if where else ""
    if not isinstance(knobs, Mapping):  # a string would be read letter by letter as knob names
        raise KnobError(
            f"{pre}the EIE knobs are a {type(knobs).__name__} ({knobs!r}), not a mapping; give a dict of knob "
            f"names to integers, e.g. {{'n_pe': 8}} (the knobs are {list(EIE_KNOBS)})"
        )
    unknown = sorted(set(knobs) - set(EIE_KNOBS))
    if unknown:
        raise KnobError(f"{pre}unknown EIE knob(s) {unknown}; the knobs are {list(EIE_KNOBS)}")
    out = {}
    for key, value in knobs.items():
        ok = is_int(value) and value >= 1
        if key in DEPRECATED:
            fixed, why = DEPRECATED[key]
            if not ok:
                raise KnobError(f"{pre}{key}={value!r}: must be a positive integer (deprecated: {why})")
            if value != fixed:
                warnings.warn(
                    f"{pre}{key}={value} is deprecated and ignored ({key} is always {fixed}): {why}. "
                    f"Remove the {key} key", KnobDeprecation, stacklevel=2,
                )
            out[key] = fixed
            continue
        if key in _UPPER and not (ok and value <= _UPPER[key][0]):
            hi, why = _UPPER[key]
            raise KnobError(f"{pre}{key}={value!r}: must be an integer 1..{hi} ({why})")
        if key == "col_groups" and not ok and "n_pe" in knobs:
            raise KnobError(f"{pre}col_groups={value!r}: must be a positive integer that divides n_pe={knobs['n_pe']}")
        if not ok:
            raise KnobError(f"{pre}{key}={value!r}: must be a positive integer")
        out[key] = int(value)
    if "n_pe" in out and "col_groups" in out and out["n_pe"] % out["col_groups"]:
        raise KnobError(
            f"{pre}col_groups={out['col_groups']} must divide n_pe={out['n_pe']} "
            "(each column group has n_pe / col_groups PEs; 1 = EIE's row interleaving)"
        )
    return out
