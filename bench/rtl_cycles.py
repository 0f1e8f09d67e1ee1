#!/usr/bin/env python
"""Where the RTL engine's cycles per inference go, and what the next levers would save (issue 21).

    PYTHONPATH=. FLOW_DATA_DIR=../shared/data/mnist python bench/rtl_cycles.py [--n 100] [--seed 0]
        [--out bench/results/rtl_cycles.json]
    PYTHONPATH=. python bench/rtl_cycles.py --model <compressed LeNet-300-100 folder> --data-dir ../shared/data/mnist
        [--out bench/results/rtl_cycles_trained.json]

--model takes a trained compressed model instead (e.g. seed 0 of
examples/lenet300_mnist_p64_target.yaml, the accuracy-goal model) and its test images; lever 5 is
left out there (it re-prunes the weights, which needs retraining).

The network: LeNet-300-100 laid out as the accuracy model (P = 64, G = 4/2/8, D = 8, load-balanced
pruning) with SYNTHETIC weights (bench/roofline.py's `synthetic_layer`: the trained model is not in
the repository), on the first --n MNIST test images (noise when the files are absent: the JSON says
which). --rtl N also simulates the first N images on the RTL (Verilator) with WALK = 1 and 2:
measured cycles, bit mismatches against flow.eie.reference and cycle mismatches against the
model ("rtl_measured" in the JSON). Every other figure is from the cycle model flow.eie.perf_rtl:
- "rtl": the model as it is, equal to the RTL cycle for cycle (tests/rtl/test_rtl_sim.py): per
  layer SETUP, RUN and GATHER, the idle cycle, and what bounds each RUN (the input transfer, the
  broadcasts of the busiest group, the entries of the busiest PE);
- the levers that need eie_control.sv (modelled, NOT in the RTL), each on top of the previous:
  1. no idle cycle between inferences (the next start taken in the last GATHER cycle);
  2. the next layer's table entry fetched during the gather (its SETUP hidden);
  3. ping-pong accumulators and activation store: layer l+1's RUN starts in the cycle after its
     SETUP, while layer l's gather still runs, and scans a window once the gather has written
     its lines (as layer 0 does with the input port); the gather of l+1 waits for that of l;
  4. two entries per PE per cycle (a second multiplier per PE: 128 of the xc7z020's 220 DSPs;
     in the RTL since the engine parameter WALK = 2, so also "WALK = 2 alone, on the RTL");
  5. ip2 with G = 8 column groups instead of 2 (co-design of G and pruning: the synthetic
     weights re-pruned for it; the accuracy would need a retrained model);
  6. the next image's input streamed into a second input store during the current inference,
     so layer 0 starts with all its lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

GATHER_WRITE = 5  # a chunk issued in gather cycle c writes the store at the end of cycle c + 5


def _layers(rng_seed: int, lenet):
    from roofline import synthetic_layer

    rng = np.random.default_rng(rng_seed)
    return [synthetic_layer(rng, nm, i, o, s, g, cb, ib, relu=nm != "ip3") for nm, i, o, s, g, cb, ib in lenet]


def gather_line_ready(layer, params) -> np.ndarray:
    """Per output line of 16: the gather cycle (0 = its first) after which the line is in the store."""
    from flow.eie.perf_rtl import _log2

    enc = layer.encoding
    R = enc.row_pes
    E = 1 << min(_log2(R & -R), _log2(params.OL))
    n_lines = -(-layer.n_out // 16)
    ready = np.zeros(n_lines, np.int64)
    for c in range(enc.max_local_rows * (R // E)):
        gr, gs = divmod(c, R // E)
        for row in range(gr * R + gs * E, gr * R + gs * E + E):
            if row < layer.n_out:
                ready[row // 16] = max(ready[row // 16], c + GATHER_WRITE + 1)
    return ready


def overlapped_period(layers, x_raw, params, walk: dict[int, int], stream: bool = False) -> float:
    """Mean period with levers 1-3 (and per-layer `walk`; `stream`: lever 6, the input already in
    the store when layer 0 starts): see the module docstring."""
    from flow.eie.perf_rtl import gather_cycles, run_cycles
    from flow.eie.reference import eie_dense

    periods = []
    for x in np.atleast_2d(x_raw):
        a, t = x, 1  # cycle 0: SETUP of layer 0; RUN from cycle 1
        run_start, gather_end = 1, 0
        for li, layer in enumerate(layers):
            if li == 0:
                run, _, _ = run_cycles(layer, a, not stream, walk=walk.get(li, 1))
            else:
                # RUN cycle k (1-based) is absolute cycle run_start + k - 1; a line written at the end of
                # gather cycle c of the previous layer (absolute g0 + c) is seen from the next cycle on
                arr = g0 + prev_ready - run_start + 1
                run, _, _ = run_cycles(layer, a, False, arrival=np.maximum(arr, 1), walk=walk.get(li, 1))
            run_end = run_start + run  # the cycle after the RUN (its registered run_done seen)
            g0 = max(run_end, gather_end)  # the gather datapath is shared: one layer at a time
            gather_end = g0 + gather_cycles(layer, params)
            prev_ready = gather_line_ready(layer, params)
            run_start = g0 + 1  # the next layer's SETUP in the gather's first cycle
            a = eie_dense(a[None, :], layer)[0]
        periods.append(gather_end)  # no idle cycle: the next start is taken in the last gather cycle
    return float(np.mean(periods))


def lever_period(layers, x_raw, params, partial: bool | None = None, stream: bool = False,
                 cross: bool = False) -> float:
    """Mean period of the engine ``params`` (OVERLAP 1 or 2, its SKIP) with the next levers, each
    modelled (not in the RTL): ``partial`` False, the RTL before its detectors scanned a window's
    arrived lines (perf_rtl run_cycles partial); ``stream``, the next image's input already in a second store when layer 0
    starts; ``cross``, the next image's first SETUP follows the last layer's last chunk (OVERLAP =
    1) or its hand-off (OVERLAP = 2), the last gather beside it, and no idle cycle."""
    from flow.eie.perf_rtl import GATHER_TAIL, gather_arrival, gather_cycles, overlap_mode, run_cycles
    from flow.eie.reference import eie_dense

    partial = True if partial is None else partial

    ov = overlap_mode(params)
    acts = [np.atleast_2d(x_raw)]
    for layer in layers:
        acts.append(eie_dense(acts[-1], layer))
    per = []
    for i in range(acts[0].shape[0]):
        t = 0 if cross else 1
        for li, layer in enumerate(layers):
            arrival = all_at = None
            if li:
                arrival, all_at = gather_arrival(layers[li - 1], params)
            first = li == 0 and not stream
            t += 1 + run_cycles(layer, acts[li][i], first, arrival=arrival, all_at=all_at,
                                walk=int(params.WALK), partial=partial, skip=bool(params.SKIP))[0]
            last = li == len(layers) - 1
            g = gather_cycles(layer, params)
            if ov == 2 and (not last or cross):
                g = 0
            elif ov == 1 and (not last or cross):
                g -= GATHER_TAIL
            t += g
        per.append(t)
    return float(np.mean(per))


def emit_stage_period(layers, x_raw, params) -> float:
    """Mean period of the RTL without the register between each detector's emit and its bank read
    (the RTL before that timing lever)."""
    from flow.eie.perf_rtl import gather_cycles, run_cycles
    from flow.eie.reference import eie_dense

    periods = []
    for x in np.atleast_2d(x_raw):
        a, t = x, 1  # the idle cycle
        for li, layer in enumerate(layers):
            t += 1 + run_cycles(layer, a, li == 0, emit_stage=False)[0] + gather_cycles(layer, params)
            a = eie_dense(a[None, :], layer)[0]
        periods.append(t)
    return float(np.mean(periods))


def breakdown(layers, x_raw, params) -> dict:
    from roofline import work as work_of

    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.eie.reference import eie_dense

    per, period = rtl_network_cycles(layers, x_raw, params)
    out = {"period_mean": round(float(period.mean()), 2), "idle": 1, "layers": []}
    a = x_raw
    for li, layer in enumerate(layers):
        enc = layer.encoding
        G = enc.col_groups
        nzg = np.stack([(a[:, g::G] != 0).sum(axis=1) for g in range(G)], axis=1)
        ent = enc.local_column_entries().astype(np.int64)  # [P, n_cols]
        grp = np.arange(enc.n_pe) // enc.row_pes
        work = np.concatenate([(a[:, g::G] != 0) @ ent[grp == g][:, : a[:, g::G].shape[1]].T for g in range(G)],
                              axis=1)  # entries per PE
        macs = work_of(layer, a)[0]  # useful MACs (fillers left out)
        out["layers"].append({
            "name": layer.name, "shape": f"{layer.n_in}x{layer.n_out}", "G": G, "R": enc.row_pes,
            "setup": 1, "run": round(float(np.mean([p[li].run for p in per])), 2),
            "gather": int(per[0][li].gather),
            "input_lines": -(-layer.n_in // 16) if li == 0 else 0,
            "broadcasts_busiest_group": round(float(nzg.max(axis=1).mean()), 2),
            "entries_busiest_pe": round(float(work.max(axis=1).mean()), 2),
            "entries_mean_pe": round(float(work.mean(axis=1).mean()), 2),
            "ideal_entries_per_64": round(float(macs.mean() / enc.n_pe), 2),
        })  # fmt: skip
        a = eie_dense(a, layer)
    out["ideal"] = round(sum(l["ideal_entries_per_64"] for l in out["layers"]), 2)
    return out


def main(argv=None) -> int:
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.rtl.params import params_for
    from flow.testing import mnist_test
    from roofline import LENET

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None, help="a trained compressed model folder")
    ap.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (with --model)")
    ap.add_argument("--rtl", type=int, default=0, metavar="N",
                    help="simulate the first N images on the RTL with WALK = 1 and 2 (Verilator)")
    ap.add_argument("--overlap", default="1", help="engine OVERLAP values for --rtl (comma-separated; "
                    "1: the gather's drain beside the next RUN, the default; 2: the whole gather, ping-pong)")
    args = ap.parse_args(argv)

    if args.model is None:
        layers = _layers(args.seed, LENET)
        x, source = mnist_test(args.n)
        network = ("LeNet-300-100, P = 64, G = 4/2/8, D = 8, synthetic load-balanced weights "
                   f"(bench/roofline.py synthetic_layer, seed {args.seed})")
        out = args.out or ROOT / "bench" / "results" / "rtl_cycles.json"
    else:
        from rtl import eie_layers_and_data

        if not (args.model / "config.yaml").is_file():
            print(f"error: {args.model} is not a compressed model folder (no config.yaml); give the folder "
                  "flow compress wrote", file=sys.stderr)
            return 2
        layers, data = eie_layers_and_data(args.model, args.data_dir)
        x = data.x_test[: args.n]
        x = x.reshape(len(x), -1)
        source = f"MNIST test images (the model's data, first {args.n})"
        network = f"trained model {args.model} (" + ", ".join(
            f"{l.name} {l.n_in}x{l.n_out} P={l.encoding.n_pe} G={l.encoding.col_groups}" for l in layers) + ")"
        out = args.out or ROOT / "bench" / "results" / "rtl_cycles_trained.json"
    x_raw = layers[0].input_t.quantize(x)
    params = params_for(layers)
    res = {
        "network": network,
        "inputs": source, "n": int(len(x_raw)),
        "rtl": breakdown(layers, x_raw, params),
        "source": "flow.eie.perf_rtl (the RTL's cycle model; levers below modelled, not in the RTL)",
    }  # fmt: skip
    rtl = res["rtl"]["period_mean"]
    _, per_rtl = rtl_network_cycles(layers, x_raw, params)
    steps = [("rtl (the model equal to the RTL)", rtl)]
    steps.append(("1. no idle cycle", rtl - 1))
    steps.append(("2. + next SETUP during the gather", rtl - 1 - (len(layers) - 1)))
    steps.append(("3. + ping-pong accumulators/store: RUN of l+1 overlaps the gather of l",
                  overlapped_period(layers, x_raw, params, {})))
    steps.append(("4. + two entries per PE per cycle (all layers)",
                  overlapped_period(layers, x_raw, params, {0: 2, 1: 2, 2: 2})))
    if args.model is None:
        lenet_g = [(n, i, o, s, 8 if n == "ip2" else g, cb, ib) for n, i, o, s, g, cb, ib in LENET]
        layers_g = _layers(args.seed, lenet_g)
        params_g = params_for(layers_g)
        steps.append(("5. + ip2 with G = 8 (re-pruned synthetic weights; accuracy not measured)",
                      overlapped_period(layers_g, x_raw, params_g, {0: 2, 1: 2, 2: 2})))
    else:
        layers_g, params_g = layers, params  # re-pruning a trained model needs retraining: not modelled
    steps.append(("6. + the next image's input streamed in during the current inference (a second input store)",
                  overlapped_period(layers_g, x_raw, params_g, {0: 2, 1: 2, 2: 2}, stream=True)))
    if args.model is None:
        _, per_g = rtl_network_cycles(layers_g, x_raw, params_g)
        steps.append(("ip2 with G = 8 alone, on the RTL as it is", float(per_g.mean())))
    _, per_w2 = rtl_network_cycles(layers, x_raw, params.with_(WALK=2))
    steps.append(("WALK = 2 alone, on the RTL (engine parameter WALK = 2: two entries per PE per cycle)",
                  float(per_w2.mean())))
    _, per_o2 = rtl_network_cycles(layers, x_raw, params.with_(OVERLAP=2))
    steps.append(("OVERLAP = 2 alone, on the RTL (the whole gather beside the next RUN; accumulators ping-pong)",
                  float(per_o2.mean())))
    _, per_o2w2 = rtl_network_cycles(layers, x_raw, params.with_(OVERLAP=2, WALK=2))
    steps.append(("OVERLAP = 2 and WALK = 2, on the RTL", float(per_o2w2.mean())))
    res["next_levers"] = []
    for overlap in (1, 2):
        for walk in (1, 2):
            pr = params.with_(OVERLAP=overlap, WALK=walk)
            row = {"OVERLAP": overlap, "WALK": walk,
                   "rtl_before_skip_and_partial_windows": lever_period(layers, x_raw, pr.with_(SKIP=0),
                                                                      partial=False),
                   "rtl": lever_period(layers, x_raw, pr)}
            row["b_plus_input_streamed"] = lever_period(layers, x_raw, pr, stream=True)
            row["c_plus_last_gather_beside_next_image"] = lever_period(layers, x_raw, pr, stream=True, cross=True)
            per, _ = rtl_network_cycles(layers, x_raw, pr)
            # the work alone: per image, each layer's busiest PE's entries / WALK (no fill, drain,
            # arrival or SETUP): what no schedule of one image at a time gets below
            row["floor_busiest_pe_work"] = float(np.mean([sum(-(-int(c.pe_entries.max()) // walk) for c in p)
                                                          for p in per]))
            res["next_levers"].append({k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()})
    if args.rtl:
        from flow.rtl.run import rtlsim

        res["rtl_measured"] = []
        for overlap, walk in [(int(o), w) for o in args.overlap.split(",") for w in (1, 2)]:
            sim = rtlsim(layers, x_raw[: args.rtl], params=params.with_(WALK=walk, OVERLAP=overlap),
                         check_model=args.rtl)
            res["rtl_measured"].append({
                "WALK": walk, "OVERLAP": overlap, "n": sim["n"], "cycles_mean": round(sim["cycles_mean"], 2),
                "layer_cycles_mean": [round(v, 2) for v in sim["layer_cycles_mean"]],
                "bit_mismatches": sim["bit_mismatches"], "model_cycle_mismatches": sim["model_cycle_mismatches"],
                "source": sim["source"]})  # fmt: skip
            print(f"RTL measured, OVERLAP = {overlap}, WALK = {walk}, first {sim['n']} images: {sim['cycles_mean']:.2f} cycles per "
                  f"inference (layers {[round(v, 2) for v in sim['layer_cycles_mean']]}), bit mismatches "
                  f"{sim['bit_mismatches']}, model cycle mismatches {sim['model_cycle_mismatches']}")
    res["levers"] = [{"lever": k, "cycles_mean": round(float(v), 2)} for k, v in steps]
    res["timing_levers"] = [{"lever": "the RTL before the emit register (eie_broadcast e_valid/e_j): the broadcast a "
                                      "cycle earlier", "cycles_mean": round(emit_stage_period(layers, x_raw, params), 2)}]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res["rtl"], indent=1))
    print("\n| lever (cumulative) | cycles per inference | saved |")
    print("| --- | --- | --- |")
    prev = None
    for k, v in steps:
        alone = k.startswith(("ip2 with G = 8 alone", "WALK = 2 alone", "OVERLAP = 2"))  # against the RTL
        ref = rtl if alone else prev
        print(f"| {k} | {v:.1f} | {'' if ref is None else f'{ref - v:.1f}'} |")
        prev = prev if alone else v
    print("\nthe RTL before SKIP and the partial windows, the RTL, and the next levers, each on top of the one "
          "before (modelled, not in the RTL):")
    print("| engine | before (SKIP = 0, whole windows) | the RTL | b. + the next input in a second store | "
          "c. + the last gather beside the next image, no idle cycle | the busiest PEs' work alone |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in res["next_levers"]:
        print(f"| OVERLAP = {r['OVERLAP']}, WALK = {r['WALK']} | {r['rtl_before_skip_and_partial_windows']:.1f} | "
              f"{r['rtl']:.1f} | {r['b_plus_input_streamed']:.1f} | {r['c_plus_last_gather_beside_next_image']:.1f} | "
              f"{r['floor_busiest_pe_work']:.1f} |")
    for t in res["timing_levers"]:
        print(f"timing lever: {t['lever']}: {t['cycles_mean']:.1f} cycles")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
