"""Cycle model of the RTL engine (kernels/rtl/eie_engine.sv), numpy only.

The RTL's schedule is control only (which cycle a column is broadcast, popped, walked), so this
model steps the same registers cycle by cycle: per column group the detector (window w of 64
columns, next non-zero), the broadcast register, per PE the queue occupancy, the pointer-pair
register (A), the walk (B, entries left) and the three entry stages (C, D, E). It equals the
RTL's simulated cycle count exactly on every layer (tests/rtl/test_rtl_hypothesis.py).

Per layer: 1 SETUP cycle + RUN cycles (until one cycle after everything is idle) + GATHER
(rows * R / E chunk cycles + 6: five pipeline stages and the cycle that sees them empty).
Per inference: the sum + 1 (the idle cycle in which the next start is taken), the period of
back-to-back inferences. Layer 0 receives its input at 16 activations per cycle during RUN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LINE = 16
WINDOW = 64
GATHER_TAIL = 6


@dataclass
class RTLLayerCycles:
    name: str
    setup: int
    run: int
    gather: int
    broadcasts: int
    pe_entries: np.ndarray = field(repr=False)

    @property
    def total(self) -> int:
        return self.setup + self.run + self.gather


def _log2(n: int) -> int:
    return int(n).bit_length() - 1


def run_cycles(layer, x_raw, first: bool) -> tuple[int, int, np.ndarray]:
    """(RUN cycles, broadcasts, entries per PE) of one layer for input x_raw."""
    enc = layer.encoding
    G, R = enc.col_groups, enc.row_pes
    Pa = G * R
    D = layer.fifo_depth
    n_in = layer.n_in
    x = np.asarray(x_raw).ravel()
    ent = enc.local_column_entries().astype(np.int64)  # [Pa, n_cols]
    nzc = [np.flatnonzero(x[g::G] != 0) * G + g for g in range(G)]  # non-zero columns per group
    n_lines = -(-n_in // LINE)
    lines_in = 0 if first else n_lines
    grp = np.arange(Pa) // R
    # detector state
    w = np.zeros(G, np.int64)
    idx = np.zeros(G, np.int64)  # next non-zero (index into nzc[g]) not yet broadcast
    bc_valid = np.zeros(G, bool)
    bc_col = np.zeros(G, np.int64)
    sent = [[] for _ in range(G)]  # local columns written into the group's queues
    # PE state
    cnt = np.zeros(Pa, np.int64)
    popped = np.zeros(Pa, np.int64)
    a1 = np.zeros(Pa, bool)
    a1_col = np.zeros(Pa, np.int64)
    b_rem = np.zeros(Pa, np.int64)
    c = np.zeros(Pa, bool)
    d = np.zeros(Pa, bool)
    e = np.zeros(Pa, bool)
    run_done_q = False
    cycles = 0
    broadcasts = 0
    pe_entries = np.zeros(Pa, np.int64)
    while True:
        cycles += 1
        if run_done_q:
            return cycles, broadcasts, pe_entries
        all_arrived = lines_in == n_lines
        fire = not all_arrived
        det_done = w * WINDOW >= n_in
        emit = np.zeros(G, bool)
        emit_col = np.zeros(G, np.int64)
        adv = np.zeros(G, bool)
        for g in range(G):
            if det_done[g]:
                continue
            if not (all_arrived or (w[g] + 1) * (WINDOW // LINE) <= lines_in):
                continue
            lim = (w[g] + 1) * WINDOW
            cols = nzc[g]
            i = idx[g]
            if i < cols.size and cols[i] < lim:
                ok = np.all(cnt[grp == g] + bc_valid[g] < D)
                if ok:
                    emit[g] = True
                    emit_col[g] = cols[i] // G
                    if not (i + 1 < cols.size and cols[i + 1] < lim):
                        adv[g] = True
            else:
                adv[g] = True
        # PEs
        b_active = b_rem > 0
        accept = ~b_active | (b_rem == 1)
        pop = (cnt > 0) & (~a1 | accept)
        load = a1 & accept
        new_rem = np.where(load, ent[np.arange(Pa), a1_col], np.where(b_active, b_rem - 1, b_rem))
        pe_entries += np.where(load, ent[np.arange(Pa), a1_col], 0)
        head = np.array(
            [sent[grp[p]][popped[p]] if pop[p] else 0 for p in range(Pa)], dtype=np.int64
        ) if pop.any() else a1_col
        a1_col = np.where(pop, head, a1_col)
        push = bc_valid[grp]
        busy = (cnt > 0) | a1 | b_active | c | d | e
        run_done = bool(det_done.all() and not bc_valid.any() and not busy.any() and all_arrived)
        # register updates
        for g in range(G):
            if bc_valid[g]:
                sent[g].append(int(bc_col[g]))
        popped += pop
        cnt = cnt + push - pop
        a1 = pop | (a1 & ~accept)
        e, d, c = d, c, b_active
        b_rem = new_rem
        bc_valid = emit
        bc_col = np.where(emit, emit_col, bc_col)
        broadcasts += int(emit.sum())
        idx += emit
        w += adv
        if fire:
            lines_in += 1
        run_done_q = run_done


def gather_cycles(layer, params) -> int:
    enc = layer.encoding
    log2e = min(_log2(enc.row_pes), _log2(params.OL))
    return enc.max_local_rows * (enc.row_pes >> log2e) + GATHER_TAIL


def rtl_layer_cycles(layer, x_raw, params, first: bool) -> RTLLayerCycles:
    run, bc, pe_entries = run_cycles(layer, x_raw, first)
    return RTLLayerCycles(layer.name, 1, run, gather_cycles(layer, params), bc, pe_entries)


def rtl_network_cycles(layers, x_raw, params) -> tuple[list[list[RTLLayerCycles]], np.ndarray]:
    """Per input vector: per-layer cycles and the inference period (sum + 1), each layer fed
    the reference's output of the previous one."""
    from flow.eie.reference import eie_dense

    x = np.atleast_2d(np.asarray(x_raw))
    per = [[] for _ in range(x.shape[0])]
    for li, layer in enumerate(layers):
        for i in range(x.shape[0]):
            per[i].append(rtl_layer_cycles(layer, x[i], params, li == 0))
        x = eie_dense(x, layer)
    period = np.array([sum(c.total for c in p) + 1 for p in per], dtype=np.int64)
    return per, period
