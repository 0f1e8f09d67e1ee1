"""C simulation of an EIE-backend hls4ml model: compile, predict (float and raw), check agreement.

`check_agreement` is the build's gate: csim must equal flow.eie.reference bit for bit on every
sample and agree with Keras on the top-1 class for at least `min_agreement` of them.
"""

from __future__ import annotations

import ctypes
import logging
import time

import numpy as np
import numpy.ctypeslib as npc

from flow.errors import FlowError, UsageError

log = logging.getLogger(__name__)

#: layers that only move data: a graph of these and Dense nodes on EIE is covered by the numpy reference
_DATA_ONLY = ("Input", "InputLayer", "Reshape", "Flatten")


def graph_of(model):
    """hls4ml's ModelGraph of a flow.hls.convert.Converted (or the graph itself)."""
    from flow.hls.convert import Converted

    return model.graph if isinstance(model, Converted) else model


def compile_model(hls_model) -> float:
    """Write and compile the csim library (g++); returns the seconds it took."""
    hls_model = graph_of(hls_model)
    t0 = time.perf_counter()
    hls_model.compile()
    seconds = time.perf_counter() - t0
    log.info("csim library of %s built in %.1f s", hls_model.config.get_project_name(), seconds)
    return seconds


def _require_compiled(hls_model):
    hls_model = graph_of(hls_model)
    lib = getattr(hls_model, "_top_function_lib", None)
    if lib is None:
        raise UsageError(
            "the hls4ml model is not compiled; call flow.hls.csim.compile_model(hls_model) first"
        )
    return lib


def n_inputs(hls_model) -> int:
    hls_model = graph_of(hls_model)
    return int(hls_model.get_input_variables()[0].size())


def n_outputs(hls_model) -> int:
    hls_model = graph_of(hls_model)
    return int(hls_model.get_output_variables()[0].size())


def _as_batch(x, n_in: int, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != n_in:
        raise UsageError(
            f"{what}: input of shape {x.shape} does not match the model input of {n_in} values per sample; "
            f"pass an array of shape (n, {n_in})"
        )
    return x.reshape(x.shape[0], n_in)


def predict(hls_model, x) -> np.ndarray:
    """Float csim (hls4ml's `<project>_double` entry): (n, n_out) float64."""
    hls_model = graph_of(hls_model)
    _require_compiled(hls_model)
    x = np.ascontiguousarray(_as_batch(x, n_inputs(hls_model), "predict()"), dtype=np.float64)
    y = hls_model.predict(x)
    return np.asarray(y, dtype=np.float64).reshape(x.shape[0], n_outputs(hls_model))


def predict_raw(hls_model, x_raw) -> np.ndarray:
    """Raw fixed-point csim (`<project>_raw`): int64 (n, n_in) raw inputs -> int64 (n, n_out) raw outputs."""
    hls_model = graph_of(hls_model)
    from flow.hls.types import from_hls

    lib = _require_compiled(hls_model)
    name = f"{hls_model.config.get_project_name()}_raw"
    try:
        fn = getattr(lib, name)
    except AttributeError:
        raise UsageError(
            f"the csim library has no {name}(): the raw bridge needs a model with one input and one output"
        ) from None
    x = _as_batch(x_raw, n_inputs(hls_model), "predict_raw()")
    if not np.issubdtype(x.dtype, np.integer):
        raise UsageError(
            f"predict_raw(): inputs must be raw integers (got {x.dtype}); quantize with input_t.quantize"
        )
    in_t = from_hls(hls_model.get_input_variables()[0].type.precision, "model input")
    if x.size and not in_t.representable(x):
        raise UsageError(
            f"predict_raw(): raw inputs {x.min()}..{x.max()} are outside {in_t.cpp} "
            f"[{in_t.min_raw}, {in_t.max_raw}]"
        )
    x = np.ascontiguousarray(x, dtype=np.int64)
    out = np.zeros((x.shape[0], n_outputs(hls_model)), dtype=np.int64)
    fn.restype = None
    fn.argtypes = [
        npc.ndpointer(np.int64, flags="C_CONTIGUOUS"),
        npc.ndpointer(np.int64, flags="C_CONTIGUOUS"),
        ctypes.c_int,
    ]
    if x.shape[0]:
        fn(x, out, int(x.shape[0]))
    return out


def _identity_relu(node) -> bool:
    """A ReLU node the PE array applies and whose type is its input's (so it changes nothing)."""
    if not node.get_attr("eie_fused_into"):
        return False
    out = str(node.get_output_variable().type.precision)
    return out == str(node.get_input_variable().type.precision)


def reference_covers(hls_model) -> bool:
    """True when the graph is Dense nodes on EIE plus data movement only (the numpy reference is the
    oracle): a fused ReLU node counts when it does not change the type (else it casts, as Vivado's)."""
    from flow.hls.layer import is_eie_node

    hls_model = graph_of(hls_model)
    return all(
        n.class_name in _DATA_ONLY or is_eie_node(n) or _identity_relu(n) for n in hls_model.get_layers()
    )


def locate_mismatch(x_raw, eie_layers) -> str:
    """Which EIE layer, run alone (flow.eie.csim) on the reference's input, differs from the reference."""
    from flow.eie.csim import compile_chains
    from flow.eie.reference import eie_dense

    try:
        chains = compile_chains([[layer] for layer in eie_layers])
    except FlowError as exc:  # a diagnostic only: never hide the mismatch itself
        return f"(could not build the per-layer check: {str(exc).splitlines()[0]})"
    x = np.asarray(x_raw, dtype=np.int64)
    for layer, chain in zip(eie_layers, chains):
        ref = eie_dense(x, layer)
        alone = chain(x)
        if not np.array_equal(alone, ref):
            s = int(np.argwhere(alone != ref)[0][0])
            return (
                f"layer '{layer.name}' alone already differs ({int(np.sum(alone != ref))} outputs, first in "
                f"sample {s}): the kernel or its config struct for this layer is wrong"
            )
        x = ref
    return (
        "every layer alone matches the reference: the hls4ml graph around them (types, wiring, I/O bridge) "
        "differs from the EIELayers"
    )


def check_agreement(
    hls_model, keras_model, x, eie_layers, *, min_agreement: float = 0.99, raise_on_failure: bool = True,
    labels=None,
) -> dict:
    """Run csim on float inputs x (n, n_in) and compare with Keras (top-1) and the reference (bits).

    Returns {'n', 'top1_agreement', 'agreeing', 'bit_mismatches', 'mismatched_samples', 'reference_checked',
    'csim_s_per_sample', 'predictions' (csim top-1), 'failures' (messages)}, and with `labels`
    'accuracy_csim' and 'accuracy_keras' (the one csim report of `flow csim` and the build). Any output bit that differs
    from flow.eie.reference, or a top-1 agreement with Keras below min_agreement, is a failure; with
    raise_on_failure (the default) the first is raised as a FlowError naming the layer and the numbers.
    """
    from flow.eie.reference import eie_network

    in_t = getattr(hls_model, "input_t", None) or eie_layers[0].input_t
    hls_model = graph_of(hls_model)
    x = _as_batch(x, n_inputs(hls_model), "check_agreement()")
    if x.shape[0] == 0:
        raise UsageError("check_agreement(): no samples given")
    x_raw = in_t.quantize(x)
    t0 = time.perf_counter()
    y_raw = predict_raw(hls_model, x_raw)
    per_sample = (time.perf_counter() - t0) / x.shape[0]
    result = {
        "n": int(x.shape[0]),
        "csim_s_per_sample": per_sample,
        "reference_checked": False,
        "bit_mismatches": None,
        "mismatched_samples": None,
    }
    failures = []
    last = eie_layers[-1] if eie_layers else None
    if eie_layers and reference_covers(hls_model):
        ref = eie_network(x_raw, eie_layers)
        diff = ref != y_raw
        result.update(
            reference_checked=True,
            bit_mismatches=int(diff.sum()),
            mismatched_samples=int(diff.any(axis=1).sum()),
        )
        if diff.any():
            s, j = map(int, np.argwhere(diff)[0])
            failures.append(
                f"csim differs from the reference at the output of layer '{last.name}': "
                f"{result['bit_mismatches']} of {diff.size} outputs in {result['mismatched_samples']} of "
                f"{diff.shape[0]} samples; first at sample {s}, output {j}: csim {y_raw[s, j]} vs "
                f"reference {ref[s, j]} (raw {last.output_t.cpp}); " + locate_mismatch(x_raw, eie_layers)
            )
    keras_top1 = np.argmax(
        np.asarray(
            keras_model.predict(x.reshape((-1, *keras_model.input_shape[1:])), verbose=0, batch_size=256)
        ),
        axis=1,
    )
    agreeing = int(np.sum(np.argmax(y_raw, axis=1) == keras_top1))
    result.update(
        top1_agreement=agreeing / x.shape[0], agreeing=agreeing, predictions=np.argmax(y_raw, axis=1)
    )
    if labels is not None:
        labels = np.asarray(labels)
        result.update(
            accuracy_csim=float(np.mean(result["predictions"] == labels)),
            accuracy_keras=float(np.mean(keras_top1 == labels)),
        )
    if result["top1_agreement"] < min_agreement:
        name = last.name if last is not None else list(hls_model.get_layers())[-1].name
        failures.append(
            f"csim top-1 agrees with Keras on {agreeing} of {x.shape[0]} samples "
            f"({result['top1_agreement']:.2%} < {min_agreement:.0%}) at the output of layer '{name}'; "
            "the fixed-point types are too narrow: widen the activation types (quantize stage) and compress again"
        )
    result["failures"] = failures
    if failures and raise_on_failure:
        raise FlowError(failures[0])
    return result
