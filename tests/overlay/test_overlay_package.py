"""`flow overlay --package`: a wheel laid out as pynq 3.0.1 finds overlays (`pynq.overlays` entry
point -> <folder>/<name>/<name>.bit) and notebooks (`pynq.notebooks`), carrying the bitstream, .hwh,
overlay.json and notebooks; without a bitstream the package says so in its version and refuses to load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from flow.build.overlay import build_overlay
from flow.build.overlay_pkg import NO_BIT_LABEL, build_package
from flow.cli import main


@pytest.fixture
def bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                 if not os.path.exists(os.path.join(p, "vivado"))))
    folder, meta = build_overlay("pynq-z2", 64, tmp_path / "ov", say=lambda m: None)
    return folder, meta


def _install(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, text=True)
    return target


PROBE = """
import json, os, sys
from pynqutils.setup_utils import ExtensionsManager
ov = ExtensionsManager("pynq.overlays")
nb = ExtensionsManager("pynq.notebooks")
mine = [e for e in ov.list if e.module_name.startswith("eie_overlay_pynq_z2")]
import eie_overlay_pynq_z2 as pkg
print(json.dumps({"overlays": [ov.extension_path(e.module_name) for e in mine],
                  "notebooks": [nb.extension_path(e.module_name) for e in nb.list if e.name == "eie_overlay_pynq_z2"],
                  "has_bit": pkg.HAS_BITSTREAM, "bundle": str(pkg.bundle_dir())}))
try:
    pkg.load()
except RuntimeError as exc:
    print("REFUSED", exc)
"""


def _probe(target):
    pytest.importorskip("pynqutils")
    env = {**os.environ, "PYTHONPATH": str(target)}
    r = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    lines = r.stdout.splitlines()
    return json.loads(lines[0]), "\n".join(lines[1:])


def test_package_with_bitstream_is_found_the_pynq_way(bundle, tmp_path):
    folder, meta = bundle
    name = meta["name"]
    (folder / meta["bitstream"]).write_bytes(b"\x00bit")  # as Vivado leaves them
    (folder / meta["hwh"]).write_text("<hwh/>")
    nb = folder / "notebooks" / "eie_overlay.ipynb"  # the repository's notebook, copied by `flow overlay`
    if not nb.is_file():
        nb.parent.mkdir(exist_ok=True)
        nb.write_text(json.dumps({"cells": [], "nbformat": 4}))
    wheel = build_package(folder, tmp_path / "dist", say=lambda m: None)
    assert NO_BIT_LABEL not in wheel.name
    with zipfile.ZipFile(wheel) as z:
        files = set(z.namelist())
        ep = next(z.read(n).decode() for n in files if n.endswith("entry_points.txt"))
    for f in (f"{name}.bit", f"{name}.hwh", "overlay.json"):
        assert f"eie_overlay_pynq_z2/overlays/{name}/{f}" in files
    assert "eie_overlay_pynq_z2/notebooks/eie_overlay/eie_overlay.ipynb" in files
    assert "[pynq.overlays]" in ep and "[pynq.notebooks]" in ep
    found, out = _probe(_install(wheel, tmp_path))
    # pynq.Bitstream("<name>.bit") looks in <entry point folder>/<name>/<name>.bit
    assert len(found["overlays"]) == 1 and os.path.isfile(os.path.join(found["overlays"][0], name, f"{name}.bit"))
    assert os.path.isfile(os.path.join(found["notebooks"][0], "eie_overlay", "eie_overlay.ipynb"))
    assert found["has_bit"] is True and json.loads(open(os.path.join(found["bundle"], "overlay.json")).read()) == meta


def test_package_without_bitstream_is_labelled(bundle, tmp_path, capsys):
    folder, meta = bundle
    said = []
    wheel = build_package(folder, tmp_path / "dist", say=said.append)
    assert f"+{NO_BIT_LABEL}" in wheel.name
    assert any("NO BITSTREAM" in s for s in said)
    with zipfile.ZipFile(wheel) as z:
        meta_txt = next(z.read(n).decode() for n in z.namelist() if n.endswith("METADATA"))
        assert not any(n.endswith(".bit") for n in z.namelist())
    assert "NO BITSTREAM" in meta_txt
    found, out = _probe(_install(wheel, tmp_path))
    assert found["has_bit"] is False and "REFUSED" in out and "without a bitstream" in out


def test_cli_package(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                 if not os.path.exists(os.path.join(p, "vivado"))))
    assert main(["overlay", "--pe", "16", "--package", "--out", str(tmp_path / "ov")]) == 0
    out = capsys.readouterr().out
    wheels = list((tmp_path / "ov" / "dist").glob("*.whl"))
    assert len(wheels) == 1 and "NO BITSTREAM" in out and str(wheels[0]) in out
    assert main(["overlay", "--pe", "16", "--out", str(tmp_path / "ov")]) == 0  # a rebuild without --package
    assert not (tmp_path / "ov" / "dist").exists()  # no stale wheel carried over
