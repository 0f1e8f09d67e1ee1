"""An LSTM (flow.eie.lstm.EIELSTM) and the Dense layers after it on the RTL engine's recurrent table
entry (kernels/rtl: eie_lstm, eie_lstm_cell; docs/rtl.md "Recurrent layers"), in Verilator.

The engine runs the LSTM as layer 0 for T time steps (x_t streamed through the input port during
each step's RUN, h_t written back into the store by the element-wise lanes), then the Dense
layers on h_T, with no host round trip. Layout: h_{t-1} at the matrix columns h_col .. h_col + H - 1
with h_col = 16 ceil(I / 16) (a store line boundary; `rtl_lstm` rebuilds an LSTM to it).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from flow.errors import UsageError
from flow.rtl.images import Images
from flow.rtl.lstm_cell import cell_generics, write_tables
from flow.rtl.params import LINE, EngineParams, params_for


def rtl_h_col(n_in: int) -> int:
    return -(-int(n_in) // LINE) * LINE


def rtl_lstm(lstm):
    """`lstm` with h on a store line boundary (the same bits: the padding columns are empty)."""
    from flow.eie.lstm import EIELSTM

    if lstm.h_col == rtl_h_col(lstm.n_in):
        return lstm
    m = lstm.matvec
    k, r, b = lstm.weights_float()
    return EIELSTM.from_keras(
        lstm.name, k, r, b, types=lstm.types, n_pe=m.n_pe, fifo_depth=m.fifo_depth, code_bits=m.code_bits,
        index_bits=m.index_bits, col_groups=m.col_groups, detect_width=m.detect_width, per_gate=lstm.per_gate,
        sigmoid=lstm.unit.sigmoid.spec, tanh=lstm.unit.tanh.spec, h_col=rtl_h_col(lstm.n_in),
    )


def _log2e(R: int, OL: int) -> int:
    return min((R & -R).bit_length() - 1, OL.bit_length() - 1)


def lanes_units(lstm, OL: int) -> int:
    """Cell states per lane: the hidden units (padded to R) over the E gather lanes."""
    R = lstm.matvec.row_pes
    return -(-lstm.n_hidden // R) * R >> _log2e(R, OL)


def lstm_params(lstm, dense=(), **fixed) -> EngineParams:
    """The smallest engine with element-wise lanes that holds the LSTM and the Dense layers."""
    base = params_for([lstm.matvec, *dense], **fixed)
    g = cell_generics(lstm.unit)
    kw = dict(LSTM=1, CELL_D=max(2, lanes_units(lstm, base.OL)), L_GF=g["GF"], L_CLW=g["CLW"], L_CLF=g["CLF"],
              L_C_RND=g["C_RND"], L_C_SAT=g["C_SAT"], L_HW=g["HW"], L_HF=g["HF"], L_H_RND=g["H_RND"],
              L_H_SAT=g["H_SAT"])
    kw.update(fixed)
    return base.with_(**kw)


def check_lstm_fit(lstm, dense, params: EngineParams, steps: int) -> None:
    """UsageError naming the problem and its fix when the LSTM cannot run on this engine."""
    bad = []
    if not params.LSTM:
        bad.append("the engine has no element-wise lanes (LSTM=0): build it with lstm_params")
    g = cell_generics(lstm.unit)
    want = dict(L_GF=g["GF"], L_CLW=g["CLW"], L_CLF=g["CLF"], L_C_RND=g["C_RND"], L_C_SAT=g["C_SAT"],
                L_HW=g["HW"], L_HF=g["HF"], L_H_RND=g["H_RND"], L_H_SAT=g["H_SAT"])
    diff = {k: (getattr(params, k), v) for k, v in want.items() if getattr(params, k) != v}
    if diff:
        bad.append(f"the engine's element-wise types differ from the layer's (engine, layer): {diff}")
    if lstm.per_gate and np.any(lstm.matvec.gate_books_raw != lstm.matvec.gate_books_raw[:1]):
        bad.append("a codebook per gate: the engine's PEs hold one codebook per layer; compress with one")
    if lstm.h_col != rtl_h_col(lstm.n_in):
        bad.append(f"h_col={lstm.h_col}: the engine needs h on a store line ({rtl_h_col(lstm.n_in)}; use rtl_lstm)")
    if lstm.unit.sigmoid.spec != _default("sigmoid") or lstm.unit.tanh.spec != _default("tanh"):
        bad.append("the engine's tables have flow.eie.elementwise's default shapes only")
    if lanes_units(lstm, params.OL) > params.CELL_D:
        bad.append(f"{lanes_units(lstm, params.OL)} cell states per lane > CELL_D={params.CELL_D}")
    if lstm.types.gate_t.width > params.XW or not lstm.types.gate_t.signed:
        bad.append(f"gate_t {lstm.types.gate_t.cpp}: signed, at most XW={params.XW} bits")
    if not 1 <= int(steps) < 1 << 16 or lstm.n_hidden >= 1 << 16:
        bad.append(f"{steps} time steps, {lstm.n_hidden} units: 1 .. 65535 each")
    if dense and (dense[0].n_in != lstm.n_hidden or dense[0].input_t != lstm.types.input_t):
        bad.append(f"the Dense layer {dense[0].name!r} after the LSTM must take its {lstm.n_hidden} outputs "
                   f"in {lstm.types.input_t.cpp}")
    if bad:
        raise UsageError(f"layer {lstm.name!r} cannot run on the RTL engine: " + "; ".join(bad))


def _default(fn: str):
    from flow.eie.elementwise import DEFAULT_SIGMOID, DEFAULT_TANH

    return DEFAULT_SIGMOID if fn == "sigmoid" else DEFAULT_TANH


def simulate_lstm(lstm, dense, x_raw, params: EngineParams | None = None, *, exe=None) -> dict:
    """Run sequences x_raw [B, T, I] (raw input_t) through the LSTM and the Dense layers on the RTL.

    Returns {"y": [B, n_out] (the last Dense layer's outputs, or h_T), "layer_cycles": [B, 1 + D]
    (the LSTM's cycles over all steps, then each Dense layer's), "period": [B]}."""
    from flow.rtl import verilator
    from flow.rtl.run import _trim_write

    lstm = rtl_lstm(lstm)
    dense = list(dense)
    x = np.asarray(x_raw, np.int64)
    if x.ndim != 3 or x.shape[2] != lstm.n_in:
        raise UsageError(f"layer {lstm.name!r}: input has shape {x.shape}, expected (batch, steps, {lstm.n_in})")
    B, T, _ = x.shape
    params = params or lstm_params(lstm, dense)
    check_lstm_fit(lstm, dense, params, T)
    xl = lstm.h_col // LINE
    images = Images([lstm.matvec, *dense], params, recurrent={0: (T, xl, lstm.n_hidden)})
    exe = exe or verilator.build(params)
    xin = np.zeros((B, T, lstm.h_col), np.int64)
    xin[:, :, : lstm.n_in] = x
    work = Path(tempfile.mkdtemp(prefix="eie-rtl-lstm-"))
    try:
        mem = work / "mem"
        mem.mkdir()
        _trim_write(images, mem)
        write_tables(lstm.unit, mem)
        n_out = dense[-1].n_out if dense else lstm.n_hidden
        y, cyc, period = verilator.simulate(exe, mem, xin.reshape(B, T * lstm.h_col), n_out, 1 + len(dense))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"y": y, "layer_cycles": cyc, "period": period}
