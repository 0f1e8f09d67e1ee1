"""Vitis HLS synthesis and co-simulation reports: read them, set them beside the model, gate on II.

csynth.xml (Vitis HLS 2023.x/2024.x, `<project>_prj/solution1/syn/report/`): the top's
`csynth.xml` and one `<module>_csynth.xml` per synthesised function. Read per report:
`UserAssignments` (TopModelName, TargetClockPeriod, Part), `PerformanceEstimates/
SummaryOfTimingAnalysis/EstimatedClockPeriod`, `SummaryOfOverallLatency` (Best-/Worst-caseLatency,
Interval-min/-max), `SummaryOfLoopLatency/<loop>` (Name, TripCount, Latency, PipelineII,
PipelineDepth; a trip count or latency is a number or `<range><min/><max/></range>`, `undef` when
unknown; loops nest), `AreaEstimates/Resources` (BRAM_18K, DSP, FF, LUT, URAM).

`gate(report, allow_ii)`: the PE array (every loop named `pe_array`) must reach II = 1; otherwise
the build stops with the numbers (`flow build --allow-ii` goes on with a warning). No `pe_array`
loop in the reports is an error too (the kernel was not synthesised as written).

The cosim report (`solution1/sim/report/<top>_cosim.rpt`): the Verilog/VHDL row's Status
(Pass/Fail) and latency min/avg/max, interval min/avg/max.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flow.errors import FlowError

#: the loop label of the PE array in kernels/hls/eie_dense.h
PE_LOOP = "pe_array"
RESOURCES = ("BRAM_18K", "DSP", "FF", "LUT", "URAM")


class IIMissed(FlowError):
    """The PE array did not reach II = 1 in csynth."""


@dataclass
class Loop:
    name: str
    module: str
    ii: int | None  # achieved II (None: not pipelined / undef)
    trip_min: int | None
    trip_max: int | None
    latency_min: int | None
    latency_max: int | None
    depth: int | None


@dataclass
class CsynthReport:
    top: str = ""
    version: str = ""
    part: str = ""
    target_ns: float | None = None
    estimated_ns: float | None = None
    latency_min: int | None = None
    latency_max: int | None = None
    interval_min: int | None = None
    interval_max: int | None = None
    resources: dict = field(default_factory=dict)
    loops: list = field(default_factory=list)

    def loops_named(self, name: str) -> list[Loop]:
        return [lp for lp in self.loops if lp.name == name or lp.name.endswith("_" + name)]

    def to_dict(self) -> dict:
        return asdict(self)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _range(node) -> tuple[int | None, int | None]:
    """A count that is either a number or <range><min/><max/></range>."""
    if node is None:
        return None, None
    rng = node.find("range")
    if rng is not None:
        return _int(rng.findtext("min")), _int(rng.findtext("max"))
    v = _int(node.text)
    return v, v


def _loops(node, module: str) -> list[Loop]:
    out = []
    for child in list(node):
        if child.find("Name") is None:
            continue
        trip = _range(child.find("TripCount"))
        lat = _range(child.find("Latency"))
        out.append(Loop(child.findtext("Name").strip(), module, _int(child.findtext("PipelineII")),
                        trip[0], trip[1], lat[0], lat[1], _int(child.findtext("PipelineDepth"))))
        out += _loops(child, module)  # nested loops
    return out


def parse_csynth_xml(path) -> CsynthReport:
    """One csynth.xml; FlowError naming the file when it is not a Vitis HLS report."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise FlowError(f"cannot read the csynth report {path}: {exc}") from exc
    if root.tag != "profile" or root.find("PerformanceEstimates") is None:
        raise FlowError(f"{path} is not a Vitis HLS csynth report (no profile/PerformanceEstimates)")
    ua = root.find("UserAssignments")
    pe = root.find("PerformanceEstimates")
    rep = CsynthReport(
        top=(ua.findtext("TopModelName") or "").strip() if ua is not None else "",
        version=(root.findtext("ReportVersion/Version") or "").strip(),
        part=(ua.findtext("Part") or "").strip() if ua is not None else "",
        target_ns=_float(ua.findtext("TargetClockPeriod")) if ua is not None else None,
        estimated_ns=_float(pe.findtext("SummaryOfTimingAnalysis/EstimatedClockPeriod")),
    )
    lat = pe.find("SummaryOfOverallLatency")
    if lat is not None:
        rep.latency_min = _int(lat.findtext("Best-caseLatency"))
        rep.latency_max = _int(lat.findtext("Worst-caseLatency"))
        rep.interval_min = _int(lat.findtext("Interval-min"))
        rep.interval_max = _int(lat.findtext("Interval-max"))
    res = root.find("AreaEstimates/Resources")
    if res is not None:
        rep.resources = {k: _int(res.findtext(k)) or 0 for k in RESOURCES if res.find(k) is not None}
    loops = pe.find("SummaryOfLoopLatency")
    if loops is not None:
        rep.loops = _loops(loops, rep.top)
    return rep


def parse_report_dir(report_dir) -> CsynthReport:
    """The top's csynth.xml with the loops of every module's <module>_csynth.xml added."""
    report_dir = Path(report_dir)
    top_path = report_dir / "csynth.xml"
    if not top_path.exists():
        raise FlowError(f"no csynth.xml in {report_dir}: did csynth_design run?")
    rep = parse_csynth_xml(top_path)
    for path in sorted(report_dir.glob("*_csynth.xml")):
        rep.loops += parse_csynth_xml(path).loops
    return rep


def find_report_dir(hls_dir, project: str) -> Path:
    return Path(hls_dir) / f"{project}_prj" / "solution1" / "syn" / "report"


def gate(rep: CsynthReport, *, allow_ii: bool = False, loop: str = PE_LOOP) -> dict:
    """Check the PE array's achieved II; IIMissed with the numbers unless allow_ii (then a warning)."""
    loops = rep.loops_named(loop)
    if not loops:
        raise IIMissed(
            f"csynth ({rep.top or 'top'}): no loop named {loop!r} in the reports; the PE array was not "
            "synthesised as kernels/hls/eie_dense.h writes it"
        )
    missed = [lp for lp in loops if lp.ii is None or lp.ii > 1]
    text = "; ".join(
        f"{lp.module}/{lp.name}: II={lp.ii if lp.ii is not None else 'not pipelined'}, "
        f"trip count {lp.trip_min}..{lp.trip_max}, latency {lp.latency_min}..{lp.latency_max}"
        for lp in (missed or loops)
    )
    if missed and not allow_ii:
        raise IIMissed(f"csynth: the PE array misses II=1 ({text}); the model's cycles assume it. "
                       "`flow build --allow-ii` goes on anyway")
    return {"ok": not missed, "loops": text, "warning": f"PE array misses II=1: {text}" if missed else ""}


@dataclass
class CosimResult:
    status: str  # Pass / Fail / NA
    latency_min: int | None
    latency_avg: int | None
    latency_max: int | None
    interval_min: int | None
    interval_avg: int | None
    interval_max: int | None
    language: str = "Verilog"

    @property
    def passed(self) -> bool:
        return self.status.lower() == "pass"


def parse_cosim_rpt(path) -> CosimResult:
    """The first RTL row (Verilog or VHDL) whose status is not NA, from <top>_cosim.rpt."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise FlowError(f"cannot read the cosim report {path}: {exc}") from exc
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0] in ("Verilog", "VHDL") and cells[1] != "NA":
            nums = [_int(c) for c in cells[2:8]]
            return CosimResult(cells[1], *nums, language=cells[0])
    raise FlowError(f"{path}: no Verilog/VHDL result row in the cosim report")


def find_cosim_rpt(hls_dir, project: str, top: str) -> Path:
    return Path(hls_dir) / f"{project}_prj" / "solution1" / "sim" / "report" / f"{top}_cosim.rpt"


def beside_model(rep: CsynthReport, model: dict) -> dict:
    """csynth's figures next to the model's (model: {'cycles': ..., 'resources': {...}}), labelled."""
    return {
        "csynth (measured by Vitis HLS)": {
            "latency_max": rep.latency_max,
            "interval_max": rep.interval_max,
            "estimated_clock_ns": rep.estimated_ns,
            "resources": rep.resources,
            "pe_array": [asdict(lp) for lp in rep.loops_named(PE_LOOP)],
        },
        "model (flow.eie.perf / flow.board.resources)": model,
    }
