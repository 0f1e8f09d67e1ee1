"""The MNIST benchmark path on a small subset (slow; needs the MNIST idx files)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deep_compression.py"


def _bench():
    spec = importlib.util.spec_from_file_location("deep_compression", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_bench_runs_the_shipped_example_configs():
    bench = _bench()
    for net in bench.NETWORKS.values():
        assert (bench.EXAMPLES / net["config"]).is_file()
    for variants in bench.COMPARISONS.values():
        for config in variants.values():
            assert (bench.EXAMPLES / config).is_file()


@pytest.mark.slow
@pytest.mark.mnist
def test_bench_quick(mnist_path, tmp_path):
    bench = _bench()
    out = tmp_path / "dc.json"
    result = bench.run(str(mnist_path), ["lenet300", "ternary"], quick=True, repeat=True, out=out)
    saved = json.loads(out.read_text())
    r = saved["lenet300"]
    assert r["repeat_identical"] is True
    assert r["huffman_ratio"] > r["ratio"] > 5
    assert r["selection"]["validation_images"] == 1000
    assert r["search"]["curve"]
    shelf = r["off_the_shelf"]
    assert shelf["layers"]["ip1"]["codebooks"] == 784
    assert set(saved["ternary"]) == {"ternary (TTQ)", "k-means 2-bit"}
    assert all(d["code_bits"] == 2 for d in saved["ternary"]["ternary (TTQ)"]["layers"])
    assert result["lenet300"]["error"] == r["error"]
