"""`flow` console script: a thin dispatcher; each command lives in flow/cli/<name>.py.

A command module defines `add_parser(subparsers)` which creates its parser and sets
`func=run`, and `run(args) -> int`. Errors derived from FlowError print one line
(cause and fix) and exit with their code: 2 for usage errors, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import warnings

from flow import __version__
from flow.errors import FlowError

COMMANDS = ["build", "compress", "csim", "rtlsim", "image", "run", "report", "boards"]


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line cause and a pointer to --help."""

    def error(self, message: str) -> None:  # noqa: D401
        self.exit(2, f"{self.prog}: error: {message}\n  fix: see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="flow",
        description="Deep Compression + EIE sparse engine: Keras/QKeras -> hls4ml 'EIE' backend -> PYNQ board.",
    )
    parser.add_argument("--version", action="version", version=f"eie-flow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="<command>", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"flow.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"flow.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def _quiet_libraries() -> None:
    """TensorFlow's start-up chatter and a Keras warning about QKeras quantizers bury the flow's own
    output; -v brings TensorFlow's back."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=r"The `keras.constraints.serialize\(\)` API", category=UserWarning)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        _quiet_libraries()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    previous = _terminate_as_interrupt()
    try:
        return int(args.func(args) or 0)
    except FlowError as exc:
        print(f"flow {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print(f"flow {args.command}: terminated (SIGTERM); completed work is kept, rerun to resume", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"flow {args.command}: interrupted; completed work is kept, rerun to resume", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"flow {args.command}: error: out of memory; use a smaller model or data subset "
              "(data.train_subset)", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 -- a bug of the flow: one line, the traceback with -v
        if args.verbose:
            raise
        what = " ".join(str(exc).split())[:300]
        print(f"flow {args.command}: internal error: {type(exc).__name__}: {what}; rerun with -v for the "
              "traceback and report it", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout, a closing session), handled exactly like Ctrl-C."""


def _raise_terminated(signum, frame):  # noqa: ARG001
    raise Terminated()


def _terminate_as_interrupt():
    """Make SIGTERM raise Terminated in the main thread (the previous handler, or None if not set)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


if __name__ == "__main__":
    sys.exit(main())
