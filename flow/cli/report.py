"""`flow report <build dir>`: print a finished build's summary again (and its JSON with --json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="print the summary of a finished build", description=__doc__)
    p.add_argument("build_dir", type=Path, help="a folder written by `flow build`")
    p.add_argument("--json", action="store_true", help="print the machine-readable state instead of tables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flow.build.summary import load_state, print_summary

    if args.json:
        from flow.build.rtl_table import load_rtl

        state = load_state(args.build_dir)
        rtl = load_rtl(args.build_dir)
        if rtl is not None:  # extended: the rtl step's full report (reports/rtl.json)
            state["rtl_report"] = rtl
        print(json.dumps(state, indent=2))
    else:
        print_summary(args.build_dir)
    return 0
