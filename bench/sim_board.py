"""The simulated RTL board at the preset size: `flow run --sim` on a P = 64 pynq-z2 overlay bundle.

LeNet-300-100 (flow.testing.lenet300_layers: the paper's densities, the flow's P = 64 layout, 8-bit
inputs) written as model.eie for the board's P = 64 preset; the same synthetic inputs as
`bench/overlay.py --rtl` (random 8-bit pixels, a fifth of the columns zero), expected outputs from
flow.eie.reference; one DMA batch of N, without stalls and with 20 % stalls on every stream.
Measured: CYC_BATCH / LOAD_CYCLES (the overlay's counters, read by the board driver through pynq's
drivers on the Verilator model), bit agreement, the library's build time and the simulation's wall
time. Writes bench/results/sim_board.json.

    PYTHONPATH=. EIE_RTL_CACHE=/tmp/rtlcache python bench/sim_board.py [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from flow.board.boards import load_board
    from flow.cli import main as flow_main
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.eie.reference import eie_network
    from flow.overlay.image import write_image
    from flow.overlay.simlib import build_board_library, build_hash
    from flow.overlay.sizing import IFIFO_D, preset
    from flow.rtl import tools
    from flow.runtime import regmap as rm
    from flow.runtime.sim import write_test_vectors
    from flow.testing import lenet300_layers

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--pe", type=int, default=64)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sim_board.json")
    a = ap.parse_args(argv)
    board = load_board(a.board)
    ov = preset(board, a.pe)
    t0 = time.perf_counter()
    build_board_library(ov, IFIFO_D)
    build_s = time.perf_counter() - t0
    layers = lenet300_layers(a.pe)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (a.n, layers[0].n_in))
    x[:, rng.random(layers[0].n_in) < 0.2] = 0  # as bench/overlay.py --rtl
    y_raw = eie_network(x, layers)
    _, period = rtl_network_cycles(layers, x, ov)
    res = {"model": "LeNet-300-100 (synthetic, flow.testing.lenet300_layers)", "board": a.board, "P": a.pe,
           "overlay": ov.generics(), "samples": a.n, "library_build_s": round(build_s, 1),
           "engine_cycles": int(period.sum()), "verilator": tools.find("verilator").record(), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / f"overlay_{a.board}_p{a.pe}"
        bundle.mkdir()
        (bundle / "overlay.json").write_text(json.dumps({
            "bitstream": "eie_overlay.bit", "hwh": "eie_overlay.hwh", "board": a.board, "P": a.pe, "clock_mhz": 100.0,
            "regmap_version": rm.REGMAP_VERSION, "format_version": rm.FORMAT_VERSION, "build_hash": build_hash(ov)}))
        write_image(layers, bundle / "model.eie", ov)
        write_test_vectors(bundle, layers[0].input_t.to_float(x), y_raw)
        for stall in (0.0, 0.2):
            out = Path(tmp) / f"r{stall}.json"
            t = time.perf_counter()
            rc = flow_main(["run", str(bundle), "--sim", "--stall", str(stall), "--batch-size", str(a.n),
                            "--timeout", "3600", "--json", str(out)])
            wall = time.perf_counter() - t
            r = json.loads(out.read_text())
            tm = r["timings"]
            res["runs"][f"stall_{stall}"] = {
                "exit": rc, "bit_agreement": r["bit_agreement"], "cycles_batch": tm["cycles"],
                "load_words": tm["load_words"], "load_cycles": tm["load_cycles"],
                "inferences_per_s_at_100mhz": tm["inferences_per_s_at_clock"],
                "streaming_overhead": tm["cycles"] / res["engine_cycles"] - 1, "wall_s": round(wall, 1),
                "simulated_cycles_per_s": round(tm["cycles"] / wall)}
    res["source"] = ("measured: Verilator model of eie_axi (flow.overlay.simlib) behind pynq's drivers "
                     "(flow.runtime.sim_rtl), `flow run --sim`; engine cycles: flow.eie.perf_rtl")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res["runs"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
