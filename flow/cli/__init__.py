"""The `flow` command line: main() (flow.cli.main) and one module per command; shared options in
flow.cli.options. Nothing below the CLI imports it."""

from flow.cli.main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
