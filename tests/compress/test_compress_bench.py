"""The MNIST benchmark path on a small subset (slow; needs the MNIST idx files)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deep_compression.py"


@pytest.mark.slow
@pytest.mark.mnist
def test_bench_quick(mnist_path, tmp_path):
    spec = importlib.util.spec_from_file_location("deep_compression", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "dc.json"
    result = bench.run(str(mnist_path), quick=True, out=out)
    saved = json.loads(out.read_text())
    assert saved["stages"] == result["stages"]
    stages = {s["stage"]: s for s in saved["stages"]}
    assert stages["+ Huffman"]["ratio"] > stages["pruned"]["ratio"] > 1.0
    assert saved["huffman_ratio"] > 20  # ~7 % kept with 4-5 bit codes
    assert saved["errors"]["quantized"] < 0.5  # trained a little on 6000 samples
    shelf = saved["off_the_shelf"]
    assert "crashed" in shelf["layers"]["ip3"]["note"]  # 10 weights per row < 32 clusters
    assert shelf["layers"]["ip1"]["codebooks"] == 784
    for layer in saved["layers"]:
        assert 0 < layer["kept"] < 0.3
