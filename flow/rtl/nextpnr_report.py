"""Reading nextpnr-ecp5's JSON report (`--report`, `--detailed-timing-report`) and Yosys'
`stat` after `synth_ecp5`: routed Fmax, ECP5 resources, and the critical path as a listing by
RTL signal.

The path listing groups the report's segments (clk-to-q, routing, logic, setup) by the RTL
signal they belong to. nextpnr names a net or cell after Yosys' `autoname`, which spells a
mapped cell by the register its output feeds, e.g.
`u_engine.bc_bank[1]_TRELLIS_FF_Q_DI_LUT4_Z_D_LUT4_Z...`: a LUT in the D-input cone of the
flip-flop whose Q is `u_engine.bc_bank[1]`. `rtl_signal` keeps that RTL prefix, so a run of
LUT levels reads as "the logic computing bc_bank[1]" with its delays and source lines.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: ECP5 primitive names Yosys' autoname appends after the RTL signal
_PRIMS = ("TRELLIS_FF", "TRELLIS_COMB", "TRELLIS_DPR16X4", "TRELLIS_RAMW", "LUT4", "CCU2C", "PFUMX",
          "L6MUX21", "DP16KD", "MULT18X18D", "ALU54B", "TRELLIS_IO")  # fmt: skip
_SUFFIX = re.compile(r"_(?:" + "|".join(_PRIMS) + r")_.*$|\$.*$")
#: device capacities of the LFE5U-85F (nextpnr's utilisation report gives them too)
ECP5_85F = {"TRELLIS_COMB": 83640, "TRELLIS_FF": 83640, "DP16KD": 208, "MULT18X18D": 156}


def rtl_signal(name: str | None) -> str:
    """The RTL signal a mapped net or cell belongs to (autoname suffix and `$...` parts removed);
    `$nextpnr...`/`$abc...` names without an RTL prefix stay as they are."""
    if not name:
        return ""
    if name.startswith("$"):
        return name
    base = _SUFFIX.sub("", name)
    return base or name


def _stem(sig: str) -> str:
    """A signal without its trailing bit index (n_in[3] and n_in are one step of the path)."""
    return re.sub(r"\[\d+\]$", "", sig)


def _rtl_sources(segment: dict) -> list[str]:
    """file:line of the segment's RTL sources (the tool's own techmap files left out)."""
    out = []
    for s in segment.get("sources") or []:
        if "/share/" in s:
            continue
        m = re.match(r"(.*?):(\d+)", s)
        out.append(f"{Path(m.group(1)).name}:{m.group(2)}" if m else s)
    return out


def path_listing(path: list[dict]) -> list[dict]:
    """The critical path grouped by RTL signal, start to end: per group the signal (of the
    cells: a register's clock-to-Q, the LUTs of its next-state logic), its LUT/carry levels
    (logic segments with a delay), logic ns, the routing ns of the nets those cells drive, and
    the RTL source lines."""
    rows: list[dict] = []
    for seg in path:
        kind = seg.get("type", "")
        d = float(seg.get("delay", 0.0))
        if kind == "routing" and rows:  # a net belongs to the cell driving it (its autoname may
            sig = rows[-1]["signal"]  # spell a sink, e.g. a shell register it also feeds)
        elif kind == "routing":
            sig = rtl_signal(seg.get("net"))
        else:
            sig = rtl_signal((seg.get("to") or {}).get("cell") if kind != "clk-to-q" else (seg.get("from") or {}).get("cell"))
        if sig.startswith("$") and rows:  # an unnamed nextpnr-internal cell: part of its neighbour
            sig = rows[-1]["signal"]
        if not rows or _stem(rows[-1]["signal"]) != _stem(sig):
            rows.append({"signal": sig, "levels": 0, "logic_ns": 0.0, "routing_ns": 0.0, "src": []})
        row = rows[-1]
        if kind == "routing":
            row["routing_ns"] += d
        else:
            row["logic_ns"] += d
            row["levels"] += int(kind == "logic" and d > 0)
        for s in _rtl_sources(seg):
            if s not in row["src"]:
                row["src"].append(s)
    for row in rows:
        row["logic_ns"] = round(row["logic_ns"], 3)
        row["routing_ns"] = round(row["routing_ns"], 3)
    return rows


def _clock_paths(report: dict) -> list[dict]:
    """Register-to-register critical paths (posedge -> posedge of one clock)."""
    return [c for c in report.get("critical_paths", [])
            if c.get("from", "").startswith("posedge") and c.get("to", "").startswith("posedge")]  # fmt: skip


def parse_report(text: str) -> dict:
    """Fmax (achieved and target, MHz), utilisation (used/available per ECP5 resource) and the
    register-to-register critical path (total, logic and routing ns, listing by RTL signal)."""
    report = json.loads(text)
    fmax = report.get("fmax") or {}
    used = {k: v for k, v in report.get("utilization", {}).items() if v.get("used")}
    if not fmax:  # --no-route: nextpnr writes utilisation only
        return {"fmax_mhz": None, "clock": None, "target_mhz": None, "utilisation": used, "path": None}
    clock = next((k for k in fmax if "clk" in k), next(iter(fmax)))
    out = {
        "clock": clock,
        "fmax_mhz": round(float(fmax[clock]["achieved"]), 2),
        "target_mhz": float(fmax[clock].get("constraint", 0.0)),
        "utilisation": used,
        "path": None,
    }
    paths = _clock_paths(report)
    if paths:
        segs = paths[0]["path"]
        logic = sum(float(s["delay"]) for s in segs if s.get("type") != "routing")
        routing = sum(float(s["delay"]) for s in segs if s.get("type") == "routing")
        listing = path_listing(segs)
        out["path"] = {
            "total_ns": round(logic + routing, 3),
            "logic_ns": round(logic, 3),
            "routing_ns": round(routing, 3),
            "levels": sum(r["levels"] for r in listing),
            "start": listing[0]["signal"] if listing else None,
            "end": listing[-1]["signal"] if listing else None,
            "listing": listing,
        }
    return out


def log_fmax(text: str) -> list[float]:
    """Every "Max frequency for clock" figure of a nextpnr log, in order (after placement,
    then after routing when it routed): the last one of a --no-route run is the placement
    estimate (routing delays estimated from distance)."""
    return [float(m) for m in re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz", text)]


def parse_stat(text: str) -> dict:
    """Cell counts of `stat` after synth_ecp5 (flattened: one module): LUT4, FF, DP16KD,
    MULT18X18D, carry cells (CCU2C, two LUT4s each), LUT RAM (TRELLIS_DPR16X4), wide muxes."""
    cells: dict[str, int] = {}
    for m in re.finditer(r"^\s+(\d+)\s+(\S+)\s*$", text, re.M):  # Yosys >= 0.5x: "count name"
        if not m.group(2).startswith("$"):
            cells[m.group(2)] = cells.get(m.group(2), 0) + int(m.group(1))
    if not cells:  # older Yosys: "name count"
        for m in re.finditer(r"^\s+(\S+)\s+(\d+)\s*$", text, re.M):
            if not m.group(1).startswith(("$", "Number")):
                cells[m.group(1)] = cells.get(m.group(1), 0) + int(m.group(2))
    return {
        "LUT4": cells.get("LUT4", 0),
        "CCU2C": cells.get("CCU2C", 0),
        "FF": cells.get("TRELLIS_FF", 0),
        "DP16KD": cells.get("DP16KD", 0),
        "MULT18X18D": cells.get("MULT18X18D", 0),
        "LUTRAM_DPR16X4": cells.get("TRELLIS_DPR16X4", 0),
        "PFUMX": cells.get("PFUMX", 0),
        "L6MUX21": cells.get("L6MUX21", 0),
        "cells": {k: v for k, v in cells.items() if k not in ("wires", "ports", "cells") and not k.endswith("bits")},
    }


def format_listing(listing: list[dict]) -> str:
    """The path listing as a Markdown table (start at the top)."""
    lines = ["| RTL signal | levels | logic ns | routing ns | source |", "| --- | --- | --- | --- | --- |"]
    for r in listing:
        lines.append(f"| `{r['signal']}` | {r['levels']} | {r['logic_ns']:.2f} | {r['routing_ns']:.2f} | "
                     f"{', '.join(r['src'][:3])} |")  # fmt: skip
    return "\n".join(lines)
