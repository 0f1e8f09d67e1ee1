"""The final table of a build, printed by `flow build` and again by `flow report`."""

from __future__ import annotations

import json
from pathlib import Path

from flow.errors import UsageError


def load_state(build_dir: Path) -> dict:
    from flow.build.runner import STATE_FILE

    path = Path(build_dir) / STATE_FILE
    if not path.is_file():
        raise UsageError(f"{build_dir} is not an eie-flow build folder (no {STATE_FILE}); run `flow build` first")
    return json.loads(path.read_text())


def print_summary(build_dir: Path, console=None) -> dict:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    state = load_state(build_dir)
    steps = Table(title=f"eie-flow build: {build_dir}")
    steps.add_column("step")
    steps.add_column("status")
    steps.add_column("seconds", justify="right")
    for name, rec in state.get("steps", {}).items():
        steps.add_row(name, rec.get("status", "?"), f"{rec.get('seconds', 0):.1f}")
    console.print(steps)
    summary = state.get("summary", {})
    if summary:
        table = Table(title="summary")
        table.add_column("item")
        table.add_column("value")
        for key, value in summary.items():
            table.add_row(str(key), str(value))
        console.print(table)
    for note in state.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
    return state
