"""A `flow build` with four quick fake steps, for signal tests: python fake_build.py OUT LOG SLEEP [--force].

Each step appends its name to LOG when it starts, sleeps SLEEP seconds, then writes <name>.txt."""

import sys
import time
from pathlib import Path

import flow.build.steps
from flow.build.context import step
from flow.build.runner import run_build
from flow.cli.main import Terminated, _terminate_as_interrupt
from flow.config import FlowConfig
from flow.errors import FlowError

out, log, pause = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])


def make(name):
    @step(name, depends_on=("seed",), outputs=(f"{name}.txt",))
    def run(ctx):
        with open(log, "a") as f:
            f.write(name + "\n")
        time.sleep(pause)
        (ctx.out / f"{name}.txt").write_text(f"{name} {ctx.out}\n")
        return {}

    return run


flow.build.steps.STEPS = tuple(make(n) for n in "abcd")
_terminate_as_interrupt()
try:
    run_build(FlowConfig(), out, force="--force" in sys.argv)
except FlowError as exc:
    print(f"flow build: error: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
except Terminated:
    sys.exit(143)
except KeyboardInterrupt:
    sys.exit(130)
