"""Per-PE load bar plot of one layer (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_pe_load(cyc, path) -> Path:
    """Bar plot of busy cycles and entries per PE from a perf.LayerCycles, with the ideal and the modelled
    PE-array cycles as lines. Returns the written path (.png/.svg/.pdf by suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    pes = np.arange(cyc.n_pe)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.18 * cyc.n_pe + 2), 3.6))
    ax.bar(pes, cyc.pe_busy, color="#9ecae1", label="busy cycles (max(1, entries) per column)")
    ax.bar(pes, cyc.pe_entries, color="#3182bd", width=0.5, label="entries (incl. fillers)")
    ax.axhline(cyc.ideal, color="green", ls="--", lw=1, label=f"ideal {cyc.ideal}")
    ax.axhline(cyc.cycles, color="red", lw=1, label=f"modelled {cyc.cycles} (eff. {cyc.efficiency:.0%})")
    ax.set_xlabel("PE")
    ax.set_ylabel("cycles")
    ax.set_title(f"{cyc.name}: {cyc.n_pe} PEs, FIFO depth {cyc.fifo_depth}, B={cyc.broadcast}")
    ax.set_ylim(0, 1.1 * max(cyc.cycles, cyc.ideal, 1))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", dpi=110)
    plt.close(fig)
    return path
