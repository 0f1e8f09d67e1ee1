"""`compress.target`'s candidates evaluated at once: local worker processes or Ray tasks.

Each candidate of the search (flow.compress.search) starts from the same trained dense weights and
depends on nothing another candidate does, so they are independent runs, as the benchmark's seeds
are. On 2 cores this buys nothing (one TensorFlow training already uses both); on a bigger machine
or a Ray cluster it divides the search's wall time by the number of workers.

A worker gets everything from files (the dense model as `.keras`, the training and validation
arrays as `.npy`), or, on Ray, from the object store, so no Keras object is pickled. Every worker
seeds and pins its threads exactly as `flow compress` does (flow.compress.determinism), and the
candidates come back in the order they were asked for: the search chooses the same candidate
whichever finishes first. Concurrency here is concurrent.futures and Ray, not a scheduler of ours.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

RAY_MISSING = (
    "--ray-address {address}: ray is not installed (pip install 'eie-flow[ray]'); "
    "the search's candidates run in local worker processes instead"
)


@dataclass
class SearchRunner:
    """How the search evaluates its candidates: in this process (workers 1, the default, no Ray),
    in `workers` spawned processes, or as Ray tasks on the cluster at `ray_address`."""

    workers: int = 1
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers={self.workers} must be >= 1")

    @property
    def in_process(self) -> bool:
        return self.workers == 1 and not self.ray_address


def _worker_env() -> dict:
    """The thread settings a worker must start TensorFlow with (those of this process)."""
    from flow.compress import determinism

    keys = (determinism.INTRA_ENV, determinism.INTER_ENV, determinism.OP_DETERMINISM_ENV)
    return {k: os.environ[k] for k in keys if k in os.environ}


def evaluate_candidate(model_src, data, cfg_dict: dict, sparsity: dict, env: dict) -> dict:
    """One candidate in a fresh process: the dense model and data loaded, seeded as `flow compress`
    seeds, then the search's own proxy (flow.compress.search._candidate)."""
    os.environ.update(env)
    import tensorflow as tf

    from flow.compress import determinism
    from flow.compress.search import _candidate
    from flow.config import FlowConfig
    from flow.config.schema import from_dict

    cfg = from_dict(FlowConfig, cfg_dict, path="config")
    determinism.configure(cfg.seed)
    if isinstance(model_src, (bytes, bytearray)):  # Ray: the .keras file's bytes
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "dense.keras"
            p.write_bytes(model_src)
            model = tf.keras.models.load_model(p, compile=False)
    else:
        model = tf.keras.models.load_model(model_src, compile=False)
    if isinstance(data, (str, os.PathLike)):
        folder = Path(data)
        x, y, vx, vy = (np.load(folder / f"{k}.npy", mmap_mode="r") for k in ("x", "y", "vx", "vy"))
        x, y, vx, vy = (np.asarray(a) for a in (x, y, vx, vy))
    else:
        x, y, vx, vy = data
    from flow.compress.pipeline import row_pes_of

    return _candidate(model, model.get_weights(), x, y, (vx, vy), cfg.compress, sparsity, cfg.seed, False,
                      row_pes_of(cfg, model))


def _ray_module(address: str | None):
    if not address:
        return None
    try:
        import ray
    except ImportError:
        log.warning(RAY_MISSING.format(address=address))
        return None
    return ray


def run_candidates(
    runner: SearchRunner,
    model,
    x,
    y,
    val,
    cfg,
    sparsities: list[dict],
    in_process: Callable[[dict], dict],
) -> list[dict]:
    """The candidates of `sparsities`, in that order. `in_process(sparsity)` evaluates one here
    (used for workers 1 without Ray, so the default search is unchanged)."""
    if runner.in_process or len(sparsities) == 0:
        return [in_process(s) for s in sparsities]
    cfg_dict = cfg.to_dict()
    env = _worker_env()
    ray = _ray_module(runner.ray_address)
    with tempfile.TemporaryDirectory(prefix="flow-search-") as tmp:
        folder = Path(tmp)
        model.save(folder / "dense.keras")
        if ray is not None:
            return _on_ray(ray, runner.ray_address, (folder / "dense.keras").read_bytes(),
                           (x, y, *val), cfg_dict, sparsities, env)
        for name, arr in zip(("x", "y", "vx", "vy"), (x, y, *val)):
            np.save(folder / f"{name}.npy", np.asarray(arr))
        workers = min(runner.workers, len(sparsities))
        log.info("search: %d candidates in %d worker processes", len(sparsities), workers)
        kw = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), **kw) as pool:
            futures = [
                pool.submit(evaluate_candidate, str(folder / "dense.keras"), str(folder), cfg_dict, s, env)
                for s in sparsities
            ]
            return [f.result() for f in futures]


def _on_ray(ray, address: str, model_bytes: bytes, data: tuple, cfg_dict: dict, sparsities: list[dict],
            env: dict) -> list[dict]:
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    log.info("search: %d candidates as Ray tasks on %s", len(sparsities), address)
    remote = ray.remote(evaluate_candidate)
    model_ref, data_ref = ray.put(model_bytes), ray.put(tuple(np.asarray(a) for a in data))
    return ray.get([remote.remote(model_ref, data_ref, cfg_dict, s, env) for s in sparsities])
