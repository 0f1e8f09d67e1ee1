"""`flow boards`: the supported boards and their resources, from boards/<name>/board.yaml."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "boards",
        help="list the supported boards with part, clock and resources",
        description="List the boards under boards/ (one board.yaml each): FPGA part, PS, fabric clock, "
        "LUT/FF/BRAM/DSP counts, DMA stream width and PYNQ image.",
    )
    p.add_argument("name", nargs="?", default=None, help="show only this board")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flow.board.boards import list_boards, load_board

    boards = [load_board(args.name)] if args.name else list_boards()
    if args.json:
        print(json.dumps([b.to_dict() for b in boards], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="eie-flow boards (boards/<name>/board.yaml)")
    for col, just in (("board", "left"), ("part", "left"), ("PS", "left"), ("MHz", "right"),
                      ("LUT", "right"), ("FF", "right"), ("BRAM36", "right"), ("DSP", "right"),
                      ("URAM", "right"), ("stream", "right"), ("PYNQ", "left")):
        table.add_column(col, justify=just)
    for b in boards:
        r = b.resources
        table.add_row(b.name, b.part, b.ps.type, f"{b.clock_mhz:g}", f"{r.lut:,}",
                      f"{r.ff:,}", f"{r.bram36:,}", f"{r.dsp:,}", f"{r.uram:,}", f"{b.dma.stream_bits}b",
                      b.pynq.image)
    console = Console()
    console.width = max(console.width, 110)  # a pipe gets 80 columns; keep rows on one line
    console.print(table)
    return 0
