"""`--library` built for another network with the same interface: the network fingerprint compiled
into the simulation library is checked against the bundle's model.json before anything runs (exit 2,
naming both files and the fix), under `flow run --sim` and the board's `python -m flow.runtime`."""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from robustness.helpers import assert_usage_error, env, run_inproc

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def other_library(shared_build, tmp_path_factory) -> Path:
    """The simulation library of another network with the same interface: the shared build's HLS
    project with two weight codes of the first layer swapped, compiled like the build does."""
    from flow.board.axi_top import build_sim_library, network_fingerprint

    hls = tmp_path_factory.mktemp("other") / "hls"
    shutil.copytree(shared_build / "hls", hls, symlinks=True, ignore=shutil.ignore_patterns("*.so", "sim"))
    header = min((hls / "firmware" / "weights").glob("eie*.h"))
    text = header.read_text()
    m = re.search(r"\{(\d+),(\d+),", text)
    assert m and m.group(1) != m.group(2), "expected two different codes to swap"
    header.write_text(text[: m.start()] + f"{{{m.group(2)},{m.group(1)}," + text[m.end():])
    meta = json.loads((shared_build / "bundle" / "model.json").read_text())
    assert network_fingerprint(hls) != meta["network"]
    return build_sim_library(hls, meta["project"])


def test_the_bundle_records_the_network_its_library_was_built_for(bundle):
    from flow.runtime.bundle import BundleMeta
    from flow.runtime.sim_library import SimLibrary

    meta = BundleMeta.load(bundle)
    assert meta.network and len(meta.network) == 32
    assert SimLibrary(bundle / meta.sim_library, meta.project).network == meta.network


def test_library_of_another_network_with_the_same_interface_is_refused(bundle, other_library, capsys):
    rc, out, err = run_inproc(capsys, ["run", "--sim", str(bundle), "--library", str(other_library)])
    assert_usage_error(rc, err, str(other_library), str(bundle / "model.json"), "another network", "flow build")
    assert out == ""  # refused before any sample ran


def test_the_boards_runtime_refuses_it_too(bundle, other_library):
    e = env()
    e["PYTHONPATH"] = str(bundle / "driver")
    res = subprocess.run([sys.executable, "-m", "flow.runtime", str(bundle), "--sim", "--library", str(other_library)],
                         capture_output=True, text=True, env=e, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "another network" in res.stderr
    assert str(other_library) in res.stderr and "model.json" in res.stderr


class _CDLLWithoutNetwork(ctypes.CDLL):
    """A simulation library built before `<project>_axi_sim_network` existed."""

    def __getattr__(self, name):
        if name.endswith("_axi_sim_network"):
            raise AttributeError(name)
        return super().__getattr__(name)


def test_a_library_older_than_fingerprints_gets_a_clear_message(bundle, capsys, monkeypatch):
    from flow.runtime import sim_library

    monkeypatch.setattr(sim_library.ctypes, "CDLL", _CDLLWithoutNetwork)
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(bundle)])
    assert_usage_error(rc, err, "does not say which network", "older eie-flow", "model.json", "flow build")


def test_a_bundle_older_than_fingerprints_still_runs(bundle, capsys, caplog, tmp_path):
    meta = json.loads((bundle / "model.json").read_text())
    del meta["network"]
    (bundle / "model.json").write_text(json.dumps(meta))
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(bundle), "--json", str(tmp_path / "r.json")])
    assert rc == 0, err
    assert "no network fingerprint" in caplog.text  # said, then checked against the test vectors
    assert json.loads((tmp_path / "r.json").read_text())["bit_agreement"] == 1.0


def test_a_damaged_network_field_is_named(bundle, capsys):
    meta = json.loads((bundle / "model.json").read_text())
    meta["network"] = "not hex!"
    (bundle / "model.json").write_text(json.dumps(meta))
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(bundle)])
    assert_usage_error(rc, err, "model.json", "network")
