"""The simulated board on an EIE-backend project: driver, packing, AXI top, engine == numpy reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("hls4ml")
pytest.importorskip("pynq")

pytestmark = pytest.mark.csim

PROJECT = "eie_small"


@pytest.fixture(scope="module", params=["io_parallel", "io_stream"])
def eie_bundle(request, tmp_path_factory):
    """The bundle of a 20-12-5 EIE project in each hls4ml I/O type (io_stream: the AXI top feeds the
    top's nnet::array packs, kernels/hls/eie_axi_top.h to_packs/from_packs)."""
    from flow.board.axi_top import build_sim_library, project_io, write_axi_top
    from flow.config.hls import HLSConfig
    from flow.hls.convert import convert
    from flow.testing import as_compressed, shared_mlp
    from flow.runtime.bundle import BundleMeta, IOSpec, write_bundle

    model, types = shared_mlp([20, 12, 5], (0.4, 0.6), seed=1)
    # the project lives in pytest's cache so the compiled simulation is reused while the sources are unchanged
    io_type = request.param
    suffix = "" if io_type == "io_parallel" else "_stream"
    project_dir = Path(request.config.cache.mkdir(f"eie_runtime_eie{suffix}")) / "hls"
    hm = convert(
        as_compressed(model, types), HLSConfig(n_pe=4, fifo_depth=2, project_name=PROJECT), project_dir,
        io_type=io_type,
    )
    hm.graph.write()
    assert project_io(project_dir, PROJECT) == io_type
    layers = hm.eie_layers
    write_axi_top(project_dir, PROJECT, 20, 5, 64)
    lib = build_sim_library(project_dir, PROJECT)
    io = IOSpec(
        n_in=20,
        n_out=5,
        in_type=layers[0].input_t.to_dict(),
        out_type=layers[-1].output_t.to_dict(),
        stream_bits=64,
    )
    bundle = write_bundle(
        tmp_path_factory.mktemp("eie") / "bundle", BundleMeta(PROJECT, "pynq-z2", io), sim_library=lib
    )
    return bundle, layers


def test_sim_board_equals_reference(eie_bundle):
    from flow.eie.reference import eie_network
    from flow.runtime.sim import sim_overlay

    bundle, layers = eie_bundle
    t = layers[0].input_t
    rng = np.random.default_rng(0)
    x = rng.integers(t.min_raw, t.max_raw + 1, (57, 20))
    x[0] = 0
    x[1] = t.max_raw
    x[2] = t.min_raw
    ol = sim_overlay(bundle)
    for batch_size in (None, 13, 1):
        np.testing.assert_array_equal(ol.predict(x, raw=True, batch_size=batch_size), eie_network(x, layers))
    xf = rng.uniform(-2, 2, (9, 20))
    y = ol.predict(xf)
    np.testing.assert_array_equal(
        y, layers[-1].output_t.to_float(eie_network(layers[0].input_t.quantize(xf), layers))
    )
