"""Cycle model of an LSTM layer on the RTL engine's schedule (modelled: the RTL element-wise unit
exists and its latency is measured, the engine's recurrent-layer entry is not built yet), numpy only.

Per time step t (flow.eie.lstm: one mat-vec over z_t = [x_t; h_{t-1}], then the element-wise unit):
  SETUP 1 + RUN(z_t) + GATHER      the mat-vec under the RTL's schedule (flow.eie.perf_rtl: the same
                                   detector, queues and PE pipeline, the same gather), its inputs
                                   already in the activation banks (not streamed: ``first=False``)
  + EW = ceil(H / R) + EW_LATENCY  the element-wise unit after the gather (its placement in the
                                   step is a DESIGN ASSUMPTION: one unit per row-PE, one hidden unit
                                   per cycle); EW_LATENCY is the RTL unit's (kernels/rtl/
                                   eie_lstm_cell.sv) measured latency from a unit's last gate to h_u
                                   (tests/rtl/test_rtl_lstm_cell.py asserts the two are equal).
Per sequence: LOAD = ceil(T * I / 16) cycles (the host streams the whole input sequence into the
activation banks, 16 per cycle as the RTL's layer-0 input) + the steps + 1 (the idle cycle that
takes the next start), as perf_rtl counts an inference.

Load efficiency of a step: ideal = ceil(entries of the broadcast columns / P) over the RUN cycles
(the PE array), and over the whole step (array + gather + element-wise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from flow.eie.lstm import EIELSTM, lstm_sequence
from flow.eie.perf_rtl import LINE, check_layout, gather_cycles, run_cycles

#: cycles from a hidden unit's gate o entering kernels/rtl/eie_lstm_cell.sv to its h' and c' out
#: (measured in Verilator by tests/rtl/test_rtl_lstm_cell.py, which asserts this value): sigmoid/tanh
#: pair read (1), difference x remainder (1), round and add (1), f*c and i*g (1), sum and cast to
#: cell_t (1), tanh(c') in three (3), o*tanh(c') (1), cast to h_t (1)
EW_LATENCY = 10


def default_ol(n_pe: int) -> int:
    """Gather lanes as flow.rtl.params.params_for sizes them: the largest power of two <= min(16, P)."""
    return 1 << (min(16, int(n_pe)).bit_length() - 1)


@dataclass
class StepCycles:
    setup: int
    run: int
    gather: int
    elementwise: int
    entries: int  # entries of the broadcast columns, all PEs
    n_pe: int
    broadcasts: int

    @property
    def total(self) -> int:
        return self.setup + self.run + self.gather + self.elementwise

    @property
    def ideal(self) -> int:
        return math.ceil(self.entries / self.n_pe)

    @property
    def array_efficiency(self) -> float:
        """ideal / RUN cycles: how well the PE array is loaded during the mat-vec."""
        return self.ideal / self.run if self.run else 1.0

    @property
    def step_efficiency(self) -> float:
        """ideal / the whole step (array, gather and element-wise unit)."""
        return self.ideal / self.total if self.total else 1.0


@dataclass
class SequenceCycles:
    name: str
    load: int
    steps: list[StepCycles] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.load + sum(s.total for s in self.steps) + 1

    def summary(self) -> dict:
        per = np.array([s.total for s in self.steps])
        return {
            "name": self.name, "source": "modelled (flow.eie.perf_lstm; element-wise latency measured on the RTL unit, its place in the step assumed)",
            "load": self.load, "total": self.total, "steps": len(self.steps),
            "step_mean": float(per.mean()) if per.size else 0.0, "step_min": int(per.min(initial=0)),
            "step_max": int(per.max(initial=0)), "ew_latency": EW_LATENCY,
            "array_efficiency": [round(s.array_efficiency, 4) for s in self.steps],
            "step_efficiency": [round(s.step_efficiency, 4) for s in self.steps],
        }


def elementwise_cycles(layer: EIELSTM) -> int:
    return -(-layer.n_hidden // layer.matvec.row_pes) + EW_LATENCY


def step_cycles(layer: EIELSTM, z_raw, ol: int | None = None) -> StepCycles:
    """One step for its mat-vec input z_t = [x_t; h_{t-1}] (raw; only its non-zeros matter)."""
    m = layer.matvec
    check_layout(m)
    run, bc, pe_entries = run_cycles(m, z_raw, first=False)
    g = gather_cycles(m, SimpleNamespace(OL=ol or default_ol(m.n_pe)))
    return StepCycles(1, run, g, elementwise_cycles(layer), int(pe_entries.sum()), m.n_pe, bc)


def sequence_cycles(layer: EIELSTM, x_raw, ol: int | None = None) -> list[SequenceCycles]:
    """Per sequence of x_raw [B, T, I]: each step's cycles, h_{t-1} from the bit-exact reference."""
    x = np.asarray(x_raw)
    x = x[None] if x.ndim == 2 else x
    hs, _ = lstm_sequence(x, layer)
    out = []
    for b in range(x.shape[0]):
        T = x.shape[1]
        seq = SequenceCycles(layer.name, -(-T * layer.n_in // LINE))
        h_prev = np.zeros(layer.n_hidden, np.int64)
        for t in range(T):
            seq.steps.append(step_cycles(layer, np.concatenate([x[b, t], h_prev]), ol))
            h_prev = hs[b, t]
        out.append(seq)
    return out
