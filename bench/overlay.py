#!/usr/bin/env python
"""RTL overlay benchmark: model load (words, bus time), streaming, and the preset's fit.

    PYTHONPATH=. python bench/overlay.py [--board pynq-z2] [--pe 64] [--rtl] [--n 1000] [--synth] [--synth-overlay]

Always (modelled, from the image): LeNet-300-100's model.eie for the board's P overlay preset
(flow.testing.lenet300_layers: the paper's densities, the flow's P = 64 layout, 8-bit inputs),
its load-stream beats (bus time at the board clock), the engine load-port writes the wrapper
makes of them (one per entry beat, two per pointer beat, one per other element: a broadcast
element is one write into every PE), and the load before the wide load port (every memory word
of the params_for engine, one write each); the preset's modelled resources (flow.overlay.sizing).
--rtl: Verilator simulation of kernels/rtl/overlay/eie_axi.sv with the preset (cocotb): measured
LOAD_CYCLES, and CYC_BATCH of a batch of 1 and of --n samples (no stalls) against the engine's
cycles (flow.eie.perf_rtl; equal to the engine's RTL cycles by tests/rtl), bit mismatches vs the
reference. --synth: Yosys synth_xilinx of the preset's engine (flow.rtl.yosys; the wrapper's
FIFOs and logic are not in it). --synth-overlay: Yosys synth_xilinx of the whole overlay (eie_axi:
engine + wrapper + FIFOs; flow.overlay.synth). Writes bench/results/overlay.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def modelled(board, P: int) -> tuple[dict, list, object, bytes]:
    from flow.overlay.image import image_bytes
    from flow.overlay.sizing import overlay_fit, preset
    from flow.rtl.images import Images
    from flow.rtl.params import params_for
    from flow.runtime.eie_image import read_image
    from flow.testing import lenet300_layers

    layers = lenet300_layers(P)
    ov = preset(board, P)
    data = image_bytes(layers, ov)
    img = read_image(data)
    counts = img.word_counts()
    per_kind: dict = {}
    for r in img.records():
        per_kind[r["kind"]] = per_kind.get(r["kind"], 0) + 1 + len(r["data"])
    clk = board.clock_mhz * 1e6
    today = len(Images(layers, params_for(layers)).load_commands())
    fit = overlay_fit(ov)
    res = {
        "model": "LeNet-300-100 (synthetic: paper densities, G=4/2/8, 5-bit codes, 6-bit indices, 8-bit inputs)",
        "overlay": ov.generics(),
        "image_bytes": len(data),
        "load_beats": counts["beats"],
        "load_beats_per_kind": per_kind,
        "load_bus_ms": 1e3 * counts["beats"] / clk,
        "engine_writes": counts["engine_writes"],
        "engine_writes_ms": 1e3 * counts["engine_writes"] / clk,
        "today_writes": today,
        "today_ms": 1e3 * today / clk,
        "in_beats_per_image": -(-784 * 8 // 64),
        "stream_ceiling_images_per_s": clk / -(-784 * 8 // 64),
        "fit": {**fit.to_dict(), "board_bram18": board.resources.bram18, "board_lut": board.resources.lut},
        "source": "modelled: counted from the model image (load words) and flow.overlay.sizing (resources)",
    }
    return res, layers, ov, data


def rtl_measure(layers, ov, data: bytes, n: int, work: Path) -> dict:
    from cocotb_tools.runner import get_runner

    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.eie.reference import eie_network
    from flow.runtime.eie_image import read_image
    from flow.overlay.rtlsim import INCLUDES, WRAPPER_SOURCES, use_verilator_env

    use_verilator_env()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, layers[0].n_in))
    x[:, rng.random(layers[0].n_in) < 0.2] = 0  # MNIST-like: a border of zero pixels
    img = read_image(data)
    case = work / "case.npz"
    np.savez(case, load=img.words, n_in=layers[0].n_in, n_out=layers[-1].n_out, in_bits=8, out_bits=16,
             x1=x[:1], y1=eie_network(x[:1], layers), xn=x, yn=eie_network(x, layers))
    params = dict(ov.generics())
    params.update(IFIFO_D=512)
    build = Path(os.environ.get("EIE_RTL_CACHE", work)) / f"overlay_bench_{ov.key()}"
    runner = get_runner("verilator")
    t0 = time.perf_counter()
    runner.build(sources=WRAPPER_SOURCES, includes=INCLUDES, hdl_toplevel="eie_axi", parameters=params,
                 build_dir=build, build_args=["-Wno-fatal", "-O1"])
    build_s = time.perf_counter() - t0
    out = work / "out.json"
    runner.test(hdl_toplevel="eie_axi", test_module="overlay_cocotb", test_dir=ROOT / "bench", build_dir=build,
                results_xml=str(work / "r.xml"),
                extra_env={"EIE_BENCH_CASE": str(case), "EIE_BENCH_OUT": str(out),
                           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")])})
    r = json.loads(out.read_text())
    _, period = rtl_network_cycles(layers, x, ov)
    r["engine_cycles_n"] = int(period.sum())
    r["engine_cycles_1"] = int(period[0])
    r["streaming_overhead_n"] = r["xn"]["cycles_batch"] / r["engine_cycles_n"] - 1
    r["streaming_overhead_1"] = r["x1"]["cycles_batch"] / r["engine_cycles_1"] - 1
    r["inferences_per_s_n_100mhz"] = n * 100e6 / r["xn"]["cycles_batch"]
    r["inferences_per_s_1_100mhz"] = 100e6 / r["x1"]["cycles_batch"]
    r["load_ms_100mhz"] = 1e3 * r["load_cycles"] / 100e6
    r["build_s"] = round(build_s, 1)
    r["source"] = "RTL simulation (Verilator, cocotb) of eie_axi with the preset engine; engine cycles: flow.eie.perf_rtl"
    return r


def main(argv=None) -> int:
    from flow.board.boards import load_board

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--pe", type=int, default=64)
    ap.add_argument("--rtl", action="store_true", help="measure in Verilator (builds the preset: minutes)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--synth", action="store_true", help="Yosys synth_xilinx of the preset engine (long)")
    ap.add_argument("--synth-overlay", action="store_true",
                    help="Yosys synth_xilinx of the whole overlay, eie_axi (long: tens of minutes at P = 64)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "overlay.json")
    a = ap.parse_args(argv)
    board = load_board(a.board)
    res, layers, ov, data = modelled(board, a.pe)
    out = json.loads(a.out.read_text()) if a.out.is_file() else {}
    key = f"{a.board}_p{a.pe}"
    entry = out.get(key, {})
    entry["modelled"] = res
    print(f"{key}: model.eie {res['image_bytes']} bytes, {res['load_beats']} load beats = "
          f"{res['load_bus_ms']:.3f} ms bus time at {board.clock_mhz:g} MHz (modelled); engine writes "
          f"{res['engine_writes']} = {res['engine_writes_ms']:.3f} ms; today {res['today_writes']} writes")
    if a.rtl:
        with tempfile.TemporaryDirectory() as tmp:
            entry["rtl"] = rtl_measure(layers, ov, data, a.n, Path(tmp))
        r = entry["rtl"]
        print(f"  RTL sim: load {r['load_cycles']} cycles ({r['load_ms_100mhz']:.3f} ms at 100 MHz) for "
              f"{r['load_words']} words; batch {a.n}: {r['xn']['cycles_batch']} cycles vs engine "
              f"{r['engine_cycles_n']} (+{100 * r['streaming_overhead_n']:.1f} %), batch 1: "
              f"{r['x1']['cycles_batch']} vs {r['engine_cycles_1']}; mismatches {r['xn']['bit_mismatches']}")
    if a.synth:
        from flow.rtl import yosys

        with tempfile.TemporaryDirectory() as tmp:
            rep = yosys.synthesize(ov, family="xc7", out_dir=tmp)
        rep.pop("cells", None)
        if not rep.get("LUT"):  # e.g. a Yosys whose stat output flow.rtl.yosys does not parse (seen: yowasp 0.70)
            print(f"  Yosys gave no cells (report: {rep.get('source')}); not recorded", file=sys.stderr)
            return 1
        entry["yosys_engine"] = rep
        print(f"  Yosys (engine only): {rep.get('LUT')} LUT, {rep.get('RAMB18')} RAMB18 + {rep.get('RAMB36')} RAMB36, {rep.get('DSP')} DSP")
    if a.synth_overlay:
        from flow.overlay.synth import synthesize_params

        with tempfile.TemporaryDirectory(dir=ROOT) as tmp:  # under the tree: the WebAssembly Yosys reaches it
            rep = synthesize_params(ov, tmp)
        if not rep.get("LUT"):
            print("  Yosys gave no cells for the overlay; not recorded", file=sys.stderr)
            return 1
        entry["yosys_overlay"] = rep
        print(f"  Yosys (overlay: engine + wrapper + FIFOs): {rep['LUT']} LUT ({100 * rep['utilisation']['LUT']:.1f} %), "
              f"{rep['FF']} FF, {rep['RAMB18']} RAMB18 + {rep['RAMB36']} RAMB36, {rep['DSP']} DSP ({rep['tool']})")
    out[key] = entry
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
