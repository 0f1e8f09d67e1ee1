"""`flow report <build dir>`: print a finished build's summary again (and its JSON with --json).

A file the build wrote that changed since (flow.build.integrity) and a missing, damaged or edited
reports/rtl.json (flow.build.rtl_table.rtl_status) are named with their fix, in the text and in --json.
"""

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
    from flow.build.integrity import changed_files
    from flow.build.rtl_table import RTL_JSON, rtl_status
    from flow.build.summary import load_state, print_summary

    state = load_state(args.build_dir)  # a missing or damaged record: one line and exit 2
    changed = changed_files(args.build_dir, state)
    if args.json:
        rtl, error = rtl_status(args.build_dir, state)
        if error is not None:  # extended: the rtl step's full report, or why it cannot be shown
            state["rtl_report"] = {**error, **({"report": rtl} if rtl is not None else {})}
        elif rtl is not None:
            state["rtl_report"] = rtl
        state["changed_files"] = changed
        print(json.dumps(state, indent=2))
        return 0
    print_summary(args.build_dir)
    rtl_said = rtl_status(args.build_dir, state)[1] is not None
    for c in changed:
        if rtl_said and c["problem"].startswith(RTL_JSON):
            continue  # said above, with the rtl tables
        print(f"warning: step {c['step']}: {c['problem']}; fix: {c['fix']}")
    return 0
