"""Plots (matplotlib, Agg): weight histograms before/after sharing with centroids, sparsity masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def weight_histogram(
    name: str, before: np.ndarray, after: np.ndarray, codebook: np.ndarray, path: Path
) -> Path:
    """Surviving weights before sharing vs after (fine-tuned, quantized), centroids marked."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharex=True)
    nz_before, nz_after = before[before != 0], after[after != 0]
    bins = np.linspace(
        min(nz_before.min(initial=0), nz_after.min(initial=0)),
        max(nz_before.max(initial=0), nz_after.max(initial=0)) + 1e-9,
        80,
    )
    axes[0].hist(nz_before, bins=bins, color="tab:blue")
    axes[0].set_title(f"{name}: pruned weights ({nz_before.size:,} non-zero)")
    vals, counts = np.unique(nz_after, return_counts=True)
    axes[1].bar(vals, counts, width=(bins[1] - bins[0]) * 0.8, color="tab:orange")
    axes[1].set_title(f"{name}: after sharing ({np.count_nonzero(codebook[1:] != 0)} centroids)")
    for ax in axes:
        for c in codebook[1:]:
            ax.axvline(c, color="tab:red", lw=0.6, alpha=0.7)
        ax.set_xlabel("weight value")
    axes[0].set_ylabel("count")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def mask_image(name: str, mask: np.ndarray, path: Path) -> Path:
    """The keep-mask as an image: W (out, in), conv kernels flattened."""
    plt = _plt()
    W = mask.reshape(-1, mask.shape[-1]).T
    size = (min(12, max(5, 2 + W.shape[1] / 60)), min(8, max(3.5, 1.5 + W.shape[0] / 60)))
    fig, ax = plt.subplots(figsize=size)
    ax.imshow(W, cmap="Greys", interpolation="nearest", aspect="auto")
    ax.set_title(f"{name}: kept {100 * mask.mean():.1f}% ({int(mask.sum()):,} of {mask.size:,})")
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plots(folder: Path, before: dict, after: dict, codebooks: dict, masks: dict) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, mask in masks.items():
        out.append(
            weight_histogram(name, before[name], after[name], codebooks[name], folder / f"hist_{name}.png")
        )
        out.append(mask_image(name, mask, folder / f"mask_{name}.png"))
    return out
