"""cocotb testbench of eie_engine (run by tests/rtl/test_rtl_cocotb.py through cocotb_tools.runner).

Random images with random gaps on in_valid; flow.eie.reference's outputs are the scoreboard and
flow.eie.perf_rtl's cycles the expected count. The case (inputs, expected outputs and cycles,
gap rates) comes as JSON in $EIE_COCOTB_CASE; the engine's memories from its $readmemh images.
Gaps only stretch layer 0's input transfer: the later layers take exactly the model's cycles,
layer 0 at least as many, and an image without gaps exactly the model's period.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

TIMEOUT = 100_000


def _pack(values: list[int], xw: int) -> int:
    word = 0
    for b, v in enumerate(values):
        word |= (v & ((1 << xw) - 1)) << (b * xw)
    return word


def _signed(v: int, xw: int) -> int:
    return v - (1 << xw) if v >> (xw - 1) else v


async def _image(dut, x: list[int], case: dict, gap: float, rng: random.Random):
    """One inference: (outputs, per-layer cycles, period)."""
    xw, n_out, n_layers = case["XW"], case["n_out"], case["n_layers"]
    lines = [x[k : k + 16] + [0] * (16 - len(x[k : k + 16])) for k in range(0, len(x), 16)]
    y = [None] * n_out
    layer_cycles = [0] * n_layers
    busy, line, fired = 0, 0, False
    await FallingEdge(dut.clk)  # out of the previous image's ReadOnly phase, before the next edge
    dut.start.value = 1
    for _ in range(TIMEOUT):
        await RisingEdge(dut.clk)
        if fired:
            line += 1
        dut.start.value = 0
        valid = line < len(lines) and rng.random() >= gap
        dut.in_valid.value = int(valid)
        dut.in_data.value = _pack(lines[line] if line < len(lines) else [0] * 16, xw)
        await ReadOnly()
        if int(dut.done.value):
            return y, layer_cycles, busy + 1
        state = int(dut.state_o.value)
        if state:
            busy += 1
            layer_cycles[int(dut.layer_o.value)] += 1
        if int(dut.out_valid.value):
            mask, base, data = int(dut.out_mask.value), int(dut.out_line.value) * 16, int(dut.out_data.value)
            for b in range(16):
                if mask >> b & 1 and base + b < n_out:
                    assert y[base + b] is None, f"output {base + b} written twice"
                    y[base + b] = _signed(data >> (b * xw) & ((1 << xw) - 1), xw)
        fired = valid and bool(int(dut.in_ready.value))
    raise AssertionError(f"no done after {TIMEOUT} cycles (state {int(dut.state_o.value)}, layer {int(dut.layer_o.value)})")


@cocotb.test()
async def images_with_input_gaps(dut):
    case = json.loads(Path(os.environ["EIE_COCOTB_CASE"]).read_text())
    rng = random.Random(case["seed"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.in_valid.value = 0
    dut.ld_we.value = 0
    dut.ld_bcast.value = 0
    dut.start_layer.value = 0
    dut.ld_re.value = 0
    dut.ld_sel.value = 0
    dut.ld_pe.value = 0
    dut.ld_addr.value = 0
    dut.ld_data.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    gapped = 0
    for i, (x, ref, model_layers, model_period, gap) in enumerate(
        zip(case["x"], case["y"], case["layer_cycles"], case["period"], case["gaps"])
    ):
        y, cyc, period = await _image(dut, x, case, gap, rng)
        assert y == ref, f"image {i}: outputs {y} != reference {ref}"
        assert cyc[1:] == model_layers[1:], f"image {i}: layers 1.. took {cyc[1:]} cycles, model {model_layers[1:]}"
        assert cyc[0] >= model_layers[0], f"image {i}: layer 0 took {cyc[0]} < model {model_layers[0]}"
        if gap == 0:
            assert period == model_period, f"image {i}: period {period} != model {model_period}"
        else:
            gapped += cyc[0] > model_layers[0]
            assert period - model_period == cyc[0] - model_layers[0]
    assert gapped > 0, "no gap ever stretched layer 0: the gaps were not exercised"
    dut._log.info("%d images bit-exact; %d stretched by input gaps, the others cycle-exact", len(case["x"]), gapped)
