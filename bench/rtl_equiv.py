#!/usr/bin/env python3
"""Formal equivalence (Yosys) of the RTL engine at a git revision (gold) and the working tree's
sources (gate), on small engines: the proof that a refactoring of kernels/rtl changed nothing.

Both designs are elaborated with the same parameters (`-DSYNTHESIS`, so simulation checks are
out), flattened, their memories mapped to flip-flops (hence small engines); the gate's state
names are mapped back onto the gold's where a module boundary moved them (`u_ctl.state` ->
`state`, plus a few renamed signals). Then `equiv_make`, `equiv_simple -seq`, `equiv_induct
-seq` and `equiv_status -assert`: every output and every matched state bit proven equal for all
input sequences, by induction (not a bounded run from reset).

    PYTHONPATH=. python bench/rtl_equiv.py --gold-rev <rev> [--gate-rev <rev>]   # bench/results/rtl_equiv.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.rtl.params import EngineParams  # noqa: E402
from flow.rtl.verilator import rtl_sources  # noqa: E402

#: small engines (every memory a few words: they become flip-flops); ANYR 0 and 1
CONFIGS = {
    "P4_anyr0": EngineParams(P=4, ANYR=0, MAXG=2, DMAX=2, NL=2, NX=64, XW=8, WW=4, ACCW=13, CBW=2,
                             IXW=2, ENT_D=8, PTR_D=4, ACC_D=2, BIAS_D=4, OL=2),
    "P3_anyr1": EngineParams(P=3, ANYR=1, MAXG=2, DMAX=2, NL=2, NX=64, XW=8, WW=4, ACCW=13, CBW=2,
                             IXW=2, ENT_D=8, PTR_D=4, ACC_D=2, BIAS_D=4, OL=1),
}  # fmt: skip
#: gate (new) state names whose gold (old) name differs beyond the instance prefix
RENAMES = {"in_lines": "lines_in"}
#: instance prefixes of the split engine's submodules (stripped from the gate's names)
PREFIXES = ("u_table.", "u_ctl.", "u_store.", "u_bc.", "u_gather.")


def gold_sources(rev: str, into: Path) -> list[Path]:
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, "kernels/rtl/"],
                           check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    out = []
    for name in names:
        if name.endswith(".sv"):
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{name}"], check=True,
                                  capture_output=True, text=True).stdout  # fmt: skip
            (into / Path(name).name).write_text(text)
            out.append(into / Path(name).name)
    return out


def _elab(srcs, params: EngineParams, name: str, il: str) -> str:
    chparam = " ".join(f"-set {k} {v}" for k, v in params.generics().items())
    return (
        f"design -reset\nread_verilog -sv -DSYNTHESIS {' '.join(map(str, srcs))}\n"
        f"chparam {chparam} eie_engine\nhierarchy -top eie_engine\nproc\nflatten\n"
        f"memory -nordff\nopt_clean\nrename -top {name}\nwrite_rtlil {il}\n"
    )


def _wires(il_text: str) -> set[str]:
    return set(re.findall(r"^\s*wire (?:.* )?(\\\S+)$", il_text, re.M))


def _map_names(gate: str, gold: str) -> tuple[str, int]:
    """The gate's wire names stripped of a submodule prefix (and RENAMES) when the gold has that
    name and the gate does not: the state equiv_make pairs up."""
    gold_w, gate_w = _wires(gold), _wires(gate)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    # a submodule's name first (two gate wires of one net may map to one gold name: take one)
    for w in sorted(gate_w, key=lambda w: not w[1:].startswith(PREFIXES)):
        base = w[1:]
        for pre in PREFIXES:
            if base.startswith(pre):
                base = base[len(pre):]
                break
        head = re.match(r"[^.\[]+", base).group(0)
        base = RENAMES.get(head, head) + base[len(head):]
        new = "\\" + base
        if new != w and new in gold_w and new not in gate_w and new not in taken:
            mapping[w] = new
            taken.add(new)
    pat = re.compile("|".join(re.escape(w) for w in sorted(mapping, key=len, reverse=True)) + r"(?=\s|$)", re.M)
    return (pat.sub(lambda m: mapping[m.group(0)], gate) if mapping else gate), len(mapping)


def prove(gold_srcs, gate_srcs, params: EngineParams, work: Path, seq: int = 4) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    from flow.errors import ToolMissing
    from flow.rtl import tools

    try:
        yosys = tools.require("yosys")  # FLOW_YOSYS, the wheel (a script or the module), PATH
    except ToolMissing as exc:
        raise SystemExit(str(exc)) from None
    rel = {}  # relative paths: YoWASP's Yosys does not see /tmp by its absolute path
    for side, srcs in (("gold", gold_srcs), ("gate", gate_srcs)):
        (work / side).mkdir(exist_ok=True)
        rel[side] = [f"{side}/{Path(s).name}" for s in srcs]
        for s in srcs:
            shutil.copy(s, work / side / Path(s).name)
    script = _elab(rel["gold"], params, "gold", "gold.il") + _elab(rel["gate"], params, "gate", "gate_raw.il")
    (work / "elab.ys").write_text(script)
    subprocess.run(yosys.cmd("-q", "-s", "elab.ys"), cwd=work, check=True, env=yosys.child_env())
    gate, n = _map_names((work / "gate_raw.il").read_text(), (work / "gold.il").read_text())
    (work / "gate.il").write_text(gate)
    (work / "equiv.ys").write_text(
        "read_rtlil gold.il\nread_rtlil gate.il\nequiv_make gold gate equiv\nhierarchy -top equiv\n"
        f"equiv_simple -seq {seq}\nequiv_induct -seq {seq}\ntee -o status.txt equiv_status\nequiv_status -assert\n"
    )
    t0 = time.perf_counter()
    res = subprocess.run(yosys.cmd("-s", "equiv.ys"), cwd=work, capture_output=True, text=True, env=yosys.child_env())
    status = (work / "status.txt").read_text() if (work / "status.txt").exists() else ""
    m = re.search(r"Found (\d+) \$equiv cells in equiv:\s*\n\s*Of those cells (\d+) are proven and (\d+) are unproven", status)
    return {
        "proven": res.returncode == 0,
        "equiv_cells": int(m.group(1)) if m else None,
        "proven_cells": int(m.group(2)) if m else None,
        "unproven_cells": int(m.group(3)) if m else None,
        "renamed_gate_wires": n,
        "seconds": round(time.perf_counter() - t0, 1),
        "status": status.strip().splitlines()[-12:],
        "engine": params.generics(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold-rev", required=True, help="git revision of the reference RTL")
    ap.add_argument("--gate-rev", help="git revision of the RTL to check (default: the working tree)")
    ap.add_argument("--gate-dir", type=Path, help="folder of the RTL to check (default: kernels/rtl)")
    ap.add_argument("--config", choices=sorted(CONFIGS), action="append", help="default: all")
    ap.add_argument("--seq", type=int, default=4, help="time steps of equiv_simple / equiv_induct")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (Yosys scripts, logs)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rtl_equiv.json")
    args = ap.parse_args(argv)
    gate = sorted(args.gate_dir.glob("*.sv")) if args.gate_dir else rtl_sources()
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.gold_rev], check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.keep:
            tmp = str(args.keep)
            args.keep.mkdir(parents=True, exist_ok=True)
        (Path(tmp) / "gold_src").mkdir(exist_ok=True)
        gold = gold_sources(rev, Path(tmp) / "gold_src")
        if args.gate_rev:
            (Path(tmp) / "gate_src").mkdir(exist_ok=True)
            gate = gold_sources(args.gate_rev, Path(tmp) / "gate_src")
        for name in args.config or sorted(CONFIGS):
            r = prove(gold, gate, CONFIGS[name], Path(tmp) / name, args.seq)
            results[name] = r
            print(f"{name}: {'PROVEN' if r['proven'] else 'NOT PROVEN'}: {r['proven_cells']} of {r['equiv_cells']} "
                  f"$equiv cells ({r['renamed_gate_wires']} gate names mapped, {r['seconds']} s)")  # fmt: skip
            if not r["proven"]:
                print("\n".join(r["status"]))
    from flow.rtl import tools

    yv = tools.require("yosys").label()
    args.out.write_text(json.dumps({"gold_rev": rev, "gate": args.gate_rev or str(args.gate_dir or "working tree kernels/rtl"), "yosys": yv,
                                    "method": "equiv_make, equiv_simple -seq, equiv_induct -seq, equiv_status -assert",
                                    "results": results}, indent=1))  # fmt: skip
    return 0 if all(r["proven"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
