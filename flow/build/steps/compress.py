"""Step `compress`: train and compress the network, or take a compressed model given with --model."""

from __future__ import annotations

import shutil
from pathlib import Path

from flow.build.context import step
from flow.errors import UsageError
from flow.build.steps.common import COMPRESSED


def _pe_layout(cfg):
    """The hls knobs load-balanced pruning reads (row PEs = n_pe / col_groups per layer), else None."""
    if not cfg.compress.load_balance:
        return None
    h = cfg.hls
    layers = {
        name: {k: v for k, v in sorted(knobs.items()) if k in ("n_pe", "col_groups")}
        for name, knobs in sorted(h.layers.items())
    }
    return {"n_pe": h.n_pe, "col_groups": h.col_groups, "layers": {n: k for n, k in layers.items() if k}}


def _inputs(ctx) -> list:
    """The content of the given model (a file or a compressed-model folder) and of the data files."""
    import os

    items: list = []
    given = ctx.options.get("model_path")
    if given:
        items.append(Path(given))
    d = ctx.cfg.data
    if d.name == "npz" and d.path:
        items.append(Path(d.path))
    elif d.name == "mnist":
        from flow.data import MNIST_FILES, mnist_file

        folder = d.data_dir or os.environ.get("FLOW_DATA_DIR")
        if folder:  # the four idx files only (the folder may hold other data sets)
            items += [mnist_file(Path(folder), key) or f"{key} absent" for key in MNIST_FILES]
    return items


@step(
    "compress",
    depends_on=("seed", "data", "model", "compress", "model_path", "skip_train"),
    outputs=(f"{COMPRESSED}/compression.json", f"{COMPRESSED}/model.keras"),
    also_depends=_pe_layout,
    inputs=_inputs,
    rerun_hint="to build a model compressed elsewhere, pass its folder with --model",
)
def compress(ctx) -> dict:
    """Train + prune + share + quantize (Deep Compression), or copy a compressed model in."""
    from flow.compress.io import load_compressed

    target = ctx.out / COMPRESSED
    given = ctx.options.get("model_path")
    if given and (Path(given) / "compression.json").is_file():
        _copy_in(Path(given), target)
        ctx.compressed = cm = load_compressed(target)
        return {"source": given, "trained": False, **summarize(ctx, cm)}
    if ctx.options.get("skip_train"):
        raise UsageError(f"--skip-train needs a compressed-model folder, but {given} has no compression.json")
    from flow.compress.pipeline import compress as run_compression

    model, cfg = None, ctx.cfg
    if given:
        import dataclasses

        from flow.models import load_user_model

        model = load_user_model(Path(given))
        # a user's model comes trained: prune, share and fine-tune it, but no dense training from scratch
        cfg = dataclasses.replace(cfg, compress=dataclasses.replace(cfg.compress, epochs=0))
    cm = run_compression(cfg, target, progress=ctx.options.get("progress", True), model=model, force=True)
    ctx.compressed = cm
    return {"trained": True, **summarize(ctx, cm)}


def _copy_in(given: Path, target: Path) -> None:
    """The flow's files of the compressed-model folder `given` as the build's compressed/ (replaced as a
    whole; files of yours in the build's compressed/ are kept, those in `given` are not copied)."""
    from flow.compress.io import DERIVED, FILES
    from flow.manifest import MANIFEST, foreign
    from flow.outdir import atomic_folder

    theirs = set(foreign(given, FILES, DERIVED))
    with atomic_folder(target, legacy_names=FILES, derived=DERIVED) as tmp:
        for src in sorted(given.rglob("*")):
            rel = src.relative_to(given)
            if not src.is_file() or src.is_symlink() or rel.as_posix() in theirs or rel.parts[0] in DERIVED \
                    or rel.as_posix() == MANIFEST:
                continue
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp / rel)


def summarize(ctx, cm) -> dict:
    acc = cm.report.get("accuracy", {})
    total = cm.report.get("total", {})
    ctx.summary["accuracy by stage"] = ", ".join(f"{k} {v:.4f}" for k, v in acc.items())
    if total:
        ctx.summary["compression"] = (
            f"{total['kept']:.1%} of {total['params']:,} weights kept; {total['ratio']:.1f}x, "
            f"{total['huffman_ratio']:.1f}x with Huffman; EIE on-chip {total['eie_bytes']:,} B"
        )
    return {"accuracy": acc}
