"""Lint (Verilator -Wall), Yosys synthesis of a small engine against flow.rtl.estimate, the
cycle model without simulators, and the Yosys report parser."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flow.testing import random_layer
from flow.eie.perf_rtl import gather_cycles, rtl_network_cycles
from flow.rtl import estimate, yosys
from flow.rtl.params import EngineParams, params_for
from flow.rtl.verilator import rtl_sources

ROOT = Path(__file__).resolve().parents[2]

#: small enough for Yosys in a few minutes
SMALL = EngineParams(P=2, MAXG=2, DMAX=4, NL=2, NX=64, XW=8, WW=4, ACCW=16, CBW=2, IXW=3,
                     ENT_D=512, PTR_D=64, ACC_D=16, BIAS_D=32, OL=2)  # fmt: skip


@pytest.mark.verilator
@pytest.mark.parametrize(
    "generics",
    [{}, {"P": 64, "NX": 320, "MAXG": 8, "OL": 16, "DMAX": 16, "IXW": 8, "ACCW": 40, "ENT_D": 4096},
     {"P": 1, "NX": 64, "MAXG": 1, "OL": 1, "DMAX": 1, "NL": 1},
     {"P": 12, "OL": 8, "MAXG": 4, "ANYR": 1},
     {"P": 1, "NX": 64, "MAXG": 1, "OL": 1, "DMAX": 1, "NL": 1, "ANYR": 1}],
    ids=["default", "P64", "P1", "P12_anyr", "P1_anyr"],
)
def test_verilator_lint_clean(generics):
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", "eie_engine"]
    cmd += [f"-G{k}={v}" for k, v in generics.items()] + [str(s) for s in rtl_sources()]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr[-3000:]


def _assert_estimate_matches(rep: dict, est: dict, P: int) -> None:
    """The estimator's contract: BRAM and DSP equal to Yosys, LUT and FF within 20 %."""
    assert rep["DSP"] == est["DSP"] == P  # one per PE (ANYR's R * k are shift-and-add)
    assert (rep["RAMB18"], rep["RAMB36"]) == (est["RAMB18"], est["RAMB36"])
    assert abs(rep["LUT"] - est["LUT"]) <= 0.2 * rep["LUT"], (P, rep["LUT"], est["LUT"])
    assert abs(rep["FF"] - est["FF"]) <= 0.2 * rep["FF"], (P, rep["FF"], est["FF"])


@pytest.mark.yosys
@pytest.mark.parametrize("params", [SMALL, pytest.param(SMALL.with_(P=4, OL=4), marks=pytest.mark.slow),
                                    pytest.param(SMALL.with_(P=3, ANYR=1), marks=pytest.mark.slow),
                                    pytest.param(SMALL.with_(P=4, OL=4, ANYR=1), marks=pytest.mark.slow)],
                         ids=["P2", "P4", "P3_anyr", "P4_anyr"])  # fmt: skip
def test_yosys_small_engine_matches_estimate(tmp_path, params):
    """Yosys (hierarchical, cached by parameters and sources) against flow.rtl.estimate."""
    rep = yosys.synthesize(params, family="xc7", out_dir=tmp_path)
    _assert_estimate_matches(rep, estimate.estimate(params), params.P)
    assert rep["sta_ns"] is not None and rep["sta_ns"] > 0
    assert rep["modules"]["eie_pe"]["instances"] == params.P
    assert sum(m["LUT"] for m in rep["modules"].values()) == rep["LUT"]
    assert (tmp_path / "yosys_xc7.json").exists()


def test_estimate_matches_the_benchmarked_yosys_counts():
    """The LeNet-300-100 engines of bench/results/rtl.json (P = 16, 32, 64 on the xc7z020 and
    the KV260): the estimator recomputed for each recorded engine against its recorded Yosys
    counts of the current sources' hierarchical synthesis."""
    bench = json.loads((ROOT / "bench" / "results" / "rtl.json").read_text())
    rows = [r for key in ("synth_xc7", "synth_xcup") for r in bench.get(key, []) if "yosys" in r]
    assert len({r["P"] for r in rows}) >= 3
    for r in rows:
        assert "hierarchical" in r["yosys"]["source"], "bench/results/rtl.json predates hierarchical synthesis"
        _assert_estimate_matches(r["yosys"], estimate.estimate(EngineParams(**r["yosys"]["engine"])), r["P"])


def test_estimate_matches_the_any_r_yosys_counts():
    """bench/results/rtl_anyr.json: ANYR=1 engines (P = 3, 4 small; P = 48 LeNet-sized) and the
    power-of-two ones beside them, recorded Yosys counts against the estimator."""
    bench = json.loads((ROOT / "bench" / "results" / "rtl_anyr.json").read_text())
    assert {"P3_anyr", "lenet_P48_anyr"} <= set(bench)
    for row in bench.values():
        p = EngineParams(**row["engine"])
        _assert_estimate_matches(row["yosys"], estimate.estimate(p), p.P)


def test_block_ram_geometry():
    assert estimate.block_ram(1024, 8) == (1, 0)
    assert estimate.block_ram(512, 36) == (1, 0)
    assert estimate.block_ram(1024, 36) == (0, 1)  # one RAMB36 is cheaper than two RAMB18
    assert estimate.block_ram(4096, 11) == (3, 0)  # 4096 x 4 three times: cost 387 < 2 x 257


def test_parse_stat_uses_the_hierarchy_total():
    text = """
=== eie_pe ===
     LUT2   10
     FDRE   5
=== design hierarchy ===
   Number of cells:   99
     LUT2     20
     LUT6     3
     FDRE     10
     RAM64M   2
     RAMB18E1 4
     DSP48E1  2
"""
    c = yosys.parse_stat(text)
    assert (c["LUT"], c["FF"], c["RAMB18"], c["DSP"]) == (23, 10, 4, 2)
    assert yosys.lut_total(c) == 23 + 8
    assert yosys.parse_sta("Latest arrival time in 'eie_engine' is 6543:") == 6.543


def test_module_breakdown_multiplies_instances():
    """The per-module view of a hierarchical `stat`: a PE with its RAM times its instances; the
    top's own cells and its RAMs are the glue; the kinds add up to the design total."""
    text = """
=== $paramod$aa\\eie_ram ===
   Number of cells:   1
     RAM32M     2
=== $paramod$bb\\eie_pe ===
   Number of cells:   4
     $paramod$aa\\eie_ram   1
     LUT3     10
     FDRE     7
     DSP48E1  1
=== $paramod$cc\\eie_engine ===
   Number of cells:   9
     $paramod$bb\\eie_pe   4
     $paramod$aa\\eie_ram  1
     LUT6     5
     FDRE     3
=== design hierarchy ===
     LUT3     40
"""
    m = yosys.module_breakdown(text)
    assert m["eie_pe"] == {"instances": 4, "LUT": 4 * (10 + 8), "FF": 28, "RAMB18": 0, "RAMB36": 0,
                           "URAM": 0, "DSP": 4}  # fmt: skip
    assert (m["glue"]["LUT"], m["glue"]["FF"]) == (5 + 8, 3)


def test_cycle_model_structure():
    """Without simulators: an all-zero input costs the scan only; the gather term is exact."""
    rng = np.random.default_rng(0)
    layer = random_layer(rng, 130, 40, density=0.3, n_pe=8, col_groups=2, fifo_depth=4)
    params = params_for([layer])
    per, period = rtl_network_cycles([layer], np.zeros((1, 130), np.int64), params)
    c = per[0][0]
    assert c.broadcasts == 0
    # 9 input lines arrive one per cycle; detectors wait for them, then one cycle per window
    assert c.run == 9 + 2 + 1
    assert c.gather == gather_cycles(layer, params) == 10 * 1 + 6  # 10 local rows, R = E = 4
    assert period[0] == c.total + 1


@pytest.mark.parametrize("n_pe, G, chunks",
                         [(3, 1, 3), (12, 1, 3), (12, 4, 3), (6, 2, 3), (24, 2, 3), (40, 1, 5)])
def test_gather_chunks_of_any_r(n_pe, G, chunks):
    """R = n_pe / G any: chunks of E = min(OL, the largest power of two dividing R) rows, so a
    local row costs R / E cycles (R = 12, OL = 8: E = 4, 3 chunks; R = 40, OL = 16: E = 8, 5)."""
    rng = np.random.default_rng(1)
    layer = random_layer(rng, 50, 45, density=0.3, n_pe=n_pe, col_groups=G)
    params = params_for([layer])
    assert params.ANYR == 1 and params.OL == min(16, 1 << (n_pe.bit_length() - 1))
    rows = -(-45 // (n_pe // G))
    assert gather_cycles(layer, params) == rows * chunks + 6
