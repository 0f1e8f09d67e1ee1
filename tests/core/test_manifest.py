"""flow.manifest and flow.outdir.atomic_folder: the flow replaces only the files it wrote."""

from __future__ import annotations

import os

import pytest

from flow import manifest
from flow.errors import FlowError
from flow.outdir import atomic_folder


def _write(folder, **files):
    for rel, text in files.items():
        p = folder / rel.replace("__", "/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_replacing_a_folder_keeps_the_files_the_flow_did_not_write(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as tmp:
        _write(tmp, **{"model.txt": "v1", "plots__a.png": "p"})
    assert manifest.read(out) == manifest.scan(out)  # the manifest lists what was written
    _write(out, **{"my notes.txt": "mine", "plots__mine.png": "also mine", "sub__deep.txt": "deep"})
    os.symlink("my notes.txt", out / "link")
    with atomic_folder(out) as tmp:
        _write(tmp, **{"model.txt": "v2"})
    assert (out / "model.txt").read_text() == "v2"
    assert not (out / "plots" / "a.png").exists()  # the flow's old file is gone with its folder
    assert (out / "my notes.txt").read_text() == "mine"
    assert (out / "plots" / "mine.png").read_text() == "also mine"
    assert (out / "sub" / "deep.txt").read_text() == "deep"
    assert os.readlink(out / "link") == "my notes.txt"
    assert sorted(manifest.read(out)) == ["model.txt"]  # still the user's: kept on the next replacement
    assert manifest.foreign(out) == ["link", "my notes.txt", "plots/mine.png", "sub/deep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


def test_a_folder_of_an_older_flow_without_manifest(tmp_path):
    out = tmp_path / "out"
    _write(out, **{"model.txt": "old", "notes.md": "mine", "rtlsim__rtlsim.json": "{}"})
    with atomic_folder(out, legacy_names=("model.txt",), derived=("rtlsim",)) as tmp:
        _write(tmp, **{"model.txt": "new"})
    assert (out / "model.txt").read_text() == "new" and (out / "notes.md").read_text() == "mine"
    assert not (out / "rtlsim").exists()  # results of the replaced model go with it


def test_a_user_file_where_the_flow_writes_stops_the_replacement(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as tmp:
        _write(tmp, **{"model.txt": "v1"})
    _write(out, **{"report.json": "my own report"})
    with pytest.raises(FlowError, match="report.json"):
        with atomic_folder(out) as tmp:
            _write(tmp, **{"model.txt": "v2", "report.json": "{}"})
    assert (out / "model.txt").read_text() == "v1" and (out / "report.json").read_text() == "my own report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_inside_leaves_the_folder_untouched(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as tmp:
        _write(tmp, **{"model.txt": "v1"})
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as tmp:
            _write(tmp, **{"model.txt": "half"})
            raise RuntimeError("killed")
    assert (out / "model.txt").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_verify_names_the_first_difference(tmp_path):
    _write(tmp_path, **{"a.json": '{"n": 1}', "b.bin": "xx"})
    rec = manifest.scan(tmp_path)
    assert manifest.verify(tmp_path, rec) is None
    (tmp_path / "a.json").write_text('{"n": 2}')  # same size, other content
    assert manifest.verify(tmp_path, rec) == "a.json changed since it was written"
    (tmp_path / "b.bin").unlink()
    assert manifest.verify(tmp_path, {"b.bin": rec["b.bin"]}) == "b.bin is missing"
    assert manifest.verify(tmp_path, {"a.json": "junk"}) == "the record of a.json is damaged"


def test_content_digest_follows_content_not_timestamps(tmp_path):
    f = tmp_path / "m.keras"
    f.write_text("one")
    d1 = manifest.content_digest([f, "verilator=/usr/bin/verilator"])
    os.utime(f, (1, 1))
    assert manifest.content_digest([f, "verilator=/usr/bin/verilator"]) == d1
    f.write_text("two")
    assert manifest.content_digest([f, "verilator=/usr/bin/verilator"]) != d1
    assert manifest.content_digest([tmp_path / "absent"]) != manifest.content_digest([tmp_path])
    d2 = manifest.content_digest([tmp_path])
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"cache")
    assert manifest.content_digest([tmp_path]) == d2


def test_compress_refuses_before_any_work_a_user_file_named_like_its_own(tmp_path):
    """`flow compress --force` would write report.json over a report.json of the user's: exit 2 first."""
    from flow.compress.io import check_target
    from flow.errors import UsageError

    out = tmp_path / "c"
    with atomic_folder(out) as tmp:
        _write(tmp, **{"compression.json": "{}", "model.keras": "m"})
    check_target(out, force=True)
    _write(out, **{"report.json": "mine", "notes.txt": "mine"})
    with pytest.raises(UsageError, match=r"holds report.json, which `flow compress` did not write") as exc:
        check_target(out, force=True)
    assert exc.value.exit_code == 2 and "notes.txt" not in str(exc.value)
