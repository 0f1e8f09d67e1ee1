#!/usr/bin/env python
"""What any number of PEs per group costs in the RTL engine: Yosys synth_xilinx -family xc7 of
the small CI engine (tests/rtl/test_rtl_tools.py SMALL) at P = 3 with ANYR=1 beside the nearest
powers of two (P = 2, 4, the shift-and-mask design) and P = 4 with ANYR=1 (the same P: the cost
of the compare-based mapping alone), each with flow.rtl.estimate. With --p48 also (or with
--p48-only, only) the engine sized like bench/results/rtl.json's LeNet-300-100 ones at P = 48,
MAXG = 8 with ANYR=1 (row lenet_P48_anyr; a long synthesis, about 10 minutes of Yosys); rows
not rerun are kept from the file. Yosys results are cached by parameters and sources (flow.rtl.yosys).

    PYTHONPATH=. python bench/rtl_anyr.py [--p48 | --p48-only] [--reports DIR]
    # writes bench/results/rtl_anyr.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flow.rtl import estimate, yosys  # noqa: E402
from flow.rtl.params import EngineParams  # noqa: E402

SMALL = EngineParams(P=2, MAXG=2, DMAX=4, NL=2, NX=64, XW=8, WW=4, ACCW=16, CBW=2, IXW=3,
                     ENT_D=512, PTR_D=64, ACC_D=16, BIAS_D=32, OL=2)  # fmt: skip
CONFIGS = {
    "P2": SMALL,
    "P3_anyr": SMALL.with_(P=3, ANYR=1),
    "P4": SMALL.with_(P=4, OL=4),
    "P4_anyr": SMALL.with_(P=4, OL=4, ANYR=1),
}
# LeNet-300-100-sized at P = 48 (memory depths interpolated between the P = 32 and P = 64 engines
# of bench/results/rtl.json, not params_for of a compressed model)
P48 = EngineParams(P=48, ANYR=1, MAXG=8, DMAX=8, NL=3, NX=832, XW=16, WW=16, ACCW=36, CBW=5, IXW=6,
                   ENT_D=358, PTR_D=359, ACC_D=25, BIAS_D=35, OL=16)  # fmt: skip
P48_NOTE = ("engine sized like bench/results/rtl.json's LeNet-300-100 engines at P=48 (memory depths "
            "interpolated, not params_for of a compressed model); compare with P=32 (19,320 LUT, 8,726 FF, "
            "5.519 ns) and P=64 (29,905 LUT, 18,315 FF, 5.818 ns) there (ANYR=0)")  # fmt: skip
KEYS = ("LUT", "FF", "RAMB18", "RAMB36", "DSP")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--p48", action="store_true", help="also synthesize lenet_P48_anyr (long)")
    ap.add_argument("--p48-only", action="store_true", help="only lenet_P48_anyr; keep the other rows")
    ap.add_argument("--reports", type=Path, metavar="DIR",
                    help="keep Yosys' reports (stat, sta) in DIR/<row> (default: discarded)")
    args = ap.parse_args(argv)
    out = ROOT / "bench" / "results" / "rtl_anyr.json"
    configs = {} if args.p48_only else dict(CONFIGS)
    if args.p48 or args.p48_only:
        configs["lenet_P48_anyr"] = P48
    for name, p in configs.items():
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:  # the figures live in the cache and the JSON below
            rep = yosys.synthesize(p, family="xc7", out_dir=args.reports / name if args.reports else tmp)
        est = estimate.estimate(p)
        row = {
            "engine": p.generics(),
            "yosys": {**{k: rep[k] for k in KEYS}, "sta_ns": rep["sta_ns"], "modules": rep.get("modules"),
                      "source": "measured: Yosys synth_xilinx -family xc7 (hierarchical), sta pre-route"},
            "estimate": {k: est[k] for k in KEYS},
            "seconds": round(time.perf_counter() - t0, 1),  # ~0 when Yosys' result came from the cache
            "yosys_s": rep.get("yosys_s"),  # the synthesis' own time
        }  # fmt: skip
        if p == P48:
            row["yosys"]["sta_path"] = rep.get("sta_path")
            row["note"] = P48_NOTE
        y, e = row["yosys"], row["estimate"]
        print(f"{name:8s} Yosys LUT {y['LUT']:5d} FF {y['FF']:5d} RAMB18 {y['RAMB18']} DSP {y['DSP']} "
              f"sta {y['sta_ns']} ns | estimate LUT {e['LUT']:5d} FF {e['FF']:5d}")  # fmt: skip
        # re-read and write after each row: a long run keeps what it finished, and a run beside
        # it does not lose the rows of the other
        rows = json.loads(out.read_text()) if out.exists() else {}
        rows[name] = row
        out.write_text(json.dumps(rows, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
