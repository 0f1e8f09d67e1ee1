"""Step `bundle`: model.json, test vectors, the numpy-only driver, the sim library, .bit/.hwh if built."""

from __future__ import annotations

import shutil
from pathlib import Path

from flow import __version__
from flow.build.context import step
from flow.build.steps.common import BUNDLE, HLS, board, compiler_identity, expected_raw, hls_model, io_types, test_set

#: test vectors stored in the bundle (run on the simulated board by the build, on hardware by `flow run`)
MAX_VECTORS = 1000

#: the runtime's import closure: what a board needs besides numpy and pynq
DRIVER_FILES = ("__init__.py", "errors.py", "fixed.py", "runtime")


#: makes bundle/driver pip-installable on a board without network (the PYNQ image has setuptools)
DRIVER_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "eie-flow-runtime"
version = "{version}"
description = "eie-flow's board runtime (EIEOverlay): numpy + pynq, no TensorFlow"
requires-python = ">=3.10"  # PYNQ images >= 3.0 ship Python 3.10
dependencies = ["numpy"]

[tool.setuptools]
packages = ["flow", "flow.runtime"]
"""


def copy_driver(dest: Path) -> Path:
    """Copy the numpy-only runtime into `dest/flow`: importable from sys.path, or installable with
    `pip install --no-build-isolation --no-deps dest` on the board."""
    import flow

    src = Path(flow.__file__).resolve().parent
    pkg = dest / "flow"
    pkg.mkdir(parents=True, exist_ok=True)
    for name in DRIVER_FILES:
        if (src / name).is_dir():
            shutil.copytree(src / name, pkg / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            (pkg / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / name, pkg / name)
    (dest / "pyproject.toml").write_text(DRIVER_PYPROJECT.format(version=__version__))
    return pkg


def _inputs(ctx) -> list:
    """The runtime sources copied into bundle/driver, and the compiler of the sim library."""
    import flow

    src = Path(flow.__file__).resolve().parent
    return [*(src / name for name in DRIVER_FILES), *compiler_identity()]


def check_bundle(folder: Path) -> str | None:
    """None when bundle/model.json reads as a bundle record (flow.runtime.bundle.BundleMeta)."""
    from flow.errors import FlowError
    from flow.runtime.bundle import BundleMeta

    try:
        BundleMeta.load(folder / BUNDLE)
    except FlowError as exc:
        return f"{BUNDLE}/model.json cannot be read ({exc})"
    return None


@step("bundle", depends_on=("hls", "build", "data", "vendor_tools"), outputs=(f"{BUNDLE}/model.json",),
      inputs=_inputs, check=check_bundle)
def bundle(ctx) -> dict:
    """Assemble the deploy bundle the board (or the simulated board) runs."""
    import hls4ml

    from flow.hls.csim import n_inputs, n_outputs
    from flow.board.axi_top import build_sim_library, network_fingerprint
    from flow.runtime.bundle import BundleMeta, IOSpec, write_bundle
    from flow.board.vendor import resolve_clock

    b = board(ctx)
    model = hls_model(ctx)
    layers = model.eie_layers
    project = model.project_name
    out = ctx.out / BUNDLE
    out.mkdir(parents=True, exist_ok=True)
    in_t, out_t = io_types(ctx)
    io = IOSpec(n_in=n_inputs(model), n_out=n_outputs(model), in_type=in_t.to_dict(), out_type=out_t.to_dict(),
                stream_bits=b.dma.stream_bits)
    meta = BundleMeta(
        project=project,
        board=b.name,
        io=io,
        clock_mhz=resolve_clock(b, ctx.cfg.build.clock_mhz),
        layers=[ly.summary() for ly in layers],
        classes=[str(i) for i in range(io.n_out)],
        softmax_on_host=True,
        dma={"length_bits": b.dma.length_bits, "mm_bits": b.dma.mm_bits},
        versions={"eie-flow": __version__, "hls4ml": hls4ml.__version__},
        network=network_fingerprint(ctx.out / HLS),  # the sim library carries the same one
    )
    bit, hwh = out / f"{project}.bit", out / f"{project}.hwh"
    have_bit = bit.is_file() and hwh.is_file()
    x, labels = test_set(ctx)
    x, labels = x[:MAX_VECTORS], labels[:MAX_VECTORS]
    y_raw, oracle = expected_raw(ctx, in_t.quantize(x))
    lib = build_sim_library(ctx.out / HLS, project)
    write_bundle(out, meta, sim_library=lib, test_vectors={"x": x, "y_raw": y_raw, "labels": labels})
    copy_driver(out / "driver")
    texts = sorted((ctx.out / HLS / "firmware" / "weights").glob("*.txt"))
    if texts:  # hls4ml's own layers (e.g. convolutions) read these in csim; the sim library finds them here
        (out / "sim" / "weights").mkdir(parents=True, exist_ok=True)
        for t in texts:
            shutil.copyfile(t, out / "sim" / "weights" / t.name)
    ctx.summary["bundle"] = f"{BUNDLE}/ ({'bitstream included' if have_bit else 'no bitstream: Vivado did not run'})"
    return {"bitstream": have_bit, "vectors": int(len(x)), "oracle": oracle}
