"""The requantiser's saturation against per-layer thresholds (issue 21's timing lever, eie_requant.sv
and eie_gather.sv), and its rounding without an add in front of the shift and the compares (the
thresholds minus the rounding term, an increment after the shift), give the same output bits as
the add -> shift -> compares that they replaced: a Yosys SAT proof over every input (accumulator,
rounding on or off, shift 0..63, width 1..63, bounds, modes) of a miter of both, at the test's
small widths and at the LeNet-300-100 engine's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from flow.rtl import tools
from flow.rtl.verilator import RTL_DIR

DATA = Path(__file__).resolve().parent / "data"


def _prove(tmp_path: Path, accw: int, xw: int, miter: Path) -> str:
    yosys = tools.require("yosys")
    names = []
    for src in (DATA / "requant_post_shift.sv", RTL_DIR / "eie_requant.sv", miter):
        # relative names: the WebAssembly Yosys reaches the work folder as "." (not every absolute path)
        if src.parent != tmp_path:
            (tmp_path / src.name).write_text(src.read_text())
        names.append(src.name)
    script = (f"read_verilog -sv {' '.join(names)}; "
              f"chparam -set ACCW {accw} -set XW {xw} requant_thr_miter; hierarchy -top requant_thr_miter; "
              "proc; flatten; opt; sat -prove ok 1")  # fmt: skip
    res = subprocess.run(yosys.cmd("-p", script), cwd=tmp_path, capture_output=True, text=True,
                         env=yosys.child_env(), timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.mark.yosys
@pytest.mark.parametrize("accw,xw", [(13, 8), (36, 16)])
def test_threshold_saturation_equals_the_post_shift_compares(tmp_path, accw, xw):
    out = _prove(tmp_path, accw, xw, DATA / "requant_thr_miter.sv")
    assert "SAT proof finished - no model found: SUCCESS!" in out, out[-2000:]


@pytest.mark.yosys
def test_the_proof_finds_a_wrong_threshold(tmp_path):
    """The miter can fail: omin * 2^s + 2^s as the low threshold differs from the reference."""
    bad = (DATA / "requant_thr_miter.sv").read_text().replace(
        "assign lo_sh = lo_w <<< t_sh;", "assign lo_sh = (lo_w + TW'(1)) <<< t_sh;")
    assert bad != (DATA / "requant_thr_miter.sv").read_text()
    (tmp_path / "bad_miter.sv").write_text(bad)
    out = _prove(tmp_path, 13, 8, tmp_path / "bad_miter.sv")
    assert "model found: FAIL!" in out, out[-2000:]


@pytest.mark.yosys
@pytest.mark.parametrize("old,new", [
    # the wrapping rounding term at shift = ACCW + 1 taken as no rounding
    ("assign flip_r = half_n[ACCW];", "assign flip_r = 1'b0;"),
    # the low threshold not moved by the rounding term
    ("assign lo_n = {omin[XW-1], omin, 1'b0} - (XW + 2)'(rnd_r);",
     "assign lo_n = {omin[XW-1], omin, 1'b0};"),
])  # fmt: skip
def test_the_proof_finds_a_wrong_rounding(tmp_path, old, new):
    """The miter can fail on the rounding: without the flip at shift = ACCW + 1, or with the low
    threshold not moved by the rounding term, the outputs differ somewhere."""
    bad = (DATA / "requant_thr_miter.sv").read_text().replace(old, new)
    assert bad != (DATA / "requant_thr_miter.sv").read_text()
    (tmp_path / "bad_miter.sv").write_text(bad)
    out = _prove(tmp_path, 13, 8, tmp_path / "bad_miter.sv")
    assert "model found: FAIL!" in out, out[-2000:]


def test_the_miter_uses_the_gathers_threshold_expressions():
    """The miter's thresholds are eie_gather's (its registered copies omin_r, omax_r, shift_r read
    as the miter's inputs), so the proof is about the RTL, not a copy that drifted."""
    gather = (RTL_DIR / "eie_gather.sv").read_text()
    miter = (DATA / "requant_thr_miter.sv").read_text()

    def norm(s: str) -> str:
        s = s.replace("omin_r", "omin").replace("omax_r", "omax").replace("shift_r", "shift")
        return re.sub(r"\s+", " ", s)

    names = "t_sh|lo_n|hi_n|lo_w|hi_w|lo_sh|hi_sh|lo_h|hi_h|tlo_h|thi_h|half_n|rnd_r|flip_r"
    exprs = dict(re.findall(rf"assign ({names}) = ([^;]*);", miter))
    assert len(exprs) == 14, exprs
    for name, rhs in exprs.items():
        assert re.search(rf"{name} (?:=|<=) {re.escape(norm(rhs))};", norm(gather)), (name, rhs)
