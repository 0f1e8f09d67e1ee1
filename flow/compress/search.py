"""`compress.target`: per-layer sparsity, code bits and index bits chosen on the validation split.

The search runs between dense training and pruning, on the trained dense model, and only ever
looks at the validation split:

1. Sensitivity (Deep Compression, Sec. 3): each layer alone is pruned by magnitude to every
   sparsity of SPARSITIES without retraining; its validation-error increase is recorded.
2. Candidates: for each level L of `target.levels` (percentage points), every layer takes the
   largest sparsity whose increase alone stays <= L (insensitive layers are pruned harder).
3. Proxy of the full pipeline per candidate: one-shot pruning from the dense weights, then
   `target.epochs` of masked retraining; per layer the cheapest code option whose sharing (that
   layer alone) adds <= BIT_TOLERANCE percentage points: with `target.ternary` TTQ's ternary codes
   (2 bits) first, then k-means with the code bits of `target.bits`, fewest first; a layer the config
   makes ternary (layer_method/layer_ternary) keeps its ternary codes. The ternary proxy is TTQ's
   start (each scale the mean |w| of its side, no training), so it errs on the safe side. All layers
   shared together give the candidate's validation error. Index bits do not change the error: per
   layer the width with the smallest storage is computed exactly from the codes.
4. The candidates form the trade-off curve (storage vs validation error; report.json "search",
   plots/tradeoff.png). The smallest candidate within the error budget (or the most accurate one
   within the storage budget) is taken; the full pipeline (iterative pruning, fine-tuning) then
   runs with its settings, and the final validation error is checked against the target.
   Before choosing, `target.refine` bisection steps add a candidate halfway (per-layer sparsity)
   between the best candidate and its neighbour across the budget (the levels are coarse).

With `compress.load_balance`, every mask of the search (sensitivity and candidates) is the
load-balanced one the full pipeline will make (flow.compress.prune.balanced_mask over the engine
layout's row PEs), so a candidate's error includes what balancing costs: with magnitude masks the
proxy chose LeNet-300-100 settings for the 64-PE layout that the balanced pipeline then missed by
about 0.9 points of test error (2.51 % and 2.39 % on two seeds, measured 2026-12-07).

Cost: len(SPARSITIES) x layers validation passes, then per candidate (level or refinement step)
`target.epochs` training epochs plus (layers x code options + 1) k-means/ternary and validation
passes. Measured on the shared 2-core machine (2026-12-05, examples/lenet300_mnist_target.yaml: 10
levels, 3 refinements, 12 candidates, bits [3, 4, 5]): 285 s, 1.3x its 223 s of dense training;
`target.ternary` adds one validation pass per layer and candidate.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from flow.compress.prune import apply_masks, balanced_mask, magnitude_mask
from flow.compress.share import kmeans_codebook
from flow.compress.storage import layer_storage
from flow.compress.train import evaluate, fit
from flow.errors import ConfigError
from flow.models import weight_layers

log = logging.getLogger(__name__)

SPARSITIES = (0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98)
INDEX_BITS = tuple(range(2, 9))
#: validation-error increase (percentage points) a layer's code bits may add in the proxy
BIT_TOLERANCE = 0.05


def _storage_bits(codes, n_bias, bits, index_bits, huffman: bool) -> int:
    s = layer_storage("x", codes, n_bias, bits, index_bits, eie=False)
    return s.huffman_total_bits if huffman else s.total_bits


def best_index_bits(codes, n_bias: int, bits: int, huffman: bool) -> tuple[int, int]:
    """(index bits, storage bits) with the smallest storage for these codes."""
    return min(((ib, _storage_bits(codes, n_bias, bits, ib, huffman)) for ib in INDEX_BITS), key=lambda t: t[1])


def storage_floor(model, c) -> int:
    """A lower bound (bytes) of any candidate's storage: biases, codebooks at the fewest bits, and the
    entries left at the largest searched sparsity at 2 bits each (1-bit code + 1-bit index)."""
    t = c.target
    bits = 0
    for layer in weight_layers(model):
        n_bias = int(layer.bias.shape[0]) if layer.use_bias else 0
        size = int(np.prod(layer.kernel.shape))
        entries = size - round(max(SPARSITIES) * size)
        fewest = min(code_options(c, layer.name), key=lambda o: o[1])[1]
        per_entry = 2 if t.huffman else fewest + 1
        bits += 32 * n_bias + 32 * 2 ** fewest + entries * per_entry
    return math.ceil(bits / 8)


def check_target_before_training(c, model, input_shape) -> None:
    """Refuse a target no candidate can meet, with the numbers, before any training."""
    t = c.target
    if t.storage_bytes is not None:
        floor = storage_floor(model, c)
        if t.storage_bytes < floor:
            raise ConfigError(
                f"compress.target.storage_bytes={t.storage_bytes} cannot be met: even at "
                f"{100 * max(SPARSITIES):.0f} % sparsity with the fewest code bits the biases, codebooks "
                f"and entries of {model.name} take at least {floor} bytes; raise the budget"
            )


def check_target_against_dense(c, dense_error: float) -> None:
    """An absolute error budget at or below the dense model's validation error is refused before
    any compression training (percent values in the message)."""
    t = c.target
    if t.max_error is not None and t.max_error <= 100 * dense_error:
        raise ConfigError(
            f"compress.target.max_error={t.max_error} % cannot be met: the dense model already has "
            f"{100 * dense_error:.2f} % validation error; allow more than that (or use max_error_increase)"
        )


def prune_mask(layer, kernel, sparsity: float, row_pes: dict | None):
    """The mask the full pipeline's pruning would make: balanced over the row PEs of the engine
    layout for a Dense layer under compress.load_balance (flow.compress.prune.balanced_mask), else
    by magnitude. So the search sees what load balancing costs, not the looser magnitude mask."""
    if row_pes and layer.name in row_pes and type(layer).__name__ == "Dense":
        return balanced_mask(kernel, sparsity, int(row_pes[layer.name]))
    return magnitude_mask(kernel, sparsity)


def sensitivity(model, val, layers, row_pes: dict | None = None) -> dict[str, list[float]]:
    """Validation-error increase (pp) of pruning each layer alone to each of SPARSITIES."""
    base = 1 - evaluate(model, *val)
    out = {}
    for layer in layers:
        kernel = layer.kernel.numpy()
        row = []
        for s in SPARSITIES:
            layer.kernel.assign(kernel * prune_mask(layer, kernel, s, row_pes))
            row.append(100 * (1 - evaluate(model, *val) - base))
        layer.kernel.assign(kernel)
        out[layer.name] = row
    return out


def sparsity_at(curve: list[float], level: float) -> float:
    """The largest searched sparsity whose error increase is <= level (0 if none)."""
    ok = [s for s, inc in zip(SPARSITIES, curve) if inc <= level]
    return max(ok) if ok else 0.0


def code_options(c, name: str) -> list[tuple[str, int]]:
    """(method, code bits) a layer may take, cheapest first."""
    if c.method_of(name) == "ternary":
        return [("ternary", 2)]
    return ([("ternary", 2)] if c.target.ternary else []) + [("kmeans", b) for b in sorted(c.target.bits)]


def _share_proxy(kernel, mask, method: str, bits: int, c, seed: int):
    if method == "ternary":
        from flow.compress.ternary import Ternary

        return Ternary.init(kernel, mask, c.ternary_threshold).shared()
    return kmeans_codebook(kernel, mask, bits, seed)


def _candidate(model, dense_w, x, y, val, c, sparsity: dict, seed: int, progress: bool,
               row_pes: dict | None = None) -> dict:
    layers = weight_layers(model)
    model.set_weights(dense_w)
    masks = {layer.name: prune_mask(layer, layer.kernel.numpy(), sparsity[layer.name], row_pes) for layer in layers}
    apply_masks(model, masks)
    t = c.target
    fit(
        model,
        x,
        y,
        epochs=t.epochs,
        batch_size=c.batch_size,
        lr=c.prune_learning_rate,
        weight_decay=c.weight_decay,
        schedule=c.lr_schedule,
        masks=masks,
        progress=progress,
        label="search",
        seed=seed,
        augment_shift=c.augment_shift,
        augment_image=c.augment_image,
    )
    pruned_err = 100 * (1 - evaluate(model, *val))
    kernels = {layer.name: layer.kernel.numpy() for layer in layers}
    bits, shared, methods = {}, {}, {}
    for layer in layers:
        n = layer.name
        for method, b in code_options(c, n):
            s = _share_proxy(kernels[n], masks[n], method, b, c, seed)
            layer.kernel.assign(s.centroids[s.codes])
            err = 100 * (1 - evaluate(model, *val))
            bits[n], shared[n], methods[n] = b, s, method
            if err - pruned_err <= BIT_TOLERANCE:
                break
        layer.kernel.assign(kernels[n])
    for layer in layers:
        s = shared[layer.name]
        layer.kernel.assign(s.centroids[s.codes])
    err = 100 * (1 - evaluate(model, *val))
    index_bits, total = {}, 0
    for layer in layers:
        n = layer.name
        n_bias = int(layer.bias.shape[0]) if layer.use_bias else 0
        index_bits[n], b = best_index_bits(shared[n].codes, n_bias, bits[n], t.huffman)
        total += b
    return {
        "sparsity": dict(sparsity),
        "bits": bits,
        "methods": methods,
        "index_bits": index_bits,
        "pruned_validation_error": pruned_err,
        "validation_error": err,
        "bytes": total / 8,
    }


def choose(points: list[dict], t, dense_error_pct: float) -> tuple[int, bool]:
    """Index of the chosen candidate and whether it meets the target (on the proxy)."""
    if t.storage_bytes is not None:
        ok = [i for i, p in enumerate(points) if p["bytes"] <= t.storage_bytes]
        if ok:
            return min(ok, key=lambda i: (points[i]["validation_error"], points[i]["bytes"])), True
        return min(range(len(points)), key=lambda i: points[i]["bytes"]), False
    budget = t.max_error if t.max_error is not None else dense_error_pct + t.max_error_increase
    ok = [i for i, p in enumerate(points) if p["validation_error"] <= budget]
    if ok:
        return min(ok, key=lambda i: (points[i]["bytes"], points[i]["validation_error"])), True
    return min(range(len(points)), key=lambda i: (points[i]["validation_error"], points[i]["bytes"])), False


def _feasible(p: dict, t, dense_error_pct: float) -> bool:
    if t.storage_bytes is not None:
        return p["bytes"] <= t.storage_bytes
    budget = t.max_error if t.max_error is not None else dense_error_pct + t.max_error_increase
    return p["validation_error"] <= budget


def neighbours(points: list[dict], t, dense_error_pct: float) -> tuple[int, int] | None:
    """(chosen candidate, its neighbour in storage on the other side of the budget), or None.

    Storage budget: the largest candidate within it and the next larger one. Error budget: the
    smallest candidate within it and the next smaller one (which misses it)."""
    order = sorted(range(len(points)), key=lambda i: points[i]["bytes"])
    ok = [_feasible(points[i], t, dense_error_pct) for i in order]
    if not any(ok) or all(ok):
        return None
    if t.storage_bytes is not None:
        k = max(j for j, f in enumerate(ok) if f)
        return (order[k], order[k + 1]) if k + 1 < len(order) else None
    k = min(j for j, f in enumerate(ok) if f)
    return (order[k], order[k - 1]) if k > 0 else None


def search_settings(model, x, y, val, c, cfg, *, progress: bool = True, runner=None) -> dict:
    """Run the search on the trained dense `model` (restored afterwards) and write the chosen
    per-layer settings into `c` (layer_sparsity, layer_bits, layer_index_bits).

    runner: a flow.compress.search_workers.SearchRunner: the level candidates (independent runs)
    in worker processes or on Ray; None or one worker evaluates them here, one after another."""
    from flow.compress.search_workers import SearchRunner, run_candidates

    runner = runner or SearchRunner()
    t = c.target
    dense_w = model.get_weights()
    dense_err = 100 * (1 - evaluate(model, *val))
    check_target_against_dense(c, dense_err / 100)
    layers = weight_layers(model)
    from flow.compress.pipeline import row_pes_of

    row_pes = row_pes_of(cfg, model)  # load-balanced masks in the proxy when the pipeline uses them
    sens = sensitivity(model, val, layers, row_pes)

    def here(sparsity: dict) -> dict:
        return _candidate(model, dense_w, x, y, val, c, sparsity, cfg.seed, progress, row_pes)

    def evaluate_all(sparsities: list[dict]) -> list[dict]:
        if not runner.in_process:
            model.set_weights(dense_w)  # the workers start from the dense weights
        return run_candidates(runner, model, x, y, val, cfg, sparsities, here)

    levels, wanted, seen = [], [], set()
    for level in sorted(t.levels):
        sparsity = {layer.name: sparsity_at(sens[layer.name], level) for layer in layers}
        key = tuple(sorted(sparsity.items()))
        if key in seen:
            continue
        seen.add(key)
        levels.append(level)
        wanted.append(sparsity)
    points = []
    for level, p in zip(levels, evaluate_all(wanted)):
        p["level"] = level
        log.info("search level %.2f pp: %s", level, p)
        points.append(p)
    for _ in range(t.refine):
        pair = neighbours(points, t, dense_err)
        if pair is None:
            break
        a, b = (points[k]["sparsity"] for k in pair)
        sparsity = {n: round((a[n] + b[n]) / 2, 4) for n in a}
        key = tuple(sorted(sparsity.items()))
        if key in seen:
            break
        seen.add(key)
        p = evaluate_all([sparsity])[0]
        p["level"] = None  # a bisection step
        log.info("search refine: %s", p)
        points.append(p)
    model.set_weights(dense_w)
    i, met = choose(points, t, dense_err)
    budget = None
    if t.max_error_increase is not None:
        budget = dense_err + t.max_error_increase
    elif t.max_error is not None:
        budget = t.max_error
    out = {
        "target": {k: getattr(t, k) for k in ("max_error_increase", "max_error", "storage_bytes", "huffman")},
        "split": "validation",
        "dense_validation_error": dense_err,
        "error_budget": budget,
        "sensitivity": {"sparsities": list(SPARSITIES), "increase_pp": sens},
        "curve": points,
        "chosen": i,
        "met_by_proxy": met,
        "proxy": f"one-shot pruning + {t.epochs} masked epoch(s) + k-means (or TTQ's initial ternary "
                 "scales) without fine-tuning",
    }
    apply_choice(out, c)
    return out


def apply_choice(search: dict, c) -> None:
    """Write the chosen candidate's per-layer settings into the compress config `c`."""
    chosen = search["curve"][search["chosen"]]
    c.layer_sparsity.update(chosen["sparsity"])
    c.layer_bits.update(chosen["bits"])
    c.layer_index_bits.update(chosen["index_bits"])
    c.layer_method.update(chosen.get("methods", {}))


def finish(search: dict, rep: dict) -> None:
    """Check the full pipeline's result (validation error, storage) against the target."""
    t = search["target"]
    val_err = 100 * rep["validation_error"]["quantized"]
    size = rep["total"]["huffman_bytes" if t["huffman"] else "compressed_bytes"]
    if t["storage_bytes"] is not None:
        met = size <= t["storage_bytes"]
    else:
        met = val_err <= search["error_budget"]
    search["final"] = {"validation_error": val_err, "bytes": size, "met": bool(met)}


def tradeoff_plot(search: dict, path) -> None:
    from flow.compress.plots import _plt

    plt = _plt()
    pts = sorted(search["curve"], key=lambda p: p["bytes"])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p["bytes"] / 1024 for p in pts], [p["validation_error"] for p in pts], "o-", label="candidates (proxy)")
    ch = search["curve"][search["chosen"]]
    ax.plot([ch["bytes"] / 1024], [ch["validation_error"]], "r*", ms=14, label="chosen")
    if "final" in search:
        f = search["final"]
        ax.plot([f["bytes"] / 1024], [f["validation_error"]], "gs", label="full pipeline")
    if search.get("error_budget") is not None:
        ax.axhline(search["error_budget"], color="gray", ls="--", label="error budget")
    if search["target"]["storage_bytes"] is not None:
        ax.axvline(search["target"]["storage_bytes"] / 1024, color="gray", ls="--", label="storage budget")
    ax.set_xlabel("storage (KB)" + (", Huffman" if search["target"]["huffman"] else ""))
    ax.set_ylabel("validation error (%)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
