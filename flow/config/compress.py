"""Compression section of the config (read by flow.compress).

Per-layer settings are dicts keyed by layer name (`layer_sparsity: {ip1: 0.92}`); a layer
not named takes the default. Range errors are raised here, before any training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flow.eie.knobs import MAX_BITS


@dataclass
class CompressConfig:
    #: epochs of dense training before pruning (0 = the model is already trained)
    epochs: int = 40
    #: minibatch size for every training phase
    batch_size: int = 64
    #: peak learning rate (Adam) of dense training
    learning_rate: float = 2e-3
    #: learning-rate schedule of each phase: cosine decay to lr * 0.01, or constant
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    #: L2 weight decay on kernels (loss += weight_decay * sum(w^2))
    weight_decay: float = 1e-4
    #: default fraction of each layer's weights pruned (0.9 keeps 10 %)
    sparsity: float = 0.6
    #: per-layer pruned fraction, e.g. {ip1: 0.92, ip2: 0.91, ip3: 0.74}
    layer_sparsity: dict[str, float] = field(default_factory=dict)
    #: pruning steps (cubic schedule up to the target); each is followed by retraining
    prune_steps: int = 3
    #: load-balance-aware pruning (ESE): every row-PE of an EIE layer keeps the same number of
    #: weights in every input column (row PEs = hls n_pe / col_groups of the layer); Dense layers only
    load_balance: bool = False
    #: retraining epochs after each pruning step
    prune_epochs: int = 8
    #: learning rate of the retraining after pruning
    prune_learning_rate: float = 1e-3
    #: default code bits: 2**bits codebook entries, code 0 is the pruned zero
    bits: int = 4
    #: per-layer code bits, e.g. {ip1: 4, ip3: 5}
    layer_bits: dict[str, int] = field(default_factory=dict)
    #: relative-index bits of the sparse storage (EIE: 4)
    index_bits: int = 4
    #: per-layer relative-index bits
    layer_index_bits: dict[str, int] = field(default_factory=dict)
    #: epochs of centroid fine-tuning after k-means (0 = none)
    finetune_epochs: int = 6
    #: learning rate of the centroid fine-tuning (Adam)
    finetune_learning_rate: float = 2e-4
    #: bits of the fixed-point weight (codebook) type
    weight_width: int = 16
    #: bits of the fixed-point activation types (inputs and outputs of every layer)
    activation_width: int = 16
    #: bits of the fixed-point bias type
    bias_width: int = 16
    #: integer bits added above the largest profiled |activation|
    integer_margin: int = 1
    #: deprecated and ignored (older config files still load): the EIE on-chip storage figure
    #: describes the array that is built, from hls.n_pe, hls.col_groups and hls.layers
    n_pe: int | None = None
    #: write the plots (weight histograms, masks)
    plots: bool = True

    def __post_init__(self) -> None:
        for key in ("epochs", "prune_epochs", "finetune_epochs"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}={getattr(self, key)} must be >= 0")
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be >= 1")
        if self.prune_steps < 1:
            raise ValueError(f"prune_steps={self.prune_steps} must be >= 1")
        for key in ("learning_rate", "prune_learning_rate", "finetune_learning_rate"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key}={getattr(self, key)} must be > 0")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay={self.weight_decay} must be >= 0")
        _sparsity("sparsity", self.sparsity)
        for name, s in self.layer_sparsity.items():
            _sparsity(f"layer_sparsity.{name}", s)
        _bits("bits", self.bits, 1, MAX_BITS)
        for name, b in self.layer_bits.items():
            _bits(f"layer_bits.{name}", b, 1, MAX_BITS)
        _bits("index_bits", self.index_bits, 1, MAX_BITS)
        for name, b in self.layer_index_bits.items():
            _bits(f"layer_index_bits.{name}", b, 1, MAX_BITS)
        for key in ("weight_width", "activation_width", "bias_width"):
            _bits(key, getattr(self, key), 4, 32)
        if not 0 <= self.integer_margin <= 8:
            raise ValueError(f"integer_margin={self.integer_margin} is out of range; use 0..8")
        if self.n_pe is not None and self.n_pe < 1:
            raise ValueError(f"n_pe={self.n_pe} must be >= 1")

    def sparsity_of(self, layer: str) -> float:
        return self.layer_sparsity.get(layer, self.sparsity)

    def bits_of(self, layer: str) -> int:
        return self.layer_bits.get(layer, self.bits)

    def index_bits_of(self, layer: str) -> int:
        return self.layer_index_bits.get(layer, self.index_bits)

    def check_layers(self, names: list[str]) -> None:
        """Refuse per-layer keys that name no compressible layer of the model."""
        for key in ("layer_sparsity", "layer_bits", "layer_index_bits"):
            unknown = sorted(set(getattr(self, key)) - set(names))
            if unknown:
                raise ValueError(
                    f"compress.{key} names unknown layer(s) {unknown}; the model's Dense/Conv2D "
                    f"layers are {names}"
                )


def _sparsity(key: str, s: float) -> None:
    if not 0.0 <= s < 1.0:
        raise ValueError(f"{key}={s} is out of range; a pruned fraction must be in [0, 1)")


def _bits(key: str, b: int, lo: int, hi: int) -> None:
    if not lo <= b <= hi:
        raise ValueError(f"{key}={b} is out of range; use {lo}..{hi} bits")
