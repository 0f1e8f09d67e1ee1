"""`compress(cfg, out_dir)`: dense training -> pruning -> weight sharing -> quantization -> storage report.

Accuracy is measured on the test set after every stage; the folder of docs/internals.md is
written into a temporary folder and moved into place at the end, so an existing output is
never half overwritten.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flow.compress import io, plots, report
from flow.compress.io import CompressedLayer, CompressedModel
from flow.compress.prune import prune
from flow.compress.quantize import choose_types, quantized_model
from flow.compress.share import finetune, share
from flow.compress.storage import layer_storage
from flow.compress.train import check_finite, evaluate, fit
from flow.data import Dataset, load_dataset
from flow.errors import ConfigError, DataError
from flow.models import build_model, canonical, weight_layers

log = logging.getLogger(__name__)


def _split(ds: Dataset, fraction: float):
    n_val = int(len(ds.x_train) * fraction)
    if n_val == 0:
        return ds.x_train, ds.y_train, None
    return ds.x_train[:-n_val], ds.y_train[:-n_val], (ds.x_train[-n_val:], ds.y_train[-n_val:])


def compress(
    cfg,
    out_dir: Path,
    *,
    progress: bool = True,
    model=None,
    force: bool = False,
    dataset: Dataset | None = None,
) -> CompressedModel:
    """Run the whole pipeline with `cfg` (a FlowConfig) and write the compressed-model folder `out_dir`.

    model: a Keras model to compress instead of building `cfg.model` (a canonical copy is used, the
      caller's model is untouched); it is still trained for `cfg.compress.epochs`, so pass 0 for a
      trained model. dataset: an already loaded Dataset instead of `load_dataset(cfg.data)`.
    force: replace an existing `out_dir` (atomically); without it an existing folder is refused
      before any training. Returns the CompressedModel (QKeras model, per-layer records, report).
    """
    import tensorflow as tf

    from flow.config import dump_config

    out_dir = Path(out_dir)
    io.check_target(out_dir, force)  # refuse before any training
    c = cfg.compress
    tf.keras.utils.set_random_seed(cfg.seed)
    ds = dataset or load_dataset(cfg.data)
    model = build_model(cfg.model, ds.input_shape, ds.n_classes) if model is None else canonical(model)
    names = [layer.name for layer in weight_layers(model)]
    if not names:
        raise ConfigError("the model has no Dense or Conv2D layer to compress")
    try:
        c.check_layers(names)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    x, y, val = _split(ds, cfg.data.validation_split)
    if ds.y_train.max() >= model.output_shape[-1]:
        raise DataError(
            f"labels go up to {ds.y_train.max()} but the model has {model.output_shape[-1]} outputs"
        )
    common = {"batch_size": c.batch_size, "validation": val, "progress": progress, "seed": cfg.seed}
    acc, secs, hist = {}, {}, {}
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
        **common,
    )["val_accuracy"]
    check_finite(model, "dense model")
    acc["dense"] = evaluate(model, ds.x_test, ds.y_test)
    secs["dense"] = time.perf_counter() - t0
    log.info("dense accuracy %.4f", acc["dense"])

    row_pes = None
    if c.load_balance:  # ESE: equal non-zeros per row-PE in every column of each Dense layer
        row_pes = {}
        for layer in weight_layers(model):
            if type(layer).__name__ == "Dense":
                k = cfg.hls.knobs_of(layer.name)
                row_pes[layer.name] = k["n_pe"] // k["col_groups"]
        log.info("load-balance-aware pruning, row PEs per Dense layer: %s", row_pes)
    t0 = time.perf_counter()
    masks = prune(model, x, y, c, validation=val, progress=progress, seed=cfg.seed, row_pes=row_pes)
    acc["pruned"] = evaluate(model, ds.x_test, ds.y_test)
    secs["prune"] = time.perf_counter() - t0
    log.info(
        "pruned accuracy %.4f (kept %s)",
        acc["pruned"],
        {n: round(float(m.mean()), 4) for n, m in masks.items()},
    )
    before = {layer.name: layer.kernel.numpy().copy() for layer in weight_layers(model)}

    t0 = time.perf_counter()
    shared = share(model, masks, c, seed=cfg.seed)
    acc["kmeans"] = evaluate(model, ds.x_test, ds.y_test)
    hist["finetune"] = finetune(model, shared, x, y, c, validation=val, progress=progress, seed=cfg.seed)[
        "val_accuracy"
    ]
    acc["shared"] = evaluate(model, ds.x_test, ds.y_test)
    secs["share"] = time.perf_counter() - t0
    log.info("shared accuracy %.4f after k-means, %.4f after fine-tuning", acc["kmeans"], acc["shared"])

    t0 = time.perf_counter()
    calib = ds.calibration(cfg.data.calibration_samples)
    types = choose_types(model, {n: s.centroids for n, s in shared.items()}, calib, c)
    qmodel, codebooks = quantized_model(model, shared, types)
    acc["quantized"] = evaluate(qmodel, ds.x_test, ds.y_test)
    secs["quantize"] = time.perf_counter() - t0
    log.info("quantized (fixed-point QKeras) accuracy %.4f", acc["quantized"])

    if c.n_pe is not None:
        log.warning("compress.n_pe is deprecated and ignored: the EIE storage figure uses hls.n_pe/col_groups/layers")
    storage = []
    layers = {}
    for layer in weight_layers(model):
        n = layer.name
        n_bias = int(layer.bias.shape[0]) if layer.use_bias else 0
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
    )
    if progress:
        report.print_table(rep)
    cm = CompressedModel(model=qmodel, layers=layers, report=rep)
    with io.atomic_folder(out_dir, force) as tmp:
        io.save_compressed(cm, tmp)
        (tmp / "config.yaml").write_text(dump_config(cfg))
        if c.plots:
            after = {n: qmodel.get_layer(n).get_weights()[0] for n in layers}
            plots.write_plots(tmp / "plots", before, after, codebooks, masks)
    cm.path = out_dir
    return cm
