"""The plain-g++ testbench in kernels/hls/tb/: vectors from the reference, golden model, first mismatch."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from flow.eie import FixedType, codegen
from flow.testing import random_layer
from flow.eie.reference import eie_dense
from flow.paths import kernels_dir

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module", params=[1, 4], ids=["g1", "g4"])
def tb(request):
    """The testbench on one layer: 6 PEs in one group; 8 PEs in 4 column groups (70 % 4: padding)."""
    from flow.eie.csim import compile_cached

    col_groups = request.param
    layer = random_layer(
        np.random.default_rng(11),
        70,
        37,
        density=0.15,
        n_pe=6 if col_groups == 1 else 8,
        col_groups=col_groups,
        fifo_depth=2,
        index_bits=3,
        output_t=FixedType(10, 3, True, "RND", "SAT"),
    )
    tb_dir = kernels_dir() / "tb"
    names = ("eie_dense_top.cpp", "eie_dense_top.h", "eie_dense_tb.cpp")
    sources = {name: (tb_dir / name).read_text() for name in names}
    sources["eie_dense_config.h"] = codegen.testbench_config(layer)
    return layer, compile_cached(sources, shared=False, tag="eietb")


def _write(path, rows):
    path.write_text("".join(" ".join(map(str, r)) + "\n" for r in rows))


def test_testbench_passes_on_reference_vectors(tb, tmp_path):
    layer, exe = tb
    rng = np.random.default_rng(0)
    x = rng.integers(layer.input_t.min_raw, layer.input_t.max_raw + 1, size=(20, layer.n_in))
    x[rng.random(x.shape) < 0.6] = 0
    x[0] = 0  # an all-zero input
    _write(tmp_path / "in.txt", x)
    _write(tmp_path / "out.txt", eie_dense(x, layer))
    proc = subprocess.run(
        [str(exe), str(tmp_path / "in.txt"), str(tmp_path / "out.txt")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("PASS 20 samples")


def test_testbench_reports_first_mismatch(tb, tmp_path):
    layer, exe = tb
    x = np.ones((3, layer.n_in), dtype=np.int64) * 100
    y = eie_dense(x, layer)
    y[1, 4] += 1
    _write(tmp_path / "in.txt", x)
    _write(tmp_path / "out.txt", y)
    proc = subprocess.run(
        [str(exe), str(tmp_path / "in.txt"), str(tmp_path / "out.txt")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("MISMATCH sample 1 output 4")
