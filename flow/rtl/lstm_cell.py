"""The LSTM element-wise unit in RTL (kernels/rtl/eie_lstm_cell.sv) under Verilator, against
flow.eie.elementwise: its parameters from an ElementwiseUnit, its table images from the same
PWLTables, a cached standalone build and a run over a stream of units.

The unit takes a hidden unit's four gate pre-activations one per cycle (i, f, g, o) and the unit's
cell state with gate o; h' and c' come out LATENCY cycles after gate o (measured by `run_units`,
which tests/rtl/test_rtl_lstm_cell.py checks against flow.eie.perf_lstm.EW_LATENCY).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from flow.eie.elementwise import ACT_T, ElementwiseUnit, PWLTable
from flow.errors import FlowError, UsageError
from flow.rtl import tools
from flow.rtl.verilator import RTL_DIR, _entry_lock, _run, usable_cache_dir

CELL_SOURCES = ("eie_ram.sv", "eie_pwl.sv", "eie_cast.sv", "eie_lstm_cell.sv")
TB = RTL_DIR / "harness" / "eie_lstm_cell_tb.cpp"
SIG_FILE, TANH_FILE = "sig.mem", "tanh.mem"


def _mode(t, what: str) -> tuple[int, int]:
    """(RND, SAT) flags of a cast target; UsageError for what eie_cast does not implement."""
    if not t.signed or t.rounding not in ("RND", "TRN") or t.saturation not in ("SAT", "WRAP"):
        raise UsageError(
            f"the RTL element-wise unit casts {what} {t.cpp} with signed RND/TRN rounding and SAT/WRAP "
            "overflow only: choose such a type for it"
        )
    return int(t.rounding == "RND"), int(t.saturation == "SAT")


def cell_generics(unit: ElementwiseUnit) -> dict:
    """The SystemVerilog parameters of eie_lstm_cell for `unit` (UsageError when it cannot be built)."""
    unit.check()
    if unit.act_t != ACT_T:
        raise UsageError(f"the RTL element-wise unit's tables are {ACT_T.cpp}; act_t is {unit.act_t.cpp}")
    for t, what in ((unit.gate_t, "gate_t"), (unit.cell_t, "cell_t"), (unit.h_t, "h_t")):
        if not t.signed or t.width > 32 or t.frac < 0:
            raise UsageError(f"{what} {t.cpp}: the RTL element-wise unit takes signed types of <= 32 bits")
    if not 0 < unit.cell_t.frac and unit.h_t.frac < 2 * ACT_T.frac:
        raise UsageError(f"h_t {unit.h_t.cpp}: the RTL element-wise unit needs fewer than 28 fraction bits")
    c_rnd, c_sat = _mode(unit.cell_t, "cell_t")
    h_rnd, h_sat = _mode(unit.h_t, "h_t")
    return {
        "GW": unit.gate_t.width, "GF": unit.gate_t.frac, "CLW": unit.cell_t.width, "CLF": unit.cell_t.frac,
        "C_RND": c_rnd, "C_SAT": c_sat, "HW": unit.h_t.width, "HF": unit.h_t.frac, "H_RND": h_rnd,
        "H_SAT": h_sat, "SIG_RL": unit.sigmoid.spec.range_log2, "SIG_SL": unit.sigmoid.spec.seg_log2,
        "TANH_RL": unit.tanh.spec.range_log2, "TANH_SL": unit.tanh.spec.seg_log2,
    }  # fmt: skip


def table_words(table: PWLTable) -> list[int]:
    """The ROM image of eie_pwl: word k = {T[k+1], T[k]} (16 bits each, two's complement)."""
    e = np.asarray(table.entries, np.int64) & 0xFFFF
    return [int(e[k + 1]) << 16 | int(e[k]) for k in range(len(e) - 1)]


def write_tables(unit: ElementwiseUnit, folder) -> None:
    for name, table in ((SIG_FILE, unit.sigmoid), (TANH_FILE, unit.tanh)):
        Path(folder, name).write_text("".join(f"{w:08x}\n" for w in table_words(table)))


def _stamp() -> str:
    h = hashlib.sha256()
    for p in [RTL_DIR / s for s in CELL_SOURCES] + [TB]:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def build_cell(unit: ElementwiseUnit, jobs: int = 1) -> Path:
    """The standalone Verilator binary of eie_lstm_cell for `unit`'s types (cached like the engine's)."""
    gen = cell_generics(unit)
    tool = tools.require("verilator")
    root = usable_cache_dir()
    key = hashlib.sha256(json.dumps(gen, sort_keys=True).encode()).hexdigest()[:16]
    out = root / f"lstm_cell-{key}-{_stamp()}-{tool.key()}"
    exe = out / "obj" / "eie_lstm_cell_tb"
    if exe.exists():
        return exe
    with _entry_lock(root / f".{out.name}.lock"):
        if exe.exists():
            return exe
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=root))
        try:
            cmd = tool.cmd(
                "--cc", "--exe", "--build", "-j", str(jobs), "-O1", "--x-assign", "0", "--x-initial", "0",
                "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "eie_lstm_cell",
                *(f"-G{k}={v}" for k, v in gen.items()), f'-GSIG_FILE="{SIG_FILE}"', f'-GTANH_FILE="{TANH_FILE}"',
                "-CFLAGS", f"-O1 -DEIE_GW={gen['GW']} -DEIE_HW={gen['HW']} -DEIE_CLW={gen['CLW']}",
                "--Mdir", "obj", "-o", "eie_lstm_cell_tb", *(str(RTL_DIR / s) for s in CELL_SOURCES), str(TB),
            )  # fmt: skip
            _run(cmd, cwd=tmp, what=f"verilator build of eie_lstm_cell ({tool.label()})", env=tool.env)
            if out.exists():
                shutil.rmtree(out)
            os.rename(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return exe


def simulate_rows(exe: Path, unit: ElementwiseUnit, rows: np.ndarray) -> np.ndarray:
    """Run the stimulus rows [n, 4] (in_valid, in_gate, in_x, in_c) -> [n, 3] (out_valid, h, c)."""
    rows = np.asarray(rows, np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        write_tables(unit, tmp)
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        fin.write_bytes(np.array([len(rows)], np.int32).tobytes() + rows.astype(np.int32).tobytes())
        _run([str(exe), str(fin), str(fout)], cwd=tmp, what="RTL simulation of eie_lstm_cell")
        out = np.fromfile(fout, dtype=np.int32).astype(np.int64)
    if out.size != 3 * len(rows):
        raise FlowError(f"eie_lstm_cell_tb wrote {out.size} values, expected {3 * len(rows)}")
    return out.reshape(len(rows), 3)


def run_units(unit: ElementwiseUnit, gates_raw, c_raw, exe: Path | None = None, gap: int = 0):
    """Stream units through the RTL: gates_raw [n, 4] (i, f, g, o in gate_t raw), c_raw [n] (cell_t
    raw), one gate a cycle with `gap` idle cycles after each unit -> (h' [n], c' [n], latency: the
    cycles from each unit's gate o to its outputs, [n])."""
    g = np.asarray(gates_raw, np.int64)
    c = np.asarray(c_raw, np.int64)
    n = len(g)
    per = 4 + gap
    tail = 16
    rows = np.zeros((n * per + tail, 4), np.int64)
    for k in range(4):
        rows[k : n * per : per] = np.stack([np.ones(n, np.int64), np.full(n, k), g[:, k], np.zeros(n, np.int64)], 1)
    rows[3 : n * per : per, 3] = c
    out = simulate_rows(exe or build_cell(unit), unit, rows)
    hit = np.flatnonzero(out[:, 0])
    if len(hit) != n:
        raise FlowError(f"eie_lstm_cell gave {len(hit)} outputs for {n} units")
    o_rows = np.arange(n) * per + 3
    return out[hit, 1], out[hit, 2], hit - o_rows
