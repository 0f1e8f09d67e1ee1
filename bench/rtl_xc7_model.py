#!/usr/bin/env python
"""A MODELLED routed clock and throughput of the engine on the xc7z020 (issue 21, target 3).

    PYTHONPATH=. python bench/rtl_xc7_model.py [--pe 64] [--ecp5-pe 16] [--trained codesign]
        [--out bench/results/rtl.json]

There is no open place-and-route for the xc7z020 here (Vivado is not installed), so:
- Yosys 0.70 `synth_xilinx -family xc7` (flow.rtl.yosys, hierarchical, `sta`: cell delays only, no
  routing) of the current RTL at --pe, the engine of the recorded Yosys 0.70 row of that P in
  rtl.json (the LeNet-300-100 engine), gives the pre-route figure (measured, by Yosys);
- the calibration is the ECP5's own ratio of routed to cells-only delay on its routed critical
  path (nextpnr, the last --ecp5-pe row in rtl.json "ecp5", or that of --ecp5-rev: total / logic
  ns), i.e. the share routing adds on this design. xc7 routing per level is shorter than the
  ECP5's, so this is pessimistic on that count, and the pre-route path may not be the routed one:
  a model, labelled so;
- throughput = modelled MHz / cycles per inference: the synthetic LeNet-300-100 of
  bench/results/rtl_cycles.json (the cycle model = RTL), and a trained model's cycles measured on
  the RTL in Verilator (the rtl.json "models" row whose label contains --trained: by default the
  co-designed examples/lenet300_mnist_p64_codesign.yaml, all 10,000 test images).
Writes rtl.json "xc7_modelled" (other keys kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main(argv=None) -> int:
    from rtl import row_yosys_version, rtl_revision

    from flow.rtl import yosys
    from flow.rtl.params import EngineParams

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pe", type=int, default=64)
    ap.add_argument("--ecp5-pe", type=int, default=16)
    ap.add_argument("--ecp5-rev", default=None, help="the ECP5 row's RTL revision (default: the last of --ecp5-pe)")
    ap.add_argument("--trained", default="codesign", help="label text of the rtl.json models row to use")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rtl.json")
    args = ap.parse_args(argv)
    res = json.loads(args.out.read_text())
    rows = [r for r in res["synth_xc7"] if r["P"] == args.pe and row_yosys_version(r) == "0.70"]
    if not rows:
        raise SystemExit(f"no Yosys 0.70 xc7 row of P={args.pe} in {args.out}")
    trained = [m for m in res.get("models", []) if args.trained in m.get("label", "")]
    if not trained:
        raise SystemExit(f"no rtl.json models row labelled with {args.trained!r}: run bench/rtl.py --p64 <folder> first")
    trained = trained[-1]
    # the recorded engine with the OVERLAP its cycles were measured on (the accumulators' banks)
    params = EngineParams(**rows[0]["yosys"]["engine"]).with_(OVERLAP=int(trained["engine"].get("OVERLAP", 1)))
    rev = rtl_revision()
    ecp = [r for r in res.get("ecp5", []) if r["P"] == args.ecp5_pe and r.get("path")
           and (args.ecp5_rev is None or r.get("rtl_rev") == args.ecp5_rev)]
    if not ecp:
        raise SystemExit(f"no routed ECP5 row of P={args.ecp5_pe} (RTL {args.ecp5_rev or 'any'}) in {args.out}: "
                         "run bench/rtl.py --ecp5")
    path = ecp[-1]["path"]
    ratio = path["total_ns"] / path["logic_ns"]
    with tempfile.TemporaryDirectory() as tmp:
        rep = yosys.synthesize(params, family="xc7", out_dir=tmp)
    cyc = json.loads((ROOT / "bench" / "results" / "rtl_cycles.json").read_text())
    synthetic = cyc["rtl"]["period_mean"]
    ns = rep["sta_ns"] * ratio
    mhz = 1000.0 / ns
    out = {
        "P": args.pe, "rtl_rev": rev, "engine": params.generics(),
        "yosys": {k: rep[k] for k in ("LUT", "FF", "BRAM36", "DSP", "sta_ns", "sta_path", "yosys_s") if k in rep},
        "yosys_tool": rep.get("tool"), "lut_pct_of_xc7z020": round(100 * rep["LUT"] / 53200, 1),
        "calibration": {"ecp5_P": args.ecp5_pe, "ecp5_rtl_rev": ecp[-1].get("rtl_rev"), "routed_ns": path["total_ns"],
                        "logic_ns": path["logic_ns"], "ratio": round(ratio, 3)},
        "modelled_routed_ns": round(ns, 2), "modelled_mhz": round(mhz, 1),
        "cycles_synthetic": synthetic,
        "trained": {"label": trained.get("label"), "rtl_rev": trained.get("rtl_rev"), "n": trained["n"],
                    "error_pct": round(trained["error_pct"], 2), "cycles_measured": round(trained["cycles_mean"], 1)},
        "inferences_per_s_synthetic": round(mhz * 1e6 / synthetic),
        "inferences_per_s_trained": round(mhz * 1e6 / trained["cycles_mean"]),
        "ecp5_measured": {"P": args.ecp5_pe, "fmax_mhz": ecp[-1]["fmax_mhz"],
                          "inferences_per_s_synthetic": round(ecp[-1]["fmax_mhz"] * 1e6 / synthetic),
                          "note": "the P = 16 engine's clock over the P = 64 network's cycles: a bound "
                                  "until a P = 64 engine routes"},
        "source": "MODELLED: Yosys 0.70 synth_xilinx sta (cells only, measured) x the ECP5's routed/logic ratio of its "
                  "routed critical path (nextpnr, measured); cycles: synthetic from the cycle model (= RTL), trained "
                  "measured in Verilator",
    }  # fmt: skip
    res["xc7_modelled"] = out
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=1))
    tmp.replace(args.out)
    print(json.dumps({k: v for k, v in out.items() if k != "engine"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
