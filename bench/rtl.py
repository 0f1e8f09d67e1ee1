#!/usr/bin/env python
"""RTL engine benchmark: LeNet-300-100 on MNIST in Verilator, Yosys resources, the models beside.

    PYTHONPATH=. python bench/rtl.py --p64 /work/cache/lenet300_p64 --plain /work/cache/lenet300_plain \
        --data-dir ../shared/data/mnist [--n 10000] [--model-n 300] [--synth 16,32,64] \
        [--synth-xcup 64] [--synth-only] [--synth-walk2 16,64]
    PYTHONPATH=. python bench/rtl.py --ecp5 [--pe 16[,32]] [--seed 1] [--place-only] [--label TEXT]

For each compressed model: RTL cycles per inference over the test images (mean, p99; RTL
simulation), bit mismatches against flow.eie.reference (must be 0), accuracy, inferences/s at
100 MHz, the cycle model (flow.eie.perf_rtl) on the first --model-n images (must be equal), and
the HLS kernel's modelled cycles (flow.eie.perf, what the README quoted before). Then Yosys
synth_xilinx -family xc7 for the engine sized for LeNet-300-100 at each P of --synth, beside
flow.rtl.estimate, and -family xcup (KV260) at each P of --synth-xcup. --synth-only keeps the
simulation results (and other entries) already in the output file and reruns only synthesis (without the
compressed model it synthesises the engines recorded there for those P, the same generics; Yosys results are
cached by parameters, sources and Yosys version). Every row records the tool that made it (flow.rtl.tools:
which one, its version); a synthesis row replaces only the row of the same P and Yosys version, so the
figures of another Yosys stay beside it. --synth-walk2 synthesises the same engines with WALK = 2
(two entries per PE per cycle) at those P into "synth_xc7_walk2" (xc7z020). Prints a table and
writes bench/results/rtl.json.

--ecp5 runs only the open-tool ECP5 flow (flow.rtl.ecp5: Yosys synth_ecp5, nextpnr-ecp5 for
the LFE5U-85F at --freq 100 and a fixed seed, ecppack) for the engine sized for the
load-balanced LeNet-300-100 at each P of --pe, inside the registered shell
(kernels/rtl/shell/eie_shell.sv), and merges its rows into the "ecp5" list of the output file
(other keys, other P and other RTL revisions kept: a row is keyed by P, the git revision of
kernels/rtl and the seed, and carries --label); the bitstream goes to build/ecp5/P<P>/engine.bit.
A P below 16 without a recorded engine is a quick proxy: the P = 16 engine with fewer PEs.
--cb-lut 1 (the default) sets the engine's CB_LUT: each PE's codebook in LUT RAM (eie_pe.sv),
the ECP5's choice since 61.28 MHz (a DP16KD read into the multiplier was the path); 0 the size rule.
--acc-lut 1 sets ACC_LUT: the accumulators and biases in LUT RAM too (default 0). --skip 0 sets
SKIP = 0 (no non-empty column bits).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def row_yosys_version(row: dict) -> str | None:
    """The Yosys version of a synthesis row: its tool record, else (rows written before the tools
    were recorded) the "Yosys 0.23 synth_xilinx ..." of its source, else None."""
    tool = row.get("tool") or (row.get("yosys") or {}).get("tool") or {}
    if tool.get("version"):
        return str(tool["version"])
    m = re.match(r"Yosys (\d+\.\d+)", str((row.get("yosys") or {}).get("source", "")))
    return m.group(1) if m else None


def _version_key(version: str | None) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", version or ""))


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Synthesis rows by (P, Yosys version): a new row replaces the old one of the same P and version,
    the others (other P, other Yosys) are kept; sorted by P, then version."""
    rows = {(r["P"], row_yosys_version(r)): r for r in old}
    rows.update({(r["P"], row_yosys_version(r)): r for r in new})
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0], _version_key(k[1])))]


def lenet_engine(P: int, p64_dir: Path, data_dir: Path, results: dict) -> tuple:
    """(EngineParams, how it was obtained) of the engine sized for the load-balanced
    LeNet-300-100 re-laid out on P PEs: from the compressed model when its folder exists, else
    the engine a recorded Yosys row of this P used (bench/results/rtl.json, rtl_anyr.json)."""
    from flow.rtl.params import EngineParams, params_for

    if (p64_dir / "config.yaml").exists():
        layers = eie_layers_and_data(p64_dir, data_dir)[0]
        lay = [l.with_array(n_pe=P, col_groups=min(l.col_groups, P)) for l in layers]
        return params_for(lay), f"params_for({p64_dir}) re-laid out on P={P}"
    for row in results.get("synth_xc7", []) + results.get("synth_xcup", []):
        if row["P"] == P:  # its sizing; SKIP (marked 0 on rows made before it) follows today's default
            eng = {k: v for k, v in row["yosys"]["engine"].items() if k != "SKIP"}
            return EngineParams(**eng), f"engine of the recorded Yosys xc7 row P={P} (rtl.json)"
    anyr = ROOT / "bench" / "results" / "rtl_anyr.json"
    if anyr.exists():
        rec = json.loads(anyr.read_text()).get(f"lenet_P{P}_anyr")
        if rec and "engine" in rec:
            return EngineParams(**rec["engine"]), f"engine of rtl_anyr.json lenet_P{P}_anyr"
    if P < 16:  # a small proxy for timing iterations: the P = 16 engine with fewer PEs
        for row in results.get("synth_xc7", []):
            if row["P"] == 16:
                return (EngineParams(**row["yosys"]["engine"]).with_(P=P, OL=min(16, P)),
                        f"proxy: the engine of the recorded Yosys xc7 row P=16 (rtl.json) with P={P}, OL={min(16, P)} "
                        "(memory depths of P = 16)")  # fmt: skip
    raise SystemExit(f"no engine for P={P}: {p64_dir} is missing and no recorded row has P={P} "
                     "(give --p64 <compressed dir>)")


def ecp5_rows(args, results: dict) -> list[dict]:
    """One ECP5 run per P of --pe; each row: P, engine and where it came from, the report."""
    from flow.rtl import ecp5

    rows = []
    for P in [int(p) for p in args.pe.split(",")]:
        params, how = lenet_engine(P, args.p64, args.data_dir, results)
        if args.cb_lut:  # the ECP5's choice: codebooks in LUT RAM (the row's "engine" has CB_LUT)
            params, how = params.with_(CB_LUT=1), how + ", CB_LUT=1"
        if args.acc_lut:  # and accumulators and biases (ACC_LUT)
            params, how = params.with_(ACC_LUT=1), how + ", ACC_LUT=1"
        if not args.skip:  # without the PEs' non-empty column bits (SKIP = 0)
            params, how = params.with_(SKIP=0), how + ", SKIP=0"
        target = ecp5.Ecp5Target(seed=args.seed, freq_mhz=args.freq)
        print(f"== ECP5 P={P} ({target.name}, --freq {args.freq:g}, seed {args.seed}, "
              f"{'placed only' if args.place_only else 'routed'}) ...", flush=True)
        rev = rtl_revision()  # before the run: the sources Yosys reads now, not those at its end
        rep = ecp5.run(params, args.ecp5_dir / f"P{P}", target, route=not args.place_only)
        rows.append({"P": P, "engine_from": how, "rtl_rev": rev, "label": args.label, **rep})
    return rows


def rtl_revision() -> str:
    """The last git commit that changed the RTL a run synthesised (kernels/rtl), "+dirty" when it has
    uncommitted changes, or "unknown" outside a git checkout."""
    import subprocess

    try:
        rev = subprocess.run(["git", "log", "-1", "--format=%h", "--", "kernels/rtl"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kernels/rtl"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def merge_ecp5(old: list[dict], new: list[dict]) -> list[dict]:
    """ECP5 rows by (P, RTL revision, seed): a run of the same RTL replaces its row; runs of other
    revisions stay beside it (the history of the timing levers)."""

    def key(r):
        return (r["P"], r.get("rtl_rev"), (r.get("target") or {}).get("seed"))

    rows = {key(r): r for r in old}
    rows.update({key(r): r for r in new})
    return sorted(rows.values(), key=lambda r: r["P"])  # stable: a P's revisions in run order


def print_ecp5(rows: list[dict]) -> None:
    from flow.rtl.nextpnr_report import format_listing

    print("\n| P | RTL | label | routed | Fmax MHz | path ns (logic + routing) | levels | LUT4 | CCU2C | FF (shell) | DP16KD "
          "| MULT18X18D | COMB % of 85F | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        y, u, p = r["yosys_cells"], r["utilisation"], r["path"] or {}
        comb = u.get("TRELLIS_COMB", {})
        print(f"| {r['P']} | {r.get('rtl_rev')} | {r.get('label') or ''} | {r['routed']} | {r['fmax_mhz']} | {p.get('total_ns')} ({p.get('logic_ns')} + "
              f"{p.get('routing_ns')}) | {p.get('levels')} | {y['LUT4']} | {y['CCU2C']} | {y['FF']} ({r['shell_FF']}) | "
              f"{y['DP16KD']} | {y['MULT18X18D']} | {100 * comb.get('used', 0) / max(1, comb.get('available', 1)):.1f} | "
              f"{r['wall_s']['total_s']} |")  # fmt: skip
    for r in rows:
        if r["path"]:
            print(f"\ncritical path, P={r['P']}, RTL {r.get('rtl_rev')} ({r['path']['start']} -> {r['path']['end']}):")
            print(format_listing(r["path"]["listing"]))
    if rows:
        print("\ntools: " + "; ".join(f"{k}: {v}" for k, v in rows[0]["tools"].items()))


def main_ecp5(args) -> int:
    results: dict = json.loads(args.out.read_text()) if args.out.exists() else {}
    rows = ecp5_rows(args, results)
    results["ecp5"] = merge_ecp5(results.get("ecp5", []), rows)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(args.out)
    print_ecp5(results["ecp5"])
    print(f"\nwrote {args.out}")
    return 0


def hls_model_cycles(layers, x_raw) -> float:
    """Mean PE-array + overhead cycles of the HLS kernel's model (flow.eie.perf) per inference."""
    from flow.eie.perf import network_cycles

    per = network_cycles(layers, x_raw)
    return float(np.mean([sum(c.total_cycles for c in p) for p in per]))


def eie_layers_and_data(model_dir, data_dir):
    """The EIE layers of a `flow compress` folder (EIE hls4ml backend) and its dataset."""
    import tempfile

    from flow.compress.io import load_compressed
    import argparse

    from flow.cli.options import load_config_with
    from flow.data import load_dataset
    from flow.hls.convert import convert

    cfg = load_config_with(argparse.Namespace(data_dir=Path(data_dir)), Path(model_dir) / "config.yaml")
    model = convert(load_compressed(model_dir), cfg.hls, Path(tempfile.mkdtemp(prefix="rtl-bench-")))
    return model.eie_layers, load_dataset(cfg.data)


def simulate_model(name, model_dir, data_dir, n, model_n, overlap: int | None = None) -> dict:
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.rtl import tools
    from flow.eie.reference import eie_network
    from flow.rtl.params import params_for
    from flow.rtl.run import simulate_layers

    layers, ds = eie_layers_and_data(model_dir, data_dir)
    x, y = ds.x_test[:n], ds.y_test[:n]
    x_raw = layers[0].input_t.quantize(x.reshape(x.shape[0], -1))
    params = params_for(layers)
    if overlap is not None:  # --overlap: the engine's OVERLAP (default: params_for's, 1 for Dense)
        params = params.with_(OVERLAP=overlap)
    t0 = time.perf_counter()
    res = simulate_layers(layers, x_raw, params)
    sim_s = time.perf_counter() - t0
    ref = eie_network(x_raw, layers)
    period = res["period"]
    k = min(model_n, len(x_raw))
    t0 = time.perf_counter()
    per, model_period = rtl_network_cycles(layers, x_raw[:k], params)
    model_s = time.perf_counter() - t0
    model_layers = np.array([[c.total for c in p] for p in per])
    out = {
        "name": name,
        "model_dir": str(model_dir),
        "n": int(len(x_raw)),
        "layers": [f"{l.name} {l.n_in}x{l.n_out} P={l.n_pe} G={l.col_groups} D={l.fifo_depth}" for l in layers],
        "engine": params.generics(),
        "bit_mismatches": int(np.count_nonzero(res["y"] != ref)),
        "accuracy_rtl": float(np.mean(np.argmax(res["y"], axis=1) == y)),
        "error_pct": float(100 * (1 - np.mean(np.argmax(res["y"], axis=1) == y))),
        "cycles_mean": float(period.mean()),
        "cycles_p99": float(np.percentile(period, 99)),
        "cycles_max": int(period.max()),
        "layer_cycles_mean": [round(float(v), 1) for v in res["layer_cycles"].mean(axis=0)],
        "inferences_per_s_100mhz": float(100e6 / period.mean()),
        "model_n": k,
        "model_period_mismatches": int(np.count_nonzero(model_period != period[:k])),
        "model_layer_mismatches": int(np.count_nonzero(model_layers != res["layer_cycles"][:k])),
        "hls_model_cycles_mean": hls_model_cycles(layers, x_raw[:k]),
        "sim_s": round(sim_s, 1),
        "model_s": round(model_s, 1),
        "source": f"RTL simulation ({tools.find('verilator').label()}); cycle model flow.eie.perf_rtl; "
                  "HLS model flow.eie.perf",
        "tool": tools.find("verilator").record(),
    }
    return out, layers


def recorded_engines(rows: list[dict], ps) -> dict:
    """{P: EngineParams} of the rows already recorded for each P (the engines the other Yosys
    synthesised), for --synth-only without the compressed model; refused naming a missing P."""
    from flow.rtl.params import EngineParams

    # the rows' sizing; SKIP (marked 0 on rows made before it) follows today's default
    found = {r["P"]: EngineParams(**{k: v for k, v in r["yosys"]["engine"].items() if k != "SKIP"})
             for r in rows if "yosys" in r}
    missing = [P for P in ps if P not in found]
    if missing:
        raise SystemExit(f"no recorded engine for P = {missing} in the output file: pass --p64 <compressed model>")
    return {P: found[P] for P in ps}


def synth_sweep(layers, ps, family="xc7", engines: dict | None = None) -> list:
    """Yosys (hierarchical synth_xilinx, cached) and the estimator for the engine sized for
    ``layers`` re-laid out on each P, or for ``engines[P]`` (recorded_engines) when given."""
    import tempfile

    from flow.rtl import estimate, yosys
    from flow.rtl.params import params_for

    rows = []
    for P in ps:
        if engines is not None:
            params = engines[P]
        else:
            lay = [l.with_array(n_pe=P, col_groups=min(l.col_groups, P)) for l in layers]
            params = params_for(lay)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            rep = yosys.synthesize(params, family=family, out_dir=tmp)
        est = estimate.estimate(params)
        rep.pop("cells", None)
        rows.append({"P": P, "tool": rep["tool"], "yosys": rep, "estimate": est,
                     "wall_s": round(time.perf_counter() - t0, 1)})
        print(f"  P={P} {family} Yosys {rep['tool']['version']} ({rep['yosys_s']} s): LUT {rep['LUT']} FF {rep['FF']} BRAM36 {rep['BRAM36']} DSP {rep['DSP']} "
              f"sta {rep['sta_ns']} ns | estimate LUT {est['LUT']} FF {est['FF']} BRAM36 {est['BRAM36']} "
              f"DSP {est['DSP']}", flush=True)  # fmt: skip
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--p64", type=Path, default=Path("/work/cache/lenet300_p64"))
    ap.add_argument("--plain", type=Path, default=Path("/work/cache/rtl/lenet300_bench16"))
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--model-n", type=int, default=300)
    ap.add_argument("--synth", default="16,32,64")
    ap.add_argument("--synth-xcup", default="64")
    ap.add_argument("--synth-only", action="store_true")
    ap.add_argument("--overlap", type=int, default=None,
                    help="the simulated engine's OVERLAP (default 1: the gather's drain beside the next RUN; "
                         "2: the whole gather, accumulators ping-pong)")
    ap.add_argument("--synth-walk2", default="", help="P values: the engines with WALK = 2 (synth_xc7_walk2)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "rtl.json")
    ap.add_argument("--ecp5", action="store_true", help="only the ECP5 open-tool flow (see above)")
    ap.add_argument("--pe", default="16", help="P values for --ecp5 (comma-separated)")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr seed for --ecp5")
    ap.add_argument("--freq", type=float, default=100.0, help="nextpnr target MHz for --ecp5")
    ap.add_argument("--label", default="", help="--ecp5: what this RTL revision changed (kept in the row)")
    ap.add_argument("--cb-lut", type=int, default=1, choices=(0, 1),
                    help="--ecp5: the engine's CB_LUT (1, the default: each PE's codebook in LUT RAM, "
                    "so the multiplier starts at a flip-flop, not at a DP16KD's 5.83 ns clock-to-output)")
    ap.add_argument("--skip", type=int, choices=(0, 1), default=1,
                    help="--ecp5: the engine's SKIP (1, the default: each PE's non-empty column bits; 0: without)")
    ap.add_argument("--acc-lut", type=int, default=0, choices=(0, 1),
                    help="--ecp5: the engine's ACC_LUT (1: each PE's accumulators and biases in LUT RAM, so "
                    "stage E's add and the gather's term start at flip-flops; 0, the default: their paths were "
                    "never the routed critical one, and at P = 16 it took 13,000 more TRELLIS_COMB)")
    ap.add_argument("--place-only", action="store_true", help="--ecp5 without routing (no bitstream)")
    ap.add_argument("--ecp5-dir", type=Path, default=ROOT / "build" / "ecp5")
    args = ap.parse_args(argv)
    if args.ecp5:
        try:
            return main_ecp5(args)
        except Exception as e:  # noqa: BLE001 - a missing tool or failed run: one message, exit 1
            from flow.errors import FlowError

            if not isinstance(e, FlowError):
                raise
            print(f"bench/rtl.py --ecp5: {e}", file=sys.stderr)
            return 1

    results: dict = {"models": [], "synth_xc7": [], "synth_xcup": []}
    if args.synth_only and args.out.exists():  # keep everything; the P values synthesised replace theirs
        results.update(json.loads(args.out.read_text()))
    p64_layers = None
    for name, d in (("lenet300 p64 (load-balanced, G=4/2/8)", args.p64), ("lenet300 plain (P=16, G=1)", args.plain)):
        if not (d / "config.yaml").exists() and not any(d.glob("*")):
            print(f"skip {name}: {d} not found (run flow compress first)")
            continue
        if args.synth_only:
            if "p64" in name:
                p64_layers = eie_layers_and_data(d, args.data_dir)[0]
            continue
        print(f"== {name}: simulating {args.n} images ...", flush=True)
        r, layers = simulate_model(name, d, args.data_dir, args.n, args.model_n, args.overlap)
        if "p64" in name:  # the folder's own column groups, not the default layout's
            r["name"] = name = "lenet300 p64 (load-balanced, G=" + "/".join(str(l.encoding.col_groups) for l in layers) + ")"
        results["models"].append(r)
        if "p64" in name:
            p64_layers = layers
        print(json.dumps({k: v for k, v in r.items() if k != "engine"}, indent=1), flush=True)
    recorded = args.synth_only and p64_layers is None  # the engines of the recorded rows, same generics
    if recorded:
        print(f"(no compressed model at {args.p64}: synthesising the engines recorded in {args.out})")
    for key, family, spec in (("synth_xc7", "xc7", args.synth), ("synth_xcup", "xcup", args.synth_xcup)):
        if not spec or (p64_layers is None and not recorded):
            continue
        ps = [int(p) for p in spec.split(",")]
        engines = recorded_engines(results[key], ps) if recorded else None
        print(f"== Yosys synth_xilinx -family {family} (engine sized for LeNet-300-100 at each P)", flush=True)
        results[key] = merge_rows(results[key], synth_sweep(p64_layers, ps, family, engines))
    if args.synth_walk2 and (p64_layers is not None or recorded):
        ps = [int(p) for p in args.synth_walk2.split(",")]
        if recorded:
            engines = {P: e.with_(WALK=2) for P, e in recorded_engines(results["synth_xc7"], ps).items()}
        else:
            from flow.rtl.params import params_for

            relaid = {P: [l.with_array(n_pe=P, col_groups=min(l.col_groups, P)) for l in p64_layers] for P in ps}
            engines = {P: params_for(relaid[P]).with_(WALK=2) for P in ps}
        print("== Yosys synth_xilinx -family xc7, WALK = 2", flush=True)
        rows = synth_sweep(None, ps, "xc7", engines)
        results["synth_xc7_walk2"] = merge_rows(results.get("synth_xc7_walk2", []), rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))

    print("\n| model | n | error % | mismatches | cycles mean | p99 | inf/s @100 MHz | model = RTL | HLS model cycles |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results["models"]:
        print(f"| {r['name']} | {r['n']} | {r['error_pct']:.2f} | {r['bit_mismatches']} | {r['cycles_mean']:.1f} | "
              f"{r['cycles_p99']:.0f} | {r['inferences_per_s_100mhz']:,.0f} | "
              f"{r['model_n'] - r['model_period_mismatches']}/{r['model_n']} | {r['hls_model_cycles_mean']:.1f} |")  # fmt: skip
    rows = [("xc7", s) for s in results["synth_xc7"]] + [("xcup", s) for s in results["synth_xcup"]]
    if rows:
        print("\n| family | P | Yosys | LUT | FF | BRAM36 | URAM | DSP | sta ns (pre-route, cells only; per Yosys) "
              "| est LUT | est FF | est BRAM36 | est DSP |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for fam, s in rows:
            y, e = s["yosys"], s["estimate"]
            print(f"| {fam} | {s['P']} | {row_yosys_version(s)} | {y['LUT']} | {y['FF']} | {y['BRAM36']} | {y['URAM']} | "
                  f"{y['DSP']} | {y['sta_ns']} | {e['LUT']} | {e['FF']} | {e['BRAM36']} | {e['DSP']} |")  # fmt: skip
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
