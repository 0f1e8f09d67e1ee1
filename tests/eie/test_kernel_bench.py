"""LeNet-300-100 at Deep Compression's sparsity (784x300 8 %, 300x100 9 %, 100x10 26 %) in csim:
compile time, time per sample and the modelled load efficiency. Prints the numbers (run with -s).

    pytest -m slow -s tests/test_kernel_bench.py
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from flow.testing import find_mnist_dir

from flow.data import read_mnist
from flow.eie import FixedType
from flow.testing import random_layer
from flow.eie.perf import layer_cycles
from flow.eie.reference import eie_dense, eie_network

Q16 = FixedType(16, 6, True, "RND", "SAT")
SHAPES = [(784, 300, 0.08, "relu"), (300, 100, 0.09, "relu"), (100, 10, 0.26, "linear")]


def lenet(n_pe: int, fifo_depth: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [
        random_layer(
            rng,
            i,
            o,
            density=d,
            n_pe=n_pe,
            fifo_depth=fifo_depth,
            activation=a,
            name=f"fc{k + 1}",
        )
        for k, (i, o, d, a) in enumerate(SHAPES)
    ]


def inputs(n: int) -> np.ndarray:
    """MNIST test digits in [0, 1] when the idx files are found (~19 % non-zero), else a stand-in.

    The folder is flow.testing.find_mnist_dir's: FLOW_DATA_DIR, else ../shared/data/mnist.
    """
    folder = find_mnist_dir()
    if folder is not None:
        x = read_mnist(folder, "x_test").reshape(-1, 784)[:n] / 255.0
    else:
        rng = np.random.default_rng(0)
        x = np.where(rng.random((n, 784)) < 0.19, rng.random((n, 784)), 0.0)
    return Q16.quantize(x)


@pytest.mark.slow
@pytest.mark.csim
@pytest.mark.parametrize("n_pe", [4, 16, 64])
def test_lenet_300_100_csim_speed(n_pe):
    from flow.eie.csim import CsimChain, bridge_source, compile_cached

    layers = lenet(n_pe)
    x = inputs(1000)
    t0, c0 = time.perf_counter(), time.process_time()
    # a unique comment defeats the cache: this measures a cold compile
    path = compile_cached(
        {
            "bench.cpp": f"// {time.time()}\n"
            + '#include <stdint.h>\n#include "eie_dense.h"\n'
            + bridge_source(layers)
        },
        tag="bench",
    )
    compile_s = time.perf_counter() - t0  # wall time of the g++ child process
    path.unlink()
    chain = CsimChain(layers)
    t0, c0 = time.perf_counter(), time.process_time()
    y = chain(x)
    per_sample_ms = (time.process_time() - c0) / len(x) * 1e3  # CPU time: the 2 cores are shared
    wall_ms = (time.perf_counter() - t0) / len(x) * 1e3
    assert np.array_equal(y, eie_network(x, layers))
    print(
        f"\nLeNet-300-100 P={n_pe}: g++ {compile_s:.1f} s wall, csim {per_sample_ms:.3f} ms/sample CPU "
        f"({wall_ms:.3f} wall) "
        f"(inputs {np.count_nonzero(x) / x.size:.0%} non-zero)"
    )
    assert per_sample_ms < 1.0  # generous: 2 shared cores; typically ~0.1-0.2 ms


@pytest.mark.slow
def test_lenet_300_100_efficiency_table():
    x = inputs(100)
    print("\nmodelled load efficiency (ideal / cycles), mean over 100 MNIST digits")
    print("P   depth   fc1     fc2     fc3     total cycles")
    for n_pe in (4, 16, 64):
        for depth in (1, 2, 8):
            layers = lenet(n_pe, depth)
            h = x
            per_layer = []  # the inputs of each layer (the reference's outputs of the previous one)
            for layer in layers:
                per_layer.append(h)
                h = eie_dense(h, layer)
            eff = np.zeros(3)
            cycles = 0
            for k, layer in enumerate(layers):
                for sample in per_layer[k]:
                    cyc = layer_cycles(layer, sample)
                    eff[k] += cyc.efficiency / len(x)
                    cycles += cyc.cycles / len(x)
            print(f"{n_pe:<3} {depth:<7} " + "  ".join(f"{e:6.1%}" for e in eff) + f"  {cycles:8.0f}")
            assert np.all(eff <= 1)
