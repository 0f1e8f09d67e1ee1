"""X-safety of the RTL engine: no state decides an output before it is reset or written.

- Verilator built with --x-assign unique --x-initial unique and run with
  +verilator+rand+reset+2 and several +verilator+seed+N: every flip-flop and memory word starts
  random, so a state read before it was set shows as a wrong output or cycle count (with
  --x-initial 0 it hides behind zero). Before the accumulators had valid bits this failed on the
  first image: layer 0 summed onto the RAM's power-up contents (docs/rtl.md, "X-safety").
- The simulation-only check in eie_pe (`ifndef SYNTHESIS`): no accumulator row's word is used
  before the layer wrote it; a deliberately broken build (EIE_TEST_NO_ACC_VALID) proves it fires.
- A reset at random cycles of RUN, GATHER and the load, then the image again: bit- and
  cycle-exact.
- Icarus (4-state) runs the same network when installed (not on PyPI: skipped otherwise).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flow.eie.perf_rtl import rtl_network_cycles
from flow.eie.reference import eie_network
from flow.errors import FlowError
from flow.rtl.images import Images
from flow.rtl.params import params_for
from flow.testing import random_layer

pytestmark = pytest.mark.verilator

SEEDS = (1, 2, 3, 7)
RAND = "+verilator+rand+reset+2"


def _net(anyr: int, seed: int = 1):
    """Three layers with changing column groups (ANYR 1: P = 12, R = 3, 6, 12), four images."""
    rng = np.random.default_rng(seed)
    P = 12 if anyr else 16
    l1 = random_layer(rng, 100, 60, density=0.3, n_pe=P, col_groups=4, fifo_depth=4, name="a")
    l2 = random_layer(rng, 60, 30, density=0.5, n_pe=P, col_groups=2, fifo_depth=8, input_t=l1.output_t,
                      name="b")  # fmt: skip
    l3 = random_layer(rng, 30, 10, density=0.7, n_pe=P, col_groups=1, fifo_depth=8, input_t=l2.output_t,
                      name="c")  # fmt: skip
    x = l1.input_t.quantize(np.where(rng.random((4, 100)) < 0.4, rng.normal(size=(4, 100)), 0))
    layers = [l1, l2, l3]
    params = params_for(layers)
    assert params.ANYR == anyr
    return layers, x.astype(np.int64), params


@pytest.fixture(scope="module", params=[(0, 1), (1, 1), (0, 2)], ids=["anyr0", "anyr1", "walk2"])
def xu(request):
    """(layers, x, params, x-unique harness) per ANYR, and with WALK = 2 (two accumulator banks, each
    with its valid bits; the entry RAM's second read port)."""
    from flow.rtl import verilator

    anyr, walk = request.param
    layers, x, params = _net(anyr)
    params = params.with_(WALK=walk)
    return layers, x, params, verilator.build(params, x_unique=True)


def _run(exe, layers, x, params, tmp_path: Path, plusargs=(), load_port=False):
    """Every memory word written (full $readmemh images, or every word through the load port
    with no images at all): the trimmed images of flow.rtl.run leave trailing zero words to the
    simulator's initial value, which --x-initial unique makes random."""
    from flow.rtl import verilator

    images = Images(layers, params)
    mem = tmp_path / "mem"
    mem.mkdir(parents=True, exist_ok=True)
    load = None
    if load_port:
        load = images.write_load(tmp_path / "load.txt")
    else:
        images.write_mem(mem)
    y, cyc, period = verilator.simulate(exe, mem, x, layers[-1].n_out, len(layers), load, plusargs)
    return y, cyc, period


def _assert_exact(layers, x, params, y, cyc, period):
    ref = eie_network(x, layers)
    bad = np.argwhere(y != ref)
    assert bad.size == 0, f"{len(bad)} outputs differ, first at {bad[0]}: rtl {y[tuple(bad[0])]} ref {ref[tuple(bad[0])]}"
    per, model_period = rtl_network_cycles(layers, x, params)
    np.testing.assert_array_equal(cyc, np.array([[c.total for c in p] for p in per]))
    np.testing.assert_array_equal(period, model_period)


@pytest.mark.parametrize("load_port", [False, True], ids=["readmemh", "load_port"])
def test_x_unique_random_initial_state_bit_and_cycle_exact(xu, tmp_path, load_port):
    layers, x, params, exe = xu
    for seed in SEEDS:
        y, cyc, period = _run(exe, layers, x, params, tmp_path / str(seed), (RAND, f"+verilator+seed+{seed}"),
                              load_port=load_port)  # fmt: skip
        _assert_exact(layers, x, params, y, cyc, period)


def test_plusargs_reach_verilators_context(xu, tmp_path):
    """The tests above rely on the harness passing +verilator+ plusargs to Verilator's context
    (it did not before): an unknown one is refused by Verilator itself."""
    layers, x, params, exe = xu
    with pytest.raises(FlowError, match=r"verilator\+no\+such\+option"):
        _run(exe, layers, x, params, tmp_path, ("+verilator+no+such+option",))


def _reset_cycle(per_image, layer: int, phase: str, k: int) -> int:
    """Harness cycle (0: the start pulse) of the k-th cycle of `phase` in `layer`."""
    t = 1 + sum(c.total for c in per_image[:layer])
    return t + (c := per_image[layer]).setup + (0 if phase == "run" else c.run) + k


@pytest.mark.parametrize("phase", ["run", "gather"])
def test_reset_during_an_inference_then_the_image_again(xu, tmp_path, caplog, phase):
    """rst for 1..3 cycles at random cycles of RUN or GATHER of every layer (the harness names
    the state and layer it hit), then the same image from its start: bit- and cycle-exact, and
    so are the images after it."""
    layers, x, params, exe = xu
    per, _ = rtl_network_cycles(layers, x, params)
    rng = np.random.default_rng(11 if phase == "run" else 12)
    state = {"run": 2, "gather": 3}[phase]
    for layer in range(len(layers)):
        img = int(rng.integers(0, len(x)))
        c = per[img][layer]
        k = int(rng.integers(0, c.run if phase == "run" else c.gather))
        t = _reset_cycle(per[img], layer, phase, k)
        length = int(rng.integers(1, 4))
        seed = int(rng.integers(1, 1000))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="flow.rtl.verilator"):
            y, cyc, period = _run(exe, layers, x, params, tmp_path / f"{layer}",
                                  (RAND, f"+verilator+seed+{seed}", f"+eie_reset={img},{t},{length}"))  # fmt: skip
        hit = re.search(r"reset at cycle (\d+) of image (\d+): state (\d) layer (\d)", caplog.text)
        assert hit, caplog.text
        assert tuple(map(int, hit.groups())) == (t, img, state, layer), caplog.text
        _assert_exact(layers, x, params, y, cyc, period)


def test_reset_during_the_load(xu, tmp_path, caplog):
    """rst in the middle of the load-port writes (they go on: memories have no reset), on an
    engine with no $readmemh images and a random initial state: every image bit- and cycle-exact."""
    layers, x, params, exe = xu
    n = len(Images(layers, params).load_commands())
    rng = np.random.default_rng(13)
    for _ in range(2):
        at, length, seed = int(rng.integers(1, n - 4)), int(rng.integers(1, 4)), int(rng.integers(1, 1000))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="flow.rtl.verilator"):
            y, cyc, period = _run(exe, layers, x, params, tmp_path / str(at),
                                  (RAND, f"+verilator+seed+{seed}", f"+eie_reset_load={at},{length}"), load_port=True)  # fmt: skip
        assert f"reset after {at} load writes" in caplog.text
        _assert_exact(layers, x, params, y, cyc, period)


def test_a_reset_request_that_never_happens_is_an_error(xu, tmp_path):
    layers, x, params, exe = xu
    with pytest.raises(FlowError, match="image ended before the requested cycle"):
        _run(exe, layers, x, params, tmp_path, (f"+eie_reset={len(x) - 1},100000,1",))


def test_accumulator_read_before_write_check_fires_on_a_broken_engine(tmp_path):
    """EIE_TEST_NO_ACC_VALID uses the accumulator RAM's word without its valid bit (the engine
    before the valid bits, minus the gather's clearing): the simulation check stops the run at
    the first read of a row the layer has not written, even with --x-initial 0 where the word
    is zero and the outputs of the first image would come out right."""
    from flow.rtl import verilator

    rng = np.random.default_rng(3)
    layer = random_layer(rng, 40, 20, density=0.5, n_pe=4, col_groups=2, fifo_depth=4, name="a")
    small = params_for([layer])
    exe = verilator.build(small, defines=("EIE_TEST_NO_ACC_VALID",))
    xi = layer.input_t.quantize(rng.normal(size=(1, 40))).astype(np.int64)
    with pytest.raises(FlowError, match=r"accumulator row \d+ read before it was written in this layer"):
        _run(exe, [layer], xi, small, tmp_path)


ICARUS = shutil.which("iverilog") and shutil.which("vvp")


@pytest.mark.skipif(not ICARUS, reason="iverilog not on PATH: the 4-state (Icarus) smoke test is skipped "
                    "(Icarus is not on PyPI; Debian: apt-get install iverilog)")  # fmt: skip
@pytest.mark.parametrize("anyr", [0, 1], ids=["anyr0", "anyr1"])
def test_icarus_four_state_smoke(tmp_path, anyr):
    """Icarus propagates X: no output bit is x, outputs equal the reference and cycles the model.
    (Before the valid bits the engine hung here in layer 1's RUN: X sums made X bitmap bits.)"""
    from flow.rtl.verilator import RTL_DIR, rtl_sources

    layers, x, params = _net(anyr)
    Images(layers, params).write_mem(tmp_path)
    (tmp_path / "in.hex").write_text("".join(f"{int(v) & ((1 << params.XW) - 1):x}\n" for v in x.ravel()))
    gen = {**params.generics(), "N_IMG": len(x), "N_IN": layers[0].n_in, "N_OUT": layers[-1].n_out,
           "N_LAYERS": len(layers)}  # fmt: skip
    cmd = ["iverilog", "-g2012", "-o", "tb.vvp", "-s", "eie_tb_icarus", *[f"-Peie_tb_icarus.{k}={v}" for k, v in gen.items()],
           *map(str, rtl_sources()), str(RTL_DIR / "harness" / "eie_tb_icarus.sv")]  # fmt: skip
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    run = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True)
    assert "TIMEOUT" not in run.stdout, run.stdout[-500:]
    assert "Error" not in run.stdout, run.stdout[-2000:]
    text = (tmp_path / "out.txt").read_text()
    y = np.full((len(x), layers[-1].n_out), -(2**40), np.int64)
    cycles = {}
    for line in text.splitlines():
        f = line.split()
        if f[0] == "y":
            assert "x" not in f[3] and "z" not in f[3], f"unknown output bits: {line}"
            v = int(f[3], 16)
            y[int(f[1]), int(f[2])] = v - (1 << params.XW) if v >> (params.XW - 1) else v
        elif f[0] == "image":
            cycles[int(f[1])] = (int(f[3]), [int(c) for c in f[5:]])
    per, period = rtl_network_cycles(layers, x, params)
    np.testing.assert_array_equal(y, eie_network(x, layers))
    assert [cycles[i][0] for i in range(len(x))] == period.tolist()
    assert [cycles[i][1] for i in range(len(x))] == [[c.total for c in p] for p in per]
