"""Run networks on the RTL engine: simulate_layers() (outputs and cycles), rtlsim() (the logic
of `flow rtlsim`: accuracy, bit mismatches, cycles, the cycle model), rtl_report() (the build's
`rtl` step: simulation and synthesis, or one line naming the missing or broken tool)."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from flow.errors import FlowError, ToolMissing, UsageError
from flow.rtl import tools
from flow.rtl.images import INIT_MEMS, Images
from flow.rtl.params import EngineParams, check_fit, params_for

log = logging.getLogger(__name__)


def _trim_write(images: Images, folder: Path) -> None:
    """$readmemh files without trailing zero words, none for an all-zero memory (the harness
    starts from zeroed memories)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in INIT_MEMS:
        for k, words in enumerate(getattr(images, name)):
            nz = np.flatnonzero(words)
            if not nz.size:  # a missing image leaves the memory zero (Verilator only warns)
                continue
            n = int(nz[-1]) + 1
            (folder / f"{name}_{k:03d}.mem").write_text("".join(f"{int(w):x}\n" for w in words[:n]))
    (folder / "table.mem").write_text("".join(f"{int(w):x}\n" for w in images.table))


def simulate_layers(layers, x_raw, params: EngineParams | None = None, *, exe=None, workdir=None,
                    load_port: bool = False, preload=None, trace=None) -> dict:
    """Run x_raw [n, n_in] through the layers on the RTL engine (Verilator).

    Returns {"y": int64 [n, n_out], "layer_cycles": int64 [n, L], "period": int64 [n]}.
    The network is checked against the engine before anything is written (UsageError).
    load_port: every memory word is written through the load port (after the $readmemh images
    of ``preload``, another network's layers, if given: a model replaced at run time).
    trace: an FST file to write every cycle of the run to (the separately cached traced build).
    """
    from flow.rtl import verilator

    params = params or params_for(layers)
    images = Images(layers, params)  # fit check first
    exe = exe or verilator.build(params, trace=trace is not None)
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="eie-rtl-")) if own else Path(workdir)
    try:
        mem = work / "mem"
        load = None
        mem.mkdir(parents=True, exist_ok=True)
        if preload is not None:
            _trim_write(Images(preload, params), mem)
        if load_port:
            load = images.write_load(work / "load.txt")
        else:
            _trim_write(images, mem)
        y, cyc, period = verilator.simulate(exe, mem, x_raw, layers[-1].n_out, len(layers), load, trace=trace)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return {"y": y, "layer_cycles": cyc, "period": period}


def rtlsim(layers, x_raw, labels=None, *, params: EngineParams | None = None, out_dir=None,
           check_model: int = 200, exe=None, trace=None) -> dict:
    """Simulate x_raw [n, n_in] (raw input_t integers) through the EIE layers on the RTL engine:
    accuracy (when labels are given), bit mismatches against flow.eie.reference, cycles per
    inference, and the cycle model (flow.eie.perf_rtl) on the first ``check_model`` inputs.
    Writes <out_dir>/rtlsim.json when out_dir is given. The logic of `flow rtlsim`. ``trace``: an
    FST file of every cycle of these inputs (traced build; the summary's "trace" names it)."""
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.eie.reference import eie_network

    params = params or params_for(layers)
    check_fit(layers, params)
    t0 = time.perf_counter()
    if trace is not None:
        Path(trace).parent.mkdir(parents=True, exist_ok=True)
    res = simulate_layers(layers, x_raw, params, exe=exe, trace=trace)
    sim_s = time.perf_counter() - t0
    ref = eie_network(x_raw, layers)
    k = min(check_model, len(x_raw))
    per, model_period = rtl_network_cycles(layers, x_raw[:k], params)
    model_layers = np.array([[c.total for c in p] for p in per]).reshape(k, len(layers))
    period = res["period"]
    summary = {
        "n": int(len(x_raw)),
        "engine": params.generics(),
        "accuracy_rtl": None if labels is None else float(np.mean(np.argmax(res["y"], axis=1) == labels)),
        "bit_mismatches": int(np.count_nonzero(res["y"] != ref)),
        "cycles_mean": float(period.mean()),
        "cycles_p99": float(np.percentile(period, 99)),
        "cycles_max": int(period.max()),
        "layer_cycles_mean": [float(v) for v in res["layer_cycles"].mean(axis=0)],
        "inferences_per_s_100mhz": float(100e6 / period.mean()),
        "model_checked": k,
        "model_cycle_mismatches": int(np.count_nonzero(model_period != period[:k]))
        + int(np.count_nonzero(model_layers != res["layer_cycles"][:k])),
        "sim_s": round(sim_s, 2),
        "source": f"RTL simulation ({tools.find('verilator').label()}); cycles = inference period at back-to-back starts",
        "tool": tools.find("verilator").record(),
        "trace": None if trace is None else str(trace),
        "layers": [
            {"name": ly.name, "n_in": ly.n_in, "n_out": ly.n_out, "n_pe": ly.n_pe,
             "col_groups": ly.col_groups, "fifo_depth": ly.fifo_depth}
            for ly in layers
        ],  # fmt: skip
    }
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "rtlsim.json").write_text(json.dumps(summary, indent=1))
    return summary


def rtl_report(layers, x_raw, labels, out_dir, *, families=("xc7",), n: int = 1000) -> dict:
    """Simulation and synthesis when the tools run, else {"skipped": one line naming the missing or
    broken tool and its pip package}: the body of the build's `rtl` step. A tool that fails while
    running (a Verilator build or Yosys run) is reported the same way, with its error, so the
    optional step never takes the build down. Writes <out_dir>/rtl.json (with the tools used)."""
    from flow.rtl import estimate, yosys

    used = tools.records()
    reason = tools.skip_reason()
    if reason:
        log.warning(reason)
        return {"skipped": reason, "tools": used}
    out_dir = Path(out_dir)
    params = params_for(layers)
    check_fit(layers, params)
    try:
        sim = rtlsim(layers, x_raw[:n], None if labels is None else labels[:n], params=params, out_dir=out_dir)
        syn = {f: yosys.synthesize(params, family=f, out_dir=out_dir / f"yosys_{f}") for f in families}
    except ToolMissing as exc:
        return {"skipped": str(exc), "tools": used}
    except UsageError:
        raise
    except FlowError as exc:  # a tool that starts but fails: reported, the build goes on
        first = str(exc).strip().splitlines()[0]
        log.warning("RTL tools failed: %s", exc)
        return {"skipped": f"{first} (RTL simulation and synthesis skipped; full error in reports/rtl.json)",
                "error": str(exc), "tools": used}  # fmt: skip
    for rep in syn.values():
        rep.pop("cells", None)
    report = {"rtlsim": sim, "yosys": syn, "estimate": estimate.estimate(params), "tools": used}
    (out_dir / "rtl.json").write_text(json.dumps(report, indent=1))
    return report
