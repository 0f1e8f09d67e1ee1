"""cocotb module of bench/overlay.py: load a model image into eie_axi, run a batch of 1 and a batch
of N with no stalls, record the overlay's cycle counters (RTL simulation)."""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame, AxiStreamSink,
                           AxiStreamSource)

from flow.runtime import regmap as rm
from flow.runtime.packing import StreamLayout


@cocotb.test()
async def measure(dut):
    case = dict(np.load(os.environ["EIE_BENCH_CASE"]))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.aresetn, reset_active_level=False)
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_in"), dut.clk, dut.aresetn, reset_active_level=False)
    ld = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_ld"), dut.clk, dut.aresetn, reset_active_level=False)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_out"), dut.clk, dut.aresetn, reset_active_level=False)
    dut.aresetn.value = 0
    await ClockCycles(dut.clk, 5)
    dut.aresetn.value = 1
    await ClockCycles(dut.clk, 2)

    async def status_has(bit):
        while not (await axil.read_dword(rm.offset("STATUS"))) & rm.bit("STATUS", bit):
            await ClockCycles(dut.clk, 50)

    out = {}
    await axil.write_dword(rm.offset("CTRL"), rm.bit("CTRL", "LOAD"))
    await ld.send(AxiStreamFrame(case["load"].astype("<u8").tobytes()))
    await status_has("LOADED")
    await status_has("IDLE")
    out["load_words"] = await axil.read_dword(rm.offset("LOAD_WORDS"))
    out["load_cycles"] = await axil.read_dword(rm.offset("LOAD_CYCLES"))
    lin = StreamLayout(int(case["n_in"]), int(case["in_bits"]), 64)
    lout = StreamLayout(int(case["n_out"]), int(case["out_bits"]), 64)
    for name in ("x1", "xn"):
        x = case[name]
        await axil.write_dword(rm.offset("N_SAMPLES"), len(x))
        await src.send(AxiStreamFrame(lin.pack(x).astype("<u8").tobytes()))
        await axil.write_dword(rm.offset("CTRL"), rm.bit("CTRL", "START"))
        frame = await with_timeout(sink.recv(), 100, "ms")
        await status_has("DONE")
        y = lout.unpack(np.frombuffer(bytes(frame.tdata), np.uint64), len(x), signed=True)
        out[name] = {
            "n": len(x),
            "cycles_batch": await axil.read_dword(rm.offset("CYC_BATCH")),
            "cycles_last_sample": await axil.read_dword(rm.offset("CYC_SAMPLE")),
            "bit_mismatches": int(np.count_nonzero(y != case["y" + name[1:]])),
        }
    with open(os.environ["EIE_BENCH_OUT"], "w") as f:
        json.dump(out, f, indent=1)
