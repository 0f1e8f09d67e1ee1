"""The simulated board end to end: EIEOverlay + packing + AXI top + network, against hls4ml's own csim.

A tiny hls4ml Vivado-backend io_parallel project (Dense 7->5 relu ->3, ap_fixed<13,5,RND,SAT>,
odd widths so samples need padding) is generated once in a subprocess (TensorFlow stays out of
this process) and cached with its compiled libraries in pytest's cache folder.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flow.errors import FlowError, UsageError
from flow.fixed import FixedType
from flow.runtime.bundle import BundleError, BundleMeta, DMASpec, IOSpec
from flow.runtime.overlay import DeviceTimeout, EIEOverlay
from flow.runtime.sim import run_vectors, sim_overlay, write_test_vectors

pytestmark = pytest.mark.csim
pytest.importorskip("pynq", reason="the simulated board runs pynq's own Overlay/allocate/DMA code")

PROJECT = "tiny"
N_IN, N_HIDDEN, N_OUT = 7, 5, 3
PRECISION = "ap_fixed<13,5,AP_RND,AP_SAT>"
T = {"width": 13, "integer": 5, "signed": True, "rounding": "RND", "saturation": "SAT"}
STREAM_BITS = 64

_GENERATE = r"""
import sys, numpy as np, tensorflow as tf, hls4ml
out, project, precision = sys.argv[1], sys.argv[2], sys.argv[6]
n_in, n_hidden, n_out = map(int, sys.argv[3:6])
tf.random.set_seed(1)
model = tf.keras.Sequential([
    tf.keras.layers.Input((n_in,)),
    tf.keras.layers.Dense(n_hidden, activation="relu", name="fc1"),
    tf.keras.layers.Dense(n_out, name="fc2"),
])
rng = np.random.RandomState(1)
model.set_weights([rng.uniform(-1.5, 1.5, w.shape).astype("float32") for w in model.get_weights()])
cfg = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vivado")
cfg["Model"]["Precision"] = precision
hm = hls4ml.converters.convert_from_keras_model(
    model, backend="Vivado", io_type="io_parallel", output_dir=out, hls_config=cfg, project_name=project
)
hm.compile()
x = rng.uniform(-4, 4, (16, n_in)).astype("float32")
np.savez(out + "/gen_check.npz", x=x, y=hm.predict(x).reshape(16, n_out))
"""


class HLS4MLCsim:
    """hls4ml's own compiled csim (`<project>_float`, what hls_model.predict calls), per sample."""

    def __init__(self, project_dir: Path):
        libs = sorted((project_dir / "firmware").glob(f"{PROJECT}-*.so"))
        assert libs, f"hls4ml library missing in {project_dir}"
        self.lib = ctypes.CDLL(str(libs[0]))
        self.fn = getattr(self.lib, f"{PROJECT}_float")
        f32 = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
        self.fn.argtypes = [f32, f32]
        self.fn.restype = None

    def raw(self, x) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros((len(x), N_OUT), dtype=np.float32)
        for i in range(len(x)):
            row = np.zeros(N_OUT, dtype=np.float32)
            self.fn(np.ascontiguousarray(x[i]), row)
            out[i] = row
        raw = np.ldexp(out.astype(np.float64), T["width"] - T["integer"])
        assert np.all(raw == np.round(raw))
        return raw.astype(np.int64)


@pytest.fixture(scope="module")
def tiny(request):
    """(project_dir, sim library, hls4ml csim) of the cached tiny project."""
    import hls4ml  # noqa: F401  (only to key the cache on its version)

    from flow.board.axi_top import build_sim_library, write_axi_top

    key = hashlib.sha256(
        json.dumps(
            [PROJECT, N_IN, N_HIDDEN, N_OUT, PRECISION, _GENERATE, sys.modules["hls4ml"].__version__]
        ).encode()
    ).hexdigest()[:12]
    project_dir = Path(request.config.cache.mkdir("eie_runtime_sim")) / f"{PROJECT}-{key}"
    if not (project_dir / "gen_check.npz").is_file():
        subprocess.run(
            [
                sys.executable,
                "-c",
                _GENERATE,
                str(project_dir),
                PROJECT,
                str(N_IN),
                str(N_HIDDEN),
                str(N_OUT),
                PRECISION,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    defines = (project_dir / "firmware" / "defines.h").read_text()
    for name in ("input_t", "result_t"):  # the bundle's FixedType dicts must describe the project's types
        assert re.search(rf"typedef ap_fixed<13,5,AP_RND,AP_SAT,0> {name};", defines), defines
    write_axi_top(project_dir, PROJECT, N_IN, N_OUT, STREAM_BITS)
    lib = build_sim_library(project_dir, PROJECT)
    csim = HLS4MLCsim(project_dir)
    check = np.load(project_dir / "gen_check.npz")
    np.testing.assert_array_equal(
        csim.raw(check["x"]), FixedType.from_dict(T).quantize(check["y"])
    )  # ctypes == predict()
    return project_dir, lib, csim


def make_bundle(path: Path, lib: Path, **kw) -> Path:
    io = dict(n_in=N_IN, n_out=N_OUT, in_type=T, out_type=T, stream_bits=STREAM_BITS)
    io.update(kw.pop("io", {}))
    BundleMeta(project=PROJECT, board="pynq-z2", io=IOSpec(**io), sim_library=str(lib), **kw).save(path)
    return path


@pytest.fixture
def bundle(tmp_path, tiny):
    return make_bundle(tmp_path / "bundle", tiny[1])


def _raw_out(y) -> np.ndarray:
    return np.ldexp(y, T["width"] - T["integer"]).astype(np.int64)


@pytest.mark.parametrize("n, batch_size", [(1, None), (7, None), (37, 10), (100, None), (53, 1)])
def test_bit_exact_with_hls4ml_csim(bundle, tiny, n, batch_size):
    rng = np.random.RandomState(n)
    x = (rng.randn(n, N_IN) * 3).astype(np.float32)  # |x| > 16 saturates the input type sometimes
    with sim_overlay(bundle) as ol:
        y = ol.predict(x, batch_size=batch_size)
        assert ol.timings["samples"] == n and ol.timings["batches"] == -(-n // (batch_size or n))
        assert ol.device.batches == ol.timings["batches"]
    np.testing.assert_array_equal(_raw_out(y), tiny[2].raw(x))


def test_zero_saturating_and_extreme_inputs(bundle, tiny):
    lo, hi = FixedType.from_dict(T).min_raw, FixedType.from_dict(T).max_raw
    x = np.stack(
        [
            np.zeros(N_IN),
            np.full(N_IN, 1e4),
            np.full(N_IN, -1e4),
            np.full(N_IN, FixedType.from_dict(T).to_float(hi)),
            np.full(N_IN, FixedType.from_dict(T).to_float(lo)),
            np.tile([1e4, -1e4], N_IN)[:N_IN],
        ]
    ).astype(np.float32)
    ol = sim_overlay(bundle)
    np.testing.assert_array_equal(_raw_out(ol.predict(x)), tiny[2].raw(x))
    # raw mode: integers in, integers out
    x_raw = FixedType.from_dict(T).quantize(x)
    np.testing.assert_array_equal(ol.predict(x_raw, raw=True), tiny[2].raw(x))


def test_uses_pynq_allocate_and_dma_driver(bundle):
    import pynq.lib.dma

    ol = sim_overlay(bundle)
    assert isinstance(ol.dma, pynq.lib.dma.DMA)
    assert ol.overlay.is_loaded() and ol.device.downloads == 1
    ol.predict(np.zeros((3, N_IN)))
    assert isinstance(ol._in_buf, pynq.buffer.PynqBuffer) and ol._in_buf.physical_address % 4096 == 0
    # images of any shape with n_in values per sample, one sample as a vector, an empty batch
    assert ol.predict(np.zeros((2, 1, N_IN))).shape == (2, N_OUT)
    assert ol.predict(np.zeros(N_IN)).shape == (1, N_OUT)
    assert ol.predict(np.zeros((0, N_IN))).shape == (0, N_OUT)


def test_dma_length_limit_splits_batches(tmp_path, tiny):
    bundle = make_bundle(tmp_path / "b", tiny[1], dma=DMASpec(length_bits=8))  # <= 255 bytes per transfer
    x = np.random.RandomState(3).uniform(-8, 8, (40, N_IN)).astype(np.float32)
    ol = sim_overlay(bundle)
    assert ol.max_transfer_samples == 255 // 16  # 2 input words of 8 bytes per sample
    y = ol.predict(x)
    assert ol.timings["batches"] == 3
    np.testing.assert_array_equal(_raw_out(y), tiny[2].raw(x))


def test_softmax_on_host(tmp_path, tiny):
    bundle = make_bundle(tmp_path / "b", tiny[1], softmax_on_host=True, classes=["a", "b", "c"])
    x = np.random.RandomState(4).uniform(-4, 4, (9, N_IN)).astype(np.float32)
    y = sim_overlay(bundle).predict(x)
    logits = FixedType.from_dict(T).to_float(tiny[2].raw(x))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-12)


def test_input_errors(bundle):
    ol = sim_overlay(bundle)
    with pytest.raises(UsageError, match=r"expected \(batch, 7\)"):
        ol.predict(np.zeros((4, 8)))
    x = np.zeros((5, N_IN))
    x[3, 2] = np.nan
    x[4, 0] = np.inf
    with pytest.raises(UsageError, match="2 NaN/Inf value.*first in sample 3"):
        ol.predict(x)
    with pytest.raises(UsageError, match="value 4096 at index"):
        ol.predict(np.full((1, N_IN), 4096), raw=True)
    with pytest.raises(UsageError, match="integers"):
        ol.predict(np.zeros((1, N_IN)), raw=True)
    with pytest.raises(UsageError, match="batch_size"):
        ol.predict(np.zeros((1, N_IN)), batch_size=0)


def test_wrong_board(bundle, monkeypatch):
    with pytest.raises(UsageError, match="built for board 'pynq-z2' but this is 'kv260'"):
        sim_overlay(bundle, board="kv260")
    sim_overlay(bundle, board="kv260", check_board=False).predict(np.zeros((1, N_IN)))
    # on a PYNQ image $BOARD names the board; names compare without case or punctuation
    monkeypatch.setenv("BOARD", "ZCU104")
    with pytest.raises(UsageError, match="this is 'ZCU104'"):
        EIEOverlay(bundle)
    monkeypatch.setenv("BOARD", "Pynq-Z2")
    with pytest.raises(BundleError, match="lacks tiny.bit and tiny.hwh"):  # board ok; no Vivado outputs
        EIEOverlay(bundle)


@pytest.mark.parametrize(
    "fault, channel", [("hang", r"axi_dma_0 send channel \(MM2S\)"), ("no_done", r"eie_0 \(ap_done\)")]
)
def test_timeout_names_the_channel(bundle, fault, channel):
    ol = sim_overlay(bundle, fault=fault, timeout=0.2)
    with pytest.raises(DeviceTimeout, match=f"timeout after 0.2 s waiting for {channel}"):
        ol.predict(np.zeros((2, N_IN)))
    with pytest.raises(FlowError, match="timed out before"):
        ol.predict(np.zeros((2, N_IN)))


def test_bundle_must_match_the_ip(tmp_path, tiny):
    t16 = dict(T, width=16, integer=8)
    bundle = make_bundle(tmp_path / "b", tiny[1], io={"in_type": t16})
    with pytest.raises(BundleError, match="in_bits: model.json 16 vs IP 13"):
        sim_overlay(bundle)


def test_download_false_uses_what_is_loaded(bundle):
    from flow.runtime.sim_device import SimDevice

    device = SimDevice(bundle)
    with pytest.raises(FlowError, match="no bitstream loaded"):
        EIEOverlay(bundle, device=device, download=False)
    EIEOverlay(bundle, device=device).predict(np.zeros((1, N_IN)))
    again = EIEOverlay(bundle, device=device, download=False)
    assert device.downloads == 1
    assert again.predict(np.zeros((2, N_IN))).shape == (2, N_OUT)


def test_write_bundle_and_flow_run_sim(tmp_path, tiny, capsys):
    from flow.cli import main
    from flow.runtime.bundle import write_bundle

    rng = np.random.RandomState(5)
    x = rng.uniform(-6, 6, (30, N_IN)).astype(np.float32)
    y_raw = tiny[2].raw(x)
    labels = y_raw.argmax(axis=1)
    labels[:3] = (labels[:3] + 1) % N_OUT  # 27/30 correct
    meta = BundleMeta(
        project=PROJECT,
        board="pynq-z2",
        io=IOSpec(n_in=N_IN, n_out=N_OUT, in_type=T, out_type=T, stream_bits=STREAM_BITS),
    )
    bundle = write_bundle(
        tmp_path / "bundle",
        meta,
        sim_library=tiny[1],
        test_vectors={"x": x, "y_raw": y_raw, "labels": labels},
    )
    back = BundleMeta.load(bundle)
    assert back.sim_library == f"sim/{tiny[1].name}" and back.test_vectors == "test_vectors.npz"
    assert main(["run", str(bundle), "--sim", "--batch-size", "8"]) == 0
    out = capsys.readouterr().out
    assert "bit agreement       1.0000 of samples" in out and "accuracy            0.9000" in out
    report = json.loads((bundle / "run_report_sim.json").read_text())
    assert report["bit_agreement"] == 1.0 and report["accuracy"] == 0.9 and report["timings"]["batches"] == 4
    # a wrong reference shows as a mismatch and exit code 1
    y_bad = y_raw.copy()
    y_bad[7, 1] += 1
    write_test_vectors(bundle, x, y_bad, labels)
    assert main(["run", str(bundle), "--sim", "--limit", "20"]) == 1
    assert "first mismatch      sample 7" in capsys.readouterr().out
    report = run_vectors(sim_overlay(bundle), {"x": x, "y_raw": y_bad})
    assert report["first_mismatch"] == 7 and report["max_raw_diff"] == 1
    # no data; no hardware
    (bundle / "test_vectors.npz").unlink()
    assert main(["run", str(bundle), "--sim"]) == 2
    assert "test vectors" in capsys.readouterr().err
    write_test_vectors(bundle, x)
    assert main(["run", str(bundle)]) == 2  # no .bit/.hwh in this bundle: a usage error, not a crash
    assert "lacks tiny.bit and tiny.hwh" in capsys.readouterr().err


def test_sim_dma_stalls_like_the_hardware(bundle):
    """Register level: wrong transfer lengths stall the channel they would stall on the board."""
    import pynq

    ol = sim_overlay(bundle)
    dev, send, recv = ol.device, ol.dma.sendchannel, ol.dma.recvchannel
    words = ol.in_layout.pack(np.zeros((2, N_IN), dtype=np.int64))

    def run(n_in_words, n_out_words, n_samples=2):
        inbuf = pynq.allocate((n_in_words,), np.uint64, target=dev)
        outbuf = pynq.allocate((n_out_words,), np.uint64, target=dev)
        inbuf[: min(n_in_words, words.size)] = words[:n_in_words]
        recv.transfer(outbuf)
        send.transfer(inbuf)
        ol.ip.start_batch(n_samples)
        return send.idle, recv.idle, bool(ol.ip.ctrl & 0x2)

    def reload():  # a stalled design needs the bitstream again; the DMA channels restart
        ol.overlay.download()
        send.start()
        recv.start()

    assert run(4, 2) == (True, True, True)  # exact sizes: all done
    reload()
    assert run(5, 2) == (False, True, True)  # a word too many: MM2S never drains
    reload()
    assert run(3, 2) == (True, False, False)  # a word short: the IP waits, no TLAST
    reload()
    assert run(4, 1) == (True, True, False)  # output buffer full: S2MM ends, the IP stalls
    recv.wait()
    assert recv.transferred == 8 and dev.downloads == 4


def _bundle_with_weights(path: Path, tiny, edit=None) -> Path:
    """A bundle with its own copy of the library and of hls4ml's text weights (bundle/sim/weights),
    as flow's bundle step writes it for networks whose hls4ml layers read them in csim."""
    from flow.runtime.bundle import write_bundle

    meta = BundleMeta(
        project=PROJECT,
        board="pynq-z2",
        io=IOSpec(n_in=N_IN, n_out=N_OUT, in_type=T, out_type=T, stream_bits=STREAM_BITS),
    )
    bundle = write_bundle(path, meta, sim_library=tiny[1])
    weights = bundle / "sim" / "weights"
    weights.mkdir()
    for txt in sorted((tiny[0] / "firmware" / "weights").glob("*.txt")):
        (weights / txt.name).write_text(txt.read_text())
    for name, values in (edit or {}).items():
        (weights / f"{name}.txt").write_text(", ".join(repr(float(v)) for v in values))
    return bundle


def test_sim_board_leaves_the_environment_alone(tmp_path, tiny, monkeypatch):
    """The bundle's weights go to its library, not to os.environ; a caller's $EIE_WEIGHTS_DIR stays."""
    from flow.runtime.sim_library import WEIGHTS_ENV

    x = np.random.RandomState(3).uniform(-6, 6, (9, N_IN)).astype(np.float32)
    bundle = _bundle_with_weights(tmp_path / "a", tiny)
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    before = dict(os.environ)
    with sim_overlay(bundle) as ol:
        np.testing.assert_array_equal(_raw_out(ol.predict(x)), tiny[2].raw(x))
    assert dict(os.environ) == before
    # a value the caller set is neither overwritten nor used instead of the bundle's weights
    other = _bundle_with_weights(
        tmp_path / "other", tiny, {"w4": np.zeros(N_HIDDEN * N_OUT), "b4": [0, 0, 0]}
    )
    monkeypatch.setenv(WEIGHTS_ENV, str(other / "sim" / "weights"))
    before = dict(os.environ)
    with sim_overlay(_bundle_with_weights(tmp_path / "b", tiny)) as ol:
        np.testing.assert_array_equal(_raw_out(ol.predict(x)), tiny[2].raw(x))
    assert dict(os.environ) == before


class _CDLLWithoutSetter(ctypes.CDLL):
    """A simulation library built before `<project>_axi_sim_set_weights_dir` existed."""

    def __getattr__(self, name):
        if name.endswith("_axi_sim_set_weights_dir"):
            raise AttributeError(name)
        return super().__getattr__(name)


@pytest.mark.parametrize("library", ["setter", "legacy"])
def test_two_sim_boards_with_different_weights_in_one_process(tmp_path, tiny, monkeypatch, library):
    """Each board runs its own bundle's weights, whatever the order boards are opened and used in (the
    network reads its text weights lazily, on the first call); legacy libraries get $EIE_WEIGHTS_DIR
    around each call only."""
    from flow.runtime import sim_library

    if library == "legacy":
        monkeypatch.setattr(sim_library.ctypes, "CDLL", _CDLLWithoutSetter)
    monkeypatch.delenv(sim_library.WEIGHTS_ENV, raising=False)
    before = dict(os.environ)
    x = np.random.RandomState(4).uniform(-6, 6, (11, N_IN)).astype(np.float32)
    b4 = np.array([0.5, 0.25, -1.0])  # fc2 weights zero: the outputs are b4 for every sample
    a = _bundle_with_weights(tmp_path / "a", tiny)
    b = _bundle_with_weights(tmp_path / "b", tiny, {"w4": np.zeros(N_HIDDEN * N_OUT), "b4": b4})
    want_a = tiny[2].raw(x)
    want_b = np.tile(FixedType.from_dict(T).quantize(b4), (len(x), 1))
    assert not np.array_equal(want_a, want_b)
    ol_a, ol_b = sim_overlay(a), sim_overlay(b)  # both open before either runs
    np.testing.assert_array_equal(_raw_out(ol_a.predict(x)), want_a)
    np.testing.assert_array_equal(_raw_out(ol_b.predict(x)), want_b)
    np.testing.assert_array_equal(_raw_out(ol_a.predict(x)), want_a)
    np.testing.assert_array_equal(_raw_out(sim_overlay(b).predict(x)), want_b)  # reopened: same library
    assert ol_a.device.library._env_weights == (library == "legacy")
    assert dict(os.environ) == before


def test_one_library_file_cannot_take_two_weight_folders(tmp_path, tiny):
    """The dynamic loader shares a file loaded twice, and its network keeps the weights it read first."""
    from flow.runtime.sim_device import SimDevice
    from flow.runtime.sim_library import SimLibrary

    a = _bundle_with_weights(tmp_path / "a", tiny)
    lib = a / BundleMeta.load(a).sim_library
    SimDevice(a)
    SimDevice(a)  # the same bundle again: the same folder
    with pytest.raises(BundleError, match="already loaded in this process with the weights of"):
        SimLibrary(lib, PROJECT, tmp_path)


def test_env_var_restores(monkeypatch):
    from flow.runtime.sim_library import env_var

    monkeypatch.delenv("EIE_TEST_VAR", raising=False)
    with env_var("EIE_TEST_VAR", "x"):
        assert os.environ["EIE_TEST_VAR"] == "x"
    assert "EIE_TEST_VAR" not in os.environ
    monkeypatch.setenv("EIE_TEST_VAR", "old")
    with pytest.raises(RuntimeError), env_var("EIE_TEST_VAR", None):
        assert "EIE_TEST_VAR" not in os.environ
        raise RuntimeError
    assert os.environ["EIE_TEST_VAR"] == "old"
