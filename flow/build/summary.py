"""The final table of a build, printed by `flow build` and again by `flow report`."""

from __future__ import annotations

from pathlib import Path

from flow.errors import UsageError


def load_state(build_dir: Path) -> dict:
    from flow.build.runner import STATE_FILE

    from flow.runtime.files import bad_file, read_json_object

    path = Path(build_dir) / STATE_FILE
    if not Path(build_dir).is_dir():
        why = "is a file" if Path(build_dir).exists() else "does not exist"
        raise UsageError(f"{build_dir} is not an eie-flow build folder (it {why}); pass the folder `flow build` wrote (--out)")
    if not path.is_file():
        raise UsageError(f"{build_dir} is not an eie-flow build folder (no {STATE_FILE}); run `flow build` first")
    fix = "the build record is damaged: run `flow build` again into this folder (--force redoes every step)"
    state = read_json_object(path, fix, kind="build state")
    if not isinstance(state.get("steps", {}), dict) or not isinstance(state.get("summary", {}), dict) \
            or not isinstance(state.get("notes", []), list):
        raise bad_file(path, "has steps/summary/notes of the wrong type", fix)
    if any(not isinstance(rec, dict) for rec in state.get("steps", {}).values()):
        raise bad_file(path, "has a step record that is not an object", fix)
    return state


def print_summary(build_dir: Path, console=None) -> dict:
    from rich.console import Console

    from flow.build.tables import print_table

    console = console or Console()
    state = load_state(build_dir)
    rows = []
    for name, rec in state.get("steps", {}).items():
        sec = rec.get("seconds", 0)
        rows.append([name, str(rec.get("status", "?")), f"{sec:.1f}" if isinstance(sec, (int, float)) else "?"])
    print_table(console, f"eie-flow build: {build_dir}", ["step", "status", "seconds"], rows, right=[2])
    summary = state.get("summary", {})
    if summary:
        print_table(console, "summary", ["item", "value"], [[str(k), str(v)] for k, v in summary.items()])
    from flow.build.rtl_table import print_rtl

    print_rtl(build_dir, console)
    for note in state.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
    return state
