"""The build steps, one per module, registered in build order with `flow.build.step`.

compress -> hls -> resources -> csim -> board -> vendor -> bundle -> sim_board
"""

from flow.steps import (  # noqa: F401  (import order is build order)
    compress,
    hls,
    resources,
    csim,
    board,
    vendor,
    bundle,
    sim_board,
)
