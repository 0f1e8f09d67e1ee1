"""`flow rtlsim`: run a compressed model on the RTL engine (kernels/rtl/) in Verilator.

Converts the folder written by `flow compress` with the EIE backend (for its EIE layers and
fixed-point types), writes the engine's memory images, builds the Verilator harness once per
engine parameter set (cached), simulates the test set and reports accuracy, bit mismatches
against the numpy reference (flow.eie.reference), RTL cycles per inference and their agreement
with the cycle model (flow.eie.perf_rtl). Writes <out>/rtlsim.json.

--trace: the first --n inferences (default 10 with --trace) run on a separately cached Verilator build
with --trace-fst, which writes <out>/rtlsim.fst (every signal, every clock edge) for GTKWave or Surfer.
"""

from __future__ import annotations

import json
from pathlib import Path

from flow.cli import options
from flow.errors import FlowError, UsageError

N_DEFAULT = 1000
#: inferences traced by default (measured: about 200 KB of FST per inference for the default build's
#: P = 8 engine; 990 KB for 5)
N_TRACE = 10


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "rtlsim", help="RTL simulation (Verilator) of the EIE engine: accuracy, bit-exactness, cycles",
        description=__doc__,
    )  # fmt: skip
    p.add_argument("model_dir", type=Path, help="compressed-model folder written by `flow compress`")
    options.add_data_dir(p)
    p.add_argument("--n", type=int, default=None,
                   help=f"test samples to simulate (default {N_DEFAULT}, {N_TRACE} with --trace; 0 = all)")
    p.add_argument("--trace", action="store_true",
                   help="write an FST waveform of the simulated inferences to <out>/rtlsim.fst (traced build)")
    p.add_argument("--model-n", type=int, default=200, help="samples checked against the cycle model (default 200)")
    p.add_argument("--out", type=Path, help="output folder (default: <model_dir>/rtlsim)")
    p.set_defaults(func=run)


def _check_args(args) -> None:
    if args.n is None:
        args.n = N_TRACE if args.trace else N_DEFAULT
    if args.n < 0:
        raise UsageError(f"--n={args.n}: give a number of samples >= 0 (0 = the whole test set)")
    if args.model_n < 0:
        raise UsageError(f"--model-n={args.model_n}: give a number of samples >= 0")
    if not args.model_dir.is_dir():
        raise UsageError(f"{args.model_dir} is not a folder; pass the output folder of `flow compress`")


def simulate(model_dir: Path, cfg, out_dir: Path, n: int, model_n: int, trace: Path | None = None) -> dict:
    from flow.cli.csim import load_model_data
    from flow.compress.io import load_compressed
    from flow.hls.convert import convert
    from flow.hls.csim import reference_covers
    from flow.rtl.params import check_config_layouts
    from flow.rtl.run import rtlsim
    from flow.rtl.tools import require

    only_dense = (f"{model_dir}: the network has layers besides Dense (e.g. convolutions); the RTL engine runs "
                  "only EIE Dense layers: use `flow csim` for this model")
    cm = load_compressed(model_dir)
    if any(type(ly).__name__ in ("Conv2D", "QConv2D") for ly in cm.model.layers):
        raise UsageError(only_dense)  # before loading the data and converting
    dense = [ly.name for ly in cm.model.layers if type(ly).__name__ in ("Dense", "QDense")]
    check_config_layouts(cfg.hls, dense)  # before the conversion writes anything
    ds = load_model_data(cm, cfg, model_dir)
    require("verilator")  # the inputs are checked: now the tools, before converting
    x, y = (ds.x_test, ds.y_test) if n == 0 else (ds.x_test[:n], ds.y_test[:n])
    model = convert(cm, cfg.hls, out_dir / "hls")
    if not reference_covers(model):
        raise UsageError(only_dense)
    layers = model.eie_layers
    x_raw = layers[0].input_t.quantize(x.reshape(len(x), -1))
    summary = rtlsim(layers, x_raw, y, out_dir=out_dir, check_model=model_n, trace=trace)
    summary["model_dir"] = str(model_dir)
    (out_dir / "rtlsim.json").write_text(json.dumps(summary, indent=1))
    return summary


def run(args) -> int:
    _check_args(args)
    cfg_path = args.model_dir / "config.yaml"
    cfg = options.load_config_with(args, cfg_path if cfg_path.is_file() else None)
    out_dir = options.check_out_folder(args.out, args.model_dir / "rtlsim")  # before any work
    from flow.rtl.verilator import usable_cache_dir

    usable_cache_dir()
    trace = out_dir / "rtlsim.fst" if args.trace else None
    s = simulate(args.model_dir, cfg, out_dir, args.n, args.model_n, trace)
    print(f"{s['source'].split(';')[0]} of {s['n']} test samples on P={s['engine']['P']}:")
    print(f"  accuracy {s['accuracy_rtl']:.4f}, bit mismatches vs reference {s['bit_mismatches']}")
    print(f"  cycles per inference mean {s['cycles_mean']:.1f}, p99 {s['cycles_p99']:.0f}, max {s['cycles_max']} "
          f"-> {s['inferences_per_s_100mhz']:,.0f} inferences/s at 100 MHz")  # fmt: skip
    print(f"  per layer (mean): {', '.join(f'{c:.1f}' for c in s['layer_cycles_mean'])}")
    print(f"  cycle model (flow.eie.perf_rtl) mismatches on {s['model_checked']} samples: {s['model_cycle_mismatches']}")
    print(f"wrote {out_dir / 'rtlsim.json'}")
    if trace is not None:
        print(f"wrote {trace} (FST waveform of {s['n']} inferences; open it with GTKWave or Surfer)")
    if s["bit_mismatches"] or s["model_cycle_mismatches"]:
        raise FlowError("the RTL differs from the reference or the cycle model (see rtlsim.json)")
    return 0
