"""Dense-Sparse-Dense training (Han et al., ICLR 2017) as an option for the dense baseline.

After dense training: prune every weight layer by magnitude to `dsd_sparsity` and retrain with the
mask (the sparse phase regularises: the surviving weights move to a better optimum), then restore
the pruned connections (they restart at 0) and retrain everything (the re-dense phase). Both phases
run `dsd_epochs` at a tenth of the dense learning rate, as the paper's re-dense step does. The
result is a dense model again; Deep Compression's pruning then starts from it.
"""

from __future__ import annotations

from flow.compress.prune import apply_masks, magnitude_mask
from flow.compress.train import fit
from flow.models import weight_layers


def dense_sparse_dense(model, x, y, cfg, *, validation=None, progress=True, seed=0) -> dict:
    """Run DSD on a trained `model` in place; returns {"sparse": history, "redense": history}."""
    masks = {
        layer.name: magnitude_mask(layer.kernel.numpy(), cfg.dsd_sparsity) for layer in weight_layers(model)
    }
    apply_masks(model, masks)
    common = dict(
        epochs=cfg.dsd_epochs,
        batch_size=cfg.batch_size,
        lr=cfg.learning_rate * 0.1,
        weight_decay=cfg.weight_decay,
        schedule=cfg.lr_schedule,
        validation=validation,
        progress=progress,
        restore_best=cfg.best_epoch,
        augment_shift=cfg.augment_shift,
        augment_image=cfg.augment_image,
    )
    sparse = fit(model, x, y, masks=masks, label="DSD sparse", seed=seed + 300, **common)
    redense = fit(model, x, y, label="DSD re-dense", seed=seed + 400, **common)
    return {"sparse": sparse, "redense": redense}
