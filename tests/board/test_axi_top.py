"""kernels/hls/eie_axi_top.h (g++ testbench against a golden packer) and flow/board/axi_top.py (generated files)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from flow.errors import UsageError
from flow.board.axi_top import write_axi_top
from flow.paths import ap_types_dir, kernels_dir


@pytest.mark.csim
@pytest.mark.parametrize("stream_bits", [64, 16])
def test_axi_top_testbench(request, stream_bits):
    tb = kernels_dir() / "tb" / "axi_top_tb.cpp"
    cmd = [
        "g++",
        "-std=c++14",
        "-O1",
        "-w",
        f"-I{ap_types_dir()}",
        f"-I{kernels_dir()}",
        f"-DEIE_STREAM_BITS={stream_bits}",
        str(tb),
    ]
    key = hashlib.sha256(
        (" ".join(cmd) + tb.read_text() + (kernels_dir() / "eie_axi_top.h").read_text()).encode()
    )
    exe = Path(request.config.cache.mkdir("eie_axi_top_tb")) / f"tb-{key.hexdigest()[:16]}"
    if not exe.is_file():  # compiled once per source version
        subprocess.run([*cmd, "-o", str(exe)], check=True, capture_output=True, timeout=300)
    res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("ok ") == 8


def _fake_project(tmp_path, name="net"):
    fw = tmp_path / "firmware"
    (fw / "nnet_utils").mkdir(parents=True)
    (fw / f"{name}.h").write_text("// top\n")
    (fw / "nnet_utils" / "nnet_helpers.h").write_text("// helpers\n")
    return tmp_path


def test_generated_top_follows_the_contract(tmp_path):
    project = _fake_project(tmp_path)
    paths = write_axi_top(project, "net", 10, 3, 32)
    assert [p.name for p in paths] == ["eie_axi_top.h", "net_axi.h", "net_axi.cpp", "net_axi_sim.cpp"]
    header = (project / "firmware" / "net_axi.h").read_text()
    assert "#define EIE_STREAM_BITS 32" in header and '#include "net.h"' in header
    src = (project / "firmware" / "net_axi.cpp").read_text()
    assert (
        "void net_axi(hls::stream<eie::axis_word> &in_stream, hls::stream<eie::axis_word> &out_stream,\n"
        "                    unsigned n_samples)"
    ) in src
    for pragma in (
        "INTERFACE axis port = in_stream",
        "INTERFACE axis port = out_stream",
        "INTERFACE s_axilite port = n_samples bundle = control",
        "INTERFACE s_axilite port = return bundle = control",
    ):
        assert f"#pragma HLS {pragma}" in src
    # a DATAFLOW region: read, compute and write are processes joined by streams of samples
    assert "#pragma HLS DATAFLOW" in src and "net(x.v, y.v);" in src
    assert "eie::read_samples<input_t, 10>(in_stream, xs, n_samples);" in src
    assert "net_axi_compute(xs, ys, n_samples);" in src
    assert "eie::write_samples<result_t, 3>(ys, out_stream, n_samples);" in src
    assert "#pragma HLS STREAM variable = xs depth = 2" in src
    bridge = (project / "net_axi_sim.cpp").read_text()
    assert (
        'extern "C" {' in bridge and "int net_axi_sim(const uint64_t *in_words, size_t n_in_words" in bridge
    )
    assert "bool trace_enabled = false;" in bridge  # hls4ml's helpers declare it extern
    assert (project / "firmware" / "eie_axi_top.h").read_text() == (
        kernels_dir() / "eie_axi_top.h"
    ).read_text()


def test_io_stream_project_gets_a_pack_top(tmp_path):
    """An hls4ml io_stream top (hls::stream of nnet::array packs): the AXI stream carries the packs'
    values and the compute process converts samples to packs and back (bit-exactness through the
    simulated board: tests/runtime/test_runtime_eie.py)."""
    from flow.board.axi_top import project_io

    project = _fake_project(tmp_path)
    assert project_io(project, "net") == "io_parallel"
    (project / "firmware" / "net.h").write_text(
        "void net(\n    hls::stream<input_t> &x,\n    hls::stream<result_t> &layer4_out\n);\n"
    )
    assert project_io(project, "net") == "io_stream"
    write_axi_top(project, "net", 8, 4, 64)
    src = (project / "firmware" / "net_axi.cpp").read_text()
    assert "eie::read_samples<input_t::value_type, 8>(in_stream, xs, n_samples);" in src
    assert "eie::to_packs<input_t, 8>(x.v, x_packs);" in src and "net(x_packs, y_packs);" in src
    assert "eie::from_packs<result_t, 4>(y_packs, y.v);" in src and "net(x.v, y.v);" not in src
    assert "typedef result_t::value_type net_axi_out_value_t;" in (project / "firmware" / "net_axi.h").read_text()
    assert "eie::stream_layout<net_axi_in_value_t, 8>" in (project / "net_axi_sim.cpp").read_text()


def test_write_axi_top_errors(tmp_path):
    with pytest.raises(UsageError, match="not an hls4ml project named 'net'"):
        write_axi_top(tmp_path, "net", 4, 2, 64)
    project = _fake_project(tmp_path)
    with pytest.raises(UsageError, match="stream_bits must be one of"):
        write_axi_top(project, "net", 4, 2, 48)
    with pytest.raises(UsageError, match="n_out must be a positive integer"):
        write_axi_top(project, "net", 4, 0, 64)
    with pytest.raises(UsageError, match="not a C identifier"):
        write_axi_top(project, "my-net", 4, 2, 64)


def test_build_sim_library_errors(tmp_path):
    from flow.errors import ToolMissing
    from flow.board.axi_top import build_sim_library

    project = _fake_project(tmp_path)
    with pytest.raises(UsageError, match="call write_axi_top"):
        build_sim_library(project, "net")
    write_axi_top(project, "net", 4, 2, 64)
    with pytest.raises(ToolMissing, match="no-such-g.. is not on PATH"):
        build_sim_library(project, "net", cxx="no-such-g++")
