"""`flow run <bundle> [--sim]` and `python -m flow.runtime`: run a deploy bundle's test vectors on the
board or the simulated board (numpy + pynq only: this module ships in the bundle's driver).

Prints accuracy and bit agreement with the expected raw outputs, and writes the same numbers as
JSON (`--json`, default `<bundle>/run_report[_sim].json`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from flow.errors import FlowError, UsageError
from flow.runtime.overlay import DEFAULT_MAX_BATCH, DEFAULT_TIMEOUT_S, check_timeout


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a deploy bundle on a PYNQ board, or on the simulated board with --sim",
        description=__doc__,
    )
    p.add_argument("bundle", type=Path,
                   help="deploy bundle folder (model.json, .bit, .hwh), or an RTL overlay bundle (overlay.json)")
    p.add_argument("--sim", action="store_true",
                   help="simulated board: same driver; the C simulation of the HLS IP, or for an RTL overlay "
                        "Verilator's model of eie_axi cycle by cycle")
    p.add_argument("--model", type=Path, default=None,
                   help="RTL overlay: model.eie (or a folder holding it) to load; default: the bundle's model.eie")
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
        "--library", type=Path, default=None,
        help="--sim: compiled AXI-top simulation library to use (default: the bundle's sim_library)"
    )
    p.add_argument("--stall", type=float, default=0.2,
                   help="--sim on an RTL overlay: probability of a gap on each stream's tvalid/tready per cycle "
                        "(default 0.2; 0 for none)")
    p.add_argument("--seed", type=int, default=1, help="--sim on an RTL overlay: seed of the random stalls")
    p.add_argument("--no-download", action="store_true", help="use the bitstream already loaded")
    p.add_argument("--no-board-check", action="store_true", help="run even if the bundle names another board")
    p.add_argument("--json", type=Path, default=None, help="where to write the JSON report")
    p.set_defaults(func=run)


def run(args, library_builder=None, overlay_library_builder=None) -> int:
    """Run the command. `library_builder(meta, bundle)`: compiles the simulation library of a bundle
    that names only its HLS project (`flow run` passes flow.board's; the board has no compiler);
    `overlay_library_builder(bundle)`: the same for an RTL overlay bundle (flow.runtime.overlay_run)."""
    if (Path(args.bundle) / "overlay.json").is_file():
        from flow.runtime.overlay_run import run_overlay

        return run_overlay(args, overlay_library_builder)
    if getattr(args, "model", None) is not None:
        raise UsageError(f"--model applies to RTL overlay bundles (overlay.json); {args.bundle} is an HLS bundle "
                         "with its model compiled in")
    from flow.runtime.bundle import BundleMeta
    from flow.runtime.overlay import EIEOverlay
    from flow.runtime.sim import TEST_VECTORS, load_test_vectors, run_vectors, sim_overlay

    check_timeout(args.timeout, "--timeout")
    meta = BundleMeta.load(args.bundle)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be positive, got {args.batch_size}")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be positive, got {args.limit}")
    out = args.json or (args.bundle / ("run_report_sim.json" if args.sim else "run_report.json"))
    if args.json:
        check_writable(out, "--json")
    data = args.data or (args.bundle / (meta.test_vectors or TEST_VECTORS))
    vectors = load_test_vectors(data, meta)
    if args.limit is not None:
        vectors = {k: v[: args.limit] for k, v in vectors.items()}
    kwargs = dict(download=not args.no_download, timeout=args.timeout, check_board=not args.no_board_check)
    if args.sim:
        library = args.library
        if library is not None and meta.sim_library and meta.network is None:  # else checked exactly
            warn_other_build(Path(library), Path(meta.sim_library))
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
        if args.sim and args.library is not None and report["bit_agreement"] < 0.5:
            print(
                f"  --library {args.library} disagrees with the bundle's expected outputs on most samples: "
                "it was probably built for another network; rebuild it from this bundle's HLS project "
                "(or leave --library out)",
                file=sys.stderr,
            )
    try:
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"  report              {out}")
    except OSError as exc:
        if args.json:
            raise UsageError(f"cannot write the report {out}: {exc.strerror or exc}; pass --json a writable file") from None
        print(f"  report              not written: {out}: {exc.strerror or exc} (pass --json elsewhere)", file=sys.stderr)
    if report.get("bit_agreement", 1.0) < 1.0:
        return 1
    return 0


def warn_other_build(library: Path, own: Path) -> None:
    """Libraries are named lib<project>_axi_sim-<hash of sources and flags>.so: a --library whose name
    differs from the bundle's own was built from other sources (another network, or an older build)."""
    import re

    pat = re.compile(r"^lib(\w+)_axi_sim-([0-9a-f]+)\.so$")
    a, b = pat.match(library.name), pat.match(own.name)
    if a and b and a.groups() != b.groups():
        print(
            f"warning: --library {library} was built from other sources than this bundle's {own.name} "
            "(another network or build): expect mismatches; leave --library out to use the bundle's own",
            file=sys.stderr,
        )


def check_writable(path: Path, what: str, *, fix: str = "pass --json a file in a writable folder",
                   create_parents: bool = False) -> None:
    """Refuse, before any work, an output file path that cannot be written: a folder, a place below a
    file, a kernel file system, a folder that is missing (unless the writer makes missing folders:
    `create_parents`, then the nearest existing one must be writable) or not writable."""
    path = Path(os.path.abspath(path))
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder, not a file; {fix}")
    if str(path).startswith(("/proc/", "/sys/", "/dev/")) or str(path.resolve()).startswith(("/proc/", "/sys/")):
        raise UsageError(f"{what} {path} is inside a kernel file system; {fix}")
    parent = path.parent
    if create_parents:
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise UsageError(f"{what} {path} is below {parent}, which is a file; {fix}")
    elif not parent.is_dir():
        why = "is a file" if parent.exists() else "does not exist"
        raise UsageError(f"{what} {path}: its folder {parent} {why}; {fix}")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        where = f": {parent} is not writable" if create_parents else " is not writable"
        raise UsageError(f"{what} {path}{where}; {fix}")


def main(argv: list[str] | None = None) -> int:
    """`python -m flow.runtime <bundle> [--sim] ...`: `flow run` on a board that has only the runtime."""
    parser = argparse.ArgumentParser(prog="python -m flow.runtime")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["run", *(sys.argv[1:] if argv is None else argv)])
    import signal

    def _terminated(signum, frame):  # noqa: ARG001 -- SIGTERM is handled like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminated)
    try:
        return int(run(args) or 0)
    except FlowError as exc:
        print(f"python -m flow.runtime: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("python -m flow.runtime: interrupted", file=sys.stderr)
        return 130
