"""Issue 19, on real builds: a replaced or damaged file in a build is noticed (the steps concerned
rerun, `flow report` names it), and the user's files in the flow's folders survive --force and reruns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from flow.cli import main
from robustness.helpers import build_args, copy_build, run_inproc


def _state(b: Path) -> dict:
    return json.loads((b / "build_state.json").read_text())


def _status(b: Path) -> dict[str, str]:
    return {n: s["status"] for n, s in _state(b)["steps"].items()}


def _other_network(folder: Path) -> Path:
    """Another compressed digits MLP (64 -> 12 -> 10), written as `flow compress --force` writes."""
    from flow.compress.io import atomic_folder, save_compressed
    from flow.data import load_dataset
    from flow.testing import as_compressed, shared_mlp

    ds = load_dataset()
    model, types = shared_mlp([64, 12, 10], [0.5, 0.5], calib_x=ds.x_train[:256], seed=2)
    with atomic_folder(folder, force=True) as tmp:
        save_compressed(as_compressed(model, types), tmp)
    return folder


def _layers(b: Path) -> list[tuple[int, int]]:
    meta = json.loads((b / "bundle" / "model.json").read_text())
    return [(ly["n_in"], ly["n_out"]) for ly in meta["layers"]]


def test_a_model_replaced_in_place_reruns_every_step_that_read_it(tmp_path, capsys, compressed_dir):
    """The bug: the next build called every step up to date (the fingerprint held the --model path,
    not its content), and the bundle and `flow report` described the old network."""
    cm = tmp_path / "cm"
    shutil.copytree(compressed_dir, cm)
    b = tmp_path / "b"
    assert main(build_args(cm, b)) == 0
    assert _layers(b)[0] == (64, 16)
    _other_network(cm)  # `flow compress --force --out cm` with other settings
    rc, _, err = run_inproc(capsys, build_args(cm, b))
    assert rc == 0, err
    assert set(_status(b).values()) == {"done"}
    assert _layers(b)[0] == (64, 12)  # the bundle holds the new network
    rc, out, _ = run_inproc(capsys, ["report", str(b)])
    assert "64x12" in out and "64x16" not in out


def test_a_compressed_folder_replaced_inside_the_build_is_noticed(shared_build, tmp_path, capsys, compressed_dir):
    """`flow compress --force --out <build>/compressed`: the next `flow build` reruns the compress step
    (its output is not what it wrote) instead of calling it up to date; the build is consistent again."""
    b = copy_build(shared_build, tmp_path / "b")
    _other_network(b / "compressed")
    rc, out, _ = run_inproc(capsys, ["report", str(b)])
    assert "warning: step compress: compressed/" in out and "changed since the build wrote it" in out
    rc, _, err = run_inproc(capsys, build_args(compressed_dir, b))
    assert rc == 0, err
    assert _status(b)["compress"] == "done"
    got = json.loads((b / "compressed" / "compression.json").read_text())
    assert got == json.loads((compressed_dir / "compression.json").read_text())  # --model's network again
    assert _layers(b)[0] == (64, 16)
    rc, out, _ = run_inproc(capsys, ["report", str(b)])
    assert "warning" not in out


def test_truncated_model_json_and_rtl_json_are_rebuilt(shared_build, tmp_path, capsys, compressed_dir):
    """The bug: both were "up to date, skipped" (present was enough), so the fix `flow run` names
    ("rebuild the bundle") did not repair them."""
    b = copy_build(shared_build, tmp_path / "b")
    for rel in ("bundle/model.json", "reports/rtl.json"):
        text = (b / rel).read_text()
        (b / rel).write_text(text[: len(text) // 2])
    rc, out, _ = run_inproc(capsys, ["report", str(b)])
    assert "reports/rtl.json is damaged" in out and "rerun the `flow build`" in out
    rc, _, err = run_inproc(capsys, build_args(compressed_dir, b))
    assert rc == 0, err
    status = _status(b)
    assert status["rtl"] == "done" and status["bundle"] == "done" and status["sim_board"] == "done"
    assert status["compress"] == "skipped" and status["hls"] == "skipped"
    for rel in ("bundle/model.json", "reports/rtl.json"):
        assert isinstance(json.loads((b / rel).read_text()), dict)
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(b / "bundle")])
    assert rc == 0, err


def test_a_user_file_in_the_builds_compressed_folder_survives_force(shared_build, tmp_path, capsys, compressed_dir):
    """The bug: `flow build --force` (and any rerun of the compress step) deleted it."""
    b = copy_build(shared_build, tmp_path / "b")
    (b / "compressed" / "my notes.txt").write_text("mine")
    (b / "compressed" / "plots").mkdir(exist_ok=True)
    (b / "compressed" / "plots" / "my plot.png").write_bytes(b"\x89PNG mine")
    (b / "README.mine").write_text("mine too")
    rc, _, err = run_inproc(capsys, [*build_args(compressed_dir, b), "--force"])
    assert rc == 0, err
    assert _status(b)["compress"] == "done"
    assert (b / "compressed" / "my notes.txt").read_text() == "mine"
    assert (b / "compressed" / "plots" / "my plot.png").read_bytes() == b"\x89PNG mine"
    assert (b / "README.mine").read_text() == "mine too"
    # and a rerun of the compress step caused by a changed input (not --force)
    _other_network(b / "compressed")
    rc, _, err = run_inproc(capsys, build_args(compressed_dir, b))
    assert rc == 0, err
    assert (b / "compressed" / "my notes.txt").read_text() == "mine"


def test_compress_force_keeps_a_user_file_in_its_out_folder(tmp_path, capsys):
    """The bug: `flow compress --force` replaced the folder as a whole, the user's file with it."""
    cfg = tmp_path / "quick.yaml"
    cfg.write_text("data:\n  train_subset: 300\ncompress:\n  epochs: 1\n  prune_epochs: 1\n  finetune_epochs: 1\n"
                   "  plots: false\n")
    out = tmp_path / "c"
    args = ["compress", "--config", str(cfg), "--out", str(out), "--no-progress", "--allow-accuracy-drop"]
    rc, _, err = run_inproc(capsys, args)
    assert rc == 0, err
    (out / "my notes.txt").write_text("mine")
    rc, _, err = run_inproc(capsys, [*args, "--force"])
    assert rc == 0, err
    assert (out / "my notes.txt").read_text() == "mine"
    assert (out / "compression.json").is_file()
    from flow import manifest

    assert manifest.foreign(out) == ["my notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "quick.yaml"]
