"""The command line: help, version, and usage errors (exit 2, one line with the cause and the fix)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flow import __version__
from flow.cli import COMMANDS, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flow.cli", *args], capture_output=True, text=True)


def test_version_and_help():
    res = run("--version")
    assert res.returncode == 0 and __version__ in res.stdout
    res = run("--help")
    assert res.returncode == 0
    for cmd in COMMANDS:
        assert cmd in res.stdout


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cmd):
    res = run(cmd, "--help")
    assert res.returncode == 0 and "usage: flow " + cmd in res.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["frobnicate"], "invalid choice"),
        (["build", "--board", "zx-spectrum"], "zx-spectrum"),
        (["build", "--pe", "0"], "n_pe=0"),
        (["build", "--epochs", "0"], "--epochs 0"),
        (["build", "--skip-train"], "--skip-train needs --model"),
        (["build", "--model", "/nonexistent/model.h5"], "does not exist"),
        (["build", "--config", "/nonexistent.yaml"], "does not exist"),
        (["report", "/nonexistent"], "not an eie-flow build"),
    ],
)
def test_usage_errors_exit_2_with_cause(args, message, capsys):
    try:
        rc = main(args)
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) <= 3


def test_bad_config_key_is_refused_before_work(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hls:\n  n_pee: 4\n")
    assert main(["build", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "n_pee" in err and "known keys" in err
    assert not (tmp_path / "o").exists()
