"""Quality gates and destructive options of `flow compress`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from flow.build.steps.quality import gate
from flow.errors import QualityError
from robustness.helpers import assert_usage_error, build_args, run_inproc, tree_digest

Y = np.arange(100) % 10  # chance = 10 %


@pytest.mark.parametrize("acc, refused", [
    ({"dense": 0.97, "quantized": 0.96}, False),
    ({"dense": 0.97, "quantized": 0.91}, True),   # 6 points below
    ({"dense": 0.30, "quantized": 0.11}, True),   # at chance
    ({"dense": 0.97, "quantized": 0.10}, True),
    ({"dense": 0.11, "quantized": 0.50}, False),  # better than dense
    ({}, False),
])
def test_gate(acc, refused):
    if refused:
        with pytest.raises(QualityError, match="--allow-accuracy-drop"):
            gate(acc, Y)
        msg, nums = gate(acc, Y, allow=True)
        assert msg and nums["final"] == acc["quantized"]
    else:
        assert gate(acc, Y)[0] is None


def test_max_drop_is_configurable():
    assert gate({"dense": 0.97, "quantized": 0.91}, Y, max_drop=10)[0] is None


def test_collapsed_compressed_model_stops_the_build(tmp_path, capsys, compressed_dir):
    cm = tmp_path / "cm"
    shutil.copytree(compressed_dir, cm)
    (cm / "report.json").write_text(json.dumps({"accuracy": {"dense": 0.97, "quantized": 0.10}}))
    out = tmp_path / "b"
    rc, _, err = run_inproc(capsys, build_args(cm, out))
    assert_usage_error(rc, err, "97.00%", "10.00%", "--allow-accuracy-drop", code=1)
    assert not out.exists()
    # the completed compress step is kept for the rerun with --allow-accuracy-drop
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".building")]


def test_compress_force_replaces_only_its_own_folder(tmp_path, compressed_dir):
    from flow.compress.io import atomic_folder, check_target
    from flow.errors import UsageError

    own = tmp_path / "own"
    shutil.copytree(compressed_dir, own)
    check_target(own, force=True)  # a folder `flow compress` wrote: replaced on --force
    with atomic_folder(own, force=True) as tmp:
        (tmp / "compression.json").write_text("{}")
    assert sorted(p.name for p in own.iterdir()) == [".flow-manifest.json", "compression.json"]
    user = tmp_path / "user"
    user.mkdir()
    (user / "thesis.tex").write_text("years of work")
    before = tree_digest(user)
    with pytest.raises(UsageError, match="not an eie-flow"):
        check_target(user, force=True)
    assert tree_digest(user) == before


def test_compress_into_a_locked_folder(tmp_path, capsys):
    import subprocess
    import sys

    from robustness.helpers import env

    out = tmp_path / "c"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time; from pathlib import Path; from flow.outdir import OutputLock\n"
        f"with OutputLock(Path({str(out)!r}), 'compress'):\n    print('held', flush=True); time.sleep(30)")],
        env=env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        rc, _, err = run_inproc(capsys, ["compress", "--out", str(out), "--epochs", "1"])
        assert_usage_error(rc, err, f"PID {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
