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

COMMANDS = ["build", "compress", "csim", "rtlsim", "image", "overlay", "run", "report", "boards"]


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


#: what the flow's own output uses beyond ASCII, spelled in ASCII for a terminal that cannot show it
_ASCII = {"\u2026": "...", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00d7": "x", "\u2264": "<=",
          "\u2265": ">=", "\u2192": "->", "\u00b1": "+/-", "\u00b5": "u", "\u2018": "'", "\u2019": "'",
          "\u201c": '"', "\u201d": '"', "\u2248": "~", "\u00b0": " deg"}


def _spell_ascii(exc: UnicodeError):
    """codecs error handler: a character the stream's encoding lacks becomes its ASCII spelling (else ?)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(_ASCII.get(ch, "?") for ch in exc.object[exc.start : exc.end]), exc.end


def ascii_fallback() -> None:
    """Once per process: stdout/stderr in a non-UTF-8 encoding (PYTHONIOENCODING=latin-1, an ASCII
    locale) write what they cannot encode in ASCII instead of raising after the work is done.
    rich already draws its boxes in ASCII there; its ellipsis and the flow's own symbols go through
    this handler."""
    import codecs

    try:
        codecs.lookup_error("flow-ascii")
    except LookupError:
        codecs.register_error("flow-ascii", _spell_ascii)
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding and not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="flow-ascii")
            except (ValueError, OSError):  # a stream that cannot change: keep it as it is
                pass


def main(argv: list[str] | None = None) -> int:
    ascii_fallback()
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
