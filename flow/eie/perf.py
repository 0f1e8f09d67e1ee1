"""Cycle, memory and energy models of the EIE engine (kernels/eie_dense.h), numpy only.

Cycles (the PE-array loop of the kernel, one iteration per clock, II=1):
- the non-zero detector broadcasts one non-zero activation per cycle to every PE's FIFO (depth D),
  unless some FIFO was full at the end of the previous cycle;
- a PE pops a column when it has finished the previous one; a column with n entries (fillers
  included) on that PE costs max(1, n) cycles (the pop shares a cycle with the first entry; an
  empty column still costs its pop cycle). A value broadcast in cycle t can be popped in t + 1.
The recurrence below is exactly that schedule (the tests compare it with csim's cycle count):
  b_k = max(b_{k-1} + 1, max_p s_{p,k-D} + 1)          broadcast cycle of non-zero k
  s_{p,k} = max(b_k + 1, s_{p,k-1} + c_{p,k-1})         pop cycle of non-zero k on PE p
  cycles = max_p (s_{p,K-1} + c_{p,K-1})
Ideal = ceil(entries of the broadcast columns / P); load efficiency = ideal / cycles (<= 1).
Around the PE array the kernel spends ceil(n_in / detect_width) cycles in the detector scan and
n_local each in the bias preload and the gather (reported separately as overhead_cycles: the same
for any input; a dataflow design could overlap them with the neighbouring layers).

Energy uses the 45 nm table of Han et al. (32-bit SRAM read 5 pJ, 32-bit DRAM read 640 pJ,
32-bit int multiply 3.1 pJ, int add 0.1 pJ); see ``energy`` for what is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PJ_SRAM_READ = 5.0  # 32-bit SRAM read
PJ_DRAM_READ = 640.0  # 32-bit DRAM read
PJ_INT_MULT = 3.1
PJ_INT_ADD = 0.1


@dataclass
class LayerCycles:
    name: str
    n_pe: int
    fifo_depth: int
    n_nonzero: int  # broadcast activations
    entries: int  # entries (incl. fillers) of the broadcast columns, all PEs
    cycles: int  # PE-array loop
    pe_busy: np.ndarray  # [n_pe] cycles each PE spent on columns (sum of max(1, n))
    pe_entries: np.ndarray  # [n_pe] entries each PE processed
    overhead_cycles: int  # detector scan + bias preload + gather

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
    return layer.encoding.column_entries()  # [P, n_in]


def layer_cycles(layer, x_raw=None, fifo_depth: int | None = None) -> LayerCycles:
    """Cycles for one input vector (raw ints or floats; only its non-zeros matter; None = all non-zero)."""
    depth = int(fifo_depth or layer.fifo_depth)
    if depth < 1:
        raise ValueError(f"fifo_depth={depth}: need at least 1")
    entries = _column_costs(layer)
    cols = np.arange(layer.n_in) if x_raw is None else np.flatnonzero(np.asarray(x_raw).ravel())
    n = entries[:, cols]  # [P, K]
    c = np.maximum(n, 1)
    P, K = c.shape
    s = np.zeros((P, K), dtype=np.int64)
    b_prev, s_prev, c_prev = -1, np.full(P, -(10**9)), np.zeros(P, dtype=np.int64)
    for k in range(K):
        b = b_prev + 1
        if k >= depth:
            b = max(b, int(s[:, k - depth].max()) + 1)
        s[:, k] = np.maximum(b + 1, s_prev + c_prev)
        b_prev, s_prev, c_prev = b, s[:, k], c[:, k]
    cycles = int((s[:, -1] + c[:, -1]).max()) if K else 0
    from flow.eie.codegen import DETECT_WIDTH

    overhead = math.ceil(layer.n_in / DETECT_WIDTH) + 2 * layer.encoding.max_local_rows
    return LayerCycles(layer.name, P, depth, K, int(n.sum()), cycles, c.sum(axis=1), n.sum(axis=1), overhead)


def network_cycles(layers, x_raw, fifo_depth: int | None = None) -> list[list[LayerCycles]]:
    """Per sample, per layer cycles, with each layer fed the reference's output of the previous one."""
    from flow.eie.reference import eie_dense

    x = np.atleast_2d(np.asarray(x_raw))
    out = [[] for _ in range(x.shape[0])]
    for layer in layers:
        for i in range(x.shape[0]):
            out[i].append(layer_cycles(layer, x[i], fifo_depth))
        x = eie_dense(x, layer)
    return out


@dataclass
class PEMemory:
    codes_bits: int
    index_bits: int
    pointer_bits: int
    codebook_bits: int
    accum_bits: int

    @property
    def total_bits(self) -> int:
        return self.codes_bits + self.index_bits + self.pointer_bits + self.codebook_bits + self.accum_bits

    @property
    def total_bytes(self) -> int:
        return math.ceil(self.total_bits / 8)

    def to_dict(self) -> dict:
        return {
            "codes_bits": self.codes_bits,
            "index_bits": self.index_bits,
            "pointer_bits": self.pointer_bits,
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
        (layer.n_in + 1) * ptr_bits,
        (1 << layer.code_bits) * layer.weight_t.width,
        layer.encoding.max_local_rows * layer.accum_t.width,
    )


def energy(layer, x_raw=None) -> dict:
    """Energy (pJ) of one inference of the layer: EIE from on-chip SRAM vs dense weights from DRAM.

    EIE counts: per processed entry one MAC (multiply + add, fillers too), the (code, index) pair read
    from SRAM (code_bits + index_bits per 32-bit read) and an accumulator read-modify-write (2 x 32-bit
    accesses at the read cost); per broadcast column and PE one 32-bit pointer read (start and end
    pointers, 16 bits each); one 32-bit read per input activation in the detector. The dense
    baseline streams all n_in x n_out weights (weight_t bits) from DRAM and does every MAC;
    activations from SRAM.
    """
    cyc = layer_cycles(layer, x_raw)
    entry_reads = cyc.entries * (layer.code_bits + layer.index_bits) / 32
    eie = {
        "mac": cyc.entries * (PJ_INT_MULT + PJ_INT_ADD),
        "weight_sram": entry_reads * PJ_SRAM_READ,
        "pointer_sram": cyc.n_nonzero * layer.n_pe * PJ_SRAM_READ,
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
