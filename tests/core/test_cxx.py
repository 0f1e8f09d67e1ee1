"""flow.cxx: $CXX honoured by the call sites, a missing compiler, the time limit, a failing compiler.

Fake compilers (small Python scripts) stand in for g++, so these run without one and in well under a second.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from flow import cxx
from flow.errors import FlowError, ToolMissing, UsageError


def _fake(tmp_path, body: str, name: str = "fakecxx"):
    """An executable Python script in tmp_path: records its argv in argv.json, then runs ``body``."""
    path = tmp_path / name
    log = tmp_path / "argv.json"
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, time\n"
        f"json.dump(sys.argv[1:], open({str(log)!r}, 'w'))\n"
        "out = sys.argv[sys.argv.index('-o') + 1] if '-o' in sys.argv else None\n" + body
    )
    path.chmod(0o755)
    return path, log


WRITE_OUTPUT = "open(out, 'w').write('binary')\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv(cxx.TIMEOUT_ENV, raising=False)
    monkeypatch.setenv("EIE_CSIM_CACHE", str(tmp_path / "cache"))


def test_cxx_is_honoured_by_compile_cached(tmp_path, monkeypatch):
    from flow.eie import csim as layer_csim

    fake, log = _fake(tmp_path, WRITE_OUTPUT)
    monkeypatch.setenv("CXX", str(fake))
    out = layer_csim.compile_cached({"a.cpp": f"// {time.time()}\n"}, shared=False, tag="fake")
    assert out.read_text() == "binary"
    argv = json.loads(log.read_text())
    expected = layer_csim.cxxflags([str(fake)])
    assert "-fno-gnu-unique" in expected  # the fake accepts every flag
    assert argv[: len(expected)] == expected
    assert any(a.endswith("a.cpp") for a in argv) and f"-I{cxx.include_flags()[0][2:]}" in argv
    assert layer_csim.gxx() == str(fake)


def test_cxx_command_with_a_launcher(tmp_path, monkeypatch):
    fake, log = _fake(tmp_path, WRITE_OUTPUT)
    monkeypatch.setenv("CXX", f"{fake} --launcher-opt")
    cmd = cxx.compiler()
    assert cmd == [str(fake), "--launcher-opt"]
    cxx.run_compiler([*cmd, "x.cpp", "-o", str(tmp_path / "x")], what="x.cpp")
    assert json.loads(log.read_text()) == ["--launcher-opt", "x.cpp", "-o", str(tmp_path / "x")]


def test_cxx_is_honoured_by_build_sim_library(tmp_path, monkeypatch):
    from flow.board.axi_top import build_sim_library, write_axi_top

    project = tmp_path / "prj"
    (project / "firmware" / "nnet_utils").mkdir(parents=True)
    (project / "firmware" / "net.h").write_text("// top\n")
    (project / "firmware" / "net.cpp").write_text("// net\n")
    write_axi_top(project, "net", 4, 2, 64)
    fake, log = _fake(tmp_path, WRITE_OUTPUT)  # takes every flag, -fno-gnu-unique too
    monkeypatch.setenv("CXX", str(fake))
    lib = build_sim_library(project, "net")
    assert lib.read_text() == "binary" and lib.parent == project / "sim"
    assert json.loads(log.read_text())[0] == "-shared"  # the last run: the link


def test_missing_compiler_names_cxx(monkeypatch):
    monkeypatch.setenv("CXX", "no-such-cxx-1234")
    with pytest.raises(ToolMissing, match=r"no-such-cxx-1234 is not on PATH \(from CXX='no-such-cxx-1234'\)"):
        cxx.compiler()
    monkeypatch.delenv("CXX")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ToolMissing, match="g\\+\\+ is not on PATH: .*set CXX to a C\\+\\+14 compiler"):
        cxx.compiler()


def test_missing_compiler_at_a_call_site(monkeypatch):
    from flow.eie import csim as layer_csim

    monkeypatch.setenv("CXX", "no-such-cxx-1234")
    with pytest.raises(ToolMissing, match="CXX"):
        layer_csim.compile_cached({"a.cpp": "int main() {}\n"}, shared=False, tag="missing")


def test_timeout(tmp_path, monkeypatch):
    fake, _ = _fake(tmp_path, "time.sleep(30)\n")
    monkeypatch.setenv(cxx.TIMEOUT_ENV, "0.5")
    t0 = time.monotonic()
    with pytest.raises(FlowError) as err:
        cxx.run_compiler([str(fake), "slow.cpp", "-o", "slow"], what="slow.cpp", timeout=100)
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    assert "slow.cpp" in msg and "0.5 s" in msg and f"{cxx.TIMEOUT_ENV}=" in msg


def test_timeout_at_a_call_site(tmp_path, monkeypatch):
    from flow.eie import csim as layer_csim

    fake, _ = _fake(tmp_path, "time.sleep(30)\n")
    monkeypatch.setenv("CXX", str(fake))
    monkeypatch.setenv(cxx.TIMEOUT_ENV, "0.5")
    with pytest.raises(FlowError, match=f"within 0.5 s.*{cxx.TIMEOUT_ENV}"):
        layer_csim.compile_cached({"a.cpp": f"// {time.time()}\n"}, shared=False, tag="slow")


def test_bad_timeout_value(monkeypatch):
    monkeypatch.setenv(cxx.TIMEOUT_ENV, "soon")
    with pytest.raises(UsageError, match=f"{cxx.TIMEOUT_ENV}='soon'"):
        cxx.timeout_s()
    monkeypatch.setenv(cxx.TIMEOUT_ENV, "0")
    assert cxx.timeout_s() is None
    monkeypatch.delenv(cxx.TIMEOUT_ENV)
    assert cxx.timeout_s() == cxx.DEFAULT_TIMEOUT and cxx.timeout_s(30) == 30


def test_failing_compiler_reports_its_stderr(tmp_path, monkeypatch):
    from flow.eie import csim as layer_csim

    fake, _ = _fake(tmp_path, "sys.stderr.write('bad.cpp:3:1: error: expected ;\\n'); sys.exit(1)\n")
    monkeypatch.setenv("CXX", str(fake))
    with pytest.raises(
        FlowError, match=r"(?s)fakecxx failed on .*\(exit 1\):\nbad.cpp:3:1: error: expected ;"
    ):
        layer_csim.compile_cached({"a.cpp": f"// {time.time()}\n"}, shared=False, tag="bad")


def test_long_compiler_output_keeps_start_and_end(tmp_path):
    lines = "".join(f"line {i}\\n" for i in range(2000))
    fake, _ = _fake(tmp_path, f"sys.stderr.write('first error\\n' + {lines!r} + 'last line'); sys.exit(2)\n")
    with pytest.raises(FlowError) as err:
        cxx.run_compiler([str(fake)], what="big.cpp")
    msg = str(err.value)
    assert "first error" in msg and msg.endswith("last line") and "characters omitted" in msg
    assert len(msg) < cxx.OUTPUT_LIMIT + 300


def test_flags():
    assert cxx.flags() == ["-std=c++14", "-O2", "-fPIC", "-w"]
    assert cxx.flags(opt="-O1", pic=False) == ["-std=c++14", "-O1", "-w"]
    inc = cxx.include_flags("/x", kernels=False)
    assert len(inc) == 2 and inc[-1] == "-I/x" and os.path.isdir(inc[0][2:])
