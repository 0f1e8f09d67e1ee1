"""How far a `flow compress` result moves when only the machine's arithmetic changes.

Another machine is not at hand, so this stands in for one: the same short run (LeNet-300-100 on
MNIST, 20,000 training images, 2,000 of them the validation split, the full 10,000-image test set,
4 dense epochs, 2 pruning steps of 1 epoch, 2 fine-tuning epochs: CONFIG below) is repeated, each
time in a fresh subprocess, under

- default: the flow's settings (op determinism on, 2 intra-op threads, 1 inter-op thread);
- default again, and with another Python hash seed (PYTHONHASHSEED=1): does one machine repeat
  bit for bit, whatever the process?
- ONEDNN_MAX_CPU_ISA=AVX2: oneDNN limited to AVX2 kernels (a CPU without AVX-512);
- TF_ENABLE_ONEDNN_OPTS=0: TensorFlow's Eigen kernels instead of oneDNN's;
- TF_ENABLE_ONEDNN_OPTS=0 with ONEDNN_MAX_CPU_ISA=AVX2, and with 1 thread: does turning oneDNN off
  make the ISA (or the thread count) stop mattering?
- 1 intra-op thread (TF_NUM_INTRAOP_THREADS=1) against 2; 2 inter-op threads against 1;
- op determinism off (FLOW_OP_DETERMINISM=0), twice: its speed cost, and whether it repeats.
(oneDNN off and op determinism off run twice: is a variant that moves the result itself repeatable?)

For each: validation and test error, ratios, whether the final weights (every kernel and bias) are
bit-identical to the default run's, the largest weight difference, and the wall time.

    python bench/determinism.py [--data-dir DIR] [--only default,avx2,...] [--out bench/results/determinism.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CONFIG = {
    "data": {"name": "mnist", "train_subset": 20000, "validation": 2000},
    "model": {"name": "lenet300"},
    "compress": {
        "epochs": 4,
        "batch_size": 128,
        "prune_steps": 2,
        "prune_epochs": 1,
        "finetune_epochs": 2,
        "layer_sparsity": {"ip1": 0.92, "ip2": 0.9, "ip3": 0.7},
        "plots": False,
    },
}
#: name -> environment changes against the flow's defaults
VARIANTS = {
    "default": {},
    "default_again": {},
    "default_hashseed_1": {"PYTHONHASHSEED": "1"},
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "onednn_off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn_off_again": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "onednn_off_avx2": {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "onednn_off_1_thread": {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_NUM_INTRAOP_THREADS": "1"},
    "1_thread": {"TF_NUM_INTRAOP_THREADS": "1"},
    "2_interop_threads": {"TF_NUM_INTEROP_THREADS": "2"},
    "no_op_determinism": {"FLOW_OP_DETERMINISM": "0"},
    "no_op_determinism_again": {"FLOW_OP_DETERMINISM": "0"},
}
#: the variables the study sets; cleared in every child so the parent's environment cannot leak in
CONTROLLED = ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
              "FLOW_OP_DETERMINISM", "PYTHONHASHSEED")


def child(config: Path, out: Path) -> None:
    """In the subprocess: compress, then save every final weight (weights.npz)."""
    from flow.compress.pipeline import compress
    from flow.config import load_config

    cm = compress(load_config(config), out, progress=False, force=True)
    np.savez(out / "weights.npz", *cm.model.get_weights())


def run_variant(name: str, config: Path, data_dir: str, work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(VARIANTS[name], FLOW_DATA_DIR=data_dir, PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    out = work / name
    t0, cpu0 = time.perf_counter(), _child_cpu()
    proc = subprocess.run([sys.executable, __file__, "--child", str(config), str(out)], env=env,
                          capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
    if proc.returncode != 0:  # e.g. killed by the kernel's OOM killer on a crowded machine: recorded
        return {"env": VARIANTS[name], "failed": proc.returncode, "stderr_tail": proc.stderr[-1500:],
                "wall_seconds": wall}
    rep = json.loads((out / "report.json").read_text())
    val = rep.get("validation_error") or {}
    return {
        "env": VARIANTS[name],
        "determinism": rep.get("determinism"),
        "validation_error": val.get("quantized"),
        "error": rep["error"]["quantized"],
        "dense_validation_error": val.get("dense"),
        "dense_error": rep["error"]["dense"],
        "ratio": rep["total"]["ratio"],
        "huffman_ratio": rep["total"]["huffman_ratio"],
        "wall_seconds": wall,
        "cpu_seconds": cpu,  # user + system of the subprocess: steadier than wall on a shared machine
        "training_seconds": sum(rep["seconds"].values()),
    }


def _child_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def compare(a: Path, b: Path) -> dict:
    wa, wb = np.load(a / "weights.npz"), np.load(b / "weights.npz")
    pairs = [(wa[k], wb[k]) for k in wa.files]
    return {
        "weights_identical": all(np.array_equal(x, y) for x, y in pairs),
        "max_weight_difference": float(max(np.max(np.abs(x - y)) for x, y in pairs)),
    }


def study(data_dir: str, names: list[str], out: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "config.yaml"
        config.write_text(yaml.safe_dump(CONFIG))
        runs = {}
        for name in names:
            print(f"{name} ...", flush=True)
            runs[name] = run_variant(name, config, data_dir, work)
            print(f"  {runs[name]}", flush=True)
        runs_all = runs
        runs = {n: r for n, r in runs_all.items() if "failed" not in r}
        ref = "default" if "default" in runs else next(iter(runs))
        for name, r in runs.items():
            r.update(compare(work / ref, work / name))
            for k in ("validation_error", "error", "huffman_ratio"):
                r[f"{k}_change"] = r[k] - runs[ref][k]
            r["wall_vs_default"] = r["wall_seconds"] / runs[ref]["wall_seconds"]
            r["cpu_vs_default"] = r["cpu_seconds"] / runs[ref]["cpu_seconds"]
        groups = _agreement(runs, work)
    errs = [r["error"] for r in runs.values()]
    result = {
        "command": "python bench/determinism.py --data-dir <mnist>",
        "config": CONFIG,
        "reference": ref,
        "runs": runs_all,
        "failed": sorted(set(runs_all) - set(runs)),
        "groups_with_identical_weights": groups,
        "test_error_range_pp": 100 * (max(errs) - min(errs)),
        "machine": _machine(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


def _agreement(runs: dict, work: Path) -> list[list[str]]:
    """The variants partitioned into groups whose final weights are bit-identical."""
    groups: list[list[str]] = []
    for name in runs:
        for g in groups:
            if compare(work / g[0], work / name)["weights_identical"]:
                g.append(name)
                break
        else:
            groups.append([name])
    return groups


def _machine() -> dict:
    import platform

    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": flags, "cores": os.cpu_count(), "python": platform.python_version()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", nargs=2, metavar=("CONFIG", "OUT"), help=argparse.SUPPRESS)
    p.add_argument("--data-dir", help="MNIST idx folder (default: FLOW_DATA_DIR or ../shared/data/mnist)")
    p.add_argument("--only", default=",".join(VARIANTS), help=f"comma-separated variants of {list(VARIANTS)}")
    p.add_argument("--out", type=Path, default=HERE / "results" / "determinism.json")
    args = p.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return 0
    names = [s for s in args.only.split(",") if s]
    bad = sorted(set(names) - set(VARIANTS))
    if bad:
        p.error(f"--only: unknown variant(s) {bad}; use {list(VARIANTS)}")
    sys.path.insert(0, str(ROOT))
    from flow.testing import find_mnist_dir

    data_dir = find_mnist_dir(args.data_dir)
    if data_dir is None:
        p.error("MNIST idx files not found: pass --data-dir or set FLOW_DATA_DIR")
    res = study(str(data_dir), names, args.out)
    for name, r in res["runs"].items():
        if "failed" in r:
            print(f"{name:22s} FAILED (exit {r['failed']})")
            continue
        print(f"{name:22s} val {100 * r['validation_error']:.2f} %  test {100 * r['error']:.2f} %  "
              f"{r['huffman_ratio']:.1f}x  identical {r['weights_identical']!s:5s}  "
              f"max dw {r['max_weight_difference']:.2e}  {r['wall_seconds']:.0f} s wall, {r['cpu_seconds']:.0f} s CPU")
    print("identical weights:", res["groups_with_identical_weights"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
