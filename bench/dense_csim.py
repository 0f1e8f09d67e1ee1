"""The EIE Dense layers of a network with other layers (LeNet-5: convolutions in hls4ml) checked bit
for bit in C simulation, on the whole test set.

`flow build`/`flow csim` compare csim with the numpy reference (flow.eie.reference) only when the
graph is EIE Dense layers alone; with hls4ml convolutions in front the build reports "reference bit
mismatches None". This check closes that gap for the engine: the compressed folder is converted as
the build converts it (flow.hls.convert, the same EIELayers), the EIE layers' C++ kernels are
compiled as one chain (flow.eie.csim: g++, the kernels/ sources the HLS project uses) and fed the
activations that reach the first EIE layer (the Keras model's, quantized to that layer's input
type); every output bit is compared with the reference. Measured (csim); the accuracy printed is
that of float convolutions + the csim Dense chain, labelled as such.

    python bench/dense_csim.py <compressed dir> [--data-dir DIR] [--n N] [--out bench/results/X.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def check(model_dir: Path, data_dir: str | None, n: int) -> dict:
    import tensorflow as tf

    from flow.compress.io import load_compressed
    from flow.config import load_config
    from flow.data import load_dataset
    from flow.eie.csim import compile_chains
    from flow.eie.reference import eie_network
    from flow.hls.convert import convert

    cfg = load_config(model_dir / "config.yaml")
    if data_dir:
        cfg.data.data_dir = data_dir
    cm = load_compressed(model_dir)
    ds = load_dataset(cfg.data)
    x, y = (ds.x_test, ds.y_test) if n == 0 else (ds.x_test[:n], ds.y_test[:n])
    with tempfile.TemporaryDirectory() as tmp:
        layers = convert(cm, cfg.hls, Path(tmp) / "hls").eie_layers
    names = [layer.name for layer in cm.model.layers]
    first = names.index(layers[0].name)
    tail = [ly for ly in cm.model.layers[first:] if type(ly).__name__ not in ("Activation", "Softmax")]
    if [ly.name for ly in tail if "dense" in type(ly).__name__.lower()] != [e.name for e in layers]:
        raise SystemExit(f"the EIE layers {[e.name for e in layers]} are not the model's last Dense layers")
    feed = tf.keras.Model(cm.model.inputs, cm.model.layers[first].input)
    x_in = np.asarray(feed.predict(x, batch_size=512, verbose=0)).reshape(len(x), -1)
    x_raw = layers[0].input_t.quantize(x_in)
    t0 = time.perf_counter()
    (chain,) = compile_chains([layers])
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = np.concatenate([chain(x_raw[i : i + 500]) for i in range(0, len(x_raw), 500)])
    run_s = time.perf_counter() - t0
    ref = eie_network(x_raw, layers)
    diff = out != ref
    return {
        "model_dir": str(model_dir),
        "what": "measured (csim): the EIE Dense chain's C++ (g++) vs flow.eie.reference, bit for bit, on "
                "the activations reaching the first EIE layer (Keras float convolutions, quantized to its "
                "input type)",
        "eie_layers": [{"name": e.name, "n_in": e.n_in, "n_out": e.n_out, "n_pe": e.n_pe,
                        "code_bits": e.code_bits, "index_bits": e.index_bits} for e in layers],
        "samples": int(len(x)),
        "outputs_compared": int(diff.size),
        "bit_mismatches": int(diff.sum()),
        "mismatched_samples": int(diff.any(axis=1).sum()),
        "accuracy_float_conv_csim_dense": float(np.mean(np.argmax(out, axis=1) == y)),
        "compile_s": compile_s,
        "csim_s": run_s,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", type=Path)
    p.add_argument("--data-dir")
    p.add_argument("--n", type=int, default=0, help="test samples (0 = all)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    res = check(args.model_dir, args.data_dir, args.n)
    print(json.dumps(res, indent=1))
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0 if res["bit_mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
