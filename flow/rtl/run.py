"""Run networks on the RTL engine: simulate_layers() for EIELayers, rtlsim() for a compressed
model folder (the logic of `flow rtlsim`), rtl_step() for the `rtl` step of `flow build`."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from flow.errors import ToolMissing, UsageError
from flow.rtl.images import Images
from flow.rtl.params import EngineParams, check_fit, params_for

log = logging.getLogger(__name__)


def _trim_write(images: Images, folder: Path) -> None:
    """$readmemh files without trailing zero words, none for an all-zero memory (the harness
    starts from zeroed memories)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ent", "ptr", "cb", "bias"):
        for k, words in enumerate(getattr(images, name)):
            nz = np.flatnonzero(words)
            if not nz.size:  # a missing image leaves the memory zero (Verilator only warns)
                continue
            n = int(nz[-1]) + 1
            (folder / f"{name}_{k:03d}.mem").write_text("".join(f"{int(w):x}\n" for w in words[:n]))
    (folder / "table.mem").write_text("".join(f"{int(w):x}\n" for w in images.table))


def simulate_layers(layers, x_raw, params: EngineParams | None = None, *, exe=None, workdir=None,
                    load_port: bool = False, preload=None) -> dict:
    """Run x_raw [n, n_in] through the layers on the RTL engine (Verilator).

    Returns {"y": int64 [n, n_out], "layer_cycles": int64 [n, L], "period": int64 [n]}.
    The network is checked against the engine before anything is written (UsageError).
    load_port: every memory word is written through the load port (after the $readmemh images
    of ``preload``, another network's layers, if given: a model replaced at run time).
    """
    from flow.rtl import verilator

    params = params or params_for(layers)
    images = Images(layers, params)  # fit check first
    exe = exe or verilator.build(params)
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
        y, cyc, period = verilator.simulate(exe, mem, x_raw, layers[-1].n_out, len(layers), load)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return {"y": y, "layer_cycles": cyc, "period": period}


def eie_layers_of(model_dir, cfg=None, out_dir=None):
    """The EIE layers of a `flow compress` folder (via the EIE hls4ml backend's conversion)."""
    from flow.compress.io import load_compressed
    from flow.config import FlowConfig, load_config
    from flow.hls.convert import convert
    from flow.hls.csim import reference_covers

    model_dir = Path(model_dir)
    if cfg is None:
        cfg_path = model_dir / "config.yaml"
        cfg = load_config(cfg_path) if cfg_path.is_file() else FlowConfig()
    cm = load_compressed(model_dir)
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="eie-rtl-hls-"))
    hls_model = convert(cm, cfg.hls, out_dir)
    if not reference_covers(hls_model):
        raise UsageError(f"{model_dir}: the network has layers besides EIE Dense layers; the RTL engine runs only those")
    return cm, cfg, hls_model.eie_layers


def rtlsim(model_dir, data_dir=None, *, n: int = 0, params: EngineParams | None = None,
           out_dir=None, check_model: int = 200) -> dict:
    """Simulate a compressed model on the RTL engine over the test set: accuracy, bit
    mismatches against flow.eie.reference, cycles per inference (and against the cycle model
    on the first ``check_model`` images). Writes <out_dir>/rtlsim.json when out_dir is given."""
    from flow.data import load_dataset, set_data_dir
    from flow.eie.perf_rtl import rtl_network_cycles
    from flow.eie.reference import eie_network

    cm, cfg, layers = eie_layers_of(model_dir)
    if data_dir:
        set_data_dir(cfg.data, str(data_dir))
    ds = load_dataset(cfg.data)
    x, y = (ds.x_test, ds.y_test) if not n else (ds.x_test[:n], ds.y_test[:n])
    x_raw = layers[0].input_t.quantize(x.reshape(x.shape[0], -1))
    params = params or params_for(layers)
    check_fit(layers, params)
    t0 = time.perf_counter()
    res = simulate_layers(layers, x_raw, params)
    sim_s = time.perf_counter() - t0
    ref = eie_network(x_raw, layers)
    mism = int(np.count_nonzero(res["y"] != ref))
    k = min(check_model, x_raw.shape[0])
    _, model_period = rtl_network_cycles(layers, x_raw[:k], params)
    period = res["period"]
    summary = {
        "model_dir": str(model_dir),
        "n": int(x_raw.shape[0]),
        "engine": params.generics(),
        "accuracy_rtl": float(np.mean(np.argmax(res["y"], axis=1) == y)),
        "bit_mismatches": mism,
        "cycles_mean": float(period.mean()),
        "cycles_p99": float(np.percentile(period, 99)),
        "cycles_max": int(period.max()),
        "layer_cycles_mean": [float(v) for v in res["layer_cycles"].mean(axis=0)],
        "inferences_per_s_100mhz": float(100e6 / period.mean()),
        "model_checked": k,
        "model_cycle_mismatches": int(np.count_nonzero(model_period != period[:k])),
        "sim_s": sim_s,
        "source": "RTL simulation (Verilator)",
        "layers": [{"name": l.name, "n_in": l.n_in, "n_out": l.n_out, "n_pe": l.n_pe,
                    "col_groups": l.col_groups, "fifo_depth": l.fifo_depth} for l in layers],
    }
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "rtlsim.json").write_text(json.dumps(summary, indent=1))
    return summary


def rtl_step(model_dir, out_dir, data_dir=None, *, n: int = 1000, synth_family: str = "xc7") -> dict:
    """The `rtl` build step: simulation and synthesis when the tools are present, else one
    line saying which is missing (returned as {"skipped": reason})."""
    from flow.rtl import yosys

    missing = [t for t in ("verilator", "yosys") if not shutil.which(t)]
    if missing:
        reason = f"{' and '.join(missing)} not on PATH: RTL simulation/synthesis skipped"
        log.warning(reason)
        return {"skipped": reason}
    out_dir = Path(out_dir)
    try:
        sim = rtlsim(model_dir, data_dir, n=n, out_dir=out_dir)
        params = EngineParams(**sim["engine"])
        syn = yosys.synthesize(params, family=synth_family, out_dir=out_dir / "yosys")
    except ToolMissing as exc:
        return {"skipped": str(exc)}
    report = {"rtlsim": sim, "yosys": syn}
    (out_dir / "rtl.json").write_text(json.dumps(report, indent=1))
    return report
