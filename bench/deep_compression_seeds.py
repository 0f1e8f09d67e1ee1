"""`bench/deep_compression.py --seeds N`: a config compressed with N seeds, mean +- std recorded.

Each seed is an independent `flow compress --seed S` run (seeds 0..N-1 added to the config's seed;
the validation split is the same for all), in `--workers` parallel processes or on a Ray cluster
(`--ray-address`, flow.compress.seeds). Every finished seed is written at once to the JSON
(bench/results/deep_compression_seeds.json, one entry per part or config), with the mean, sample
standard deviation, min and max over the seeds finished so far; "complete" says whether all N did.
A row is reproduced alone by `flow compress --config <config> --seed S` (same machine, same
TF_NUM_INTRAOP_THREADS: bit for bit; elsewhere within the spread, README "Reproducibility").
"""

from __future__ import annotations

import json
import logging
import platform
import time
from pathlib import Path

from flow.compress.seeds import run_seeds, summarize
from flow.eie.knobs import LAYOUT_KEYS

log = logging.getLogger("bench")


def goal_check(summary: dict, rows: list[dict], goal: dict | None) -> dict | None:
    """The goal on the mean: mean test error <= goal error and every seed's Huffman ratio >= goal."""
    if not goal or "error" not in summary:
        return None
    mean_ok = summary["error"]["mean"] <= goal["error"]
    ratios_ok = all(r["huffman_ratio"] >= goal["huffman_ratio"] for r in rows)
    return {"mean_error_ok": mean_ok, "every_seed_ratio_ok": ratios_ok, "met": mean_ok and ratios_ok}


def kept_rows(out: Path, key: str, settings: dict, quick: bool, seeds: list[int]) -> list[dict]:
    """The rows of seeds in `seeds` that an earlier (stopped) run recorded under `key` with the same
    settings: a rerun continues with the seeds it lacks (wall_seconds then adds both runs' times)."""
    from flow.config import FlowConfig

    saved = json.loads(out.read_text()) if out.is_file() else {}
    old = saved.get(key)
    default = FlowConfig().to_dict()

    def filled(st: dict) -> dict:  # a key added to the flow since the record counts as its default
        out = {sec: {**default[sec], **(st.get(sec) or {}), "data_dir": None} for sec in ("data", "model", "compress")}
        return {**out, "hls": st.get("hls") or {}}  # the layout, recorded for load-balanced runs

    if not old or filled(old.get("settings") or {}) != filled(settings) or old.get("quick") != quick:
        return []
    return [r for r in old.get("rows", []) if r["seed"] in seeds]


def record(out: Path, key: str, entry: dict) -> None:
    """Merge `entry` under `key` into the JSON at `out` (written to a temporary file, then moved)."""
    saved = json.loads(out.read_text()) if out.is_file() else {}
    saved[key] = entry
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(saved, indent=1))
    tmp.replace(out)


def run(
    key: str, cfg, config_label: str, n_seeds: int, out: Path, workdir: Path, *, workers: int = 1,
    ray_address: str | None = None, env: dict | None = None, goal: dict | None = None, quick: bool = False,
    command: str = "",
) -> dict:
    """Compress `cfg` with seeds cfg.seed + 0..n_seeds-1; record rows and summary under `key` in `out`."""
    seeds = [cfg.seed + i for i in range(n_seeds)]
    rows: list[dict] = []
    t0 = time.perf_counter()
    settings = {k: v for k, v in cfg.to_dict().items() if k in ("data", "model", "compress")}
    settings["data"].pop("data_dir", None)
    if cfg.compress.load_balance:  # balanced masks follow the engine's row PEs: the layout decides the numbers
        hls = cfg.to_dict()["hls"]
        settings["hls"] = {k: hls.get(k) for k in LAYOUT_KEYS}
    earlier = kept_rows(out, key, settings, quick, seeds)  # a stopped run of the same settings
    rows += earlier
    spent = sum(r["wall_seconds"] for r in earlier)
    entry = {
        "config": config_label,
        "command": command,
        "reproduce_one_row": f"flow compress --config {config_label} --data-dir <mnist> --seed S",
        "quick": quick,
        "settings": settings,
        "seeds": seeds,
        "workers": workers,
        "ray_address": ray_address,
        "env": env or {},
        "machine": {"host": platform.node(), "processor": platform.processor(), "python": platform.python_version()},
        "goal": goal,
    }

    def write(complete: bool) -> None:
        done = sorted(rows, key=lambda r: r["seed"])
        summary = summarize(done)
        entry.update(
            rows=done,
            n=len(done),
            summary=summary,
            goal_on_mean=goal_check(summary, done, goal),
            wall_seconds=spent + time.perf_counter() - t0,
            resumed_seeds=[r["seed"] for r in earlier],
            complete=complete,
        )
        record(out, key, entry)

    def on_row(row: dict) -> None:
        rows.append(row)
        write(complete=False)

    write(complete=False)
    todo = [sd for sd in seeds if sd not in {r["seed"] for r in earlier}]
    if earlier:
        log.info("%s: seeds %s already recorded with these settings; running %s", key,
                 [r["seed"] for r in earlier], todo)
    if todo:
        run_seeds(cfg, todo, workdir, workers=workers, ray_address=ray_address, env=env, on_row=on_row)
    write(complete=True)
    return entry


def describe(entry: dict) -> str:
    """One line: mean +- std (n) of test and validation error and of the Huffman ratio."""
    s = entry["summary"]

    def pm(k: str, scale: float, unit: str) -> str:
        d = s.get(k)
        if d is None:
            return "-"
        std = f" +- {scale * d['std']:.2f}" if d["std"] is not None else ""
        return f"{scale * d['mean']:.2f}{std}{unit}"

    return (f"{entry['config']}: {entry['n']} seed(s): test {pm('error', 100, ' %')}, validation "
            f"{pm('validation_error', 100, ' %')}, {pm('huffman_ratio', 1, 'x')} with Huffman, "
            f"{pm('ratio', 1, 'x')} without; {entry['wall_seconds']:.0f} s in total")


def readme_figures(entry: dict) -> list[str]:
    """The strings the README quotes for a multi-seed entry: mean +- std of the test error and of the
    Huffman ratio, and the number of seeds (tests/compress/test_compress_bench.py checks them)."""
    s, n = entry["summary"], entry["n"]
    err, hr = s["error"], s["huffman_ratio"]
    if n == 1:
        return [f"{100 * err['mean']:.2f} %", f"{hr['mean']:.1f}x", "1 seed"]
    return [f"{100 * err['mean']:.2f} ± {100 * err['std']:.2f} %", f"{hr['mean']:.1f} ± {hr['std']:.1f}x",
            f"{n} seeds"]
