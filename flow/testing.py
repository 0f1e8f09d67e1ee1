"""Fixtures for tests and benchmarks: synthetic compressed models, random EIE layers, the MNIST folder.

Nothing in the flow imports this module; tests/ and bench/ do.


`shared_mlp` builds what `flow compress` would hand over for an MLP (linear Dense layers with
separate ReLU activations and a final softmax, kernels holding at most 2**code_bits - 1 distinct
non-zero values) without training, plus the per-layer FixedType records, so the HLS side can be
exercised and timed in seconds. LeNet-300-100 with the Deep Compression paper's densities
(8 %, 9 %, 26 %) and 4-bit shared weights is `lenet300()`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from flow.eie.knobs import DEFAULT_BROADCAST, DEFAULT_DETECT_WIDTH
from flow.eie.layer import EIELayer
from flow.fixed import FixedType, bias_integer_bits
from flow.models import INPUT_NAME

#: the types of the test layers: 16-bit activations and biases, 8-bit weights (RND/SAT)
Q16 = FixedType(16, 6, True, "RND", "SAT")
W8 = FixedType(8, 1, True, "RND", "SAT")

#: Deep Compression (Han et al. 2016), Table 2: weights kept per layer of LeNet-300-100
LENET300_DENSITY = (0.08, 0.09, 0.26)


def _type(max_abs: float, width: int = 16) -> FixedType:
    from flow.hls.convert import profiled_type

    return profiled_type(max_abs, width)


def shared_kernel(rng, shape, density: float, code_bits: int = 4, scale: float = 0.3) -> np.ndarray:
    """A (n_in, n_out) kernel with `density` non-zeros drawn from 2**code_bits - 1 shared values."""
    k = (1 << code_bits) - 1
    centroids = np.linspace(-scale, scale, k + 1)
    centroids = np.round(centroids[centroids != 0] * 256) / 256  # exact in a 16-bit weight type
    centroids = centroids[:k]
    kernel = rng.choice(centroids, size=shape)
    kernel[rng.random(shape) >= density] = 0.0
    return kernel


def shared_mlp(
    widths, densities, *, code_bits: int = 4, seed: int = 0, calib_x=None, name: str = "shared_mlp"
):
    """(Keras model, {layer: FixedType dicts}) for an MLP widths[0] -> ... -> widths[-1] (+ softmax).

    The types are 16-bit RND/SAT with integer bits from the activation ranges on calib_x (default:
    uniform [0, 1) inputs), as the quantize stage chooses them.
    """
    import tensorflow as tf

    L = tf.keras.layers
    rng = np.random.default_rng(seed)
    if len(densities) != len(widths) - 1:
        raise ValueError(f"{len(widths) - 1} layers need as many densities, got {len(densities)}")
    layers = [L.Input(shape=(widths[0],), name=INPUT_NAME)]
    for i in range(1, len(widths)):
        layers.append(L.Dense(widths[i], name=f"fc{i}"))
        layers.append(L.Activation("relu" if i < len(widths) - 1 else "softmax", name=f"act{i}"))
    model = tf.keras.Sequential(layers, name=name)
    for i, d in enumerate(densities, start=1):
        dense = model.get_layer(f"fc{i}")
        n_in, n_out = widths[i - 1], widths[i]
        scale = 1.5 / np.sqrt(max(1.0, d * n_in))
        kernel = shared_kernel(rng, (n_in, n_out), d, code_bits, scale)
        bias = np.round(rng.normal(0, 0.05, n_out) * 1024) / 1024
        dense.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    x = rng.random((512, widths[0])) if calib_x is None else np.asarray(calib_x)
    types, prev = {}, _type(np.max(np.abs(x)))
    a = x
    for i in range(1, len(widths)):
        dense = model.get_layer(f"fc{i}")
        kernel, bias = dense.get_weights()
        a = a @ kernel + bias
        if i < len(widths) - 1:
            a = np.maximum(a, 0)
        w_t = _type(np.max(np.abs(kernel)))
        acc_frac = prev.frac + w_t.frac
        b_t = FixedType(16, bias_integer_bits(np.max(np.abs(bias)), 16, acc_frac), True, "RND", "SAT")
        out_t = _type(np.max(np.abs(a)))
        types[dense.name] = {
            "input_type": prev.to_dict(),
            "weight_type": w_t.to_dict(),
            "bias_type": b_t.to_dict(),
            "output_type": out_t.to_dict(),
            "activation": "relu" if i < len(widths) - 1 else "linear",
        }
        prev = out_t
    return model, types


def as_compressed(model, types: dict, code_bits: int = 4, index_bits: int = 4):
    """A flow.compress.io.CompressedModel of a shared_mlp (codebooks and codes from the kernels)."""
    from flow.compress.io import CompressedLayer, CompressedModel

    layers = {}
    for name, t in types.items():
        kernel = model.get_layer(name).get_weights()[0]
        values = np.unique(kernel[kernel != 0])
        codebook = np.zeros(max(1 << code_bits, values.size + 1), dtype=np.float32)
        codebook[1 : values.size + 1] = values
        codes = np.searchsorted(values, kernel) + 1
        codes[kernel == 0] = 0
        layers[name] = CompressedLayer(
            name=name,
            codebook=codebook,
            mask=kernel != 0,
            codes=codes,
            code_bits=code_bits,
            index_bits=index_bits,
            activation=t["activation"],
            input_type=t["input_type"],
            weight_type=t["weight_type"],
            bias_type=t["bias_type"],
            output_type=t["output_type"],
        )
    return CompressedModel(model=model, layers=layers)


def lenet300(seed: int = 0, calib_x=None, code_bits: int = 4):
    """LeNet-300-100 (784-300-100-10) with the paper's densities and shared weights."""
    return shared_mlp(
        [784, 300, 100, 10],
        LENET300_DENSITY,
        code_bits=code_bits,
        seed=seed,
        calib_x=calib_x,
        name="lenet300",
    )


def dense_layer(name, kernel, bias=None, **over) -> EIELayer:
    """EIELayer.from_dense with the test defaults (4 PEs, FIFO 8, 4-bit codes and indices, relu,
    Q16 activations and bias, W8 weights); `over` replaces any of them."""
    kw = {"n_pe": 4, "fifo_depth": 8, "code_bits": 4, "index_bits": 4, "activation": "relu",
          "input_t": Q16, "weight_t": W8, "bias_t": Q16, "output_t": Q16}
    kw.update(over)
    return EIELayer.from_dense(name, kernel, bias, **kw)


def random_layer(
    rng,
    n_in,
    n_out,
    *,
    density=0.1,
    n_pe=4,
    fifo_depth=8,
    broadcast=DEFAULT_BROADCAST,
    col_groups=1,
    detect_width=DEFAULT_DETECT_WIDTH,
    code_bits=4,
    index_bits=4,
    activation="relu",
    input_t=None,
    weight_t=None,
    bias_t=None,
    output_t=None,
    name="dense",
) -> EIELayer:
    """A random layer with shared weights (for tests, demos and benchmarks)."""
    input_t = input_t or Q16
    weight_t = weight_t or W8
    bias_t = bias_t or Q16
    output_t = output_t or input_t
    values = rng.uniform(-1, 1, size=(1 << code_bits) - 1)
    kernel = np.where(rng.random((n_in, n_out)) < density, rng.choice(values, size=(n_in, n_out)), 0.0)
    bias = rng.normal(scale=0.5, size=n_out)
    return EIELayer.from_dense(
        name,
        kernel,
        bias,
        n_pe=n_pe,
        fifo_depth=fifo_depth,
        code_bits=code_bits,
        index_bits=index_bits,
        activation=activation,
        input_t=input_t,
        weight_t=weight_t,
        bias_t=bias_t,
        output_t=output_t,
        broadcast=broadcast,
        col_groups=col_groups,
        detect_width=detect_width,
    )


#: the MNIST folder used when neither an explicit folder nor $FLOW_DATA_DIR gives one: beside the
#: source tree (the project's shared data), only meaningful in a checkout
SHARED_MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def holds_mnist(folder) -> bool:
    """True when `folder` holds the four MNIST idx files (each gzipped or not)."""
    from flow.data import MNIST_FILES, mnist_file

    return all(mnist_file(Path(folder), key) is not None for key in MNIST_FILES)


def find_mnist_dir(explicit=None) -> Path | None:
    """The MNIST idx folder for benchmarks and tests, or None when there is none.

    Precedence: `explicit` (e.g. a script's --data-dir) when given, and then only it (no
    fall-back: a wrong explicit folder gives None); else $FLOW_DATA_DIR; else
    `<checkout>/../shared/data/mnist`. Only a folder that holds the four idx files is returned, so
    a $FLOW_DATA_DIR without them falls through to the shared folder. The flow itself
    (`flow compress/csim --data-dir`, flow.data.mnist_dir) takes --data-dir or $FLOW_DATA_DIR only.
    """
    if explicit:
        return Path(explicit) if holds_mnist(explicit) else None
    env = os.environ.get("FLOW_DATA_DIR")
    for cand in ([Path(env)] if env else []) + [SHARED_MNIST_DIR]:
        if holds_mnist(cand):
            return cand
    return None


def mnist_test(n: int):
    """n MNIST test images (flattened) from find_mnist_dir's folder (FLOW_DATA_DIR, else
    ../shared/data/mnist), else noise with MNIST's ~19 % non-zero pixels."""
    from flow.config import DataConfig
    from flow.data import load_dataset

    folder = find_mnist_dir()
    if folder is None:
        print("MNIST idx files not found (set FLOW_DATA_DIR), using noise inputs")
    else:
        try:
            ds = load_dataset(DataConfig(name="mnist", data_dir=str(folder), test_subset=n))
            return ds.x_test[:n].reshape(n, -1), "mnist"
        except Exception as exc:  # noqa: BLE001 - an unreadable dataset falls back to noise
            print(f"MNIST in {folder} unreadable, using noise inputs: {exc}")
    rng = np.random.default_rng(0)
    x = rng.random((n, 784)) * (rng.random((n, 784)) < 0.19)
    return x, "noise (19 % non-zero)"


#: LeNet-300-100's layout at P = 64 as `flow compress` + the EIE backend made it (bench/results/rtl.json:
#: column groups 4/2/8, 5-bit codes, 6-bit indices, 16-bit weights)
LENET300_P64_GROUPS = (4, 2, 8)


def lenet300_layers(n_pe: int = 64, seed: int = 0, in_bits: int = 8) -> list[EIELayer]:
    """Synthetic EIE layers with LeNet-300-100's shapes, densities and P = 64 layout (no TensorFlow):
    for load-path and overlay tests and benches. ``in_bits``: width of the first layer's input
    (8: MNIST pixels as unsigned 8-bit fractions)."""
    rng = np.random.default_rng(seed)
    widths = (784, 300, 100, 10)
    q = FixedType(16, 4, True, "RND", "SAT")
    in_t = FixedType(8, 0, False, "RND", "SAT") if in_bits == 8 else q
    w16 = FixedType(16, 1, True, "RND", "SAT")
    layers = []
    for k, d in enumerate(LENET300_DENSITY):
        out_t = q
        layers.append(random_layer(
            rng, widths[k], widths[k + 1], density=d, n_pe=n_pe,
            col_groups=min(n_pe, LENET300_P64_GROUPS[k]), code_bits=5, index_bits=6,
            activation="relu" if k < 2 else "linear", input_t=in_t, weight_t=w16,
            bias_t=FixedType(16, 4, True, "RND", "SAT"), output_t=out_t, name=f"ip{k + 1}",
        ))  # fmt: skip
        in_t = out_t
    return layers


#: the types of the test LSTM layers (flow.eie.lstm): x and h, 12-bit weights, gates, cell state
LSTM_TYPES_ARGS = dict(
    input_t=FixedType(16, 3, True, "RND", "SAT"),
    weight_t=FixedType(12, 1, True, "RND", "SAT"),
    bias_t=FixedType(16, 4, True, "RND", "SAT"),
    gate_t=FixedType(16, 6, True, "RND", "SAT"),
    cell_t=FixedType(16, 5, True, "RND", "SAT"),
)


def random_lstm(rng, I, H, density_x, density_h, per_gate=False, scale=0.6, types=None, **knobs):
    """(kernel, recurrent kernel, bias, EIELSTM) of a random LSTM with shared weights: 15 values in
    all, or 15 per gate (`per_gate`: 60 in all, which needs a codebook per gate)."""
    from flow.eie.lstm import EIELSTM, LSTMTypes

    def shared(shape, density, values):
        return np.where(rng.random(shape) < density, rng.choice(values, shape), 0.0)

    if per_gate:
        vals = [rng.uniform(-scale, scale, 15) for _ in range(4)]
        k = np.concatenate([shared((I, H), density_x, v) for v in vals], axis=1)
        r = np.concatenate([shared((H, H), density_h, v) for v in vals], axis=1)
    else:
        vals = rng.uniform(-scale, scale, 15)
        k, r = shared((I, 4 * H), density_x, vals), shared((H, 4 * H), density_h, vals)
    b = rng.normal(scale=0.5, size=4 * H)
    types = types or LSTMTypes(**LSTM_TYPES_ARGS)
    return k, r, b, EIELSTM.from_keras("lstm", k, r, b, types=types, per_gate=per_gate, **knobs)


def digits_mlp(hidden=(32,), density: float = 0.5, *, code_bits: int = 4, n_pe: int = 4, seed: int = 0,
               fifo_depth: int = 4):
    """A compressed digits classifier in seconds, without TensorFlow: (EIE layers, x_test, labels).

    scikit-learn's 8x8 digits (shipped with it, offline) and its MLPClassifier; each kernel pruned to
    `density` by magnitude and shared on 2**code_bits - 1 evenly spaced values (no retraining, so
    a few points below the float model); 8-bit unsigned inputs (pixels / 16 as ap_ufixed<8,1>),
    16-bit activations and biases, 8-bit weights. x_test are floats the input type holds exactly."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from flow.fixed import integer_bits

    d = load_digits()
    x, y = d.data / 16.0, d.target
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[:1400], order[1400:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: the iterations are capped on purpose
        clf = MLPClassifier(tuple(hidden), max_iter=200, random_state=seed).fit(x[train], y[train])
    in_t = FixedType(8, 1, False, "RND", "SAT")
    k = (1 << code_bits) - 1
    layers, prev_t, a = [], in_t, in_t.to_float(in_t.quantize(x[train]))
    n = len(clf.coefs_)
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        cut = np.quantile(np.abs(w), 1 - density)
        keep = np.abs(w) > cut
        values = np.linspace(w[keep].min(), w[keep].max(), k)
        kernel = np.where(keep, values[np.abs(w[..., None] - values).argmin(-1)], 0.0)
        w_t = FixedType(8, integer_bits(np.abs(kernel).max()), True, "RND", "SAT")
        acc_frac = prev_t.frac + w_t.frac
        b_t = FixedType(16, bias_integer_bits(np.abs(b).max(), 16, acc_frac), True, "RND", "SAT")
        a = a @ kernel + b
        last = i == n - 1
        if not last:
            a = np.maximum(a, 0)
        out_t = FixedType(16, integer_bits(np.abs(a).max(), margin=1), True, "RND", "SAT")
        layers.append(EIELayer.from_dense(
            f"fc{i + 1}", kernel, b, n_pe=n_pe, fifo_depth=fifo_depth, code_bits=code_bits, index_bits=4,
            activation="linear" if last else "relu", input_t=prev_t, weight_t=w_t, bias_t=b_t, output_t=out_t))
        prev_t = out_t
    x_test = in_t.to_float(in_t.quantize(x[test]))
    return layers, x_test, y[test].astype(np.int64)
