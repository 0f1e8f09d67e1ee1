"""The misuse campaign's fast cases (bench/misuse.py, cases marked fast) as a CI test: each case run in
a fresh process must pass (exit code, message, no traceback or internal error, no data loss). The whole
campaign is a benchmark: `python bench/misuse.py` regenerates docs/robustness.md."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
misuse = importlib.import_module("misuse")
cases = importlib.import_module("misuse_cases")

FAST = misuse.select(cases.CASES, fast=True)


def test_the_campaign_covers_every_command_with_enough_cases():
    commands = {c.command for c in cases.CASES}
    assert {"build", "compress", "csim", "rtlsim", "report", "run", "boards", "api"} <= commands
    assert len(cases.CASES) >= 60
    assert len({c.id for c in cases.CASES}) == len(cases.CASES)  # ids are unique
    assert 10 <= len(FAST) < len(cases.CASES)
    for c in cases.CASES:  # every {placeholder} is the case folder or a fixture it names
        paths = {"tmp": "/t", **{n: f"/{n}" for n in c.needs}, "cm_copy": "/c", "build_copy": "/b",
                 "bundle_copy": "/u", "fakebuild_copy": "/f"}
        for text in (*c.argv, c.code or "", *c.expect.says, *c.expect.untouched, *c.expect.not_created,
                     *(v for v in c.env.values() if v)):
            text.format(**paths)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return cases.Fixtures(tmp_path_factory.mktemp("misuse") / "fixtures")


@pytest.mark.parametrize("case", FAST, ids=[c.id for c in FAST])
def test_fast_case(case, fixtures, tmp_path):
    run = misuse.run_case(case, fixtures, tmp_path)
    assert run.verdict in ("pass", "skipped"), f"{run.verdict}: {run.problem}\n{run.observed()}\n{run.err[-2000:]}"


def test_the_judge_catches_each_kind_of_failure(tmp_path):
    """The verdicts the campaign reports: a traceback, an internal error, exit 0 on a misuse, data loss."""
    case = misuse.Case("x/y", "why", misuse.Expect(2, ("needle",)))
    for out, code, before, after, verdict in (
        ("Traceback (most recent call last):\n", 1, {}, {}, "traceback"),
        ("flow x: internal error: KeyError", 1, {}, {}, "internal error"),
        ("all fine", 0, {}, {}, "silent wrong result"),
        ("error: needle", 2, {"f": "a"}, {"f": "b"}, "data loss"),
        ("error: hay", 2, {}, {}, "unclear message"),
        ("error: needle", 2, {"f": "a"}, {"f": "a"}, "pass"),
    ):
        run = misuse.Run(case, {"tmp": str(tmp_path)}, returncode=code, err=out)
        misuse.judge(run, before, after)
        assert run.verdict == verdict, (out, run.problem)
