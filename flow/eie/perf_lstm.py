"""Cycle model of an LSTM layer on the RTL engine's recurrent table entry (kernels/rtl: eie_control,
eie_lstm, eie_lstm_cell), numpy only; equal to the RTL's simulated cycles
(tests/rtl/test_rtl_lstm_engine.py).

Per time step t (flow.eie.lstm: one mat-vec over z_t = [x_t; 0; h_{t-1}], then the element-wise unit):
  SETUP 1 + RUN(z_t) + GATHER + EW_LATENCY
    RUN     the mat-vec under the RTL's schedule (flow.eie.perf_rtl.run_cycles) with x_t streamed
            in during RUN (ceil(h_col / 16) lines, one a cycle, as a first layer's input), h_{t-1}
            already in the store; step 0 scans only the x columns (h_{-1} = 0)
    GATHER  the RTL's gather (rows * R / E chunk cycles + 6), issued four local rows (the gates
            i, f, g, o of E units) at a time, so the element-wise lanes work during the gather
    EW_LATENCY  the lanes' latency after the last gate o (measured on the RTL unit): h_t is then
            in the store as the next step's input columns h_col + u (at the last step: columns
            0 .. H - 1, the next layer's input)
Per sequence: the steps, then each Dense layer after the LSTM as flow.eie.perf_rtl counts it (its
input h_T already in the store), + 1 (the idle cycle that takes the next start).

Load efficiency of a step: ideal = ceil(entries of the broadcast columns / P) over the RUN cycles
(the PE array), and over the whole step (array, gather and element-wise drain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from flow.eie.lstm import EIELSTM, lstm_sequence
from flow.eie.perf_rtl import LINE, check_layout, gather_cycles, rtl_layer_cycles, run_cycles

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
    steps: list[StepCycles] = field(default_factory=list)
    dense: list[int] = field(default_factory=list)  # each Dense layer's cycles after the LSTM

    @property
    def lstm(self) -> int:
        return sum(s.total for s in self.steps)

    @property
    def total(self) -> int:
        return self.lstm + sum(self.dense) + 1

    def summary(self) -> dict:
        per = np.array([s.total for s in self.steps])
        return {
            "name": self.name, "source": "modelled (flow.eie.perf_lstm; equals the RTL's simulated cycles)",
            "total": self.total, "lstm": self.lstm, "dense": list(self.dense), "steps": len(self.steps),
            "step_mean": float(per.mean()) if per.size else 0.0, "step_min": int(per.min(initial=0)),
            "step_max": int(per.max(initial=0)), "ew_latency": EW_LATENCY,
            "array_efficiency": [round(s.array_efficiency, 4) for s in self.steps],
            "step_efficiency": [round(s.step_efficiency, 4) for s in self.steps],
        }


def elementwise_cycles(layer: EIELSTM) -> int:
    """The element-wise unit's cycles beyond the gather (its lanes work during the gather)."""
    return EW_LATENCY


def step_cycles(layer: EIELSTM, z_raw, ol: int | None = None, first_step: bool = False,
                walk: int = 1) -> StepCycles:
    """One step for its mat-vec input z_t = [x_t; 0; h_{t-1}] (raw; only its non-zeros matter);
    ``walk``: the engine's WALK (entries per PE per cycle)."""
    m = layer.matvec
    check_layout(m)
    run, bc, pe_entries = run_cycles(m, z_raw, first=True, n_in=layer.h_col if first_step else None,
                                     n_lines=-(-layer.h_col // LINE), walk=walk)
    g = gather_cycles(m, SimpleNamespace(OL=ol or default_ol(m.n_pe)))
    return StepCycles(1, run, g, elementwise_cycles(layer), int(pe_entries.sum()), m.n_pe, bc)


def sequence_cycles(layer: EIELSTM, x_raw, ol: int | None = None, dense=(),
                    walk: int = 1) -> list[SequenceCycles]:
    """Per sequence of x_raw [B, T, I]: each step's cycles (h_{t-1} from the bit-exact reference),
    then the Dense layers `dense` on h_T (flow.eie.perf_rtl); ``walk``: the engine's WALK."""
    from flow.eie.reference import eie_dense

    x = np.asarray(x_raw)
    x = x[None] if x.ndim == 2 else x
    hs, _ = lstm_sequence(x, layer)
    params = SimpleNamespace(OL=ol or default_ol(layer.matvec.n_pe), WALK=walk)
    out = []
    for b in range(x.shape[0]):
        seq = SequenceCycles(layer.name)
        h_prev = np.zeros(layer.n_hidden, np.int64)
        for t in range(x.shape[1]):
            z = layer.z(x[b, t], h_prev)[0]
            seq.steps.append(step_cycles(layer, z, ol, first_step=t == 0, walk=walk))
            h_prev = hs[b, t]
        v = hs[b, -1]
        for d in dense:
            seq.dense.append(rtl_layer_cycles(d, v, params, False).total)
            v = eie_dense(v[None], d)[0]
        out.append(seq)
    return out
