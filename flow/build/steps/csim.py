"""Step `csim`: C simulation against the numpy reference (bit for bit) and Keras (top-1 >= 99 %)."""

from __future__ import annotations

from flow.build.context import step
from flow.build.steps.common import compiler_identity, hls_model, test_set, write_json

#: the build stops when csim top-1 agrees with Keras on fewer test samples than this
MIN_AGREEMENT = 0.99


@step("csim", depends_on=("hls", "build", "data"), outputs=("reports/csim.json",),
      inputs=lambda ctx: compiler_identity())
def csim(ctx) -> dict:
    """Every test sample through csim; any reference mismatch or agreement < 99 % stops the build."""
    from flow.hls.csim import check_agreement

    model = hls_model(ctx)
    x, labels = test_set(ctx)
    result = check_agreement(
        model, model.keras_twin, x, model.eie_layers, min_agreement=MIN_AGREEMENT, labels=labels
    )
    accuracy, keras_acc = result["accuracy_csim"], result["accuracy_keras"]
    data = {k: v for k, v in result.items() if k != "predictions"}  # the format of `flow csim`'s csim.json
    write_json(ctx, "csim.json", data)
    ctx.summary["csim (measured)"] = (
        f"{result['n']} test samples: accuracy {accuracy:.4f} (Keras {keras_acc:.4f}), "
        f"top-1 agreement {result['top1_agreement']:.2%}, reference bit mismatches {result['bit_mismatches']}, "
        f"{result['csim_s_per_sample'] * 1e6:.0f} us/sample"
    )
    return {"accuracy": accuracy, "top1_agreement": result["top1_agreement"],
            "bit_mismatches": result["bit_mismatches"]}
