"""The `flow build` runner: the steps of flow.build.steps.STEPS in order, each with a fingerprint,
a checkpoint and a timing.

The build works in a staging copy of the output folder and swaps it into place only when every
step has succeeded, so an interrupted or failed build leaves the previous bundle intact. A step
whose fingerprint (its config sections, the fingerprints of the steps before it and the flow
version) matches the previous build's record is skipped: rebuilding is cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from flow import __version__
from flow.build.context import BuildContext, Step
from flow.config import FlowConfig
from flow.config.schema import to_dict
from flow.errors import UsageError

log = logging.getLogger(__name__)

STATE_FILE = "build_state.json"


def _fingerprint(ctx: BuildContext, st: Step, previous: str) -> str:
    cfg = to_dict(ctx.cfg)
    parts = {"version": __version__, "previous": previous}
    for key in st.depends_on:
        parts[key] = cfg.get(key, ctx.options.get(key))
    extra = st.also_depends(ctx.cfg) if st.also_depends is not None else None
    if extra is not None:  # absent otherwise: fingerprints of earlier builds stay valid
        parts["also_depends"] = to_dict(extra)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_state(out: Path) -> dict:
    try:
        return json.loads((out / STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _stage(out: Path) -> Path:
    """A staging folder beside `out`, seeded with the previous build so steps can be skipped."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent))
    if out.is_dir():
        shutil.copytree(out, staging, dirs_exist_ok=True, symlinks=True)
    return staging


#: text files that may name the staging folder (generated scripts, hls4ml's config, reports)
_RELOCATE_SUFFIXES = {".tcl", ".yml", ".yaml", ".json", ".sh", ".txt", ".cfg"}


def _relocate(staging: Path, out: Path) -> None:
    """Rewrite absolute staging paths in generated scripts to the final folder, so that the TCL a user
    runs later (e.g. on a machine with Vivado) points at the build folder, not a vanished staging one."""
    old, new = str(staging), str(out)
    for path in staging.rglob("*"):
        if path.suffix in _RELOCATE_SUFFIXES and path.is_file() and path.stat().st_size < 4_000_000:
            text = path.read_text(errors="surrogateescape")
            if old in text:
                path.write_text(text.replace(old, new), errors="surrogateescape")


def _swap_into_place(staging: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{int(time.time() * 1000)}")
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_output_dir(out: Path) -> None:
    """Refuse to build into something that is not a previous build folder (never clobber user files)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / STATE_FILE).exists())):
        raise UsageError(
            f"output folder {out} exists and is not an eie-flow build; pass another --out or remove it"
        )


def run_build(
    cfg: FlowConfig,
    out: Path,
    *,
    options: dict[str, Any] | None = None,
    force: bool = False,
    on_step: Callable[[str, str, float], None] | None = None,
    steps: Sequence[Step] | None = None,
) -> BuildContext:
    """Run `steps` (default: flow.build.steps.STEPS) into `out`; returns the context with summary and notes.

    `on_step(name, status, seconds)` is called after each step with status 'done' or 'skipped'.
    """
    if steps is None:
        from flow.build.steps import STEPS as steps

    out = Path(out).resolve()
    check_output_dir(out)
    previous_state = {} if force else _read_state(out)
    staging = _stage(out)
    ctx = BuildContext(cfg=cfg, out=staging, options=dict(options or {}))
    state: dict[str, Any] = {"flow_version": __version__, "steps": {}}
    fingerprint = ""
    try:
        for st in steps:
            name = st.name
            fingerprint = _fingerprint(ctx, st, fingerprint)
            record = previous_state.get("steps", {}).get(name, {})
            up_to_date = (
                record.get("fingerprint") == fingerprint
                and all((staging / p).exists() for p in st.outputs)
            )
            t0 = time.perf_counter()
            if up_to_date:
                info = record.get("info", {})
                summary, notes = record.get("summary", {}), record.get("notes", [])
                ctx.summary.update(summary)
                ctx.notes.extend(notes)
                status = "skipped"
            else:
                before_summary, before_notes = dict(ctx.summary), len(ctx.notes)
                info = st.func(ctx) or {}
                summary = {k: v for k, v in ctx.summary.items() if before_summary.get(k) != v}
                notes = ctx.notes[before_notes:]
                status = "done"
            seconds = time.perf_counter() - t0
            state["steps"][name] = {
                "fingerprint": fingerprint,
                "seconds": round(seconds if status == "done" else record.get("seconds", 0.0), 3),
                "status": status,
                "info": info,
                "summary": summary,
                "notes": notes,
            }
            if on_step is not None:
                on_step(name, status, seconds)
        state["summary"] = ctx.summary
        state["notes"] = ctx.notes
        (staging / STATE_FILE).write_text(json.dumps(state, indent=2, default=str))
        _relocate(staging, out)
        _swap_into_place(staging, out)
    except BaseException:
        if os.environ.get("FLOW_KEEP_FAILED"):
            log.error("build failed; its staging folder is kept for inspection: %s", staging)
        else:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    ctx.out = out
    return ctx
