#!/usr/bin/env python3
"""Formal equivalence (Yosys) of eie_pe with WALK = 1 (the working tree) and eie_pe at a git
revision before WALK (gold): the proof that WALK = 1 is the PE it was (docs/rtl.md, "PE with
WALK = 2").

As bench/rtl_equiv.py, on the PE alone (fast: small memories, under a minute a config): both
elaborated with the same generics (`-DSYNTHESIS`), flattened, memories mapped to flip-flops; the
gate's names of state that only moved into a generate block are mapped back onto the gold's (the
codebook under g_w1, the entry RAM behind the WALK = 2 branches of its generate chain); then
`equiv_make`, `equiv_simple -seq`, `equiv_induct -seq`, `equiv_status -assert`.

    PYTHONPATH=. python bench/rtl_equiv_pe.py --gold-rev 397817c   # -> bench/results/rtl_equiv_pe.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rtl_equiv import _wires, gold_sources  # noqa: E402

from flow.rtl.verilator import RTL_DIR  # noqa: E402

BASE = {"DMAX": 4, "XW": 8, "WW": 4, "ACCW": 16, "CBW": 2, "IXW": 3, "NL": 2, "ENT_D": 64, "PTR_D": 16,
        "ACC_D": 8, "BIAS_D": 16, "CW": 6}  # fmt: skip
CONFIGS = {
    "ld_read0": {**BASE, "LD_READ": 0},
    "ld_read1": {**BASE, "LD_READ": 1},
    "wide4_ptr3_slots_read": {**BASE, "ENT_L": 4, "PTR_L": 2, "CB_SLOTS": 4, "LD_READ": 1},
}
#: gate name infixes that only a generate level added (removed when the gold has the result), and
#: the accumulator's state that moved into eie_pe_acc (u_acc, PP = 0: its RAM, valid bits, read bit)
INFIXES = ((re.compile(r"g_w1\."), ""), (re.compile(r"(?:genblk\d+\.)+(?=g_ent1\.|g_entw\.)"), ""),
           (re.compile(r"u_acc\.g_one\.u_ram\."), "u_acc."), (re.compile(r"u_acc\.g_one\.ok(?=\W|$)"), "acc_ok"),
           (re.compile(r"u_acc\.g_one\.q_ok(?=\W|$)"), "q_ok"))


def _elab(srcs, gen: dict, name: str, il: str, extra: str = "") -> str:
    chparam = " ".join(f"-set {k} {v}" for k, v in gen.items())
    return (f"design -reset\nread_verilog -sv -DSYNTHESIS {' '.join(srcs)}\nchparam {chparam} eie_pe\n"
            f"hierarchy -top eie_pe\nproc\nflatten\nmemory\nopt -fast\nopt_clean\nrename -top {name}\n"
            f"{extra}write_rtlil {il}\n")  # fmt: skip


#: the gate's inputs that only OVERLAP = 2 (PP = 1) reads: unused at PP = 0, so not ports of the miter
GATE_ONLY_PORTS = ("acc_rb", "acc_gb")


def _map(gate: str, gold: str) -> tuple[str, int]:
    gold_w, gate_w = _wires(gold), _wires(gate)
    mapping = {}
    for w in gate_w:
        new = w
        for pat, to in INFIXES:
            new = pat.sub(to, new)
        if new != w and new in gold_w and new not in gate_w:
            mapping[w] = new
    if not mapping:
        return gate, 0
    pat = re.compile("|".join(re.escape(w) for w in sorted(mapping, key=len, reverse=True)) + r"(?=\s|$)", re.M)
    return pat.sub(lambda m: mapping[m.group(0)], gate), len(mapping)


def prove(gold_dir: Path, gen: dict, work: Path, seq: int = 2) -> dict:
    from flow.rtl import tools

    yosys = tools.require("yosys")
    work.mkdir(parents=True, exist_ok=True)
    srcs = {"gold": ["eie_ram.sv", "eie_pe.sv"], "gate": ["eie_ram.sv", "eie_ram_2r.sv", "eie_pe_acc.sv", "eie_pe.sv"]}
    for side, folder in (("gold", gold_dir), ("gate", RTL_DIR)):
        (work / side).mkdir(exist_ok=True)
        for s in srcs[side]:
            (work / side / s).write_text((folder / s).read_text())
    rel = {side: [f"{side}/{s}" for s in names] for side, names in srcs.items()}
    script = _elab(rel["gold"], gen, "gold", "gold.il") + _elab(rel["gate"], gen, "gate", "gate_raw.il",
                                                                   "delete -port " + " ".join(f"gate/{p}" for p in GATE_ONLY_PORTS) + "\n")
    (work / "elab.ys").write_text(script)
    subprocess.run(yosys.cmd("-q", "-s", "elab.ys"), cwd=work, check=True, env=yosys.child_env())
    gate, n = _map((work / "gate_raw.il").read_text(), (work / "gold.il").read_text())
    (work / "gate.il").write_text(gate)
    (work / "equiv.ys").write_text(
        "read_rtlil gold.il\nread_rtlil gate.il\nequiv_make gold gate equiv\nhierarchy -top equiv\n"
        f"equiv_simple -seq {seq}\nequiv_induct -seq {seq}\ntee -o status.txt equiv_status\nequiv_status -assert\n")
    t0 = time.perf_counter()
    res = subprocess.run(yosys.cmd("-q", "-s", "equiv.ys"), cwd=work, capture_output=True, text=True,
                         env=yosys.child_env())
    status = (work / "status.txt").read_text() if (work / "status.txt").exists() else ""
    m = re.search(r"Found (\d+) \$equiv cells in equiv:\s*\n\s*Of those cells (\d+) are proven and (\d+) are unproven", status)
    return {"proven": res.returncode == 0, "equiv_cells": int(m.group(1)) if m else None,
            "proven_cells": int(m.group(2)) if m else None, "unproven_cells": int(m.group(3)) if m else None,
            "renamed_gate_wires": n, "seconds": round(time.perf_counter() - t0, 1), "generics": gen,
            "tool": yosys.record()}  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold-rev", required=True, help="git revision of the PE before WALK")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rtl_equiv_pe.json")
    args = ap.parse_args(argv)
    results = {"gold": args.gold_rev, "gate": "working tree, WALK = 1", "configs": {}}
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:  # under the tree: the WebAssembly Yosys's /tmp is private
        gold = Path(tmp) / "gold_src"
        gold.mkdir()
        gold_sources(args.gold_rev, gold)
        for name, gen in CONFIGS.items():
            r = prove(gold, gen, Path(tmp) / name)
            results["configs"][name] = r
            print(f"{name}: {'proven' if r['proven'] else 'NOT proven'} ({r['proven_cells']} of {r['equiv_cells']} "
                  f"$equiv cells, {r['renamed_gate_wires']} gate wires renamed, {r['seconds']} s)", flush=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")
    return 0 if all(r["proven"] for r in results["configs"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
