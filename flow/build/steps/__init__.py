"""The build steps, one per module, and STEPS: the build order.

compress -> quality -> hls -> resources -> csim -> rtl -> overlay -> board -> vendor -> bundle -> sim_board

(overlay before the HLS board steps: a rerun of those, e.g. `--allow-ii`, does not rerun it)

`steps_for(engine)`: `flow build --engine rtl` runs only the steps the RTL overlay needs (no HLS
kernel, board project, vendor tools or HLS bundle); auto and hls run them all (docs/overlay.md).
"""

from flow.build.steps.board import board_project
from flow.build.steps.bundle import bundle
from flow.build.steps.compress import compress
from flow.build.steps.csim import csim
from flow.build.steps.hls import hls
from flow.build.steps.overlay import ENGINES, overlay
from flow.build.steps.quality import quality
from flow.build.steps.resources import resources
from flow.build.steps.rtl import rtl
from flow.build.steps.sim_board import sim_board
from flow.build.steps.vendor import vendor

STEPS = (compress, quality, hls, resources, csim, rtl, overlay, board_project, vendor, bundle, sim_board)
#: the steps of `--engine rtl`
RTL_STEPS = (compress, quality, hls, rtl, overlay)


def steps_for(engine: str) -> tuple:
    """The build steps for `flow build --engine <engine>`."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: use one of {', '.join(ENGINES)}")
    return RTL_STEPS if engine == "rtl" else STEPS


def by_name(name: str):
    """The Step called `name`."""
    for st in STEPS:
        if st.name == name:
            return st
    raise KeyError(f"no build step {name!r}; the steps are {[s.name for s in STEPS]}")
