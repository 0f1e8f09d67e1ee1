"""The `flow build` runner: the steps of flow.build.steps.STEPS in order, each with a fingerprint,
a checkpoint and a timing.

The build works in a staging copy of the output folder and swaps it into place only when every
step has succeeded, so an interrupted or failed build leaves the previous bundle intact.

A step is skipped (rebuilding is cheap) when its fingerprint matches the previous build's record and
its outputs are those it wrote. The fingerprint covers its config sections, the flow version, the
content of what it reads from outside the build (Step.inputs: a model file, the data, the kernel
sources, the tools), the fingerprint of the step before it and the content of the files that step
wrote. The record of each step lists the files it wrote (size and SHA-256, flow.manifest); a missing,
truncated or edited one makes the step rerun, and with it every step after it whose input changed.
"""

from __future__ import annotations

import errno
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
from flow import manifest
from flow.errors import FlowError
from flow.outdir import STAGING, OutputLock, check_out, leftovers, recover_swap

log = logging.getLogger(__name__)

STATE_FILE = "build_state.json"


#: files of the runner itself in the build folder (no step writes them)
RUNNER_FILES = (STATE_FILE, f".{STATE_FILE}.tmp")


def _step_key(ctx: BuildContext, st: Step) -> str:
    """What decides a step apart from the steps before it: its config sections, the flow version, and
    the content of what it reads from outside the build folder (Step.inputs)."""
    cfg = to_dict(ctx.cfg)
    parts = {"version": __version__}
    for key in st.depends_on:
        parts[key] = cfg.get(key, ctx.options.get(key))
    extra = st.also_depends(ctx.cfg) if st.also_depends is not None else None
    if extra is not None:
        parts["also_depends"] = to_dict(extra)
    if st.inputs is not None:
        parts["inputs"] = manifest.content_digest(st.inputs(ctx))
    return _hash(parts)


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _fingerprint(key: str, previous: str, previous_files: dict) -> str:
    """A step's fingerprint: its key, the previous step's fingerprint (so the chain covers every step
    before it) and the content of the files the previous step wrote (flow.manifest.digest)."""
    return _hash([key, previous, manifest.digest(previous_files)])


def _rechain(state: dict) -> None:
    """Recompute the recorded fingerprints from the recorded keys and files, in order: a step that
    rewrote a file an earlier step wrote took it over, and the next run sees that record."""
    fingerprint, files = "", {}
    for rec in state["steps"].values():
        fingerprint = rec["fingerprint"] = _fingerprint(rec["key"], fingerprint, files)
        files = rec["files"]


def _outputs_problem(folder: Path, st: Step, record: dict) -> str | None:
    """None when the step's outputs are those it wrote; else why not (the step then reruns)."""
    files = record.get("files")
    if not isinstance(files, dict):
        return "its record lists no files"
    for rel in st.outputs:
        if not (folder / rel).exists():
            return f"{rel} is missing"
    problem = manifest.verify(folder, files)
    if problem:
        return problem
    for rel in st.outputs:
        if rel.endswith(".json"):
            try:
                data = json.loads((folder / rel).read_text())
            except (OSError, ValueError, UnicodeDecodeError):
                return f"{rel} is not valid JSON"
            if not isinstance(data, dict):
                return f"{rel} is not a JSON object"
    return st.check(folder) if st.check is not None else None


def _read_state(folder: Path) -> dict:
    """The build record of `folder`, {} when there is none or it is damaged (then every step reruns)."""
    try:
        state = json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(state, dict) or not isinstance(state.get("steps", {}), dict):
        return {}
    return state


def _write_state(folder: Path, state: dict) -> None:
    """Write the build record atomically (a kill never leaves half a file)."""
    tmp = folder / f".{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state, indent=2, default=str))
    os.replace(tmp, folder / STATE_FILE)


def _stage(out: Path) -> Path:
    """A staging folder beside `out`, seeded with the previous build so steps can be skipped."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent))
    if out.is_dir():
        shutil.copytree(out, staging, dirs_exist_ok=True, symlinks=True)
    return staging


def _resume_or_stage(out: Path, force: bool) -> tuple[Path, dict]:
    """The staging folder of this run and the record to skip steps by (called with the lock held).

    A staging folder left by a killed or interrupted run (`.<name>.*.building`) holds the steps it
    completed (its build_state.json is written after every step): the newest one is resumed, the
    others are removed. Otherwise a fresh staging copy of `out` is made."""
    recover_swap(out)
    found = leftovers(out, STAGING)
    resume = None
    for cand in reversed(found):
        if resume is None and not force and _read_state(cand).get("complete") is False:
            resume = cand
            continue
        log.warning("removing %s, left by an interrupted build", cand)
        shutil.rmtree(cand, ignore_errors=True)
    if resume is not None:
        state = _read_state(resume)
        done = [n for n, r in state.get("steps", {}).items() if isinstance(r, dict)]
        log.warning(
            "resuming the interrupted build in %s (steps completed: %s)", resume.name, ", ".join(done) or "none"
        )
        _legacy_paths(resume, state, Path(str(state.get("out"))).parent / resume.name)
        return resume, state
    staging = _stage(out)
    state = {} if force else _read_state(staging)
    _legacy_paths(staging, state, state.get("out"))
    return staging, state


def _legacy_paths(folder: Path, state: dict, old) -> None:
    """A build recorded by an eie-flow that wrote absolute paths (its state names `out`): rewrite them
    to `folder` for this run (the steps that write scripts rerun and make them relative)."""
    if isinstance(state.get("out"), str) and str(old) != str(folder):
        _rewrite_paths(folder, str(old), str(folder))


#: text files that may name the staging folder (generated scripts, hls4ml's config, reports)
_RELOCATE_SUFFIXES = {".tcl", ".yml", ".yaml", ".json", ".sh", ".txt", ".cfg"}
#: files whose absolute paths become relative to the build folder (hls4ml's record of its config)
_RELATIVE_SUFFIXES = {".yml", ".yaml"}


def _relocate(staging: Path, out: Path) -> None:
    """Before the swap: no generated file may name the staging folder. The flow's own scripts use
    paths relative to themselves; hls4ml's config record gets paths relative to the build folder; any
    other text file that still names the staging folder (a vendor tool's project) gets `out`."""
    _rewrite_paths(staging, str(staging) + "/", "", suffixes=_RELATIVE_SUFFIXES)
    _rewrite_paths(staging, str(staging), ".", suffixes=_RELATIVE_SUFFIXES)
    _rewrite_paths(staging, str(staging), str(out))


def _rewrite_paths(staging: Path, old: str, new: str, suffixes: set[str] = _RELOCATE_SUFFIXES) -> None:
    """Replace the absolute folder path `old` by `new` in the generated text files under `staging`.

    In TCL/shell flags (`-I<path>`) a path with white space is put in double quotes, the way the HLS
    tool's cflags (split like a shell command line) need it."""
    import re

    quoted_flag = re.compile(r'-I"' + re.escape(old))
    bare_flag = re.compile(r"-I" + re.escape(old) + r'([^\s}"]*)')
    flag = (lambda m: f'-I"{new}{m.group(1)}"') if any(c.isspace() for c in new) else (lambda m: f"-I{new}{m.group(1)}")
    for path in staging.rglob("*"):
        if path.suffix in suffixes and path.is_file() and path.stat().st_size < 4_000_000:
            text = path.read_text(errors="surrogateescape")
            if old in text:
                text = quoted_flag.sub(lambda m: f'-I"{new}', text)
                text = bare_flag.sub(flag, text)
                path.write_text(text.replace(old, new), errors="surrogateescape")


def _swap_into_place(staging: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{int(time.time() * 1000)}")
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_output_dir(out: Path, force: bool = False) -> Path:
    """Refuse to build into something that is not a previous build folder (never clobber user files),
    or that cannot be one (under /proc, below a file, the current folder or its ancestor)."""
    return check_out(out, marker=STATE_FILE, kind="build folder", force=force)


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

    out = check_output_dir(out, force)
    try:
        with OutputLock(out, "build"):
            return _run_locked(cfg, out, options, force, on_step, steps)
    except OSError as exc:  # disk full, permissions changed under us, ...: the previous build is intact
        where = f" ({exc.filename})" if exc.filename else ""
        raise FlowError(
            f"the build failed writing files{where}: {exc.strerror or exc}; {out} is unchanged "
            "(free space or fix permissions and rerun)"
        ) from None


def _run_locked(cfg, out, options, force, on_step, steps) -> BuildContext:
    staging, previous_state = _resume_or_stage(out, force)
    ctx = BuildContext(cfg=cfg, out=staging, options=dict(options or {}))
    # no absolute path: a build folder can be moved or copied (the scripts name paths relative to themselves)
    state: dict[str, Any] = {"flow_version": __version__, "complete": False, "steps": {}}
    fingerprint, previous_files = "", {}
    try:
        for st in steps:
            name = st.name
            key = _step_key(ctx, st)
            fingerprint = _fingerprint(key, fingerprint, previous_files)
            record = previous_state.get("steps", {}).get(name, {})
            if not isinstance(record, dict):
                record = {}
            up_to_date = record.get("fingerprint") == fingerprint
            if up_to_date:
                problem = _outputs_problem(staging, st, record)
                if problem:
                    log.warning("step %s runs again: %s%s", name, problem.replace(
                        "since it was written", "since this build wrote it"),
                        f" ({st.rerun_hint})" if st.rerun_hint else "")
                    up_to_date = False
            t0 = time.perf_counter()
            if up_to_date:
                info = record.get("info", {})
                summary, notes = record.get("summary", {}), record.get("notes", [])
                ctx.summary.update(summary)
                ctx.notes.extend(notes)
                files = dict(record["files"])
                status = "skipped"
            else:
                before_summary, before_notes = dict(ctx.summary), len(ctx.notes)
                before = manifest.snapshot(staging, skip=RUNNER_FILES)
                try:
                    info = st.func(ctx) or {}
                except BaseException:
                    _forget_touched(staging, state, before)
                    raise
                files = _took_over(staging, state, before)
                summary = {k: v for k, v in ctx.summary.items() if before_summary.get(k) != v}
                notes = ctx.notes[before_notes:]
                status = "done"
            seconds = time.perf_counter() - t0
            state["steps"][name] = {
                "key": key,
                "fingerprint": fingerprint,
                "seconds": round(seconds if status == "done" else record.get("seconds", 0.0), 3),
                "status": status,
                "info": info,
                "summary": summary,
                "notes": notes,
                "files": files,  # what the step wrote: verified before a skip, owned by the flow
            }
            _rechain(state)
            fingerprint, previous_files = state["steps"][name]["fingerprint"], files
            _write_state(staging, state)  # checkpoint: a killed build resumes after this step
            if on_step is not None:
                on_step(name, status, seconds)
        state["summary"] = ctx.summary
        state["notes"] = ctx.notes
        state["complete"] = True
        _relocate(staging, out)
        for rec in state["steps"].values():  # relocation rewrote some of them: record what is there
            rec["files"] = manifest.scan(staging, sorted(rec["files"]))
        _rechain(state)
        _write_state(staging, state)
        _swap_into_place(staging, out)
    except KeyboardInterrupt:
        if state["steps"]:
            log.warning(
                "build interrupted; the %d completed step(s) are kept in %s and the next run into %s "
                "resumes after them (%s is unchanged)", len(state["steps"]), staging.name, out.name, out.name,
            )
        else:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    except BaseException as exc:
        if state["steps"] and not _frees_space(exc):
            # a failed step (not only a kill) keeps the completed ones: the rerun, after the cause is
            # fixed, resumes after them; the failed step's half-written files stay in the staging folder
            # (it reruns from scratch) and `out` is untouched
            log.warning(
                "step %s failed; the %d completed step(s) (%s) are kept in %s and the next run into %s "
                "resumes after them (%s is unchanged)", _failed_step(steps, state), len(state["steps"]),
                ", ".join(state["steps"]), staging.name, out.name, out.name,
            )
            raise
        if os.environ.get("FLOW_KEEP_FAILED"):
            log.error("build failed; its staging folder is kept for inspection: %s", staging)
        else:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    ctx.out = out
    return ctx


def _took_over(staging: Path, state: dict, before: dict) -> dict:
    """The record of the files a step just wrote (those new or changed since `before`); the files it
    rewrote or removed leave the records of the steps before it."""
    written, removed = manifest.changes(before, manifest.snapshot(staging, skip=RUNNER_FILES))
    for rec in state["steps"].values():
        rec["files"] = {k: v for k, v in rec["files"].items() if k not in written and k not in removed}
    return manifest.scan(staging, sorted(written))


def _forget_touched(staging: Path, state: dict, before: dict) -> None:
    """A step failed (or was interrupted) after rewriting files of the steps before it (e.g. the HLS
    project, re-made on first use): they leave those steps' records, so the resumed build does not
    redo those steps; the failed step reruns and writes them again."""
    try:
        _took_over(staging, state, before)
        _rechain(state)
        _write_state(staging, state)
    except Exception:  # noqa: BLE001 - e.g. a full disk: the step's own error is the one to report
        log.debug("could not update the build record after the failed step", exc_info=True)


def _frees_space(exc: BaseException) -> bool:
    """A full disk: the staging folder is removed to give the space back (a rerun starts afresh)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _failed_step(steps: Sequence[Step], state: dict) -> str:
    """The name of the first step without a record in `state` (the one that failed)."""
    return next((st.name for st in steps if st.name not in state["steps"]), "?")
