"""`flow overlay`: the bundle a board needs, without Vivado (said, not failed) and with a stand-in
`vivado` on PATH; bad input exits 2 before anything is written."""

from __future__ import annotations

import json
import os
import stat

import pytest

from flow.board.boards import load_board
from flow.cli import main
from flow.overlay.project import build_hash, overlay_name
from flow.overlay.sizing import preset
from flow.runtime import regmap as rm

from vivado_standins import run_script

FAKE_VIVADO = """#!/bin/sh
# stand-in: what `vivado -mode batch -source build_overlay.tcl` leaves behind
[ -n "$FAKE_VIVADO_FAIL" ] && { echo "ERROR: [Synth 8-439] module not found" ; exit 1; }
for a in "$@"; do :; done
grep -q "create_bd_cell -type module -reference eie_axi_top eie_0" "$a" || exit 3
echo bit > {name}.bit
echo hwh > {name}.hwh
"""


@pytest.fixture
def no_vivado(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                 if not os.path.exists(os.path.join(p, "vivado"))))
    monkeypatch.setenv("EIE_OVERLAY_DIR", str(tmp_path / "home"))


def _fake_vivado(monkeypatch, tmp_path, name):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "vivado"
    exe.write_text(FAKE_VIVADO.replace("{name}", name))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_overlay_bundle_without_vivado(no_vivado, tmp_path, capsys):
    out = tmp_path / "ov"
    assert main(["overlay", "--board", "pynq-z2", "--pe", "32", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Vivado not found on PATH: no bitstream" in said and "no bitstream (Vivado did not run)" in said
    board = load_board("pynq-z2")
    p = preset(board, 32)
    meta = json.loads((out / "overlay.json").read_text())
    assert {k: meta[k] for k in ("bitstream", "hwh", "board", "P", "clock_mhz", "regmap_version", "format_version",
                                 "build_hash")} == {
        "bitstream": f"{overlay_name(board, 32)}.bit", "hwh": f"{overlay_name(board, 32)}.hwh", "board": "pynq-z2",
        "P": 32, "clock_mhz": board.clock_mhz, "regmap_version": rm.REGMAP_VERSION,
        "format_version": rm.FORMAT_VERSION, "build_hash": build_hash(p)}
    assert meta["bitstream_built"] is False and not (out / meta["bitstream"]).exists()
    params = json.loads((out / "params.json").read_text())
    assert {k: params[k] for k in p.generics()} == p.generics()
    assert (out / "driver" / "flow" / "runtime" / "rtl_overlay.py").is_file()
    # the script's sources are the files in rtl/, and it runs against the strict stand-ins
    calls = run_script(out / "build_overlay.tcl", tmp_path)
    added = next(c for c in calls if c[0] == "add_files")[-1].split()
    assert added and all(os.path.isfile(f) for f in added)
    assert {os.path.basename(f) for f in added} >= {"eie_axi.sv", "eie_engine.sv", "eie_axi_top.v"}
    assert (out / "rtl" / "eie_regmap.svh").is_file()
    assert not list(tmp_path.glob(".ov.*"))  # no staging folder left


def test_overlay_with_vivado_on_path(no_vivado, monkeypatch, tmp_path, capsys):
    name = overlay_name(load_board("pynq-z2"), 16)
    _fake_vivado(monkeypatch, tmp_path, name)
    assert main(["overlay", "--pe", "16"]) == 0  # default place: $EIE_OVERLAY_DIR/<name>
    out = tmp_path / "home" / name
    meta = json.loads((out / "overlay.json").read_text())
    assert meta["bitstream_built"] is True and (out / f"{name}.bit").is_file() and (out / f"{name}.hwh").is_file()
    assert "bitstream included" in capsys.readouterr().out
    # a rebuild of the same sources keeps the bitstream (no Vivado run, even without Vivado on PATH)
    monkeypatch.setenv("FAKE_VIVADO_FAIL", "1")
    assert main(["overlay", "--pe", "16", "--no-vivado"]) == 0
    meta = json.loads((out / "overlay.json").read_text())
    assert meta["bitstream_built"] is True and "kept from the previous build" in meta["bitstream_note"]
    assert (out / f"{name}.bit").read_text() == "bit\n"
    # changed sources: the old bitstream is not this bundle's; a failing Vivado exits 1 naming its log,
    # the previous bundle untouched
    meta["sources_sha256"] = "0" * 64
    (out / "overlay.json").write_text(json.dumps(meta))
    before = (out / "overlay.json").read_text()
    assert main(["overlay", "--pe", "16"]) == 1
    err = capsys.readouterr().err
    assert "vivado -source build_overlay.tcl failed" in err and "module not found" in err
    log = tmp_path / "home" / f"{name}.vivado_run.log"
    assert str(log) in err and "module not found" in log.read_text()
    assert (out / "overlay.json").read_text() == before and (out / f"{name}.bit").is_file()


@pytest.mark.parametrize("argv, words", [
    (["--board", "nope"], "unknown board 'nope'"),
    (["--pe", "12"], "no overlay preset for P=12 (presets: p16, p32, p64)"),
    (["--pe", "0"], "--pe 0"),
])
def test_overlay_bad_input_exits_2(no_vivado, tmp_path, capsys, argv, words):
    assert main(["overlay", *argv, "--out", str(tmp_path / "ov")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "ov").exists()


def test_overlay_refuses_a_user_folder(no_vivado, tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["overlay", "--out", str(tmp_path / "mine")]) == 2
    assert "not an eie-flow overlay folder" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
