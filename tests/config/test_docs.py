"""Docs that match the code: the config reference is generated, and the README's commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from flow.cli import COMMANDS
from flow.config.doc import render

REPO = Path(__file__).resolve().parents[2]


def test_config_reference_is_current():
    assert (REPO / "docs" / "config.md").read_text() == render(), "run: python -m flow.config.doc > docs/config.md"


def test_readme_names_the_setup_commands_and_every_cli_command():
    readme = (REPO / "README.md").read_text()
    assert "flow build --board pynq-z2" in readme
    assert ".venv/bin/python -m pytest" in readme
    for cmd in COMMANDS:
        assert re.search(rf"`flow {cmd}\b", readme), cmd


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert "\n.venv/bin/python -m pytest\n" in ci


def test_example_configs_validate():
    from flow.config import load_config

    examples = sorted((REPO / "examples").glob("*.yaml"))
    assert examples
    for path in examples:
        cfg = load_config(path)
        assert cfg.data.name == "mnist"
