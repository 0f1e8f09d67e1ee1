"""The C++ compiler of the flow: which one, its common flags, and running it with a time limit.

Every g++ run of the flow goes through here (flow.eie.csim, flow.board.axi_top, flow.board.axi_tb,
flow.hls.backend's build_lib.sh):

- `compiler()`: ``$CXX`` (a command, e.g. ``clang++`` or ``ccache g++``), else ``g++``; ToolMissing
  naming CXX when it is not on PATH;
- `flags()` / `include_flags()`: ``-std=c++14 -O2 -fPIC -w`` and ``-I`` the vendored ap_types (and the
  kernels); the optimisation level stays a parameter;
- `run_compiler(cmd, what=...)`: runs a compiler command with a time limit (600 s, ``$FLOW_CXX_TIMEOUT``
  overrides; 0 = none). FlowError on a timeout (what, the limit, how to raise it) or on a failure (the
  compiler's output, its first and last lines when long).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

from flow.errors import FlowError, ToolMissing, UsageError

log = logging.getLogger(__name__)

#: environment variable naming the C++ compiler (a command: may carry a launcher or options)
CXX_ENV = "CXX"
#: environment variable overriding the time limit of one compiler run, in seconds (0: no limit)
TIMEOUT_ENV = "FLOW_CXX_TIMEOUT"
DEFAULT_COMPILER = "g++"
DEFAULT_TIMEOUT = 600.0
STD = "-std=c++14"
#: optimisation level of every csim build (-O3 gains nothing measurable on the PE loops here)
OPT = "-O2"
#: characters of compiler output an error keeps (its start and its end)
OUTPUT_LIMIT = 4000


def compiler(cxx: str | None = None, *, purpose: str = "to run C simulation") -> list[str]:
    """The compiler command: ``cxx``, else ``$CXX``, else ``g++``; its first word resolved on PATH.

    ToolMissing names CXX when the compiler is not found.
    """
    from_env = cxx is None and bool(os.environ.get(CXX_ENV, "").strip())
    spec = cxx if cxx is not None else (os.environ.get(CXX_ENV, "").strip() or DEFAULT_COMPILER)
    words = shlex.split(spec) or [DEFAULT_COMPILER]
    exe = shutil.which(words[0])
    if exe is None:
        origin = f" (from {CXX_ENV}={spec!r})" if from_env else ""
        raise ToolMissing(
            f"{words[0]} is not on PATH{origin}: install g++ (apt-get install g++) or set {CXX_ENV} to a "
            f"C++14 compiler {purpose}"
        )
    return [exe, *words[1:]]


@functools.cache
def _accepts(cmd: tuple[str, ...], flag: str) -> bool:
    """Whether the compiler takes ``flag`` (g++ does; clang rejects e.g. -fno-gnu-unique)."""
    try:
        res = subprocess.run(
            [*cmd, "-Werror", flag, "-fsyntax-only", "-xc++", "-", "-o", os.devnull],
            input="",
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def flags(
    *, opt: str = OPT, pic: bool = True, no_gnu_unique: bool = False, cxx: list[str] | None = None
) -> list[str]:
    """``-std=c++14 <opt> [-fPIC] [-fno-gnu-unique] -w``.

    ``no_gnu_unique`` (libraries loaded more than once per process) is dropped when the compiler
    ``cxx`` (default `compiler()`) does not take it.
    """
    out = [STD, opt]
    if pic:
        out.append("-fPIC")
    if no_gnu_unique and _accepts(tuple(cxx or compiler()), "-fno-gnu-unique"):
        out.append("-fno-gnu-unique")
    out.append("-w")
    return out


def include_flags(*dirs, kernels: bool = True) -> list[str]:
    """``-I`` the vendored ap_types, the kernels (``kernels``) and then ``dirs``."""
    from flow.paths import ap_types_dir, kernels_dir

    paths = [ap_types_dir(), *([kernels_dir()] if kernels else []), *dirs]
    return [f"-I{p}" for p in paths]


def timeout_s(default: float | None = None) -> float | None:
    """The time limit of one compiler run: ``$FLOW_CXX_TIMEOUT``, else ``default`` (600 s); None: none."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT if default is None else float(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # negative or NaN
        raise UsageError(
            f"{TIMEOUT_ENV}={raw!r} is not a number of seconds; set e.g. {TIMEOUT_ENV}=1200 (0: no limit)"
        )
    return None if value == 0 or math.isinf(value) else value


def _trim(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The start (first errors) and the end (last lines) of long compiler output."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[: limit // 2].rsplit("\n", 1)[0]
    tail = text[-(limit - len(head)) :].split("\n", 1)[-1]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters omitted ...]\n{tail}"


def _kill(proc: subprocess.Popen) -> None:
    """Kill the compiler and its children (cc1plus, as, ld: its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.communicate()


def run_compiler(
    cmd,
    *,
    what: str,
    timeout: float | None = None,
    cwd=None,
    env: dict | None = None,
    tool: str | None = None,
) -> subprocess.CompletedProcess:
    """Run the compiler command ``cmd`` (building ``what``) with a time limit; its CompletedProcess.

    ``timeout`` is this call's limit in seconds (default 600 s); ``$FLOW_CXX_TIMEOUT`` overrides it.
    FlowError when the limit passes (the compiler and its children are killed) or the command fails
    (its output, trimmed to the first and last lines); ``tool`` names the command in the messages
    (default: the name of cmd[0]).
    """
    cmd = [str(c) for c in cmd]
    tool = tool or Path(cmd[0]).name
    limit = timeout_s(timeout)
    log.debug("compiling %s: %s", what, shlex.join(cmd))
    # made in two halves: a signal (Ctrl-C, SIGTERM) arriving inside Popen(), after the fork, still
    # finds the compiler to stop (flow.proc)
    proc = subprocess.Popen.__new__(subprocess.Popen)
    try:
        proc.__init__(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a timeout kills the whole group, cc1plus included
        )
    except OSError as exc:
        raise ToolMissing(f"could not start {tool} to build {what}: {exc}") from None
    except BaseException:
        if getattr(proc, "pid", None):
            from flow.proc import stop_group

            stop_group(proc)
        raise
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise FlowError(
            f"{tool} did not finish building {what} within {limit:g} s and was stopped; "
            f"raise the limit with {TIMEOUT_ENV}=<seconds> (e.g. {TIMEOUT_ENV}={max(2 * limit, 1200):g}; 0: no limit)"
        ) from None
    except BaseException:  # Ctrl-C: the compiler runs in its own session, so stop it here
        _kill(proc)
        raise
    if proc.returncode != 0:
        why = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        output = _trim("\n".join(s for s in (stdout.strip(), stderr.strip()) if s)) or "no output"
        raise FlowError(f"{tool} failed on {what} ({why}):\n{output}")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
