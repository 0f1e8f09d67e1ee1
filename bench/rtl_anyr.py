#!/usr/bin/env python
"""What any number of PEs per group costs in the RTL engine: Yosys synth_xilinx -family xc7 of
the small CI engine (tests/rtl/test_rtl_tools.py SMALL) at P = 3 with ANYR=1 beside the nearest
powers of two (P = 2, 4, the shift-and-mask design) and P = 4 with ANYR=1 (the same P: the cost
of the compare-based mapping alone), each with flow.rtl.estimate. Yosys results are cached by
parameters and sources (flow.rtl.yosys).

    PYTHONPATH=. python bench/rtl_anyr.py      # writes bench/results/rtl_anyr.json
"""

from __future__ import annotations

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
KEYS = ("LUT", "FF", "RAMB18", "RAMB36", "DSP")


def main() -> int:
    rows = {}
    for name, p in CONFIGS.items():
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:  # the reports live in the cache and the JSON below
            rep = yosys.synthesize(p, family="xc7", out_dir=tmp)
        est = estimate.estimate(p)
        rows[name] = {
            "engine": p.generics(),
            "yosys": {**{k: rep[k] for k in KEYS}, "sta_ns": rep["sta_ns"], "modules": rep.get("modules"),
                      "source": "measured: Yosys synth_xilinx -family xc7 (hierarchical), sta pre-route"},
            "estimate": {k: est[k] for k in KEYS},
            "seconds": round(time.perf_counter() - t0, 1),
        }  # fmt: skip
        y, e = rows[name]["yosys"], rows[name]["estimate"]
        print(f"{name:8s} Yosys LUT {y['LUT']:5d} FF {y['FF']:5d} RAMB18 {y['RAMB18']} DSP {y['DSP']} "
              f"sta {y['sta_ns']} ns | estimate LUT {e['LUT']:5d} FF {e['FF']:5d}")  # fmt: skip
    out = ROOT / "bench" / "results" / "rtl_anyr.json"
    out.write_text(json.dumps(rows, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
