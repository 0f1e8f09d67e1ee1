"""`compress(cfg, out_dir)`: dense training (+ DSD) -> [target search] -> pruning -> weight sharing ->
quantization -> storage report.

Honest selection: the last `data.validation` training images are held out (flow.compress.validation);
every choice (the best epoch of each phase, the `compress.target` search) is made on them. Each
stage's validation accuracy is measured as it ends; the test set is evaluated once, at the very
end, on snapshots of every stage, for the report only (report.json "selection"). The folder of
docs/internals.md is written into a temporary folder and moved into place at the end, so an
existing output is never half overwritten.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flow.compress import determinism, io, plots, report, resume
from flow.compress.augment import image_shape
from flow.compress.io import CompressedLayer, CompressedModel
from flow.compress.lstm import check_lstm_config, lstm_storage
from flow.compress.matrices import bias_var, get_kernel, is_recurrent
from flow.compress.prune import prune
from flow.compress.quantize import choose_types, quantized_model
from flow.compress.share import as_shared, finetune, share
from flow.compress.storage import layer_storage
from flow.compress.train import check_finite, evaluate, fit
from flow.compress.validation import split
from flow.data import Dataset, load_dataset
from flow.errors import ConfigError, DataError
from flow.models import build_model, canonical, weight_layers

log = logging.getLogger(__name__)


class _Snapshots:
    """Weights of the model after each stage, evaluated on the test set only at the very end."""

    def __init__(self):
        self.weights: dict[str, list] = {}

    def take(self, stage: str, model) -> None:
        self.weights[stage] = [w.copy() for w in model.get_weights()]

    def model(self, model, stage: str):
        import tensorflow as tf

        out = tf.keras.models.clone_model(model)
        out.set_weights(self.weights[stage])
        return out

    def test_accuracy(self, model, x, y) -> dict[str, float]:
        import tensorflow as tf

        probe = tf.keras.models.clone_model(model)
        out = {}
        for stage, w in self.weights.items():
            probe.set_weights(w)
            out[stage] = evaluate(probe, x, y)
        return out


def compress(
    cfg,
    out_dir: Path,
    *,
    progress: bool = True,
    model=None,
    force: bool = False,
    dataset: Dataset | None = None,
    save_dense: bool = False,
    stages: resume.StageStore | None = None,
    search_runner=None,
) -> CompressedModel:
    """Run the whole pipeline with `cfg` (a FlowConfig) and write the compressed-model folder `out_dir`.

    model: a Keras model to compress instead of building `cfg.model` (a canonical copy is used, the
      caller's model is untouched); it is still trained for `cfg.compress.epochs`, so pass 0 for a
      trained model. dataset: an already loaded Dataset instead of `load_dataset(cfg.data)`.
    force: replace an existing `out_dir` (atomically); without it an existing folder is refused
      before any training. save_dense: also write the trained dense model (after DSD, if on) as
      `dense.keras` into the folder (benchmarks compare other routes on it). stages: where completed
      stages are kept (flow.compress.resume); a rerun continues after the last one, and the stages
      are deleted once `out_dir` is in place.
      Returns the CompressedModel (QKeras model, per-layer records, report).
    """
    from flow.config import dump_config

    out_dir = Path(out_dir)
    io.check_target(out_dir, force)  # refuse before any training
    c = cfg.compress
    ds, model, sp = prepare(cfg, model=model, dataset=dataset)
    x, y, val = sp.x_train, sp.y_train, sp.validation
    snaps = _Snapshots()

    def on_val(m) -> float | None:
        return evaluate(m, *val) if val is not None else None

    order = resume.stage_order(c)
    at, meta, arrays = resume.latest(stages, order)
    masks, shared, before, search = {}, {}, {}, None
    if at >= 0:  # a killed run's completed stages: continue after the last one
        weights, snaps.weights, masks, shared, before = resume.unpack_state(meta, arrays)
        model.set_weights(weights)
        hist, secs, val_acc, search = meta["hist"], meta["secs"], meta["val_acc"], meta["search"]
        log.info("resuming after stage %s (%s)", order[at], stages.root)

    def save(stage: str, **state) -> None:
        if stages is not None:
            m = {"hist": hist, "secs": secs, "val_acc": val_acc, "search": search}
            stages.save(stage, *resume.pack_state(model, snaps.weights, m, **state))

    if at < order.index("dense"):
        hist, secs, val_acc = train_dense(cfg, model, sp, progress=progress, snaps=snaps)
        save("dense")
    log.info("dense validation accuracy %s", val_acc["dense"])

    if c.target is not None:
        from flow.compress.search import apply_choice, check_target_against_dense, search_settings

        check_target_against_dense(c, 1 - val_acc["dense"])
        if at < order.index("search"):
            t0 = time.perf_counter()
            search = search_settings(model, x, y, val, c, cfg, progress=progress, runner=search_runner)
            secs["search"] = time.perf_counter() - t0
            save("search")
        else:
            apply_choice(search, c)

    row_pes = row_pes_of(cfg, model)
    if row_pes is not None:
        log.info("load-balance-aware pruning, row PEs per Dense/LSTM layer: %s", row_pes)
    teacher = snaps.model(model, "dense") if c.distill is not None else None  # the dense model teaches
    if at < order.index("share"):
        t0 = time.perf_counter() - secs.get("prune", 0.0)
        steps_done = max(0, at - order.index("prune-1") + 1)

        def on_step(k: int, m: dict) -> None:
            secs["prune"] = time.perf_counter() - t0
            save(f"prune-{k}", masks=m)

        masks = prune(model, x, y, c, validation=val, progress=progress, seed=cfg.seed, row_pes=row_pes,
                      start=(steps_done, masks) if steps_done else None, on_step=on_step, teacher=teacher)
        val_acc["pruned"] = on_val(model)
        snaps.take("pruned", model)
        secs["prune"] = time.perf_counter() - t0
        log.info("pruned (kept %s)", {n: round(float(m.mean()), 4) for n, m in masks.items()})
        before = {layer.name: get_kernel(layer).copy() for layer in weight_layers(model)}

        t0 = time.perf_counter()
        sharing = share(model, masks, c, seed=cfg.seed)
        val_acc["kmeans"] = on_val(model)
        snaps.take("kmeans", model)
        hist["finetune"] = finetune(model, sharing, x, y, c, validation=val, progress=progress, seed=cfg.seed,
                                    teacher=teacher)
        shared = as_shared(sharing)
        for n, s in shared.items():  # a ternary layer's zero band may have grown: the mask follows its codes
            masks[n] = s.codes != 0
        val_acc["shared"] = on_val(model)
        snaps.take("shared", model)
        secs["share"] = time.perf_counter() - t0
        save("share", masks=masks, shared=shared, before=before)

    t0 = time.perf_counter()
    calib = x[: cfg.data.calibration_samples or len(x)]
    types = choose_types(model, {n: s.centroids for n, s in shared.items()}, calib, c)
    qmodel, codebooks = quantized_model(model, shared, types)
    val_acc["quantized"] = on_val(qmodel)
    secs["quantize"] = time.perf_counter() - t0

    # the one evaluation on the test set: every choice above was made on the validation split
    t0 = time.perf_counter()
    acc = snaps.test_accuracy(model, ds.x_test, ds.y_test)
    acc["quantized"] = evaluate(qmodel, ds.x_test, ds.y_test)
    secs["test"] = time.perf_counter() - t0
    log.info("test accuracy %s", acc)

    if c.n_pe is not None:
        log.warning("compress.n_pe is deprecated and ignored: the EIE storage figure uses hls.n_pe/col_groups/layers")
    storage = []
    layers = {}
    for layer in weight_layers(model):
        n = layer.name
        bias = bias_var(layer)
        n_bias = int(bias.shape[0]) if bias is not None else 0
        if is_recurrent(layer):  # the paper's count on Keras's layout, the EIE figure on the engine's
            storage.append(lstm_storage(layer, shared[n].codes, n_bias, c, cfg.hls.knobs_of(n)))
        else:
            storage.append(
                layer_storage(
                    n,
                    shared[n].codes,
                    n_bias,
                    c.bits_of(n),
                    c.index_bits_of(n),
                    n_pe=cfg.hls.knobs_of(n)["n_pe"],
                    col_groups=cfg.hls.knobs_of(n)["col_groups"],
                    weight_width=c.weight_width,
                    eie=type(layer).__name__ == "Dense",
                )
            )
        t = types[n]
        layers[n] = CompressedLayer(
            name=n,
            codebook=codebooks[n],
            mask=masks[n],
            codes=shared[n].codes,
            code_bits=c.bits_of(n),
            index_bits=c.index_bits_of(n),
            activation=t.activation,
            input_type=t.input_type,
            weight_type=t.weight_type,
            bias_type=t.bias_type,
            output_type=t.output_type,
            gate_type=t.gate_type,
            cell_type=t.cell_type,
        )
    rep = report.build_report(
        model_name=model.name,
        dataset=ds.name,
        accuracy=acc,
        storage=storage,
        types=types,
        timings=secs,
        history=hist,
        load_balance=row_pes,
        validation_accuracy=val_acc if val is not None else None,
        selection=_selection(c, sp, hist, search),
        methods={n: c.method_of(n) for n in layers},
    )
    rep["determinism"] = {"seed": cfg.seed, **determinism.settings()}
    if at >= 0:
        rep["resumed_after"] = order[at]  # a killed run's stages were reused up to this one
    if search is not None:
        from flow.compress.search import finish

        finish(search, rep)
        rep["search"] = search
    if progress:
        report.print_table(rep)
    cm = CompressedModel(model=qmodel, layers=layers, report=rep)
    with io.atomic_folder(out_dir, force) as tmp:
        io.save_compressed(cm, tmp)
        (tmp / "config.yaml").write_text(dump_config(cfg))
        if save_dense:
            snaps.model(model, "dense").save(tmp / "dense.keras")
        if c.plots:
            after = {n: get_kernel(qmodel.get_layer(n)) for n in layers}
            plots.write_plots(tmp / "plots", before, after, codebooks, masks)
            if search is not None:
                from flow.compress.search import tradeoff_plot

                tradeoff_plot(search, tmp / "plots" / "tradeoff.png")
    if stages is not None:  # the output is in place: the kept stages have served
        stages.clear()
    cm.path = out_dir
    return cm


def _selection(c, sp, hist: dict, search) -> dict:
    """Which split chose what (report.json "selection")."""
    chosen = []
    if sp.n_val and c.best_epoch:
        best = {k: h.get("best_epoch") for k, h in hist.items() if isinstance(h, dict) and "best_epoch" in h}
        chosen.append(f"best epoch of every training phase (dense {best.get('dense')}, "
                      f"fine-tuning {best.get('finetune')})")
    if search is not None:
        chosen.append("compress.target: per-layer sparsity, code bits and index bits"
                      + (", ternary or k-means codes" if c.target.ternary else ""))
    return {
        **sp.describe(),
        "chosen_on_validation": chosen,
        "chosen_by_config": [] if search is not None else ["per-layer sparsity, code bits and index bits"],
        "test": "evaluated once, after every choice, on snapshots of each stage; used for no choice",
    }


def row_pes_of(cfg, model) -> dict[str, int] | None:
    """With compress.load_balance (ESE: equal non-zeros per row-PE in every column of each Dense or
    LSTM layer): {layer: row PEs of its engine layout, n_pe / col_groups}; else None."""
    if not cfg.compress.load_balance:
        return None
    out = {}
    for layer in weight_layers(model):
        if type(layer).__name__ in ("Dense", "LSTM"):
            k = cfg.hls.knobs_of(layer.name)
            out[layer.name] = k["n_pe"] // k["col_groups"]
    return out


def prepare(cfg, *, model=None, dataset: Dataset | None = None):
    """(dataset, model, validation split) exactly as `compress` starts: seed, data, model, checks.

    Refuses bad input (no weight layer, unknown layer names, labels beyond the outputs, a validation
    split >= the training set, an impossible compress.target) before any training.
    """
    c = cfg.compress
    determinism.configure(cfg.seed)  # seeds, op determinism, thread pools
    ds = dataset or load_dataset(cfg.data)
    model = build_model(cfg.model, ds.input_shape, ds.n_classes) if model is None else canonical(model)
    names = [layer.name for layer in weight_layers(model)]
    if not names:
        raise ConfigError("the model has no Dense or Conv2D layer to compress")
    try:
        c.check_layers(names)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    check_lstm_config(c, [layer for layer in weight_layers(model) if is_recurrent(layer)])
    if ds.y_train.max() >= model.output_shape[-1]:
        raise DataError(
            f"labels go up to {ds.y_train.max()} but the model has {model.output_shape[-1]} outputs"
        )
    sp = split(ds.x_train, ds.y_train, cfg.data)
    image_shape(model, sp.x_train, c.augment_shift, c.augment_image)  # a shift on non-images: refused before training
    if c.target is not None and sp.validation is None:
        raise ConfigError("compress.target searches on the validation split; set data.validation > 0")
    if c.target is not None:
        from flow.compress.search import check_target_before_training

        check_target_before_training(c, model, sp.x_train.shape[1:])
    return ds, model, sp


def train_dense(cfg, model, sp, *, progress: bool = True, snaps: _Snapshots | None = None):
    """Dense training (then DSD when compress.dsd) of `model` in place, as `compress` runs it.

    Returns (history, seconds, validation accuracy) dicts keyed by phase/stage ("dense",
    "dense_before_dsd"); `snaps` (if given) gets the weights of those stages.
    """
    c = cfg.compress
    x, y, val = sp.x_train, sp.y_train, sp.validation
    common = {"batch_size": c.batch_size, "validation": val, "progress": progress, "seed": cfg.seed}
    val_acc, secs, hist = {}, {}, {}
    t0 = time.perf_counter()
    hist["dense"] = fit(
        model,
        x,
        y,
        epochs=c.epochs,
        lr=c.learning_rate,
        weight_decay=c.weight_decay,
        schedule=c.lr_schedule,
        label="dense training",
        restore_best=c.best_epoch,
        augment_shift=c.augment_shift,
        augment_image=c.augment_image,
        **common,
    )
    check_finite(model, "dense model")
    secs["dense"] = time.perf_counter() - t0
    if c.dsd:
        from flow.compress.dsd import dense_sparse_dense

        val_acc["dense_before_dsd"] = evaluate(model, *val) if val is not None else None
        if snaps is not None:
            snaps.take("dense_before_dsd", model)
        t0 = time.perf_counter()
        hist["dsd"] = dense_sparse_dense(model, x, y, c, validation=val, progress=progress, seed=cfg.seed)
        secs["dsd"] = time.perf_counter() - t0
    val_acc["dense"] = evaluate(model, *val) if val is not None else None
    if snaps is not None:
        snaps.take("dense", model)
    return hist, secs, val_acc
