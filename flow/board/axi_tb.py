"""The C++ testbench of the board IP `<project>_axi` (for Vitis HLS csim/cosim, and g++ here).

It streams `tb_data/axi_in.txt` (one hex word per line) into the IP, compares every output word with
`tb_data/axi_out.txt`, prints the first mismatch and returns 1; 0 when all agree. The expected
words are the numpy reference's outputs packed by flow.runtime.packing, so a pass means the IP
top, the packing and the network agree bit for bit with the reference.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from flow.errors import FlowError
from flow.templating import render

TB_DATA = "tb_data"

def write_axi_testbench(project_dir: Path, project: str, words_in, words_out, n_samples: int) -> list[Path]:
    """Write `<project>_axi_tb.cpp` and its vectors; returns [tb, in, out] paths."""
    from flow.board.axi_top import TEMPLATES, trace_globals

    project_dir = Path(project_dir)
    data = project_dir / TB_DATA
    data.mkdir(exist_ok=True)
    paths = [project_dir / f"{project}_axi_tb.cpp", data / "axi_in.txt", data / "axi_out.txt"]
    paths[0].write_text(
        render(TEMPLATES, "axi_tb.cpp.j2", project=project, tb_data=TB_DATA, n_samples=int(n_samples),
               trace_globals=trace_globals(project_dir))
    )
    for path, words in ((paths[1], words_in), (paths[2], words_out)):
        path.write_text("".join(f"{int(w):016x}\n" for w in np.asarray(words, dtype=np.uint64).ravel()))
    return paths


def run_axi_testbench(project_dir: Path, project: str) -> str:
    """Compile the testbench with the whole firmware (flow.cxx: $CXX, else g++) and run it; FlowError on a
    mismatch."""
    from flow import cxx
    from flow.board.axi_top import _sources, weights_dir_flags

    project_dir = Path(project_dir).resolve()
    compiler = cxx.compiler(purpose="to compile the C simulation of the IP testbench")
    sources = [s for s in _sources(project_dir, project) if not s.name.endswith("_axi_sim.cpp")]
    exe = project_dir / "sim" / f"{project}_axi_tb"
    exe.parent.mkdir(exist_ok=True)
    fw = project_dir / "firmware"
    cmd = [*compiler, *cxx.flags(pic=False), *cxx.include_flags(fw, project_dir, kernels=False),
           *weights_dir_flags(project_dir), *map(str, sources),
           str(project_dir / f"{project}_axi_tb.cpp"), "-o", str(exe)]
    cxx.run_compiler(cmd, what=f"the IP testbench {exe.name}")
    run = subprocess.run([str(exe)], cwd=project_dir, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        why = f"signal {-run.returncode}" if run.returncode < 0 else f"exit code {run.returncode}"
        raise FlowError(
            f"the IP testbench {exe} failed ({why}): {(run.stdout + run.stderr).strip()[-2000:] or 'no output'}"
        )
    return run.stdout.strip()
