"""Helpers shared by the build steps: folders, JSON reports, and the context's objects, made on first use."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

COMPRESSED = "compressed"
HLS = "hls"
BUNDLE = "bundle"
REPORTS = "reports"


def write_json(ctx, name: str, data: dict) -> Path:
    path = ctx.out / REPORTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_jsonable))
    return path


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def tool_identity(*names: str) -> list[str]:
    """Which program each name runs here (path, size, modification time; "absent" when not on PATH):
    a step's input (Step.inputs), so that another compiler or simulator reruns the step."""
    import os
    import shutil

    out = []
    for name in names:
        words = name.split()
        path = shutil.which(words[0]) if words else None
        if path is None:
            out.append(f"{name}=absent")
            continue
        st = os.stat(path)
        out.append(f"{name}={os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}")
    return out


def compiler_identity() -> list[str]:
    """The C++ compiler of csim and the testbenches ($CXX, else g++) as a step input."""
    import os

    from flow.cxx import CXX_ENV, DEFAULT_COMPILER

    return tool_identity(os.environ.get(CXX_ENV, "").strip() or DEFAULT_COMPILER)


def board(ctx):
    from flow.board.boards import load_board

    if ctx.board is None:
        ctx.board = load_board(ctx.cfg.build.board)
    return ctx.board


def hls_config(ctx):
    """The HLS section with the board's part and clock (the board file is their only source)."""
    from flow.board.vendor import resolve_clock

    b = board(ctx)
    clock = resolve_clock(b, ctx.cfg.build.clock_mhz)
    return dataclasses.replace(ctx.cfg.hls, part=b.part, clock_period=round(1000.0 / clock, 4))


def dataset(ctx):
    from flow.data import load_dataset

    if ctx.dataset is None:
        ctx.dataset = load_dataset(ctx.cfg.data)
    return ctx.dataset


def test_set(ctx):
    """Flattened float test inputs and labels for the csim and simulated-board checks."""
    ds = dataset(ctx)
    x = ds.x_test.reshape(len(ds.x_test), -1).astype(np.float32)
    return x, ds.y_test.astype(np.int64)


def hls_model(ctx):
    """The converted and compiled hls4ml model (made by step `hls`, or re-made here after a skip)."""
    if ctx.hls is None:
        from flow.hls.convert import convert
        from flow.hls.csim import compile_model

        model = convert(compressed(ctx), hls_config(ctx), ctx.out / HLS)
        ctx.csim_compile_s = compile_model(model)
        ctx.hls = model
    return ctx.hls


def compressed(ctx):
    """The compressed model (made by step `compress`, or loaded from the build folder after a skip)."""
    if ctx.compressed is None:
        from flow.compress.io import load_compressed

        ctx.compressed = load_compressed(ctx.out / COMPRESSED)
    return ctx.compressed


def io_types(ctx):
    """FixedTypes of the network's input and output (the IP's stream values)."""
    from flow.hls.types import from_hls

    model = hls_model(ctx)
    in_t = model.input_t
    out_t = from_hls(model.graph.get_output_variables()[0].type.precision, "model output")
    return in_t, out_t


def expected_raw(ctx, x_raw):
    """The oracle's raw outputs: the numpy reference when it covers the graph (Dense-only networks),
    else the C simulation (e.g. LeNet-5, whose convolutions run on hls4ml's own code)."""
    from flow.eie.reference import eie_network
    from flow.hls.csim import predict_raw, reference_covers

    model = hls_model(ctx)
    if reference_covers(model):
        return eie_network(x_raw, model.eie_layers), "reference"
    return predict_raw(model, x_raw), "csim"
