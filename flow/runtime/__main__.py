"""`python -m flow.runtime <bundle> [--sim] ...`: `flow run` on a board that has only the runtime."""

from __future__ import annotations

import argparse
import sys

from flow.commands import run as run_command
from flow.errors import FlowError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flow.runtime")
    sub = parser.add_subparsers(dest="command", required=True)
    run_command.add_parser(sub)
    args = parser.parse_args(["run", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(run_command.run(args) or 0)
    except FlowError as exc:
        print(f"python -m flow.runtime: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
