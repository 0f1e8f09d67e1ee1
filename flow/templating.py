"""The one template engine for generated C++ and TCL: Jinja2 with StrictUndefined.

Templates are `.j2` files next to the code that owns them (flow/eie/templates, flow/hls/templates,
flow/board/templates, boards/_templates); a value a template names but the caller does not give
is an error, never an empty string. Block tags take their line with them (trim_blocks,
lstrip_blocks) unless a caller asks for the plain layout.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2


@functools.lru_cache(maxsize=None)
def environment(folder: str, blocks_own_lines: bool = True) -> jinja2.Environment:
    """The environment of the templates in `folder` (cached)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=blocks_own_lines,
        lstrip_blocks=blocks_own_lines,
    )


def render(folder: Path | str, template: str, /, **values) -> str:
    """Render `template` of `folder` with `values`."""
    return environment(str(folder)).get_template(template).render(**values)
