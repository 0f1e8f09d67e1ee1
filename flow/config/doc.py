"""Generate docs/config.md from the config dataclasses and their `#:` field comments.

`python -m flow.config.doc > docs/config.md`; a test keeps the file in step with the code.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing

import yaml

from flow.config import FlowConfig
from flow.config.schema import to_dict


def _field_docs(cls) -> dict[str, str]:
    docs: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        m = re.match(r"(\w+)\s*:", stripped)
        if m and pending:
            docs[m.group(1)] = " ".join(pending)
        if not stripped.startswith("#"):
            pending = []
    return docs


def _type_name(tp) -> str:
    name = str(tp).replace("typing.", "").replace("<class '", "").replace("'>", "")
    return name.replace("|", "\\|")  # inside a table cell


def render() -> str:
    defaults = to_dict(FlowConfig())
    lines = [
        "# Config reference",
        "",
        "Generated from the code by `python -m flow.config.doc` (a test checks it is current).",
        "Pass a YAML file with `--config`; every key is optional. Unknown keys, wrong types and",
        "out-of-range values are refused before any work, naming the key.",
        "",
        "## Defaults",
        "",
        "```yaml",
        yaml.safe_dump(defaults, sort_keys=False).rstrip(),
        "```",
    ]
    hints_top = typing.get_type_hints(FlowConfig)
    top_docs = _field_docs(FlowConfig)
    scalars = [f for f in dataclasses.fields(FlowConfig) if not dataclasses.is_dataclass(hints_top[f.name])]
    if scalars:
        lines += ["", "## Top level", "", "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for f in scalars:
            lines.append(
                f"| `{f.name}` | `{_type_name(hints_top[f.name])}` | `{defaults[f.name]!r}` | "
                f"{top_docs.get(f.name, '').replace('|', '/')} |"
            )
    for f in dataclasses.fields(FlowConfig):
        cls = hints_top[f.name]
        if not dataclasses.is_dataclass(cls):
            continue
        docs = _field_docs(cls)
        hints = typing.get_type_hints(cls)
        lines += ["", f"## `{f.name}`", "", "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for sub in dataclasses.fields(cls):
            if not sub.init:
                continue
            default = defaults[f.name][sub.name]
            lines.append(
                f"| `{sub.name}` | `{_type_name(hints[sub.name])}` | `{default!r}` | {docs.get(sub.name, '').replace('|', '/')} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
