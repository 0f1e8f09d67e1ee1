"""Step `quality`: the compressed model's accuracy against the dense model's and chance; stops the
build with the numbers unless --allow-accuracy-drop (the compressed model is kept for a rerun)."""

from __future__ import annotations

import numpy as np

from flow.build.context import step
from flow.build.steps.common import compressed, dataset

#: default --max-accuracy-drop, in percentage points below the dense model
DEFAULT_MAX_DROP = 5.0


def gate(acc: dict, y_test, *, max_drop: float = DEFAULT_MAX_DROP, allow: bool = False) -> tuple[str | None, dict]:
    """(None or the refusal message, the numbers) for the accuracy by stage of a compression report."""
    from flow.errors import QualityError

    final_key = next((k for k in ("quantized", "shared", "pruned") if k in acc), None)
    if final_key is None:
        return None, {}
    final, dense = float(acc[final_key]), acc.get("dense")
    counts = np.bincount(np.asarray(y_test, dtype=np.int64)) if len(y_test) else np.array([1])
    chance = float(counts.max() / counts.sum())
    nums = {"final": final, "dense": dense, "chance": round(chance, 4), "max_drop_points": max_drop}
    problems = []
    if final <= chance + 0.02:
        problems.append(f"{final:.2%} is at chance (the most frequent class is {chance:.2%} of the test set)")
    if dense is not None and dense > chance + 0.02 and (float(dense) - final) * 100 > max_drop:
        problems.append(f"{final:.2%} is {100 * (float(dense) - final):.1f} points below the dense model's {float(dense):.2%} "
                        f"(allowed: {max_drop:g})")
    if not problems:
        return None, nums
    msg = (f"the compressed model's test accuracy {'; '.join(problems)}. Fix: prune less "
           "(compress.sparsity), more code bits (compress.bits) or more epochs; or accept it with "
           "--allow-accuracy-drop (or a larger --max-accuracy-drop)")
    if allow:
        return msg, nums
    raise QualityError(msg)


# no option in the fingerprint: a passed gate stays passed, a refused one is not recorded (the rerun
# with --allow-accuracy-drop runs it again), and later steps do not rerun for a changed option
@step("quality", depends_on=(), outputs=())
def quality(ctx) -> dict:
    """Stop when the compressed model's accuracy collapsed (vs the dense model and chance)."""
    acc = (compressed(ctx).report or {}).get("accuracy", {})
    msg, nums = gate(
        acc, dataset(ctx).y_test,
        max_drop=float(ctx.options.get("max_accuracy_drop", DEFAULT_MAX_DROP)),
        allow=bool(ctx.options.get("allow_accuracy_drop")),
    )
    if msg:
        ctx.notes.append(f"accepted with --allow-accuracy-drop: {msg.split('. Fix:')[0]}")
    return nums
