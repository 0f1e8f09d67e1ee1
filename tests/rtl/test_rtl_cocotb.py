"""cocotb 2.x testbench of the RTL engine (tests/rtl/cocotb_eie_engine.py), run by pytest through
cocotb_tools.runner with Verilator: small engines with ANYR = 0 and 1, random images with random
gaps on in_valid, flow.eie.reference as the scoreboard, flow.eie.perf_rtl as the expected cycles.
The C++ harness (flow.rtl.verilator) stays the fast path for `flow rtlsim`; this is the
testbench style the AXI wrapper's tests build on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from flow.eie.perf_rtl import rtl_network_cycles
from flow.eie.reference import eie_network
from flow.rtl.images import Images
from flow.rtl.params import params_for
from flow.testing import random_layer

pytestmark = pytest.mark.verilator

try:
    import cocotb  # noqa: F401
    from cocotb_tools.runner import get_runner
except ImportError:  # pragma: no cover - depends on the environment
    get_runner = None

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _case(anyr: int, seed: int):
    """Two small layers (ANYR 1: P = 6 with R = 3 and 6), 12 random images (zero, sparse,
    dense, extreme), a gap rate per image (a third with none)."""
    rng = np.random.default_rng(seed)
    P = 6 if anyr else 4
    l1 = random_layer(rng, 40, 24, density=0.4, n_pe=P, col_groups=2, fifo_depth=2, name="a")
    l2 = random_layer(rng, 24, 10, density=0.6, n_pe=P, col_groups=1, fifo_depth=4, input_t=l1.output_t,
                      name="b")  # fmt: skip
    layers = [l1, l2]
    t = l1.input_t
    xs = []
    for k in range(12):
        kind = k % 4
        if kind == 0:
            x = np.zeros(40, np.int64)
        elif kind == 3:
            x = rng.choice([t.min_raw, t.max_raw, 0], size=40)
        else:
            dens = 0.2 if kind == 1 else 0.8
            x = np.where(rng.random(40) < dens, rng.integers(t.min_raw, t.max_raw + 1, size=40), 0)
        xs.append(x)
    x = np.array(xs, np.int64)
    params = params_for(layers)
    assert params.ANYR == anyr
    per, period = rtl_network_cycles(layers, x, params)
    gaps = [0.0 if k % 3 == 0 else float(rng.choice([0.3, 0.6, 0.9])) for k in range(len(x))]
    case = {
        "seed": seed, "XW": params.XW, "n_out": l2.n_out, "n_layers": len(layers),
        "x": x.tolist(), "y": eie_network(x, layers).tolist(),
        "layer_cycles": [[c.total for c in p] for p in per], "period": period.tolist(), "gaps": gaps,
    }  # fmt: skip
    return layers, params, case


@pytest.mark.skipif(get_runner is None, reason="cocotb is not importable: the cocotb testbench is skipped "
                    "(pip install cocotb, the dev extra)")  # fmt: skip
@pytest.mark.parametrize("anyr", [0, 1], ids=["anyr0", "anyr1"])
def test_cocotb_engine_random_gaps_against_reference_and_cycle_model(tmp_path, monkeypatch, anyr):
    from flow.errors import ToolMissing
    from flow.overlay.rtlsim import verilator_env
    from flow.rtl.verilator import rtl_sources

    try:
        env_tool = verilator_env()  # the Verilator flow.rtl.tools finds, first on PATH, with its variables
    except ToolMissing as exc:
        pytest.skip(str(exc))
    layers, params, case = _case(anyr, seed=20 + anyr)
    mem = tmp_path / "mem"
    Images(layers, params).write_mem(mem)
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(case))
    for k, v in env_tool.items():  # cocotb's runner looks verilator up on PATH and runs make itself
        monkeypatch.setenv(k, v)
    runner = get_runner("verilator")
    gen = {**params.generics(), "INIT_DIR": f'"{mem}"'}
    runner.build(
        sources=[str(s) for s in rtl_sources()], hdl_toplevel="eie_engine", parameters=gen,
        build_args=["-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "unique", "--x-initial", "unique"],
        build_dir=tmp_path / "build", log_file=tmp_path / "build.log",
    )  # fmt: skip
    env = {"EIE_COCOTB_CASE": str(case_file),
           "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    results = runner.test(
        test_module="cocotb_eie_engine", hdl_toplevel="eie_engine", build_dir=tmp_path / "build",
        test_dir=tmp_path, extra_env=env, plusargs=["+verilator+rand+reset+2", f"+verilator+seed+{case['seed']}"],
        log_file=tmp_path / "sim.log",
    )  # fmt: skip
    xml = Path(results).read_text()
    assert 'name="images_with_input_gaps"' in xml, xml[-2000:]
    assert "<failure" not in xml and "<error" not in xml, (tmp_path / "sim.log").read_text()[-3000:]
