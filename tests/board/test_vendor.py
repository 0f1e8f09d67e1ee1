"""Vendor tool detection and runs, against fake `vitis_hls` / `vivado` scripts on PATH."""

from __future__ import annotations

import os
import stat

import pytest

from flow.errors import FlowError, ToolMissing
from flow.board.vendor import VendorStatus, find_tools, run_hls, run_vivado

FAKE = """#!/bin/sh
if [ "$1" = "-version" ]; then echo "{banner}"; exit 0; fi
printf '%s\\n' "$@" > "$PWD/argv.{name}.txt"
echo "fake {name} running in $PWD"
echo "ERROR: [HLS 200-70] something broke" >&2
exit ${{FAKE_RC:-0}}
"""
BANNERS = {
    "vitis_hls": "****** Vitis HLS - High-Level Synthesis from C, C++ and OpenCL v2023.1 (64-bit)",
    "vivado_hls": "****** Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC v2019.2 (64-bit)",
    "vivado": "Vivado v2023.1 (64-bit)",
}


@pytest.fixture
def fake_path(tmp_path, monkeypatch):
    """An empty bin/ as the whole PATH (plus the shell's own); `add(name)` puts a fake tool in it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.delenv("FAKE_RC", raising=False)

    def add(name):
        path = bin_dir / name
        path.write_text(FAKE.format(name=name, banner=BANNERS[name]))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path

    return add


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "proj"
    d.mkdir()
    (d / "build_hls.tcl").write_text("exit\n")
    (d / "build_bd.tcl").write_text("exit\n")
    return d


def test_nothing_on_path(fake_path):
    assert find_tools() == {"hls": None, "vivado": None}
    status = VendorStatus.detect()
    assert status.message() == (
        "Vitis HLS not found on PATH: skipped csynth, cosim, export; "
        "Vivado not found on PATH: skipped bitstream; everything else done"
    )
    assert status.skipped() == ["csynth", "cosim", "export", "bitstream"]
    assert status.skipped(cosim=False, bitstream=False) == ["csynth", "export"]


def test_tools_and_versions(fake_path):
    fake_path("vitis_hls")
    fake_path("vivado")
    tools = find_tools()
    assert (tools["hls"].name, tools["hls"].version) == ("vitis_hls", "2023.1")
    assert (tools["vivado"].name, tools["vivado"].version) == ("vivado", "2023.1")
    status = VendorStatus.detect()
    assert status.skipped() == [] and "everything else" not in status.message()


def test_vivado_hls_is_the_fallback(fake_path):
    fake_path("vivado_hls")
    tools = find_tools()
    assert (tools["hls"].name, tools["hls"].version) == ("vivado_hls", "2019.2")
    assert "Vivado not found on PATH: skipped bitstream" in VendorStatus.detect().message()


def test_vivado_without_hls_cannot_make_a_bitstream(fake_path):
    fake_path("vivado")
    status = VendorStatus.detect()
    assert status.skipped() == ["csynth", "cosim", "export", "bitstream"]
    assert "no bitstream without the HLS IP" in status.message()


def test_run_hls_command_cwd_and_log(fake_path, project):
    fake_path("vitis_hls")
    log = run_hls(project)
    assert (project / "argv.vitis_hls.txt").read_text().split("\n")[:-1] == ["-f", "build_hls.tcl"]
    assert log == project / "hls_run.log"
    assert f"fake vitis_hls running in {project}" in log.read_text()
    assert "something broke" in log.read_text()  # stderr goes to the same log


def test_run_vivado_command(fake_path, project):
    fake_path("vivado")
    log = run_vivado(project)
    argv = (project / "argv.vivado.txt").read_text().split("\n")[:-1]
    assert argv == ["-mode", "batch", "-nojournal", "-nolog", "-notrace", "-source", "build_bd.tcl"]
    assert log == project / "vivado_run.log" and log.is_file()


@pytest.mark.parametrize("runner, tool", [(run_hls, "vitis_hls"), (run_vivado, "vivado")])
def test_failure_exit_code_propagates(fake_path, project, monkeypatch, runner, tool):
    fake_path(tool)
    monkeypatch.setenv("FAKE_RC", "3")
    with pytest.raises(FlowError) as exc:
        runner(project)
    msg = str(exc.value)
    assert "exit code 3" in msg and str(project) in msg and "something broke" in msg
    assert not isinstance(exc.value, ToolMissing)


@pytest.mark.parametrize("runner", [run_hls, run_vivado])
def test_missing_tool(fake_path, project, runner):
    with pytest.raises(ToolMissing, match="not on PATH"):
        runner(project)


def test_missing_script(fake_path, tmp_path):
    fake_path("vitis_hls")
    with pytest.raises(FlowError, match="write it first"):
        run_hls(tmp_path)
