"""Cycle, memory and energy models of the EIE engine (kernels/hls/eie_dense.h), numpy only.

Cycles: the PE-array loop of the kernel, one iteration per clock (II=1), which runs the RTL
engine's PE pipeline (kernels/rtl/eie_pe.sv, flow/eie/perf_rtl.py). Each of the G column groups
(encode.py) is an independent array of R = P / G PEs fed by its own detector stream with every
non-zero activation of its columns, in order (tokens k = 0..K-1, n[p, k] entries of token k's
column on PE p, fillers included). With D = fifo_depth, all times in loop iterations from 0:
  e_k   = max(e_{k-1} + 1, max_p pop_{p,k-D} + 1)         the group's broadcast register takes k
                                                           (gate: every queue count + in-flight < D)
  pop_k = max(e_k + 2, l_{k-1})                            PE p pops k (pushed at e_k + 1), reads
                                                           its pointer pair
  l_k   = max(pop_k + 1, l_{k-1} + max(n_{k-1}, 1))        the walk takes the pair (in the cycle of
                                                           the previous column's last entry)
entries are issued at l_k + 1 .. l_k + n_k and leave the pipeline (C, D, E) three cycles later; the
loop sees everything idle and exits at
  cycles = max over PEs of max(l_{K-1} + 1, l_k + n_k + 4 for the columns with entries)
(1 for a group without non-zeros: the iteration that reads its end token); the layer takes the
largest group. The detector stream is assumed never to run dry (in csim it is filled first; in
hardware it sends one non-zero per group and cycle, ahead of the gate as soon as a column takes a
PE more than a cycle). The RTL gates its detector directly instead: a 64-column window without a
non-zero of the group costs it a cycle (``rtl_difference`` below states the exact relation).
Ideal = ceil(entries / P); load efficiency = ideal / cycles (<= 1).
Around the PE array the kernel spends the detector's iterations (a DATAFLOW process beside the
array: per window of detect_width inputs max(1, the most non-zeros of one group in it); io_stream
scans each input pack in windows of its own as it arrives) and
n_local in the gather (overhead_cycles; csim counts them too), + n_local for the bias preload of a
layer with a saturating hls4ml accumulator (hls_accum with accum_t not WRAP: Vivado's order, bias first).

Energy uses the 45 nm table of Han et al. (32-bit SRAM read 5 pJ, 32-bit DRAM read 640 pJ,
32-bit int multiply 3.1 pJ, int add 0.1 pJ); see ``energy`` for what is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flow.eie.knobs import DEFAULT_DETECT_WIDTH
from flow.eie.knobs import check as check_knobs

PJ_SRAM_READ = 5.0  # 32-bit SRAM read
PJ_DRAM_READ = 640.0  # 32-bit DRAM read
PJ_INT_MULT = 3.1
PJ_INT_ADD = 0.1


@dataclass
class LayerCycles:
    name: str
    n_pe: int
    fifo_depth: int
    broadcast: int  # non-zeros broadcast per cycle and group (1: EIE's and the RTL's schedule)
    n_nonzero: int  # broadcast activations
    entries: int  # entries (incl. fillers) of the broadcast columns, all PEs
    cycles: int  # PE-array loop
    pe_busy: np.ndarray  # [n_pe] cycles each PE's walk spent on its columns (max(1, entries) each)
    pe_entries: np.ndarray  # [n_pe] entries each PE processed
    overhead_cycles: int  # detector iterations + gather (with the G-way partial-sum adds and the bias)
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


def _array_schedule(n: np.ndarray, depth: int) -> tuple[int, np.ndarray]:
    """(cycles, busy cycles per PE) of one group's PE array fed the columns of n [R, K] in order
    (the HLS kernel: its detector stream never runs dry; the RTL's schedule is flow.eie.perf_rtl)."""
    R, K = n.shape
    if K == 0:
        return 1, np.zeros(R, dtype=np.int64)
    pops = np.zeros((R, K), dtype=np.int64)
    e_prev = -1
    l_prev = np.full(R, -(10**9), dtype=np.int64)
    n_prev = np.zeros(R, dtype=np.int64)
    end = np.zeros(R, dtype=np.int64)
    for k in range(K):
        e = e_prev + 1
        if k >= depth:
            e = max(e, int(pops[:, k - depth].max()) + 1)
        pop = np.maximum(e + 2, l_prev)
        pops[:, k] = pop
        l_k = np.maximum(pop + 1, l_prev + np.maximum(n_prev, 1))
        nk = n[:, k]
        end = np.where(nk > 0, np.maximum(end, l_k + nk + 4), end)
        e_prev, l_prev, n_prev = e, l_k, nk
    end = int(np.maximum(end, l_prev + 1).max())
    return end, np.maximum(n, 1).sum(axis=1)


def broadcast_columns(layer, x_raw=None) -> np.ndarray:
    """Input columns the detectors broadcast: the non-zero activations (all columns for None)."""
    if x_raw is None:
        return np.arange(layer.n_in)
    return np.flatnonzero(np.asarray(x_raw).ravel() != 0)


def detect_cycles(layer, x_raw=None, pack: int | None = None) -> int:
    """Iterations of the detector process: per window of detect_width inputs, max(1, the most
    non-zeros of one column group in it).

    ``pack`` (io_stream, kernel detect_stream): the input arrives as packs of this many values and
    each pack is scanned in ceil(pack / detect_width) windows of its own (windows never straddle
    packs); None is io_parallel (windows over the whole input, = one pack of n_in).
    """
    width = int(getattr(layer, "detect_width", DEFAULT_DETECT_WIDTH))
    G = int(getattr(layer.encoding, "col_groups", 1))
    pf = layer.n_in if pack is None else int(pack)
    if pf < 1 or layer.n_in % pf:
        raise ValueError(f"pack={pack}: must divide n_in={layer.n_in} (hls4ml's stream packs)")
    nz = np.zeros(layer.n_in, dtype=bool)
    nz[broadcast_columns(layer, x_raw)] = True
    wpp = -(-pf // width)  # windows per pack
    j = np.arange(layer.n_in)
    counts = np.zeros((layer.n_in // pf * wpp, G), dtype=np.int64)
    np.add.at(counts, ((j // pf) * wpp + (j % pf) // width, j % G), nz.astype(np.int64))
    return int(np.maximum(counts.max(axis=1), 1).sum())


def layer_cycles(
    layer, x_raw=None, fifo_depth: int | None = None, broadcast: int | None = None, *, pack: int | None = None
) -> LayerCycles:
    """Cycles for one input vector (raw ints or floats; only its non-zeros matter; None = all non-zero).

    Each column group is an independent array of R = P / G PEs fed by its own detector; the layer
    takes as long as the slowest group. fifo_depth overrides the layer's (what-if sweeps).
    ``broadcast`` is deprecated (flow.eie.knobs.DEPRECATED): the engine broadcasts one column per
    group and cycle, as EIE and the RTL do; another value than 1 warns. ``pack``: the io_stream
    kernel's input pack size (changes the detector's windows only, see ``detect_cycles``).
    """
    depth = int(fifo_depth or layer.fifo_depth)
    if depth < 1:
        raise ValueError(f"fifo_depth={depth}: need at least 1")
    if broadcast is not None:
        check_knobs({"broadcast": broadcast})  # KnobError below 1, KnobDeprecation above
    entries = _column_costs(layer)
    P = entries.shape[0]
    G = int(getattr(layer.encoding, "col_groups", 1))
    R = P // G
    cols = broadcast_columns(layer, x_raw)
    cycles = 0
    pe_busy = np.zeros(P, dtype=np.int64)
    pe_entries = np.zeros(P, dtype=np.int64)
    n_nonempty = 0
    for g in range(G):
        gcols = cols[cols % G == g]
        n = entries[g * R : (g + 1) * R][:, gcols].astype(np.int64)  # [R, K_g]
        c, busy = _array_schedule(n, depth)
        cycles = max(cycles, c)
        pe_busy[g * R : (g + 1) * R] = busy
        pe_entries[g * R : (g + 1) * R] = n.sum(axis=1)
        n_nonempty += int((n > 0).sum())
    # + the bias preload of a saturating hls4ml accumulator (kernel preload_bias: n_local iterations)
    sat = bool(getattr(layer, "hls_accum", False)) and layer.accum_t.saturation != "WRAP"
    overhead = detect_cycles(layer, x_raw, pack) + layer.encoding.max_local_rows * (2 if sat else 1)
    return LayerCycles(
        layer.name,
        P,
        depth,
        1,
        int(cols.size),
        int(pe_entries.sum()),
        cycles,
        pe_busy,
        pe_entries,
        overhead,
        n_nonempty,
    )


def rtl_run_cycles(layer, x_raw, first: bool = False) -> int:
    """The RTL engine's RUN cycles of a layer: its own cycle model (flow.eie.perf_rtl, equal to the
    Verilator simulation of kernels/rtl cycle for cycle).

    Until issue 21's timing levers this was derived from this module's schedule (the HLS kernel's
    PE pipeline and gate, the RTL's window-walking detector, + 2 for the registered run_done) and
    equal to the RTL. The RTL's gate is now registered with a slot of slack per queue and a
    broadcast reaches the PEs a cycle after its emit, so its queueing is no longer the HLS kernel's
    (e.g. depth 1, one non-zero per 64 columns: 13 cycles in the RTL, 17 by the HLS schedule); the
    RTL's own model is the one figure, not a second derivation that no longer holds."""
    from flow.eie.perf_rtl import run_cycles

    return int(run_cycles(layer, x_raw, first)[0])


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
        layer.encoding.n_cols * 2 * ptr_bits,  # one {end, start} pair per local column
        (1 << layer.code_bits) * layer.weight_t.width,
        layer.encoding.max_local_rows * layer.accum_t.width,
        0,
    )


def energy(layer, x_raw=None) -> dict:
    """Energy (pJ) of one inference of the layer: EIE from on-chip SRAM vs dense weights from DRAM.

    EIE counts: per processed entry one MAC (multiply + add, fillers too), the (code, index) pair read
    from SRAM (code_bits + index_bits per 32-bit read) and an accumulator read-modify-write (2 x 32-bit
    accesses at the read cost); per broadcast column and PE of its group one 32-bit pointer-pair
    read (start and end in one word); one 32-bit read per input activation in the detector. The dense
    baseline streams all n_in x n_out weights (weight_t bits) from DRAM and does every MAC;
    activations from SRAM.
    """
    cyc = layer_cycles(layer, x_raw)
    entry_reads = cyc.entries * (layer.code_bits + layer.index_bits) / 32
    eie = {
        "mac": cyc.entries * (PJ_INT_MULT + PJ_INT_ADD),
        "weight_sram": entry_reads * PJ_SRAM_READ,
        "pointer_sram": cyc.n_nonzero * layer.encoding.row_pes * PJ_SRAM_READ,
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
