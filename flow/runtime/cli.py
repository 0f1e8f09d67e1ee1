"""`flow run <bundle> [--sim]` and `python -m flow.runtime`: run a deploy bundle's test vectors on the
board or the simulated board (numpy + pynq only: this module ships in the bundle's driver).

Prints accuracy and bit agreement with the expected raw outputs, and writes the same numbers as
JSON (`--json`, default `<bundle>/run_report[_sim].json`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flow.errors import FlowError, UsageError
from flow.runtime.overlay import DEFAULT_MAX_BATCH, DEFAULT_TIMEOUT_S


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a deploy bundle on a PYNQ board, or on the simulated board with --sim",
        description=__doc__,
    )
    p.add_argument("bundle", type=Path, help="deploy bundle folder (model.json, .bit, .hwh)")
    p.add_argument("--sim", action="store_true", help="simulated board: same driver, C simulation of the IP")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="test-vector npz (x, y_raw, labels); default: the bundle's test_vectors",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"samples per DMA transfer (default {DEFAULT_MAX_BATCH}, fewer if the DMA length limit says so)",
    )
    p.add_argument("--limit", type=int, default=None, help="run only the first N samples")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for each DMA transfer (default {DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--library", type=Path, default=None, help="--sim: compiled AXI-top simulation library to use"
    )
    p.add_argument("--no-download", action="store_true", help="use the bitstream already loaded")
    p.add_argument("--no-board-check", action="store_true", help="run even if the bundle names another board")
    p.add_argument("--json", type=Path, default=None, help="where to write the JSON report")
    p.set_defaults(func=run)


def run(args, library_builder=None) -> int:
    """Run the command. `library_builder(meta, bundle)`: compiles the simulation library of a bundle
    that names only its HLS project (`flow run` passes flow.board's; the board has no compiler)."""
    from flow.runtime.bundle import BundleMeta
    from flow.runtime.overlay import EIEOverlay
    from flow.runtime.sim import TEST_VECTORS, load_test_vectors, run_vectors, sim_overlay

    meta = BundleMeta.load(args.bundle)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be positive, got {args.batch_size}")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be positive, got {args.limit}")
    data = args.data or (args.bundle / (meta.test_vectors or TEST_VECTORS))
    vectors = load_test_vectors(data, meta)
    if args.limit is not None:
        vectors = {k: v[: args.limit] for k, v in vectors.items()}
    kwargs = dict(download=not args.no_download, timeout=args.timeout, check_board=not args.no_board_check)
    if args.sim:
        library = args.library
        if library is None and not meta.sim_library and meta.hls_project and library_builder is not None:
            library = library_builder(meta, args.bundle)
        overlay = sim_overlay(args.bundle, library=library, **kwargs)
    else:
        if args.library is not None:
            raise UsageError("--library applies to the simulated board only: add --sim")
        overlay = EIEOverlay(args.bundle, **kwargs)
    with overlay:
        report = run_vectors(overlay, vectors, batch_size=args.batch_size)
    report.update(
        bundle=str(args.bundle),
        project=meta.project,
        board=meta.board,
        simulated=bool(args.sim),
        data=str(data),
    )
    where = "simulated board" if args.sim else f"board {meta.board}"
    t = report["timings"]
    print(
        f"{meta.project} on the {where}: {report['samples']} samples, {t.get('batches', 0)} DMA batch(es), "
        f"{t.get('inferences_per_s', 0):.0f} inferences/s"
    )
    if "accuracy" in report:
        print(f"  accuracy            {report['accuracy']:.4f}")
    if "bit_agreement" in report:
        print(
            f"  bit agreement       {report['bit_agreement']:.4f} of samples "
            f"({report['value_agreement']:.4f} of values, max raw diff {report['max_raw_diff']})"
        )
        if report["first_mismatch"] is not None:
            print(f"  first mismatch      sample {report['first_mismatch']}")
    out = args.json or (args.bundle / ("run_report_sim.json" if args.sim else "run_report.json"))
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"  report              {out}")
    if report.get("bit_agreement", 1.0) < 1.0:
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m flow.runtime <bundle> [--sim] ...`: `flow run` on a board that has only the runtime."""
    parser = argparse.ArgumentParser(prog="python -m flow.runtime")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["run", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(run(args) or 0)
    except FlowError as exc:
        print(f"python -m flow.runtime: error: {exc}", file=sys.stderr)
        return exc.exit_code
