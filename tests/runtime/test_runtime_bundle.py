"""model.json (BundleMeta) validation, and flow.runtime's import isolation (a board has no TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flow.errors import UsageError
from flow.runtime.bundle import BundleError, BundleMeta, IOSpec

T13 = {"width": 13, "integer": 5, "signed": True, "rounding": "RND", "saturation": "SAT"}


def _meta(**kw) -> BundleMeta:
    io = dict(n_in=7, n_out=3, in_type=T13, out_type=T13, stream_bits=64)
    io.update(kw.pop("io", {}))
    return BundleMeta(project="tiny", board="pynq-z2", io=IOSpec(**io), **kw)


def _write(tmp_path, data: dict):
    (tmp_path / "model.json").write_text(json.dumps(data))
    return tmp_path


def test_round_trip(tmp_path):
    meta = _meta(
        classes=["a", "b", "c"], softmax_on_host=True, clock_mhz=100.0, versions={"eie-flow": "0.1.0"}
    )
    meta.save(tmp_path)
    back = BundleMeta.load(tmp_path)
    assert back == meta
    assert back.bitstream == "tiny.bit" and back.hwh == "tiny.hwh"
    assert back.io.in_bits == 13 and back.io.in_layout.words_per_sample == 2
    data = json.loads((tmp_path / "model.json").read_text())
    assert data["format"] == 1 and data["io"]["stream_bits"] == 64 and data["io"]["out_type"] == T13


def test_missing_bundle_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no model.json"):
        BundleMeta.load(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        BundleMeta.load(tmp_path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format=2), "format 2 is not supported"),
        (lambda d: d.pop("board"), "missing field 'board'"),
        (lambda d: d.update(colour="red"), "unknown field"),
        (lambda d: d["io"].pop("n_in"), "io lacks n_in"),
        (lambda d: d["io"].update(n_in=0), "io.n_in must be a positive integer"),
        (lambda d: d["io"].update(stream_bits=48), "io.stream_bits must be one of"),
        (lambda d: d["io"].update(in_bits=16), r"io.in_bits=16 differs from the type's width 13"),
        (lambda d: d["io"].update(stream_bits=8), "wider than io.stream_bits=8"),
        (lambda d: d["io"]["out_type"].update(rounding="CONV"), "io.out_type: rounding"),
        (lambda d: d.update(classes=["a"]), "classes must be a list of io.n_out=3"),
        (lambda d: d.update(project="my-net"), "C identifier"),
        (lambda d: d.update(bitstream="../x.bit"), "bitstream must be a .bit file name"),
        (lambda d: d.update(dma={"length_bits": 40}), "dma.length_bits"),
        (lambda d: d.update(softmax_on_host="yes"), "softmax_on_host"),
    ],
)
def test_validation_errors_name_the_field(tmp_path, edit, message):
    data = _meta().to_dict()
    edit(data)
    with pytest.raises(BundleError, match=message):
        BundleMeta.load(_write(tmp_path, data))


def test_runtime_imports_only_errors_fixed_and_itself():
    """`import flow.runtime` (and its `run` command and simulated board) with TensorFlow, hls4ml,
    Keras and QKeras blocked: it succeeds, loads no pynq, and no flow module but errors, fixed and runtime."""
    code = """
import json, sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'hls4ml', 'keras', 'qkeras', 'tf_keras'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import flow.runtime
from flow.runtime import EIEOverlay, BundleMeta, packing, sim
import flow.runtime.cli
import flow.runtime.__main__
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'hls4ml', 'keras', 'qkeras', 'pynq'))
ours = sorted(m for m in sys.modules if m == 'flow' or m.startswith('flow.'))
print(json.dumps([bad, ours]))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    bad, ours = json.loads(res.stdout.strip().splitlines()[-1])
    assert bad == []  # pynq too: it loads only when an overlay is opened
    outside = [m for m in ours if m not in ("flow", "flow.errors", "flow.fixed") and not m.startswith("flow.runtime")]
    assert outside == [], f"flow.runtime imports {outside}"
    assert "flow.runtime.overlay" in ours


def test_write_bundle_copies_the_files(tmp_path):
    from flow.runtime.bundle import write_bundle

    (tmp_path / "impl.bit").write_bytes(b"bit")
    (tmp_path / "impl.hwh").write_text("<hwh/>")
    with pytest.raises(BundleError, match="both the .bit and the .hwh"):
        write_bundle(tmp_path / "b", _meta(), bitstream=tmp_path / "impl.bit")
    with pytest.raises(BundleError, match="simulation library .* not found"):
        write_bundle(tmp_path / "b", _meta(), sim_library=tmp_path / "nope.so")
    out = write_bundle(
        tmp_path / "b",
        _meta(),
        bitstream=tmp_path / "impl.bit",
        hwh=tmp_path / "impl.hwh",
        test_vectors={"x": [[0.0] * 7]},
    )
    assert (out / "tiny.bit").read_bytes() == b"bit" and (out / "tiny.hwh").is_file()
    assert BundleMeta.load(out).test_vectors == "test_vectors.npz" and (out / "test_vectors.npz").is_file()
