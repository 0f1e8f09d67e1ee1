"""Cycle model of the RTL engine (kernels/rtl/eie_engine.sv), numpy only.

The RTL's schedule is control only (which cycle a column is broadcast, popped, walked), so this
model steps the same registers cycle by cycle: per column group the detector (window w of 64
columns, next non-zero; a window's lines scanned as they arrive), its registered gate (every queue of the group had count + in flight < D
in the previous cycle), the emit register (before the bank read), the broadcast register, per PE
the queue occupancy (only the columns with entries in the PE enter it), the pointer-pair
register (A), the walk (B, entries left) and the three entry stages (C, D, E). It equals the
RTL's simulated cycle count exactly on every layer (tests/rtl/test_rtl_hypothesis.py).

Per layer: 1 SETUP cycle + RUN cycles (until one cycle after everything is idle) + GATHER
(rows * R / E chunk cycles + 6: five pipeline stages and the cycle that sees them empty).
Per inference: the sum + 1 (the idle cycle in which the next start is taken), the period of
back-to-back inferences. Layer 0 receives its input at 16 activations per cycle during RUN.
With the engine's OVERLAP = 1 (Dense engines) a layer other than the last has no drain: the next
layer's SETUP follows its last chunk, and that layer's detectors take a window once the drain
has written its lines (gather_arrival), as layer 0 takes the input port's. With OVERLAP = 2
(accumulators ping-pong) a layer other than the last has no GATHER at all: the next SETUP
follows the hand-off and the whole gather, issue and drain, runs beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flow.errors import UsageError

LINE = 16
WINDOW = 64
GATHER_TAIL = 6
#: the largest n_pe and col_groups the RTL engine takes (kernels/rtl/eie_engine.sv)
MAX_PE = 64
MAX_GROUPS = 16


def _pow2(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


def nearest_pow2(n: int, hi: int) -> list[int]:
    """The powers of two <= hi next to n (one when n is beyond them or is one)."""
    lo = min(1 << (max(1, int(n)).bit_length() - 1), 1 << (max(1, int(hi)).bit_length() - 1))
    return [lo] if lo == n or lo * 2 > hi else [lo, lo * 2]


def layout_problems(n_pe: int, col_groups: int, max_pe: int = MAX_PE, max_groups: int = MAX_GROUPS,
                    engine: bool = False, any_r: bool = True) -> list[str]:
    """Why a layer layout (n_pe, col_groups) cannot run on the RTL engine, with the nearest values
    it takes. Any n_pe <= 64 runs (an engine with ANYR=1 when n_pe / col_groups is not a power of
    two); col_groups must be a power of two: column j is group j & (G-1) and the 16 activation
    banks are split among the groups (G divides 16), where the HLS kernel and flow.eie.encode take
    any col_groups dividing n_pe. ``engine``: the limits are an engine's parameters P and MAXG
    (flow.rtl.params), named so; ``any_r``: whether that engine has ANYR=1."""
    bad = []
    lp, lg = (f"P={max_pe}", f"MAXG={max_groups}") if engine else (max_pe, max_groups)
    if not 1 <= n_pe <= max_pe:
        bad.append(f"n_pe={n_pe}: the RTL engine takes 1..{lp}")
    elif not any_r and not _pow2(n_pe // max(1, col_groups)):
        r = n_pe // max(1, col_groups)
        bad.append(f"n_pe={n_pe}, col_groups={col_groups}: {r} PEs per group needs an "
                   "engine with ANYR=1 (flow.rtl.params.params_for sets it)")
    hi = min(max_groups, max_pe)
    if not (_pow2(col_groups) and col_groups <= max_groups):
        near = " or ".join(map(str, nearest_pow2(col_groups, hi)))
        bad.append(f"col_groups={col_groups}: the RTL engine takes a power of two <= {lg} (nearest: {near})")
    return bad


def check_layout(layer) -> None:
    """UsageError naming the layer when the RTL engine (and so this schedule) cannot run it."""
    bad = layout_problems(int(layer.n_pe), int(layer.col_groups))
    if bad:
        raise UsageError(f"layer {layer.name!r} cannot run on the RTL engine: " + "; ".join(bad))


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


def run_cycles(layer, x_raw, first: bool, n_in: int | None = None, n_lines: int | None = None,
               arrival=None, walk: int = 1, emit_stage: bool = True,
               all_at: int | None = None, partial: bool = True,
               skip: bool = True) -> tuple[int, int, np.ndarray]:
    """(RUN cycles, broadcasts, entries per PE) of one layer for input x_raw. n_in: the columns the
    detectors scan (default the layer's); n_lines: the input lines that arrive when ``first``
    (default all of n_in's): a recurrent step streams only its x_t (flow.eie.perf_lstm).

    The defaults are the RTL with WALK = 1. ``walk``: entries per PE per cycle, the engine
    parameter WALK (1 or 2, both in the RTL; rtl_layer_cycles passes params.WALK): a column of n
    entries takes ceil(n / walk) cycles; ``skip`` (the engine parameter SKIP): a PE's queue takes
    only the columns with entries in it (eie_pe's non-empty bits, read the cycle before the
    broadcast), so an empty one costs it nothing; without, an empty one costs one cycle. Two what-ifs for bench/rtl_cycles.py
    (modelled, not in the RTL): ``arrival`` (the RUN cycle, 1-based, from which each input line of
    16 counts as arrived; for ``first`` the RTL's is line + 2: one line per cycle from the input
    port) lets a later layer start while the previous gather still writes its inputs;
    ``emit_stage`` (the RTL's since issue 21's timing levers; False: the RTL before): a register
    between a detector's emit and its bank read, so the broadcast comes a cycle later (the gate
    counts only the broadcast register). ``all_at``: the RUN cycle from which all input counts as
    arrived (the RTL's arr_all after an overlapped gather, gather_arrival), where ``arrival`` then
    lists the whole lines as they complete; None: all arrived once every line of ``arrival`` has.
    ``partial`` (the RTL's; False: the RTL before, a what-if for bench/rtl_cycles.py): a detector
    scans the lines of its window that have arrived, instead of waiting for all four; it moves on
    once all four have and none is left."""
    enc = layer.encoding
    G, R = enc.col_groups, enc.row_pes
    Pa = G * R
    D = layer.fifo_depth
    n_in = layer.n_in if n_in is None else int(n_in)
    x = np.asarray(x_raw).ravel()
    ent = enc.local_column_entries().astype(np.int64)  # [Pa, n_cols]
    nzc = [np.flatnonzero(x[g::G] != 0) * G + g for g in range(G)]  # non-zero columns per group
    n_nz = [int(c.size) for c in nzc]
    # local column of the k-th broadcast of group g (the order the detector sends them)
    sent = np.zeros((G, max(1, max(n_nz))), np.int64)
    for g in range(G):
        sent[g, : n_nz[g]] = nzc[g] // G
    n_lines = -(-n_in // LINE) if n_lines is None else int(n_lines)
    if arrival is None and first:
        arrival = np.arange(n_lines) + 2
    arr = None if arrival is None else np.sort(np.asarray(arrival, np.int64))
    lines_in = n_lines if arr is None else 0
    grp = np.arange(Pa) // R
    rows = np.arange(Pa)
    # detector state (python ints: G <= 16)
    w = [0] * G
    idx = [0] * G  # next non-zero (index into nzc[g]) not yet broadcast
    bc_valid = np.zeros(G, bool)
    e_stage = np.zeros(G, bool)  # the emit registered before the bank read (eie_broadcast e_valid)
    # PE state: a PE's queue takes only the broadcasts whose column has entries in it (eie_pe
    # u_nzc); qbuf holds the columns it took, in order
    cnt = np.zeros(Pa, np.int64)
    popped = np.zeros(Pa, np.int64)
    pushed = np.zeros(Pa, np.int64)
    qbuf = np.zeros((Pa, sent.shape[1] + 1), np.int64)
    kb = np.zeros(G, np.int64)  # broadcasts that left each group's broadcast register
    a1 = np.zeros(Pa, bool)
    a1_col = np.zeros(Pa, np.int64)
    b_rem = np.zeros(Pa, np.int64)
    c = np.zeros(Pa, bool)
    d = np.zeros(Pa, bool)
    e = np.zeros(Pa, bool)
    run_done_q = False
    gate = np.ones(G, bool)  # the registered gate (eie_broadcast): open in the first RUN cycle
    cycles = 0
    broadcasts = 0
    pe_entries = np.zeros(Pa, np.int64)
    win_lines = WINDOW // LINE
    while True:
        cycles += 1
        if arr is not None:
            lines_in = int(np.searchsorted(arr, cycles, side="right"))
        if run_done_q:
            return cycles, broadcasts, pe_entries
        all_arrived = lines_in >= n_lines if all_at is None else cycles >= all_at
        emit = np.zeros(G, bool)
        dets_done = True
        bc_col = sent[grp, np.minimum(kb[grp], sent.shape[1] - 1)]
        push = bc_valid[grp] & ((ent[rows, bc_col] > 0) | (not skip))
        if Pa and G:
            gmax = (cnt + push).reshape(G, R).max(axis=1)  # fullest queue + in-flight, per group
        for g in range(G):
            if w[g] * WINDOW >= n_in:
                continue
            dets_done = False
            lim = (w[g] + 1) * WINDOW
            full = all_arrived or (w[g] + 1) * win_lines <= lines_in
            if not full:
                if not partial or lines_in * LINE <= w[g] * WINDOW:
                    continue
                lim = lines_in * LINE  # the arrived lines of window w
            cols = nzc[g]
            i = idx[g]
            if i < n_nz[g] and cols[i] < lim:
                if gate[g]:
                    emit[g] = True
                    idx[g] = i + 1
                    if full and not (i + 1 < n_nz[g] and cols[i + 1] < lim):
                        w[g] += 1
            elif full:
                w[g] += 1
        # PEs
        b_active = b_rem > 0
        accept = ~b_active | (b_rem <= walk)
        pop = (cnt > 0) & (~a1 | accept)
        load = a1 & accept
        took = np.where(load, ent[rows, a1_col], 0)
        new_rem = np.where(load, took, np.where(b_active, np.maximum(b_rem - walk, 0), b_rem))
        pe_entries += took
        a1_col = np.where(pop, qbuf[rows, popped], a1_col)
        qbuf[rows[push], pushed[push]] = bc_col[push]
        busy = bool(((cnt > 0) | a1 | b_active | c | d | e).any())
        run_done = dets_done and not bc_valid.any() and not e_stage.any() and not busy and all_arrived
        # register updates
        if Pa and G:
            gate = gmax < D  # a cycle old when the detectors read it (queues: one slot of slack)
        popped += pop
        pushed += push
        kb += bc_valid
        cnt = cnt + push - pop
        a1 = pop | (a1 & ~accept)
        e, d, c = d, c, b_active
        b_rem = new_rem
        if emit_stage:
            bc_valid, e_stage = e_stage, emit
        else:
            bc_valid = emit
        broadcasts += int(emit.sum())
        run_done_q = run_done


def gather_cycles(layer, params) -> int:
    """rows * R / E + GATHER_TAIL: chunks of E = min(OL, the largest power of two dividing R)."""
    return _chunks(layer, params)[0] + GATHER_TAIL


def _chunks(layer, params) -> tuple[int, int]:
    """(chunks, E) of the layer's gather."""
    enc = layer.encoding
    R = enc.row_pes
    log2e = min(_log2(R & -R), _log2(params.OL))
    return enc.max_local_rows * (R >> log2e), 1 << log2e


def gather_arrival(prev, params) -> tuple[np.ndarray, int]:
    """With OVERLAP: (the RUN cycle from which each whole line of the previous layer's outputs
    counts as written, the RUN cycle from which all of them do) for the layer after ``prev``. Its
    chunk c (of N, E outputs each) is issued in GATHER cycle c + 1 and written five cycles later.
    OVERLAP = 1: the next layer's SETUP is GATHER cycle N + 1 and its RUN starts at N + 2, so the
    write is seen from RUN cycle c + 6 - N; OVERLAP = 2: the SETUP is GATHER cycle 1, the RUN
    starts at 2, so from RUN cycle c + 6. Line k is whole after chunk ceil(16 (k + 1) / E) - 1,
    and all is written after the last chunk (RUN cycle 5, or N + 5)."""
    n, e = _chunks(prev, params)
    k = np.arange(max(0, min(n * e // LINE, int(getattr(params, "NX", 1 << 20)) // LINE)))
    chunk = -(-(LINE * (k + 1)) // e) - 1
    shift = 0 if overlap_mode(params) == 2 else n
    return chunk + 6 - shift, 5 + n - shift


def overlap_mode(params) -> int:
    """The engine's OVERLAP (0 for a params object without it, e.g. the LSTM models')."""
    return int(getattr(params, "OVERLAP", 0))



def rtl_layer_cycles(layer, x_raw, params, first: bool, prev=None, last: bool = True) -> RTLLayerCycles:
    """One layer's cycles. With the engine's OVERLAP: ``prev`` (the layer before, whose gather
    drains into this RUN; None for the first) and ``last`` (no next layer: the drain is this
    layer's)."""
    check_layout(layer)
    arrival = all_at = None
    if overlap_mode(params) and not first and prev is not None:
        arrival, all_at = gather_arrival(prev, params)
    run, bc, pe_entries = run_cycles(layer, x_raw, first, arrival=arrival, all_at=all_at,
                                     walk=int(getattr(params, "WALK", 1)),
                                     skip=bool(getattr(params, "SKIP", 1)))
    gather = gather_cycles(layer, params)
    if not last and overlap_mode(params) == 1:
        gather -= GATHER_TAIL
    elif not last and overlap_mode(params) == 2:
        gather = 0
    return RTLLayerCycles(layer.name, 1, run, gather, bc, pe_entries)


def rtl_network_cycles(layers, x_raw, params) -> tuple[list[list[RTLLayerCycles]], np.ndarray]:
    """Per input vector: per-layer cycles and the inference period (sum + 1), each layer fed
    the reference's output of the previous one."""
    from flow.eie.reference import eie_dense

    x = np.atleast_2d(np.asarray(x_raw))
    per = [[] for _ in range(x.shape[0])]
    for li, layer in enumerate(layers):
        for i in range(x.shape[0]):
            per[i].append(rtl_layer_cycles(layer, x[i], params, li == 0, prev=layers[li - 1] if li else None,
                                           last=li == len(layers) - 1))
        x = eie_dense(x, layer)
    period = np.array([sum(c.total for c in p) + 1 for p in per], dtype=np.int64)
    return per, period
