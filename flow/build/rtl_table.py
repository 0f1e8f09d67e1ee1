"""The rtl step's results as tables for `flow build` / `flow report`: RTL simulation and Yosys
synthesis (measured) beside the models, each row labelled with where its numbers come from.

The rtl step writes reports/rtl.json (flow.rtl.run.rtl_report); its keys grow as the RTL work goes
on, so every figure here is optional: a missing one shows as "-", never as an error. A file that is
missing, damaged, of the wrong shape, or disagrees with the build's record is said so in one line
naming the file and the fix (`read_rtl`, `disagreement`), never dropped in silence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RTL_JSON = "reports/rtl.json"
RESOURCES_JSON = "reports/resources.json"
#: board resource field per synthesis count (bram36 counts RAMB36 equivalents)
_BOARD_FIELD = {"LUT": "lut", "FF": "ff", "BRAM36": "bram36", "DSP": "dsp", "URAM": "uram"}


def _read(path: Path) -> dict | None:
    """A JSON object, or None when the file is absent or damaged (the report shows what it can)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def load_rtl(build_dir: Path) -> dict | None:
    """reports/rtl.json of a build, None when it is absent, damaged or of the wrong shape."""
    return read_rtl(build_dir)[0]


#: what to do about a missing, damaged or edited reports/rtl.json
FIX = ("rerun the `flow build` that made this folder (same options): the rtl step runs again, because "
       "its outputs are checked before a step is called up to date")
_COUNTS = ("n", "bit_mismatches", "model_checked", "model_cycle_mismatches")
_NUMBERS = ("accuracy_rtl", "cycles_mean", "cycles_p99", "cycles_max", "inferences_per_s_100mhz")


def shape_problem(data: Any) -> str | None:
    """None when `data` has the shape of an rtl step report (keys may be missing; present ones typed)."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__} instead of an object"
    if "skipped" in data:
        return None if isinstance(data["skipped"], str) else "'skipped' is not a text"
    sim = data.get("rtlsim")
    if not isinstance(sim, dict):
        return "no 'rtlsim' object and no 'skipped' reason"
    for key in _COUNTS:
        v = sim.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            return f"rtlsim.{key} is {v!r}, not a count"
    for key in _NUMBERS:
        v = sim.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            return f"rtlsim.{key} is {v!r}, not a number"
    if "yosys" in data and not isinstance(data["yosys"], dict):
        return "'yosys' is not an object"
    return None


def read_rtl(build_dir: Path) -> tuple[dict | None, str | None]:
    """(the report, None), or (None, why it cannot be shown: missing, damaged, wrong shape)."""
    path = Path(build_dir) / RTL_JSON
    if not path.is_file():
        return None, f"{RTL_JSON} is missing"
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return None, f"{RTL_JSON} is damaged (not valid JSON: truncated or edited)"
    except OSError as exc:
        return None, f"{RTL_JSON} cannot be read ({exc.strerror})"
    shape = shape_problem(data)
    if shape:
        return None, f"{RTL_JSON} has the wrong shape ({shape})"
    return data, None


def problem(build_dir: Path) -> str | None:
    """Why reports/rtl.json cannot be shown, None when it can (the rtl step's output check)."""
    return read_rtl(build_dir)[1]


def disagreement(rtl: dict, state: dict) -> str | None:
    """None when the figures of reports/rtl.json are those the build recorded for its rtl step (the
    summary's), else the differences: the file was changed after the build."""
    info = (state.get("steps", {}).get("rtl") or {}).get("info")
    if not isinstance(info, dict) or "skipped" in rtl:
        return None
    sim = rtl.get("rtlsim") or {}
    yosys = rtl.get("yosys") if isinstance(rtl.get("yosys"), dict) else {}
    syn = next((r for r in yosys.values() if isinstance(r, dict)), {})
    now = {"bit_mismatches": sim.get("bit_mismatches"), "cycles_mean": sim.get("cycles_mean"),
           "LUT": syn.get("LUT"), "BRAM36": syn.get("BRAM36"), "DSP": syn.get("DSP")}
    diff = [f"{k} {now[k]!r} in the file, {info[k]!r} in the build's record"
            for k in now if k in info and now[k] != info[k]]
    if not diff:
        return None
    return f"{RTL_JSON} disagrees with the build's record ({'; '.join(diff)}): it was changed after the build"


def rtl_status(build_dir: Path, state: dict | None = None) -> tuple[dict | None, dict | None]:
    """(the report to show or None, None when all is well, else {"error", "file", "fix"}) for
    `flow report` (its lines, and `rtl_report` in --json)."""
    rtl, why = read_rtl(build_dir)
    has_step = state is None or "rtl" in state.get("steps", {})
    if rtl is None and not has_step and why == f"{RTL_JSON} is missing":
        return None, None  # a build without an rtl step (an older flow, a custom step list)
    if rtl is not None and state is not None:
        why = disagreement(rtl, state)
    if why is None:
        return rtl, None
    return rtl, {"error": why, "file": RTL_JSON, "fix": FIX}


def _state(build_dir: Path) -> dict | None:
    """The build record (build_state.json), None when unreadable (flow.build.summary says so)."""
    from flow.build.runner import STATE_FILE

    state = _read(Path(build_dir) / STATE_FILE)
    return state if state is not None and isinstance(state.get("steps", {}), dict) else None


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _label(source: Any, default: str) -> str:
    """The short source label: the part of a `source` string before its explanation."""
    return str(source).split(";")[0].strip() if isinstance(source, str) and source.strip() else default


def _board(build_dir: Path) -> tuple[Any, float | None]:
    """The build's Board (for % of the board) and clock in MHz, from reports/resources.json."""
    res = _read(Path(build_dir) / RESOURCES_JSON) or {}
    clock = res.get("clock_mhz") if isinstance(res.get("clock_mhz"), (int, float)) else None
    board = None
    if isinstance(res.get("board"), str):
        try:
            from flow.board.boards import load_board

            board = load_board(res["board"])
        except Exception:  # noqa: BLE001 - a board file renamed since the build: no percentages
            board = None
    return board, clock


def _family_of(board) -> str | None:
    if board is None:
        return None
    part = str(board.part).lower()
    return "xcup" if part.startswith(("xck", "xczu", "xcu")) else "xc7"


def _count(rep: dict, key: str, board, pct: bool) -> str:
    value = rep.get(key)
    text = _num(value, ",.0f" if key != "BRAM36" else ",.1f")
    limit = getattr(board.resources, _BOARD_FIELD[key], 0) if (pct and board is not None) else 0
    if text != "-" and limit:
        text += f" ({value / limit:.0%})"
    return text


def sim_rows(rtl: dict, clock_mhz: float | None) -> list[list[str]]:
    """[source, samples, accuracy, bit mismatches, cycles mean, cycles p99, inf/s, cycle-model check]."""
    s = rtl.get("rtlsim")
    if not isinstance(s, dict):
        return []
    mean = s.get("cycles_mean")
    rate = (clock_mhz or 100.0) * 1e6 / mean if isinstance(mean, (int, float)) and mean > 0 else None
    checked, wrong = s.get("model_checked"), s.get("model_cycle_mismatches")
    model = f"{_num(wrong, 'd')} of {_num(checked, 'd')} differ" if checked is not None else "-"
    return [[
        _label(s.get("source"), "RTL simulation"), _num(s.get("n"), "d"), _num(s.get("accuracy_rtl"), ".4f"),
        _num(s.get("bit_mismatches"), "d"), _num(mean, ".1f"), _num(s.get("cycles_p99"), ".0f"),
        _num(rate, ",.0f"), model,
    ]]


def synth_rows(rtl: dict, board) -> list[list[str]]:
    """[source, family/device, LUT, FF, BRAM36, DSP, URAM, critical path] rows: Yosys per family, then
    the structural estimate; percentages of the board only for the board's own family."""
    rows = []
    yosys = rtl.get("yosys") if isinstance(rtl.get("yosys"), dict) else {}
    own = _family_of(board)
    for family, rep in yosys.items():
        if not isinstance(rep, dict):
            continue
        pct = rep.get("family", family) == own
        sta = rep.get("sta_ns")
        path = f"{_num(sta, '.3f')} ns (pre-route lower bound)" if isinstance(sta, (int, float)) else "-"
        rows.append([_label(rep.get("source"), "Yosys"), str(rep.get("device", family)),
                     *(_count(rep, k, board, pct) for k in _BOARD_FIELD), path])
    est = rtl.get("estimate")
    if isinstance(est, dict):
        name = own or "-"
        counts = [_count(est, k, board, True) for k in _BOARD_FIELD]
        rows.append(["modelled (flow.rtl.estimate)", name, *counts, "-"])
    return rows


def print_rtl(build_dir: Path, console) -> dict | None:
    """Print the rtl step's tables (nothing when the build has no reports/rtl.json); returns its data."""
    from flow.build.tables import print_table

    rtl, error = rtl_status(build_dir, _state(build_dir))
    if error is not None:
        from rich.markup import escape

        console.print(f"[yellow]rtl:[/] {escape(error['error'])}; fix: {escape(error['fix'])}", highlight=False)
    if rtl is None:
        return None
    board, clock = _board(build_dir)
    if "skipped" in rtl:
        console.print(f"[yellow]rtl:[/] skipped: {rtl['skipped']}")
        return rtl
    at = f"{clock:g} MHz" if clock else "100 MHz"
    print_table(console, "RTL engine: simulation (measured unless labelled)",
                ["source", "samples", "accuracy", "bit mismatches", "cycles/inf mean", "cycles/inf p99",
                 f"inf/s at {at}", "cycle model (flow.eie.perf_rtl)"],
                sim_rows(rtl, clock), right=range(1, 7))
    where = f", % of {board.name}" if board is not None else ""
    print_table(console, f"RTL engine: synthesis (measured unless labelled{where})",
                ["source", "device", *_BOARD_FIELD, "critical path"], synth_rows(rtl, board),
                right=range(2, 2 + len(_BOARD_FIELD)))
    return rtl
