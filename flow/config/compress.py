"""Compression section of the config (read by flow.compress).

Per-layer settings are dicts keyed by layer name (`layer_sparsity: {ip1: 0.92}`); a layer
not named takes the default. Range errors are raised here, before any training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flow.eie.knobs import MAX_BITS

Method = Literal["kmeans", "ternary"]


@dataclass
class TargetConfig:
    """`compress.target`: search per-layer sparsity, code bits and index bits for one goal.

    Give exactly one of max_error_increase, max_error or storage_bytes. Every figure is measured on
    the validation split (data.validation), never on the test set.
    """

    #: allowed validation-error increase over the dense model, in percentage points (0.1 = +0.1 %)
    max_error_increase: float | None = None
    #: allowed validation error, absolute, in percent (1.5 = 1.5 %)
    max_error: float | None = None
    #: storage budget in bytes (the paper's accounting; with Huffman when `huffman` is true)
    storage_bytes: int | None = None
    #: count storage with Huffman coding (true) or with fixed-width codes and indices (false)
    huffman: bool = True
    #: candidate code bits per layer (k-means)
    bits: list[int] = field(default_factory=lambda: [3, 4, 5])
    #: also offer TTQ ternary codes (2 bits, {-W-, 0, +W+}) to every k-means layer, tried before k-means;
    #: a chosen ternary layer is trained as TTQ (layer_method ternary) by the full pipeline
    ternary: bool = False
    #: candidate pruning levels: per-layer sensitivity levels (validation-error increase, in
    #: percentage points, of pruning that layer alone without retraining)
    levels: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
    #: masked retraining epochs of each candidate (the search's proxy for the full pipeline)
    epochs: int = 1
    #: bisection steps after the levels: a candidate halfway (per-layer sparsity) between the
    #: chosen one and its neighbour across the budget, `refine` times
    refine: int = 2

    def __post_init__(self) -> None:
        given = [k for k in ("max_error_increase", "max_error", "storage_bytes") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of max_error_increase, max_error, storage_bytes (got {given or 'none'})"
            )
        if self.max_error_increase is not None and self.max_error_increase < 0:
            raise ValueError(f"max_error_increase={self.max_error_increase} must be >= 0 percentage points")
        if self.max_error is not None and not 0 < self.max_error < 100:
            raise ValueError(f"max_error={self.max_error} must be a percentage in (0, 100)")
        if self.storage_bytes is not None and self.storage_bytes <= 0:
            raise ValueError(f"storage_bytes={self.storage_bytes} must be > 0")
        if not self.bits or any(not 1 <= b <= 8 for b in self.bits):
            raise ValueError(f"bits={self.bits}: give code bits in 1..8")
        if not self.levels or any(v <= 0 for v in self.levels):
            raise ValueError(f"levels={self.levels}: give positive sensitivity levels")
        if self.epochs < 0:
            raise ValueError(f"epochs={self.epochs} must be >= 0")
        if self.refine < 0:
            raise ValueError(f"refine={self.refine} must be >= 0")


@dataclass
class DistillConfig:
    """`compress.distill`: knowledge distillation from the trained dense model (Hinton et al., 2015).

    During pruning retraining and centroid fine-tuning the loss is
    (1 - weight) * cross-entropy(labels) + weight * temperature^2 * KL(teacher || student), both
    softmaxes taken at `temperature`; the teacher is the dense model after dense training (and DSD).
    """

    #: softmax temperature of teacher and student in the distillation term (> 0; 1 = plain softmax)
    temperature: float = 4.0
    #: share of the distillation term in the loss, in (0, 1]; 1 = the teacher's outputs only
    weight: float = 0.5

    def __post_init__(self) -> None:
        import math

        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature)
                and self.temperature > 0):
            raise ValueError(f"temperature={self.temperature} must be a finite number > 0 (e.g. 4)")
        if not (isinstance(self.weight, (int, float)) and 0 < self.weight <= 1):
            raise ValueError(f"weight={self.weight} must be in (0, 1] (e.g. 0.5)")


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
    #: end every training phase with the weights of its best epoch on the validation split
    best_epoch: bool = True
    #: translate every training image by up to this many pixels (random per image, zero fill) in
    #: every training phase; images only (N x H x W x C), 0 = off (flow/compress/augment.py)
    augment_shift: int = 0
    #: (H, W, C) of one image when the training data are flat vectors and the model does not
    #: start with a Reshape (an MLP on MNIST: [28, 28, 1]); null: the data's or the Reshape's shape
    augment_image: list[int] | None = None
    #: Dense-Sparse-Dense (Han et al., ICLR 2017) after dense training: prune to dsd_sparsity,
    #: retrain dsd_epochs, restore the pruned weights (at 0) and retrain dsd_epochs dense, both at
    #: learning_rate * 0.1
    dsd: bool = False
    #: pruned fraction of DSD's sparse phase
    dsd_sparsity: float = 0.5
    #: epochs of each DSD phase (sparse, then dense again)
    dsd_epochs: int = 4
    #: automatic per-layer settings searched on the validation split, overriding layer_sparsity,
    #: layer_bits, layer_index_bits: {max_error_increase: pp over dense | max_error: % | storage_bytes:
    #: B; huffman: true; bits: [3, 4, 5]; ternary: false; levels: [pp ...]; epochs: 1; refine: 2}
    #: (flow/compress/search.py);
    #: None: the settings below as given
    target: TargetConfig | None = None
    #: knowledge distillation from the dense model during pruning retraining and centroid
    #: fine-tuning: {temperature: 4.0, weight: 0.5} (loss = (1 - weight) * CE + weight * T^2 *
    #: KL(teacher/T || student/T)); None: labels only
    distill: DistillConfig | None = None
    #: default fraction of each layer's weights pruned (0.9 keeps 10 %)
    sparsity: float = 0.6
    #: per-layer pruned fraction, e.g. {ip1: 0.92, ip2: 0.91, ip3: 0.74}
    layer_sparsity: dict[str, float] = field(default_factory=dict)
    #: pruning steps (cubic schedule up to the target); each is followed by retraining
    prune_steps: int = 3
    #: load-balance-aware pruning (ESE): every row-PE of an EIE layer keeps the same number of
    #: weights in every input column (row PEs = hls n_pe / col_groups of the layer); Dense and LSTM layers
    load_balance: bool = False
    #: retraining epochs after each pruning step
    prune_epochs: int = 8
    #: learning rate of the retraining after pruning
    prune_learning_rate: float = 1e-3
    #: default code bits: 2**bits codebook entries, code 0 is the pruned zero
    bits: int = 4
    #: per-layer code bits, e.g. {ip1: 4, ip3: 5}
    layer_bits: dict[str, int] = field(default_factory=dict)
    #: weight sharing: kmeans (trained codebook of 2**bits - 1 centroids) or ternary (TTQ: trained
    #: {-W-, 0, +W+}, 2-bit codes)
    method: Method = "kmeans"
    #: per-layer method, e.g. {ip3: ternary}
    layer_method: dict[str, Method] = field(default_factory=dict)
    #: every layer ternary (TTQ) unless layer_ternary/layer_method says otherwise; needs bits: 2
    ternary: bool = False
    #: per-layer ternary switch, e.g. {ip3: true} with layer_bits {ip3: 2} (the same as layer_method
    #: {ip3: ternary}); a ternary layer has 2-bit codes, any other code width is refused
    layer_ternary: dict[str, bool] = field(default_factory=dict)
    #: TTQ threshold: latent weights with |w| <= ternary_threshold * max|w| become 0
    ternary_threshold: float = 0.05
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
    #: LSTM pruning blocks, each pruned to the layer's sparsity: layer (one threshold over kernel and
    #: recurrent kernel), matrix (kernel and recurrent kernel apart), gate (each gate of each matrix
    #: apart); with load_balance every block is balanced over the row PEs (flow/compress/lstm.py)
    lstm_prune: Literal["layer", "matrix", "gate"] = "matrix"
    #: LSTM codebooks: layer (one for kernel and recurrent kernel) or gate (one per gate, 4 x 2**bits)
    lstm_codebook: Literal["layer", "gate"] = "layer"

    def __post_init__(self) -> None:
        for key in ("epochs", "prune_epochs", "finetune_epochs", "dsd_epochs"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}={getattr(self, key)} must be >= 0")
        if not 0 <= self.augment_shift <= 8:
            raise ValueError(f"augment_shift={self.augment_shift} must be 0..8 pixels")
        if self.augment_image is not None and (
            len(self.augment_image) != 3 or any(int(v) < 1 for v in self.augment_image)
        ):
            raise ValueError(f"augment_image={self.augment_image} must be [H, W, C] of positive sizes, e.g. [28, 28, 1]")
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
        _sparsity("dsd_sparsity", self.dsd_sparsity)
        if not 0.0 <= self.ternary_threshold < 1.0:
            raise ValueError(f"ternary_threshold={self.ternary_threshold} is out of range; use [0, 1)")
        self._check_ternary()
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

    def method_of(self, layer: str) -> str:
        if layer in self.layer_method:
            return self.layer_method[layer]
        if layer in self.layer_ternary:
            return "ternary" if self.layer_ternary[layer] else self.method
        return "ternary" if self.ternary else self.method

    def _check_ternary(self) -> None:
        """Ternary codes are 2 bits: a ternary switch with other code bits is refused."""
        for name, on in self.layer_ternary.items():
            if not isinstance(on, bool):
                raise ValueError(f"layer_ternary.{name}={on!r} must be true or false")
            m = self.layer_method.get(name)
            if m is not None and (m == "ternary") != on:
                raise ValueError(
                    f"layer_ternary.{name}={str(on).lower()} contradicts layer_method.{name}={m}; "
                    "keep one of the two"
                )
        if self.ternary and self.bits != 2:
            raise ValueError(
                f"ternary: true with bits={self.bits}: ternary codes are 2 bits; set bits: 2 (or give "
                "the ternary layers in layer_ternary/layer_method)"
            )
        for name, on in self.layer_ternary.items():
            b = self.layer_bits.get(name, self.bits)
            if on and b != 2:
                where = f"layer_bits.{name}" if name in self.layer_bits else "bits"
                raise ValueError(
                    f"layer_ternary.{name}=true with {where}={b}: ternary codes are 2 bits; "
                    f"set layer_bits.{name}: 2"
                )
        for name, b in self.layer_bits.items():
            if self.method_of(name) == "ternary" and b != 2:
                raise ValueError(f"layer_bits.{name}={b}: a ternary layer has 2-bit codes; drop the key or use 2")

    def bits_of(self, layer: str) -> int:
        if self.method_of(layer) == "ternary":
            return 2
        return self.layer_bits.get(layer, self.bits)

    def index_bits_of(self, layer: str) -> int:
        return self.layer_index_bits.get(layer, self.index_bits)

    def check_layers(self, names: list[str]) -> None:
        """Refuse per-layer keys that name no compressible layer of the model."""
        for key in ("layer_sparsity", "layer_bits", "layer_index_bits", "layer_method", "layer_ternary"):
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
