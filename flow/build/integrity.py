"""A finished build's files against its record: `flow report` says which file changed after the build
(edited, truncated, replaced, removed) and how to repair it, instead of showing stale or mixed numbers.

The record is build_state.json: each step lists the files it wrote with their size and SHA-256
(flow.build.runner, flow.manifest); the same check makes `flow build` rerun such a step.
"""

from __future__ import annotations

from pathlib import Path

from flow import manifest

FIX = ("rerun the `flow build` that made this folder (same options): the steps whose files changed run "
       "again, and those after them")


def changed_files(build_dir: Path, state: dict) -> list[dict]:
    """[{"step", "problem", "fix"}] for every step whose recorded files are not as it wrote them."""
    out = []
    for name, rec in state.get("steps", {}).items():
        files = rec.get("files") if isinstance(rec, dict) else None
        if not isinstance(files, dict):
            continue  # recorded by an older flow: nothing to compare with
        problem = manifest.verify(Path(build_dir), files)
        if problem:
            out.append({"step": name, "problem": problem.replace("since it was written", "since the build wrote it"),
                        "fix": FIX})
    return out
