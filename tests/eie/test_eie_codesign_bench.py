"""bench/codesign.py: column groups chosen with the RTL's cycle model on one-shot balanced masks."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _codesign():
    spec = importlib.util.spec_from_file_location("codesign", REPO / "bench" / "codesign.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_codesign_picks_a_layout_the_rtl_runs_and_records_every_candidate(tmp_path):
    cfg = tmp_path / "c.yaml"  # digits MLP (offline), 8 PEs
    cfg.write_text("compress: {epochs: 1, sparsity: 0.8}\nhls: {n_pe: 8}\n")
    out = tmp_path / "codesign.json"
    assert _codesign().main(["--config", str(cfg), "--n", "6", "--groups", "1,2,3,4", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    layers = sorted({r["layer"] for r in res["rows"]})
    assert sorted(res["choice"]) == layers
    for r in res["rows"]:
        if r["G"] == 3:  # not a power of two: refused with the reason, never picked
            assert "power of two" in r["refused"]
            continue
        assert r["R"] * r["G"] == 8 and r["cycles"] > 1
        assert 0 < r["kept_magnitude_vs_magnitude_pruning"] <= 1.0 + 1e-9
    for name, g in res["choice"].items():
        ok = [r for r in res["rows"] if r["layer"] == name and "refused" not in r]
        best = min(r["cycles"] for r in ok)
        picked = next(r for r in ok if r["G"] == g)
        assert picked["cycles"] <= best * (1 + res["tolerance"])


@pytest.mark.parametrize("argv, msg", [
    (["--config", "/nonexistent.yaml"], "no config file"),
    (["--config", "CFG", "--groups", "two"], "comma-separated integers"),
])  # fmt: skip
def test_codesign_refuses_bad_input_with_exit_2(tmp_path, capsys, argv, msg):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hls: {n_pe: 8}\n")
    argv = [str(cfg) if a == "CFG" else a for a in argv]
    assert _codesign().main(argv + ["--out", str(tmp_path / "o.json")]) == 2
    assert msg in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_codesign_with_a_board_picks_a_layout_its_overlay_loads(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"  # digits MLP on the pynq-z2 P = 16 overlay preset
    cfg.write_text("compress: {epochs: 1, sparsity: 0.8}\nhls: {n_pe: 16}\n")
    out = tmp_path / "codesign.json"
    assert _codesign().main(["--config", str(cfg), "--n", "4", "--groups", "1,2,16", "--board", "pynq-z2",
                             "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    fit = res["overlay_fit"]
    assert fit["board"] == "pynq-z2" and fit["P"] == 16
    picked = [next(r for r in res["rows"] if r["layer"] == n and r.get("G") == g) for n, g in res["choice"].items()]
    assert all(r["G"] <= fit["MAXG"] and r["local_rows"] <= fit["ACC_D"] for r in picked)
    assert sum(r["local_rows"] for r in picked) == fit["local_rows"] <= fit["BIAS_D"]
    assert 16 not in res["choice"].values()  # MAXG = 8 on the shipped overlays


def test_codesign_refuses_a_board_without_a_preset_for_the_pe_count(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("compress: {epochs: 1}\nhls: {n_pe: 8}\n")
    out = tmp_path / "o.json"
    assert _codesign().main(["--config", str(cfg), "--board", "pynq-z2", "--out", str(out)]) == 2
    assert "no overlay preset for P=8" in capsys.readouterr().err
    assert not out.exists()
