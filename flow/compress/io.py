"""The compressed-model folder (docs/internals.md): save, load, and atomic replacement.

Folder: model.keras (QKeras model, Dense/Conv kernels hold only codebook values), compression.npz
(`<layer>/codebook`, `<layer>/mask`, `<layer>/codes`), compression.json (per layer: name, codebook,
code_bits, index_bits, activation, input/weight/bias/output types as FixedType dicts),
report.json, config.yaml and plots.
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flow.compress.matrices import get_kernel
from flow.errors import UsageError

FORMAT = 1


@dataclass
class CompressedLayer:
    name: str
    codebook: np.ndarray  # float32, len 2**code_bits, [0] == 0 (rounded to weight_type)
    mask: np.ndarray  # bool, kernel shape
    codes: np.ndarray  # int, kernel shape, 0 where pruned
    code_bits: int
    index_bits: int
    activation: str  # relu | linear
    input_type: dict
    weight_type: dict
    bias_type: dict
    output_type: dict
    #: an LSTM's (activation "lstm"): the gate pre-activation and cell-state types; its matrix is
    #: [kernel; recurrent_kernel] (flow.compress.matrices), per-gate codebooks are flat (4 * 2**bits)
    gate_type: dict | None = None
    cell_type: dict | None = None

    def meta(self) -> dict:
        extra = {k: getattr(self, k) for k in ("gate_type", "cell_type") if getattr(self, k) is not None}
        return extra | {
            "name": self.name,
            "codebook": [float(c) for c in self.codebook],
            "code_bits": self.code_bits,
            "index_bits": self.index_bits,
            "activation": self.activation,
            "kept": int(self.mask.sum()),
            "params": int(self.mask.size),
            "kernel_shape": list(self.mask.shape),
            "input_type": self.input_type,
            "weight_type": self.weight_type,
            "bias_type": self.bias_type,
            "output_type": self.output_type,
        }


@dataclass
class CompressedModel:
    model: object  # the QKeras model
    layers: dict[str, CompressedLayer]
    report: dict = field(default_factory=dict)
    path: Path | None = None


def custom_objects() -> dict:
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects


def save_compressed(cm: CompressedModel, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # Keras warns that QKeras quantizers are not Constraints; they load fine
        warnings.simplefilter("ignore", UserWarning)
        cm.model.save(folder / "model.keras")
    arrays = {}
    for name, layer in cm.layers.items():
        arrays[f"{name}/codebook"] = layer.codebook.astype(np.float32)
        arrays[f"{name}/mask"] = layer.mask.astype(bool)
        arrays[f"{name}/codes"] = layer.codes.astype(np.uint8 if layer.codes.max(initial=0) < 256 else np.uint16)
    np.savez_compressed(folder / "compression.npz", **arrays)
    meta = {"format": FORMAT, "layers": [layer.meta() for layer in cm.layers.values()]}
    (folder / "compression.json").write_text(json.dumps(meta, indent=1))
    if cm.report:
        (folder / "report.json").write_text(json.dumps(cm.report, indent=1))


def load_compressed(path: str | Path) -> CompressedModel:
    """Read a folder written by `flow compress`; checks kernels against codebooks and masks."""
    import tensorflow as tf

    from flow.runtime.files import FileError, bad_file, load_npz, read_json_object

    folder = Path(path)
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise UsageError(f"{folder} {what}, not a compressed-model folder; pass the folder `flow compress` wrote")
    for name in ("model.keras", "compression.npz", "compression.json"):
        if not (folder / name).is_file():
            raise UsageError(
                f"{folder} is not a compressed-model folder: {name} is missing; run `flow compress`"
            )
    fix = "the compressed-model folder is damaged: run `flow compress` again"
    meta = read_json_object(folder / "compression.json", fix)
    if meta.get("format") != FORMAT:
        raise UsageError(
            f"{folder}/compression.json has format {meta.get('format')!r}; this flow reads {FORMAT}"
        )
    if not isinstance(meta.get("layers"), list) or not meta["layers"]:
        raise bad_file(folder / "compression.json", "has no list of layers", fix)
    arrays = load_npz(folder / "compression.npz", fix)
    import logging

    logging.disable(logging.INFO)  # QKeras logs each quantizer it parses
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = tf.keras.models.load_model(
                folder / "model.keras", custom_objects=custom_objects(), compile=False
            )
    except Exception as exc:  # noqa: BLE001 -- Keras raises anything on a damaged file
        raise bad_file(folder / "model.keras", f"cannot be loaded ({type(exc).__name__}: {str(exc)[:200]})", fix) from None
    finally:
        logging.disable(logging.NOTSET)
    from flow.models import rename_reserved_input

    model = rename_reserved_input(model, custom_objects())  # a folder from before INPUT_NAME: hls4ml-ready
    layers = {}
    for m in meta["layers"]:
        try:
            name = m["name"]
            layer = CompressedLayer(
                name=name,
                codebook=arrays[f"{name}/codebook"],
                mask=arrays[f"{name}/mask"],
                codes=arrays[f"{name}/codes"].astype(np.int64),
                code_bits=int(m["code_bits"]),
                index_bits=int(m["index_bits"]),
                activation=str(m["activation"]),
                input_type=dict(m["input_type"]),
                weight_type=dict(m["weight_type"]),
                bias_type=dict(m["bias_type"]),
                output_type=dict(m["output_type"]),
                gate_type=dict(m["gate_type"]) if "gate_type" in m else None,
                cell_type=dict(m["cell_type"]) if "cell_type" in m else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise bad_file(folder / "compression.json", f"a layer record is incomplete or malformed ({type(exc).__name__}: {exc})", fix) from None
        if layer.codes.size and (layer.codes.min() < 0 or layer.codes.max() >= len(layer.codebook)):
            raise bad_file(folder / "compression.npz", f"{name}/codes index past the codebook", fix)
        _check(model, layer, folder)
        layers[name] = layer
    try:
        report = read_json_object(folder / "report.json", fix) if (folder / "report.json").is_file() else {}
    except FileError:
        report = {}  # the report is informational; a damaged one only loses the numbers
    return CompressedModel(model=model, layers=layers, report=report, path=folder)


def _check(model, layer: CompressedLayer, folder: Path) -> None:
    try:
        kernel = get_kernel(model.get_layer(layer.name))
    except ValueError:
        raise UsageError(
            f"{folder}: compression.json names layer {layer.name!r}, absent from model.keras"
        ) from None
    if kernel.shape != layer.mask.shape or not np.array_equal(kernel, layer.codebook[layer.codes]):
        raise UsageError(
            f"{folder}: layer {layer.name!r} kernel does not match its codebook/codes; the folder is "
            "corrupt, run `flow compress` again"
        )
    if not np.array_equal(kernel != 0, layer.mask) and np.count_nonzero(layer.codebook[1:] == 0) == 0:
        raise UsageError(f"{folder}: layer {layer.name!r} kernel does not match its mask; the folder is corrupt")


#: what `flow compress` writes into the folder (an older flow's folder has no .flow-manifest.json)
FILES = ("model.keras", "compression.npz", "compression.json", "report.json", "config.yaml", "dense.keras",
         "plots")
#: what other commands write into it by default (`flow csim`, `flow rtlsim`): results of the model it
#: holds, replaced with it
DERIVED = ("csim", "rtlsim")


@contextmanager
def atomic_folder(out_dir: Path, force: bool):
    """Yield a temporary folder beside `out_dir`; on success it takes `out_dir`'s place by renames
    (flow.outdir.atomic_folder), so `out_dir` is never half written; the user's files in an existing
    `out_dir` (those not in its .flow-manifest.json) are kept."""
    from flow.outdir import atomic_folder as replace

    out_dir = Path(out_dir)
    check_target(out_dir, force)
    with replace(out_dir, legacy_names=FILES, derived=DERIVED) as tmp:
        yield tmp


def check_target(out_dir: Path, force: bool) -> None:
    from flow.outdir import check_out

    # --force replaces only a folder `flow compress` wrote (compression.json), never a user's folder,
    # the current folder or its ancestors, and nothing under /proc or below a file
    check_out(out_dir, marker="compression.json", kind="compressed-model folder", force=force)
    if out_dir.exists() and not force:
        raise UsageError(
            f"output folder {out_dir} already exists; pass --force to replace it or choose --out"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"output {out_dir} exists and is not a folder; choose another --out")
    if out_dir.is_dir():  # the user's files are kept (atomic_folder); one where the flow writes cannot be
        from flow.manifest import foreign

        clash = [r for r in foreign(out_dir, FILES, DERIVED) if r in FILES]
        if clash:
            raise UsageError(
                f"{out_dir} holds {', '.join(clash)}, which `flow compress` did not write (not in its "
                f".flow-manifest.json) and would replace; move {'it' if len(clash) == 1 else 'them'} out of "
                "the folder or choose another --out"
            )
