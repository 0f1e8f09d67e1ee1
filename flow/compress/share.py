"""Trained weight sharing: per-layer k-means over the surviving weights, then centroid fine-tuning.

Code 0 is reserved for the pruned zero, so `bits` give 2**bits - 1 non-zero centroids.
Centroids start LINEARLY spaced between the smallest and largest surviving weight
(Deep Compression's best init: it keeps the few large weights represented) and k-means
runs once from there (scikit-learn KMeans, n_init=1). Fine-tuning (flow.compress.train,
`shared=`) sums each cluster's kernel gradients into its centroid.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from flow.compress.matrices import get_kernel, is_recurrent, set_kernel
from flow.compress.train import Shared, fit
from flow.models import weight_layers


def kmeans_codebook(kernel: np.ndarray, mask: np.ndarray, bits: int, seed: int = 0) -> Shared:
    """Codebook (length 2**bits, [0] == 0, the rest ascending) and codes (0 where pruned)."""
    n_centroids = 2**bits - 1
    values = kernel[mask].astype(np.float64)
    codebook = np.zeros(2**bits, dtype=np.float32)
    codes = np.zeros(kernel.shape, dtype=np.int32)
    if values.size == 0:
        return Shared(codes=codes, centroids=codebook)
    distinct = np.unique(values)
    if distinct.size <= n_centroids:  # fewer distinct weights than clusters: each is its own centroid
        centers = distinct
        labels = np.searchsorted(distinct, values)
    else:
        init = np.linspace(values.min(), values.max(), n_centroids).reshape(-1, 1)
        km = KMeans(n_clusters=n_centroids, init=init, n_init=1, random_state=seed).fit(values.reshape(-1, 1))
        centers = km.cluster_centers_.ravel()
        order = np.argsort(centers)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        centers, labels = centers[order], rank[km.labels_]
    codebook[1 : 1 + centers.size] = centers
    if centers.size < n_centroids:  # unused entries repeat the largest centroid (never referenced)
        codebook[1 + centers.size :] = centers[-1]
    codes[mask] = labels + 1
    return Shared(codes=codes, centroids=codebook)


def share(model, masks: dict[str, np.ndarray], cfg, seed: int = 0) -> dict:
    """Share every weight layer's weights and write the shared kernels into `model`.

    k-means layers give a `Shared`; layers whose `cfg.method_of` is "ternary" give a
    `flow.compress.ternary.Ternary` (its `.shared()` is the 2-bit Shared view).
    """
    from flow.compress.ternary import Ternary

    result = {}
    for layer in weight_layers(model):
        n = layer.name
        if cfg.method_of(n) == "ternary":
            t = Ternary.init(layer.kernel.numpy(), masks[n], cfg.ternary_threshold)
            layer.kernel.assign(t.kernel())
            result[n] = t
            continue
        kernel = get_kernel(layer)
        if is_recurrent(layer) and getattr(cfg, "lstm_codebook", "layer") == "gate":
            from flow.compress.lstm import gate_codebook

            s = gate_codebook(kernel, masks[n], cfg.bits_of(n), seed)
        else:
            s = kmeans_codebook(kernel, masks[n], cfg.bits_of(n), seed)
        set_kernel(layer, s.centroids[s.codes])
        result[n] = s
    return result


def as_shared(shared: dict) -> dict[str, Shared]:
    """Every layer as a Shared (codes + codebook): ternary layers give their current 2-bit view."""
    return {n: (s if isinstance(s, Shared) else s.shared()) for n, s in shared.items()}


def finetune(model, shared: dict, x, y, cfg, *, validation=None, progress=True, seed=0, teacher=None) -> dict:
    """Centroid fine-tuning in place (k-means codes, hence their masks, never change); ternary
    layers train their latent weights and scales (TTQ), so their codes may change. teacher: the
    dense model, distilled from when `cfg.distill` is set."""
    from flow.compress.ternary import Ternary

    kmeans = {n: s for n, s in shared.items() if isinstance(s, Shared)}
    ternary = {n: s for n, s in shared.items() if isinstance(s, Ternary)}
    return fit(
        model,
        x,
        y,
        epochs=cfg.finetune_epochs,
        batch_size=cfg.batch_size,
        lr=cfg.finetune_learning_rate,
        weight_decay=0.0,
        schedule=cfg.lr_schedule,
        shared=kmeans,
        ternary=ternary,
        validation=validation,
        progress=progress,
        label="centroid fine-tuning",
        seed=seed + 200,
        augment_shift=getattr(cfg, "augment_shift", 0),
        augment_image=getattr(cfg, "augment_image", None),
        restore_best=getattr(cfg, "best_epoch", False),
        teacher=teacher,
        distill=getattr(cfg, "distill", None),
    )
