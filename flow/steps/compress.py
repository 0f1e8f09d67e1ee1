"""Step `compress`: train and compress the network, or take a compressed model given with --model."""

from __future__ import annotations

import shutil
from pathlib import Path

from flow.build import step
from flow.errors import UsageError
from flow.steps.common import COMPRESSED


def _restore(ctx) -> None:
    from flow.compress.io import load_compressed

    ctx.artifacts["compressed"] = load_compressed(ctx.out / COMPRESSED)


@step(
    "compress",
    depends_on=("seed", "data", "model", "compress", "model_path", "skip_train"),
    outputs=(f"{COMPRESSED}/compression.json", f"{COMPRESSED}/model.keras"),
    restore=_restore,
)
def compress(ctx) -> dict:
    """Train + prune + share + quantize (Deep Compression), or copy a compressed model in."""
    from flow.compress.io import load_compressed

    target = ctx.out / COMPRESSED
    given = ctx.options.get("model_path")
    if given and (Path(given) / "compression.json").is_file():
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(given, target)
        ctx.artifacts["compressed"] = load_compressed(target)
        return {"source": given, "trained": False}
    if ctx.options.get("skip_train"):
        raise UsageError(f"--skip-train needs a compressed-model folder, but {given} has no compression.json")
    from flow.compress.pipeline import compress as run_compression

    model = None
    if given:
        from flow.models import load_user_model

        model = load_user_model(given)
    cm = run_compression(ctx.cfg, target, progress=ctx.options.get("progress", True), model=model, force=True)
    ctx.artifacts["compressed"] = cm
    acc = cm.report.get("accuracy", {})
    ctx.summary["accuracy (dense -> compressed)"] = " -> ".join(f"{k} {v:.4f}" for k, v in acc.items())
    return {"trained": True, "accuracy": acc}
