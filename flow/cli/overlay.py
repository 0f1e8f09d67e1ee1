"""`flow overlay`: build the RTL overlay bundle of a board and size, once (docs/overlay.md).

The bundle holds the RTL, the preset's parameters, the Vivado block-design script, overlay.json
and the driver; the bitstream and .hwh when Vivado is on PATH (otherwise it says so and builds
everything else). Models are then written with `flow image` or `flow build --engine rtl` and
loaded at run time: `EIEOverlay(<bundle>).load("model.eie")`. `--package` also writes a
pip-installable PYNQ overlay package (wheel) of the bundle.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flow.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("overlay", help="build the RTL overlay (bitstream when Vivado is present) for a board and P",
                       description=__doc__)
    p.add_argument("--board", default="pynq-z2", help="board name (see `flow boards`); default pynq-z2")
    p.add_argument("--pe", type=int, default=64, help="engine size P: one of the board's overlay presets (default 64)")
    p.add_argument("--out", type=Path, default=None,
                   help="bundle folder (default: $EIE_OVERLAY_DIR or ~/.cache/eie-flow/overlays, /<name>)")
    p.add_argument("--no-vivado", action="store_true", help="do not run Vivado even when it is on PATH")
    p.add_argument("--yosys", action="store_true",
                   help="also synthesise the whole overlay with Yosys (measured LUT/FF/BRAM/DSP; minutes at P=64)")
    p.add_argument("--package", action="store_true",
                   help="also build the pip-installable PYNQ overlay package (eie-overlay-<board>) into <out>/dist")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flow.build.overlay import build_overlay

    if args.pe < 1:
        raise UsageError(f"--pe {args.pe}: give the overlay's number of PEs, one of the board's presets (16, 32, 64)")

    def say(msg: str) -> None:
        print(f"overlay: {msg}", flush=True)

    folder, meta = build_overlay(args.board, args.pe, args.out, vivado=not args.no_vivado, yosys=args.yosys,
                                 package=args.package, say=say)
    bit = "bitstream included" if meta.get("bitstream_built") else "no bitstream (Vivado did not run)"
    print(f"wrote {folder}: overlay {meta['name']} ({meta['board']}, P={meta['P']}, {meta['clock_mhz']:g} MHz, "
          f"register map v{meta['regmap_version']}, model format v{meta['format_version']}, "
          f"build hash {meta['build_hash']:#010x}); {bit}")
    for wheel in sorted((folder / "dist").glob("*.whl")) if args.package else []:
        print(f"wrote {wheel} (on the board: pip install {folder / 'driver'} {wheel.name})")
    return 0
