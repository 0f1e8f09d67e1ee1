"""A finished build and its bundle, damaged: `flow run`, `python -m flow.runtime`, `flow report` and a
rebuild exit 2 with one line naming the file, never a traceback, and leave the build as it was.
All share ONE small build (conftest.shared_build); each test damages its own copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robustness.helpers import assert_usage_error, build_args, env, run_inproc, tree_digest

pytestmark = pytest.mark.csim


def _runtime(bundle: Path, *args: str) -> subprocess.CompletedProcess:
    """The board's own `python -m flow.runtime`, from the bundle's driver (numpy + pynq only)."""
    e = env()
    e["PYTHONPATH"] = str(bundle / "driver")
    return subprocess.run([sys.executable, "-m", "flow.runtime", str(bundle), *args], capture_output=True,
                          text=True, env=e, timeout=300)


def test_the_shared_build_runs(bundle, capsys):
    rc, out, err = run_inproc(capsys, ["run", "--sim", str(bundle), "--json", str(bundle.parent / "r.json")])
    assert rc == 0, err
    assert json.loads((bundle.parent / "r.json").read_text())["bit_agreement"] == 1.0


@pytest.mark.parametrize("kind", ["empty", "random", "truncated", "npy", "no_x", "wrong_shape", "strings", "nan"])
def test_damaged_test_vectors(bundle, capsys, kind):
    tv = bundle / "test_vectors.npz"
    z = dict(np.load(tv))
    if kind == "empty":
        tv.write_bytes(b"")
    elif kind == "random":
        tv.write_bytes(np.random.default_rng(1).bytes(3000))
    elif kind == "truncated":
        tv.write_bytes(tv.read_bytes()[: tv.stat().st_size // 2])
    elif kind == "npy":
        with open(tv, "wb") as f:
            np.save(f, z["x"])
    elif kind == "no_x":
        np.savez(tv, y=z["labels"])
    elif kind == "wrong_shape":
        np.savez(tv, **{**z, "x": z["x"][:, :5]})
    elif kind == "strings":
        np.savez(tv, **{**z, "x": np.full(z["x"].shape, "a")})
    elif kind == "nan":
        x = z["x"].copy()
        x[0, 0] = np.nan
        np.savez(tv, **{**z, "x": x})
    before = tree_digest(bundle)
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(bundle), "--json", str(bundle.parent / "r.json")])
    assert_usage_error(rc, err, "test_vectors.npz")
    board = _runtime(bundle, "--sim", "--json", str(bundle.parent / "r2.json"))
    assert board.returncode == 2 and "Traceback" not in board.stderr and "test_vectors.npz" in board.stderr, board.stderr
    assert tree_digest(bundle) == before


@pytest.mark.parametrize("kind", ["empty", "random", "truncated", "folder", "missing"])
def test_damaged_sim_library(bundle, capsys, kind):
    meta = json.loads((bundle / "model.json").read_text())
    lib = bundle / meta["sim_library"]
    if kind == "empty":
        lib.write_bytes(b"")
    elif kind == "random":
        lib.write_bytes(np.random.default_rng(2).bytes(5000))
    elif kind == "truncated":
        lib.write_bytes(lib.read_bytes()[:2000])
    elif kind == "folder":
        lib.unlink()
        lib.mkdir()
    else:
        lib.unlink()
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(bundle), "--json", str(bundle.parent / "r.json")])
    assert_usage_error(rc, err, lib.name)


@pytest.mark.parametrize("content", [b"", b"{", b"[1]", b"\x00\xff", b'{"format": 1}'])
def test_damaged_model_json(bundle, capsys, content):
    (bundle / "model.json").write_bytes(content)
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(bundle)])
    assert_usage_error(rc, err, "model.json")
    board = _runtime(bundle, "--sim")
    assert board.returncode == 2 and "Traceback" not in board.stderr, board.stderr


def test_run_on_the_build_folder_suggests_its_bundle(shared_build, capsys):
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(shared_build)])
    assert_usage_error(rc, err, str(shared_build / "bundle"))


@pytest.mark.parametrize("where", ["missing_dir", "a_file_parent", "proc", "a_folder"])
def test_json_to_an_unwritable_place(bundle, capsys, tmp_path, where):
    (tmp_path / "f").write_text("x")
    target = {"missing_dir": tmp_path / "nope" / "r.json", "a_file_parent": tmp_path / "f" / "r.json",
              "proc": Path("/proc/r.json"), "a_folder": tmp_path}[where]
    rc, out, err = run_inproc(capsys, ["run", "--sim", str(bundle), "--json", str(target)])
    assert_usage_error(rc, err, "--json")
    assert out == ""  # refused before the run


def test_library_of_another_network_is_named(bundle, tmp_path, capsys):
    """A library whose IP has another interface is refused (layout check); one with the same interface
    shows as mismatches with a hint naming the library."""
    other = tmp_path / "other.so"
    shutil.copyfile(Path(sys.executable).resolve(), other)  # a loadable file that is not the library
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(bundle), "--library", str(other)])
    assert rc == 2 and "Traceback" not in err and "other.so" in err, err


@pytest.mark.parametrize("content", [b"", b"{\"steps\": {", b"[]", b"\x00\x01"])
def test_rebuild_over_a_damaged_state_redoes_the_steps_without_traceback(shared_build, tmp_path, capsys, content):
    """`flow report` refuses it (exit 2, naming the file); the build treats it as no record."""
    b = tmp_path / "b"
    shutil.copytree(shared_build, b, symlinks=True)
    (b / "build_state.json").write_bytes(content)
    rc, _, err = run_inproc(capsys, ["report", str(b)])
    assert_usage_error(rc, err, "build_state.json")


def _text_files(folder: Path):
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            try:
                yield p, p.read_text()
            except UnicodeDecodeError:  # binary (.so, .keras, .npz, .png)
                continue


@pytest.mark.parametrize("how", ["copy", "move"])
def test_a_moved_or_copied_build_names_no_old_path_and_works(shared_build, tmp_path, capsys, compressed_dir, how):
    """No generated text file (scripts, build state, reports, configs) holds the build folder's
    absolute path: right after a copy or move (into a folder with a space), `flow report`, `flow run
    --sim` and a rerun (all up to date) work there, and the scripts resolve paths from where they are."""
    src = tmp_path / "orig"
    shutil.copytree(shared_build, src, symlinks=True)
    old = str(shared_build)
    assert not [p for p, text in _text_files(src) if old in text]
    b = tmp_path / "moved build"
    if how == "copy":
        shutil.copytree(src, b, symlinks=True)
    else:
        src.rename(b)
    assert not [p for p, text in _text_files(b) if str(src) in text or old in text]
    tcl = (b / "hls" / "build_hls.tcl").read_text()
    assert "[info script]" in tcl and '-I\\"[file join $here {firmware}]\\"' in tcl
    rc, out, err = run_inproc(capsys, ["report", str(b)])
    assert rc == 0 and "sim_board" in out, err
    rc, _, err = run_inproc(capsys, ["run", "--sim", str(b / "bundle"), "--json", str(tmp_path / "r.json")])
    assert rc == 0 and json.loads((tmp_path / "r.json").read_text())["bit_agreement"] == 1.0, err
    rc, _, err = run_inproc(capsys, build_args(compressed_dir, b))
    assert rc == 0, err
    state = json.loads((b / "build_state.json").read_text())
    assert "out" not in state and state["complete"] is True
    assert all(s["status"] == "skipped" for s in state["steps"].values())
    assert not [p for p, text in _text_files(b) if str(b) in text]  # the rerun wrote none either


def test_a_legacy_build_with_absolute_paths_is_rewritten_once(shared_build, tmp_path, capsys, compressed_dir):
    """A build folder from before relative paths (its state names `out`, its scripts the old folder),
    moved: the rerun rewrites the scripts (step board reruns) and records no absolute path."""
    b = tmp_path / "legacy"
    shutil.copytree(shared_build, b, symlinks=True)
    state = json.loads((b / "build_state.json").read_text())
    state["out"] = "/somewhere/else/old-build"
    state["steps"]["board"]["fingerprint"] = "0" * 16  # as an older eie-flow recorded it
    (b / "build_state.json").write_text(json.dumps(state))
    (b / "hls" / "build_hls.tcl").write_text("add_files {/somewhere/else/old-build/hls/firmware/x.cpp}\n")
    rc, _, err = run_inproc(capsys, build_args(compressed_dir, b))
    assert rc == 0, err
    state = json.loads((b / "build_state.json").read_text())
    assert "out" not in state and state["steps"]["board"]["status"] == "done"
    assert state["steps"]["compress"]["status"] == "skipped"
    assert not [p for p, text in _text_files(b) if "/somewhere/else" in text or str(b) in text]


def test_rebuild_into_a_build_folder_refused_by_a_bad_option_is_untouched(shared_build, tmp_path, capsys, compressed_dir):
    b = tmp_path / "b"
    shutil.copytree(shared_build, b, symlinks=True)
    before = tree_digest(b)
    for extra in (["--clock", "nan"], ["--pe", "100000"]):
        rc, _, err = run_inproc(capsys, [*build_args(compressed_dir, b), *extra])
        assert_usage_error(rc, err)
    assert tree_digest(b) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_library_built_from_other_sources_is_named(bundle, tmp_path, capsys):
    """The library's name differs from the bundle's own: with the network fingerprint (same network
    here) nothing to warn about; a bundle without one gets the name-based warning."""
    meta = json.loads((bundle / "model.json").read_text())
    own = bundle / meta["sim_library"]
    other = tmp_path / (own.name.rsplit("-", 1)[0] + "-0123456789abcdef.so")
    shutil.copyfile(own, other)
    args = ["run", "--sim", str(bundle), "--library", str(other), "--json", str(tmp_path / "r.json")]
    rc, _, err = run_inproc(capsys, args)
    assert rc == 0 and "built from other sources" not in err, err
    del meta["network"]
    (bundle / "model.json").write_text(json.dumps(meta))
    rc, _, err = run_inproc(capsys, args)
    assert rc == 0 and "built from other sources" in err and other.name in err


def test_a_real_build_failing_late_resumes_after_its_completed_steps(shared_build, tmp_path, capsys,
                                                                     compressed_dir, monkeypatch):
    """A rebuild (--allow-ii: steps vendor, bundle, sim_board rerun) whose bundle step fails: the previous
    build is byte-identical, and the rerun after the fix skips vendor (kept from the failed run)."""
    import flow.runtime.bundle
    from flow.errors import FlowError

    b = tmp_path / "b"
    shutil.copytree(shared_build, b, symlinks=True)
    before = tree_digest(b)

    def fail(*a, **k):
        raise FlowError("a late failure (fix it and rerun)")

    monkeypatch.setattr(flow.runtime.bundle, "write_bundle", fail)
    rc, _, err = run_inproc(capsys, build_args(compressed_dir, b, "--allow-ii"))
    assert_usage_error(rc, err, "a late failure", code=1)
    assert tree_digest(b) == before
    staging = [p for p in tmp_path.iterdir() if p.name.endswith(".building")]
    assert len(staging) == 1
    kept = json.loads((staging[0] / "build_state.json").read_text())["steps"]
    assert list(kept)[-1] == "vendor" and kept["vendor"]["status"] == "done"
    monkeypatch.undo()
    rc, _, err = run_inproc(capsys, build_args(compressed_dir, b, "--allow-ii"))
    assert rc == 0, err
    steps = json.loads((b / "build_state.json").read_text())["steps"]
    assert {n: s["status"] for n, s in steps.items() if s["status"] == "done"} == {"bundle": "done",
                                                                                 "sim_board": "done"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
