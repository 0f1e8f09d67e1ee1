"""Iterative magnitude pruning with retraining; the mask is fixed afterwards.

Each step raises every layer's pruned fraction along a cubic schedule towards its target
(Zhu & Gupta's schedule, the one tensorflow-model-optimization's PolynomialDecay uses),
zeroes the smallest-magnitude survivors, and retrains with the mask applied after each
update. A weight once pruned stays pruned (masks only shrink). We keep our own masks
instead of tfmot's wrapper layers because the same mask must survive weight sharing,
centroid fine-tuning and quantization, and be saved with the model; the benchmark runs
tfmot's `prune_low_magnitude` as the off-the-shelf comparison.
"""

from __future__ import annotations

import numpy as np

from flow.compress.train import fit
from flow.models import weight_layers


def magnitude_mask(kernel: np.ndarray, sparsity: float, previous: np.ndarray | None = None) -> np.ndarray:
    """Keep-mask with round(sparsity * size) weights pruned, the smallest |w| first.

    Already-pruned weights (previous == False) are pruned first, so masks only shrink.
    """
    flat = np.abs(kernel).ravel().astype(np.float64)
    if previous is not None:
        flat = np.where(previous.ravel(), flat, -1.0)
    n_prune = round(sparsity * flat.size)
    keep = np.ones(flat.size, dtype=bool)
    if n_prune:
        keep[np.argsort(flat, kind="stable")[:n_prune]] = False
    if previous is not None:
        keep &= previous.ravel()
    return keep.reshape(kernel.shape)


def schedule(target: float, steps: int) -> list[float]:
    """Pruned fraction after each step: cubic ramp ending exactly at the target."""
    return [target * (1.0 - (1.0 - k / steps) ** 3) for k in range(1, steps + 1)]


def apply_masks(model, masks: dict[str, np.ndarray]) -> None:
    for layer in weight_layers(model):
        if layer.name in masks:
            layer.kernel.assign(layer.kernel.numpy() * masks[layer.name])


def prune(model, x, y, cfg, *, validation=None, progress=True, seed=0) -> dict[str, np.ndarray]:
    """Prune `model` in place to `cfg.sparsity_of(layer)` per layer; returns the keep-masks."""
    layers = weight_layers(model)
    masks = {layer.name: np.ones(layer.kernel.shape, dtype=bool) for layer in layers}
    plans = {layer.name: schedule(cfg.sparsity_of(layer.name), cfg.prune_steps) for layer in layers}
    for k in range(cfg.prune_steps):
        for layer in layers:
            masks[layer.name] = magnitude_mask(layer.kernel.numpy(), plans[layer.name][k], masks[layer.name])
        apply_masks(model, masks)
        fit(
            model,
            x,
            y,
            epochs=cfg.prune_epochs,
            batch_size=cfg.batch_size,
            lr=cfg.prune_learning_rate,
            weight_decay=cfg.weight_decay,
            schedule=cfg.lr_schedule,
            masks=masks,
            validation=validation,
            progress=progress,
            label=f"prune {k + 1}/{cfg.prune_steps}",
            seed=seed + 100 + k,
        )
    return masks
