"""Completed stages of a `flow compress` run, kept so that a killed run resumes instead of restarting.

A run's stages (dense training, the search, each pruning step, weight sharing with fine-tuning) can
take an hour on 2 cores; a SIGKILL used to lose all of it. Each stage, as it ends, is saved into

    <out parent>/.<out name>.stages/<fingerprint>/<stage>/   (state.npz: arrays, meta.json: the rest)

written first into a hidden `.<stage>.part-*` folder and renamed into place only when complete
(`done` is its last file), so a stage killed half-way is never read back. The fingerprint hashes
everything the stages depend on (seed, data, model, compress sections; a model file's bytes; the
source of flow/compress and flow/models), so an edited config or flow starts afresh and never
resumes from stale weights; folders of other fingerprints are deleted when a run starts. A rerun
loads the completed stages and continues after the last one; every phase reseeds its own random
generators, so the result equals an uninterrupted run's. The folder is deleted once the output is
in place. The caller holds the output's lock (flow.outdir.OutputLock) while a store is in use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SUFFIX = "stages"


def fingerprint(cfg) -> str:
    """Hash of what the stages depend on: config sections, a model file, the flow's training code."""
    from flow.config.schema import to_dict

    h = hashlib.sha256()
    d = to_dict(cfg)
    h.update(json.dumps({k: d.get(k) for k in ("seed", "data", "model", "compress")}, sort_keys=True,
                        default=str).encode())
    name = Path(str(cfg.model.name))
    if name.suffix in (".h5", ".keras") and name.is_file():
        h.update(name.read_bytes())
    root = Path(__file__).resolve().parent.parent
    for src in sorted([*root.joinpath("compress").glob("*.py"), root / "models.py", root / "data.py"]):
        if src.is_file():
            h.update(src.name.encode() + src.read_bytes())
    return h.hexdigest()[:16]


def stages_root(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.{SUFFIX}"


class StageStore:
    """Save and load the completed stages of one run (see module docstring)."""

    def __init__(self, out_dir: Path, fp: str):
        self.base = stages_root(out_dir)
        self.root = self.base / fp
        self.loaded: list[str] = []
        if self.base.is_dir():  # other fingerprints: an edited config or flow, never resumed from
            for old in self.base.iterdir():
                if old.name != fp:
                    shutil.rmtree(old, ignore_errors=True)
        if self.root.is_dir():  # a killed save's half-written stage
            for part in self.root.glob(".*.part-*"):
                shutil.rmtree(part, ignore_errors=True)

    def completed(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "done").is_file())

    def has(self, stage: str) -> bool:
        return (self.root / stage / "done").is_file()

    def save(self, stage: str, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(prefix=f".{stage}.part-", dir=self.root))
        try:
            np.savez(part / "state.npz", **arrays)
            (part / "meta.json").write_text(json.dumps(meta, default=_json_default))
            (part / "done").write_text("")
            final = self.root / stage
            if final.exists():
                shutil.rmtree(final)
            part.rename(final)
        finally:
            if part.exists():
                shutil.rmtree(part, ignore_errors=True)
        log.info("stage %s saved (a killed run resumes after it)", stage)

    def load(self, stage: str) -> tuple[dict, dict[str, np.ndarray]] | None:
        """(meta, arrays) of a completed stage, or None; a damaged stage counts as not done."""
        d = self.root / stage
        if not (d / "done").is_file():
            return None
        try:
            meta = json.loads((d / "meta.json").read_text())
            with np.load(d / "state.npz") as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            log.warning("stage %s cannot be read back (%s); recomputing it", stage, exc)
            shutil.rmtree(d, ignore_errors=True)
            return None
        self.loaded.append(stage)
        log.info("stage %s resumed from %s", stage, d)
        return meta, arrays

    def clear(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def pack_weights(prefix: str, weights: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}/{i}": w for i, w in enumerate(weights)}


def unpack_weights(prefix: str, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    n = sum(1 for k in arrays if k.startswith(prefix + "/"))
    return [arrays[f"{prefix}/{i}"] for i in range(n)]


def pack_masks(prefix: str, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}/{n}": m for n, m in masks.items()}


def unpack_masks(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def stage_order(c) -> list[str]:
    """The stages of a run with compress settings `c`, in order."""
    return ["dense", *(["search"] if c.target is not None else []),
            *(f"prune-{k}" for k in range(1, c.prune_steps + 1)), "share"]


def latest(store: StageStore | None, order: list[str]):
    """(index in `order`, meta, arrays) of the last completed stage, or (-1, None, None)."""
    if store is None:
        return -1, None, None
    done = set(store.completed())
    for i in range(len(order) - 1, -1, -1):
        if order[i] in done:
            got = store.load(order[i])
            if got is not None:
                return i, got[0], got[1]
    return -1, None, None


def pack_state(model, snaps: dict[str, list], meta: dict, masks=None, shared=None, before=None):
    """(meta, arrays) of a stage: the model's weights, every snapshot so far, masks, shared codes."""
    arrays = pack_weights("model", model.get_weights())
    for stage, w in snaps.items():
        arrays.update(pack_weights(f"snap.{stage}", w))
    arrays.update(pack_masks("mask", masks or {}))
    arrays.update(pack_masks("before", before or {}))
    for n, s in (shared or {}).items():
        arrays[f"codes/{n}"], arrays[f"centroids/{n}"] = s.codes, s.centroids
    return {**meta, "snaps": list(snaps)}, arrays


def unpack_state(meta: dict, arrays: dict):
    """(model weights, snapshots, masks, shared, before) of a stage written by pack_state."""
    from flow.compress.train import Shared

    snaps = {s: unpack_weights(f"snap.{s}", arrays) for s in meta.get("snaps", [])}
    codes = unpack_masks("codes", arrays)
    shared = {n: Shared(codes=c, centroids=arrays[f"centroids/{n}"]) for n, c in codes.items()}
    masks = {n: m.astype(bool) for n, m in unpack_masks("mask", arrays).items()}
    return unpack_weights("model", arrays), snaps, masks, shared, unpack_masks("before", arrays)
