"""One config compressed with several seeds, each an independent `flow compress` run, in parallel.

A result of this flow is one draw from a distribution: the seed moves the initialisation and the
minibatch order (the validation split stays fixed), and a figure moves by about 0.1 percentage point
of test error between seeds, more than some margins it is compared by. So benchmark figures are a
mean +- standard deviation over seeds (bench/deep_compression.py --seeds N).

The seeds are independent runs: `run_seeds` gives each one a fresh worker process
(concurrent.futures.ProcessPoolExecutor, spawned, one task per process, so every seed starts from a
clean TensorFlow exactly as `flow compress --seed S` does), `workers` at a time; with `ray_address`
and `ray` installed (`pip install 'eie-flow[ray]'`) they run as Ray tasks on that cluster instead.
Each seed's row is handed to `on_row` as soon as it finishes, so a long benchmark records what
finished even when it is stopped.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

log = logging.getLogger(__name__)

#: the figures `summarize` gives mean, std, min and max of
SUMMARY_KEYS = (
    "validation_error", "error", "dense_validation_error", "dense_error", "ratio", "huffman_ratio", "wall_seconds",
)
RAY_MISSING = (
    "--ray-address {address}: ray is not installed (pip install 'eie-flow[ray]'); "
    "running the seeds in local worker processes instead"
)


def row_of(report: dict, seed: int, wall: float) -> dict:
    """One seed's row: its errors (validation chooses, test read once), ratios and chosen settings."""
    err, val = report["error"], report.get("validation_error") or {}
    return {
        "seed": seed,
        "validation_error": val.get("quantized"),
        "error": err["quantized"],
        "dense_validation_error": val.get("dense"),
        "dense_error": err["dense"],
        "errors": err,
        "validation_errors": val,
        "ratio": report["total"]["ratio"],
        "huffman_ratio": report["total"]["huffman_ratio"],
        "bytes": report["total"]["compressed_bytes"],
        "huffman_bytes": report["total"]["huffman_bytes"],
        "layers": [
            {k: d.get(k) for k in ("name", "method", "kept", "code_bits", "index_bits")} for d in report["layers"]
        ],
        "seconds": report.get("seconds", {}),
        "wall_seconds": wall,
        "determinism": report.get("determinism"),
        "host": platform.node(),
    }


def run_seed(cfg_dict: dict, seed: int, out: str, env: dict | None = None) -> dict:
    """`flow compress` of the config (as a dict) with `seed` into `out`; its row. Runs in a worker:
    `env` (e.g. the thread counts) is set before TensorFlow starts there."""
    os.environ.update(env or {})
    if not logging.getLogger().handlers:  # a spawned worker: its phases logged like the parent's
        logging.basicConfig(level=logging.INFO, format=f"%(asctime)s seed {seed} %(name)s: %(message)s")
    from flow.compress.pipeline import compress
    from flow.config import FlowConfig
    from flow.config.schema import from_dict

    cfg = from_dict(FlowConfig, {**cfg_dict, "seed": seed}, path="config")
    t0 = time.perf_counter()
    report = compress(cfg, Path(out), progress=False, force=True).report
    return row_of(report, seed, time.perf_counter() - t0)


def ray_module(address: str | None):
    """The `ray` module when an address is given and ray is importable; else None (with one message
    when an address was given)."""
    if not address:
        return None
    try:
        import ray
    except ImportError:
        log.warning(RAY_MISSING.format(address=address))
        return None
    return ray


def run_seeds(
    cfg,
    seeds: list[int],
    workdir: Path,
    *,
    workers: int = 1,
    ray_address: str | None = None,
    env: dict | None = None,
    on_row: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Compress `cfg` (a FlowConfig) once per seed into workdir/seed_<s>; the rows, by seed.

    workers: seeds run at once on this machine (each a spawned process); env: environment of
    every run (e.g. {"TF_NUM_INTRAOP_THREADS": "1"}); ray_address: run them as Ray tasks there.
    """
    if workers < 1:
        raise ValueError(f"workers={workers} must be >= 1")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds {seeds} repeat a seed")
    cfg_dict = cfg.to_dict()
    jobs = [(cfg_dict, s, str(Path(workdir) / f"seed_{s}"), dict(env or {})) for s in seeds]
    rows = []

    def done(row: dict) -> None:
        rows.append(row)
        log.info("seed %d: validation %.4f, test %.4f, %.1fx with Huffman, %.0f s", row["seed"],
                 row["validation_error"] or math.nan, row["error"], row["huffman_ratio"], row["wall_seconds"])
        if on_row is not None:
            on_row(row)

    ray = ray_module(ray_address)
    if ray is not None:
        _run_on_ray(ray, ray_address, jobs, done)
    else:
        kw = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), **kw) as pool:
            futures = [pool.submit(run_seed, *job) for job in jobs]
            for f in as_completed(futures):
                done(f.result())
    return sorted(rows, key=lambda r: r["seed"])


def _run_on_ray(ray, address: str, jobs: list, done: Callable[[dict], None]) -> None:
    ray.init(address=address, ignore_reinit_error=True)
    remote = ray.remote(run_seed)
    pending = [remote.remote(*job) for job in jobs]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        done(ray.get(ready[0]))


def summarize(rows: list[dict], keys=SUMMARY_KEYS) -> dict:
    """{key: {n, mean, std, min, max}} over the rows (std: the sample standard deviation, n - 1;
    None for one row). Rows without a value (no validation split) are left out of that key."""
    out = {}
    for k in keys:
        vals = [float(r[k]) for r in rows if r.get(k) is not None]
        if not vals:
            continue
        n = len(vals)
        mean = sum(vals) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else None
        out[k] = {"n": n, "mean": mean, "std": std, "min": min(vals), "max": max(vals)}
    return out
