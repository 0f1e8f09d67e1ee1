"""Iterative magnitude pruning with retraining; the mask is fixed afterwards.

Each step raises every layer's pruned fraction along a cubic schedule towards its target
(Zhu & Gupta's schedule, the one tensorflow-model-optimization's PolynomialDecay uses),
zeroes the smallest-magnitude survivors, and retrains with the mask applied after each
update. A weight once pruned stays pruned (masks only shrink). We keep our own masks
instead of tfmot's wrapper layers because the same mask must survive weight sharing,
centroid fine-tuning and quantization, and be saved with the model; the benchmark runs
tfmot's `prune_low_magnitude` as the off-the-shelf comparison.

Load-balance-aware pruning (ESE, Han et al., FPGA 2017), `balanced_mask`: on the EIE array row o
of W = kernel.T lives on row-PE o % R, and every non-zero activation j is broadcast to all R
row-PEs, each of which walks its own non-zeros of column j; the slowest PE sets the pace. Plain
magnitude pruning leaves some PEs with many more non-zeros of a column than others. The balanced
mask keeps the same number k_j of weights of column j on every row-PE, so every broadcast
activation costs every PE the same number of cycles, whatever the input: no PE idles waiting
for another. Layers named in `prune(..., row_pes=...)` use it (the pipeline names the Dense
layers when `compress.load_balance` is set); the others keep `magnitude_mask`.
"""

from __future__ import annotations

import numpy as np

from flow.compress.matrices import get_kernel, is_recurrent, n_inputs, set_kernel
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


def balanced_mask(
    kernel: np.ndarray, sparsity: float, row_pes: int, previous: np.ndarray | None = None
) -> np.ndarray:
    """Keep-mask (kernel layout, (n_in, n_out)) that gives every row-PE the same load per column.

    W = kernel.T; row o of W is on row-PE q = o % row_pes (R). Per column j and row-PE q the
    weights are ranked by |w|; "block" (j, l) is the l-th largest weight of every row-PE in
    column j, i.e. R weights, or only the PEs that have an l-th row (n_out < R, or the last
    level when R does not divide n_out: those PEs hold one row fewer and simply sit that level
    out). A block scores the sum of its |w|; blocks are taken best-first, and a column's levels
    always in order 0, 1, 2, ... (the scores are made non-increasing down the levels by a running
    minimum, and ties go to the lower level, then to the lower column), so column j keeps its
    k_j top levels and the mask is

      keep[j, o] = previous[j, o] and rank of |w[j, o]| among PE (o % R)'s rows of column j < k_j.

    Weights with previous == False count as |w| = -1: they rank below every live weight, add
    -1 to a block's score and are not counted as kept (the result is ANDed with previous).

    Guarantees (size = n_in * n_out, target T = round((1 - sparsity) * size), V = previous.sum()
    or size):
      - mask <= previous (masks only shrink);
      - within a (column, row-PE) the kept weights are that PE's largest live |w| of the column
        (ties broken by row order);
      - balance: each row-PE q keeps exactly min(k_j, live_qj) weights of column j, live_qj =
        its weights of column j with previous True. With previous None (live_qj = rows of q), or
        previous balanced for the same R (as this function makes it), column j has one count c_j
        and row-PE q keeps exactly min(c_j, rows of q) of it: equal on every PE with >= c_j rows;
      - count: if T >= V everything live is kept (kept == V); otherwise the block sequence is cut
        where the kept count first reaches T, at the closer of the two counts around T (a tie
        goes to the smaller), so |kept - T| <= min(R, n_out) // 2 (< R for R > 1, exact for R=1).
    For R = 1 this is `magnitude_mask` up to ties and the round() of the target.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 2:
        raise ValueError(f"balanced_mask needs a Dense kernel (n_in, n_out), got shape {kernel.shape}")
    r = int(row_pes)
    if r < 1:
        raise ValueError(f"row_pes={row_pes} must be >= 1")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity={sparsity} must be in [0, 1]")
    n_in, n_out = kernel.shape
    w = np.abs(kernel.T).astype(np.float64)  # W: (n_out, n_in)
    live = np.ones(w.shape, dtype=bool) if previous is None else np.asarray(previous, dtype=bool).T
    if live.shape != w.shape:
        raise ValueError(f"previous has shape {live.T.shape}, the kernel {kernel.shape}")
    w = np.where(live, w, -1.0)
    levels = -(-n_out // r)  # rows of the fullest PE
    # (levels, R, n_in): [l, q, j] = W[l * R + q, j]; rows past n_out are padding (-inf)
    padded = np.full((levels * r, n_in), -np.inf)
    padded[:n_out] = w
    padded = padded.reshape(levels, r, n_in)
    order = np.argsort(-padded, axis=0, kind="stable")  # per (PE, column): largest first, padding last
    ranked = np.take_along_axis(padded, order, axis=0)
    score = np.where(np.isfinite(ranked), ranked, 0.0).sum(axis=1)  # (levels, n_in)
    score = np.minimum.accumulate(score, axis=0)  # never better than the level above
    count = (ranked >= 0).sum(axis=1)  # live weights a block keeps
    best = np.argsort(-score.ravel(), kind="stable")  # level-major: ties -> lower level first
    kept = np.concatenate([[0], np.cumsum(count.ravel()[best])])
    target = round((1.0 - sparsity) * w.size)
    n = min(int(np.searchsorted(kept, target, side="left")), best.size)
    if n and kept[n] > target and target - kept[n - 1] <= kept[n] - target:
        n -= 1
    take = np.zeros(score.size, dtype=bool)
    take[best[:n]] = True
    keep_ranked = np.broadcast_to(take.reshape(levels, 1, n_in), ranked.shape)
    keep = np.empty(ranked.shape, dtype=bool)
    np.put_along_axis(keep, order, keep_ranked, axis=0)
    keep = keep.reshape(levels * r, n_in)[:n_out] & live
    return np.ascontiguousarray(keep.T)


def schedule(target: float, steps: int) -> list[float]:
    """Pruned fraction after each step: cubic ramp ending exactly at the target."""
    return [target * (1.0 - (1.0 - k / steps) ** 3) for k in range(1, steps + 1)]


def apply_masks(model, masks: dict[str, np.ndarray]) -> None:
    for layer in weight_layers(model):
        if layer.name in masks:
            set_kernel(layer, get_kernel(layer) * masks[layer.name])


def prune(
    model,
    x,
    y,
    cfg,
    *,
    validation=None,
    progress=True,
    seed=0,
    row_pes: dict[str, int] | None = None,
    start: tuple[int, dict[str, np.ndarray]] | None = None,
    on_step=None,
    teacher=None,
) -> dict[str, np.ndarray]:
    """Prune `model` in place to `cfg.sparsity_of(layer)` per layer; returns the keep-masks.

    row_pes: {Dense layer name: row PEs of its EIE array}; those layers get `balanced_mask`
    (every row-PE keeps the same number of weights per input column), the others `magnitude_mask`.
    An LSTM is pruned by flow.compress.lstm.lstm_mask (blocks of cfg.lstm_prune; balanced when named
    in row_pes).
    start: (steps already done, their masks), the model holding the weights after them (a resumed
    run); on_step(k, masks): called after step k (1-based) is retrained (flow.compress.resume).
    teacher: the dense model, distilled from during retraining when `cfg.distill` is set.
    """
    layers = weight_layers(model)
    row_pes = dict(row_pes or {})
    unknown = sorted(set(row_pes) - {layer.name for layer in layers})
    if unknown:
        raise ValueError(f"row_pes names unknown layer(s) {unknown}")
    masks = {layer.name: np.ones(get_kernel(layer).shape, dtype=bool) for layer in layers}
    first = 0
    if start is not None:
        first, done = start
        masks.update({n: np.asarray(m, dtype=bool) for n, m in done.items()})
    plans = {layer.name: schedule(cfg.sparsity_of(layer.name), cfg.prune_steps) for layer in layers}
    for k in range(first, cfg.prune_steps):
        for layer in layers:
            n, kernel = layer.name, get_kernel(layer)
            if is_recurrent(layer):  # blocks per layer / matrix / gate, balanced on the engine's rows
                from flow.compress.lstm import lstm_mask

                masks[n] = lstm_mask(kernel, plans[n][k], n_inputs(layer), getattr(cfg, "lstm_prune", "matrix"),
                                     row_pes.get(n), masks[n])
            elif n in row_pes:
                masks[n] = balanced_mask(kernel, plans[n][k], row_pes[n], masks[n])
            else:
                masks[n] = magnitude_mask(kernel, plans[n][k], masks[n])
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
            restore_best=getattr(cfg, "best_epoch", False),
            augment_shift=getattr(cfg, "augment_shift", 0),
            augment_image=getattr(cfg, "augment_image", None),
            teacher=teacher,
            distill=getattr(cfg, "distill", None),
        )
        if on_step is not None:
            on_step(k + 1, masks)
    return masks
