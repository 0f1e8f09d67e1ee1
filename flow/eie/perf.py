"""Cycle, memory and energy models of the EIE engine (kernels/hls/eie_dense.h), numpy only.

Cycles (the PE-array loop of the kernel, one iteration per clock, II=1), with B = broadcast and
W = min(B, D). Each of the G column groups (encode.py) is an independent array of R = P / G PEs
with its own detector, fed the non-zero activations of its columns that have an entry on at least
one PE (columns empty on every PE are never broadcast); the layer ends with its slowest group.
Within a group:
- the detector broadcasts the next n non-zero activations to every PE's FIFO (depth D) in a cycle,
  n = min(W, non-zeros left, free slots of the fullest FIFO at the end of the previous cycle);
  a value broadcast in cycle t can be popped from t + 1 on;
- a PE that has finished its column pops, in one cycle, the leading queued columns that are empty
  for it and the first non-empty one, all within the first W queued (available) columns; a popped
  column with n >= 1 entries (fillers included) costs n cycles (the pop shares a cycle with the
  first entry); a pop of only empty columns costs one cycle. B = 1 is the original EIE schedule:
  every column costs max(1, n).
The recurrence below is exactly that schedule (the tests compare it with csim's cycle count):
  b_k = max(b_{k-1}, b_{k-W} + 1, max_p s_{p,k-D} + 1)       broadcast cycle of non-zero k
  on PE p, non-zero k joins the pop of cycle t (whose first column is i) iff columns i..k-1 are
  empty on p, k - i < W and b_k < t; otherwise it starts a pop at s_{p,k} = max(b_k + 1, F_p),
  F_p = t + (entries of the group's non-empty column, or 1 if the group is all empty).
  cycles = max_p F_p after the last non-zero.
Ideal = ceil(entries of the broadcast columns / P); load efficiency = ideal / cycles (<= 1).
Around the PE array the kernel spends ceil(n_in / detect_width) cycles in the detector scan
(detect_width: the layer's, default 4) and n_local each in the bias preload and the gather
(reported separately as overhead_cycles: the same for any input; a dataflow design could overlap
them with the neighbouring layers; csim counts them too).

Energy uses the 45 nm table of Han et al. (32-bit SRAM read 5 pJ, 32-bit DRAM read 640 pJ,
32-bit int multiply 3.1 pJ, int add 0.1 pJ); see ``energy`` for what is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flow.eie.knobs import DEFAULT_BROADCAST, DEFAULT_DETECT_WIDTH

PJ_SRAM_READ = 5.0  # 32-bit SRAM read
PJ_DRAM_READ = 640.0  # 32-bit DRAM read
PJ_INT_MULT = 3.1
PJ_INT_ADD = 0.1


@dataclass
class LayerCycles:
    name: str
    n_pe: int
    fifo_depth: int
    broadcast: int  # non-zeros broadcast per cycle
    n_nonzero: int  # broadcast activations
    entries: int  # entries (incl. fillers) of the broadcast columns, all PEs
    cycles: int  # PE-array loop
    pe_busy: np.ndarray  # [n_pe] cycles each PE spent popping or MACing (entries + all-empty pops)
    pe_entries: np.ndarray  # [n_pe] entries each PE processed
    overhead_cycles: int  # detector scan + bias preload + gather (with the G-way partial-sum adds)
    n_nonempty: int = 0  # (broadcast column, PE) pairs with entries: pointer reads

    @property
    def ideal(self) -> int:
        return math.ceil(self.entries / self.n_pe)

    @property
    def efficiency(self) -> float:
        return self.ideal / self.cycles if self.cycles else 1.0

    @property
    def total_cycles(self) -> int:
        return self.cycles + self.overhead_cycles


def _column_costs(layer) -> np.ndarray:
    return layer.encoding.column_entries()  # [P, n_in], 0 off a PE's column group


def _array_schedule(n: np.ndarray, depth: int, window: int) -> tuple[int, np.ndarray]:
    """(cycles, all-empty pops per PE) of one PE array fed the columns of n [P, K] in order."""
    P, K = n.shape
    s = np.zeros((P, K), dtype=np.int64)  # pop cycle of non-zero k on PE p
    b = np.zeros(K, dtype=np.int64)  # broadcast cycle of non-zero k
    g_t = np.full(P, -(10**9), dtype=np.int64)  # cycle of the PE's current pop group
    g_i = np.zeros(P, dtype=np.int64)  # first non-zero of that group
    g_open = np.zeros(P, dtype=bool)  # the group holds only empty columns so far (can take more)
    free = np.zeros(P, dtype=np.int64)  # first cycle the PE is idle after its current group
    empty_pops = np.zeros(P, dtype=np.int64)  # groups without a non-empty column (1 cycle each)
    for k in range(K):
        bk = b[k - 1] if k else 0
        if k >= window:
            bk = max(bk, b[k - window] + 1)
        if k >= depth:
            bk = max(bk, int(s[:, k - depth].max()) + 1)
        b[k] = bk
        joins = g_open & (k - g_i < window) & (bk < g_t)
        start = np.maximum(bk + 1, free)
        new = ~joins  # k starts a pop group of its own (the previous group's cost is in `free`)
        g_t = np.where(new, start, g_t)
        g_i = np.where(new, k, g_i)
        s[:, k] = g_t
        nk = n[:, k]
        g_open = nk == 0  # a joining k found the group open: it stays open iff k is empty too
        # free: an all-empty group ends one cycle after it; a non-empty column takes n cycles
        free = np.where(nk > 0, g_t + nk, np.where(new, g_t + 1, free))
        empty_pops += new & (nk == 0)
        # a group that was counted all-empty and now gets its non-empty column is no empty pop
        empty_pops -= joins & (nk > 0)
    return (int(free.max()) if K else 0), empty_pops


def broadcast_columns(layer, x_raw=None) -> np.ndarray:
    """Input columns the detectors broadcast: non-zero activations of columns with any entry."""
    entries = _column_costs(layer)
    has = entries.any(axis=0)
    if x_raw is None:
        return np.flatnonzero(has)
    return np.flatnonzero((np.asarray(x_raw).ravel() != 0) & has)


def layer_cycles(
    layer, x_raw=None, fifo_depth: int | None = None, broadcast: int | None = None
) -> LayerCycles:
    """Cycles for one input vector (raw ints or floats; only its non-zeros matter; None = all non-zero).

    Each column group is an independent array of R = P / G PEs fed by its own detector; the layer
    takes as long as the slowest group. fifo_depth / broadcast override the layer's (what-if
    sweeps; the kernel uses the layer's).
    """
    depth = int(fifo_depth or layer.fifo_depth)
    bw = int(broadcast or getattr(layer, "broadcast", DEFAULT_BROADCAST))
    if depth < 1:
        raise ValueError(f"fifo_depth={depth}: need at least 1")
    if bw < 1:
        raise ValueError(f"broadcast={bw}: need at least 1")
    window = min(bw, depth)
    entries = _column_costs(layer)
    P = entries.shape[0]
    G = int(getattr(layer.encoding, "col_groups", 1))
    R = P // G
    cols = broadcast_columns(layer, x_raw)
    cycles = 0
    empty_pops = np.zeros(P, dtype=np.int64)
    pe_entries = np.zeros(P, dtype=np.int64)
    n_nonempty = 0
    for g in range(G):
        gcols = cols[cols % G == g]
        n = entries[g * R : (g + 1) * R][:, gcols].astype(np.int64)  # [R, K_g]
        c, pops = _array_schedule(n, depth, window)
        cycles = max(cycles, c)
        empty_pops[g * R : (g + 1) * R] = pops
        pe_entries[g * R : (g + 1) * R] = n.sum(axis=1)
        n_nonempty += int((n > 0).sum())
    detect_width = int(getattr(layer, "detect_width", DEFAULT_DETECT_WIDTH))
    overhead = math.ceil(layer.n_in / detect_width) + 2 * layer.encoding.max_local_rows
    return LayerCycles(
        layer.name,
        P,
        depth,
        bw,
        int(cols.size),
        int(pe_entries.sum()),
        cycles,
        pe_entries + empty_pops,
        pe_entries,
        overhead,
        n_nonempty,
    )


def network_cycles(
    layers, x_raw, fifo_depth: int | None = None, broadcast: int | None = None
) -> list[list[LayerCycles]]:
    """Per sample, per layer cycles, with each layer fed the reference's output of the previous one."""
    from flow.eie.reference import eie_dense

    x = np.atleast_2d(np.asarray(x_raw))
    out = [[] for _ in range(x.shape[0])]
    for layer in layers:
        for i in range(x.shape[0]):
            out[i].append(layer_cycles(layer, x[i], fifo_depth, broadcast))
        x = eie_dense(x, layer)
    return out


@dataclass
class PEMemory:
    codes_bits: int
    index_bits: int
    pointer_bits: int
    codebook_bits: int
    accum_bits: int
    colnz_bits: int = 0  # one bit per column: the column has entries on this PE

    @property
    def total_bits(self) -> int:
        return (
            self.codes_bits
            + self.index_bits
            + self.pointer_bits
            + self.colnz_bits
            + self.codebook_bits
            + self.accum_bits
        )

    @property
    def total_bytes(self) -> int:
        return math.ceil(self.total_bits / 8)

    def to_dict(self) -> dict:
        return {
            "codes_bits": self.codes_bits,
            "index_bits": self.index_bits,
            "pointer_bits": self.pointer_bits,
            "colnz_bits": self.colnz_bits,
            "codebook_bits": self.codebook_bits,
            "accum_bits": self.accum_bits,
            "total_bits": self.total_bits,
            "total_bytes": self.total_bytes,
        }


def pe_memory(layer) -> PEMemory:
    """On-chip storage of one PE (every PE is sized for the fullest one: pe_capacity entries)."""
    cap = layer.pe_capacity
    ptr_bits = max(1, cap.bit_length())  # pointers count 0..cap
    return PEMemory(
        cap * layer.code_bits,
        cap * layer.index_bits,
        (layer.encoding.n_cols + 1) * ptr_bits,
        (1 << layer.code_bits) * layer.weight_t.width,
        layer.encoding.max_local_rows * layer.accum_t.width,
        layer.encoding.n_cols,
    )


def energy(layer, x_raw=None) -> dict:
    """Energy (pJ) of one inference of the layer: EIE from on-chip SRAM vs dense weights from DRAM.

    EIE counts: per processed entry one MAC (multiply + add, fillers too), the (code, index) pair read
    from SRAM (code_bits + index_bits per 32-bit read) and an accumulator read-modify-write (2 x 32-bit
    accesses at the read cost); per broadcast column and PE one colnz bit (1/32 of a read), and one
    32-bit pointer read (start and end pointers, 16 bits each) when the column has entries on that
    PE; one 32-bit read per input activation in the detector. The dense
    baseline streams all n_in x n_out weights (weight_t bits) from DRAM and does every MAC;
    activations from SRAM.
    """
    cyc = layer_cycles(layer, x_raw)
    entry_reads = cyc.entries * (layer.code_bits + layer.index_bits) / 32
    eie = {
        "mac": cyc.entries * (PJ_INT_MULT + PJ_INT_ADD),
        "weight_sram": entry_reads * PJ_SRAM_READ,
        "pointer_sram": (cyc.n_nonempty + cyc.n_nonzero * layer.n_pe / 32) * PJ_SRAM_READ,
        "accumulator": 2 * cyc.entries * PJ_SRAM_READ,
        "activation_sram": layer.n_in * PJ_SRAM_READ,
    }
    n_w = layer.n_in * layer.n_out
    dense = {
        "mac": n_w * (PJ_INT_MULT + PJ_INT_ADD),
        "weight_dram": n_w * layer.weight_t.width / 32 * PJ_DRAM_READ,
        "activation_sram": layer.n_in * PJ_SRAM_READ,
    }
    eie_total, dense_total = sum(eie.values()), sum(dense.values())
    return {
        "eie_pj": eie,
        "eie_total_pj": eie_total,
        "dense_dram_pj": dense,
        "dense_dram_total_pj": dense_total,
        "ratio": dense_total / eie_total if eie_total else math.inf,
    }


def layer_report(layer, x_raw=None) -> dict:
    """Cycles, efficiency, memory and energy of one layer, as plain data (for report.json)."""
    cyc = layer_cycles(layer, x_raw)
    mem = pe_memory(layer)
    return {
        "name": layer.name,
        "n_pe": layer.n_pe,
        "fifo_depth": layer.fifo_depth,
        "broadcast": cyc.broadcast,
        "detect_width": int(getattr(layer, "detect_width", DEFAULT_DETECT_WIDTH)),
        "nonzero_inputs": cyc.n_nonzero,
        "entries": cyc.entries,
        "nnz": layer.encoding.nnz,
        "fillers": layer.encoding.n_fillers,
        "cycles": cyc.cycles,
        "ideal_cycles": cyc.ideal,
        "load_efficiency": cyc.efficiency,
        "overhead_cycles": cyc.overhead_cycles,
        "memory_per_pe": mem.to_dict(),
        "memory_total_bytes": mem.total_bytes * layer.n_pe,
        "energy": energy(layer, x_raw),
    }


# The RTL engine's schedule (kernels/rtl/), equal to its Verilator cycle count: flow.eie.perf_rtl.
from flow.eie.perf_rtl import RTLLayerCycles, rtl_layer_cycles, rtl_network_cycles  # noqa: E402,F401
