"""Example networks (digits MLP, LeNet-300-100, LeNet-5, a sequential-MNIST LSTM) and loading a user's
Keras model.

Every model comes out in one canonical form: weight layers (Dense, Conv2D) are linear and
each nonlinearity is its own `Activation` layer, so the final softmax is a separate
`Activation('softmax')` (the hardware stops at the logits) and the quantize stage can put
a quantizer on every activation tensor.
"""

from __future__ import annotations

import math

from pathlib import Path

from flow.config.model import BUILTIN, ModelConfig
from flow.errors import UsageError

WEIGHT_LAYERS = ("Dense", "Conv2D")
#: the name of every input layer the flow makes: hls4ml refuses a layer named "input" (reserved in its
#: ModelGraph), so a model the flow writes must not use it (the README's hls4ml call converts it as is)
INPUT_NAME = "input_1"
RESERVED_INPUT = "input"
#: recurrent layers the flow compresses and the engine runs (flow.eie.lstm); checked by `check_recurrent`
RECURRENT_LAYERS = ("LSTM",)
#: recurrent layers it refuses, with what to do instead
UNSUPPORTED_RECURRENT = {
    "GRU": "replace it with an LSTM (the engine's element-wise unit implements the LSTM cell only)",
    "SimpleRNN": "replace it with an LSTM (the engine's element-wise unit implements the LSTM cell only)",
    "Bidirectional": "use one forward LSTM (go_backwards is not supported)",
    "ConvLSTM2D": "use an LSTM over flattened rows",
    "RNN": "use the built-in keras.layers.LSTM (a custom cell is not supported)",
}
SUPPORTED = WEIGHT_LAYERS + RECURRENT_LAYERS + (
    "InputLayer",
    "Activation",
    "ReLU",
    "Flatten",
    "Reshape",
    "MaxPooling2D",
    "AveragePooling2D",
    "Dropout",
)


def _mlp(input_shape, widths, n_classes, prefix):
    import tensorflow as tf

    L = tf.keras.layers
    layers = [L.Input(shape=input_shape, name=INPUT_NAME)]
    if len(input_shape) > 1:
        layers.append(L.Flatten(name="flatten"))
    for i, w in enumerate(widths, start=1):
        layers += [L.Dense(w, name=f"{prefix}{i}"), L.Activation("relu", name=f"relu{i}")]
    layers += [L.Dense(n_classes, name=f"{prefix}{len(widths) + 1}"), L.Activation("softmax", name="softmax")]
    return layers


def _lenet5(input_shape, n_classes):
    import tensorflow as tf

    L = tf.keras.layers
    n = int(math.prod(input_shape))
    side = round(math.sqrt(n))
    if len(input_shape) == 1 and side * side != n:
        raise UsageError(f"lenet5 needs square images; got {n} features per sample")
    if side < 12:
        raise UsageError(
            f"lenet5 needs images of at least 12x12 (two 5x5 convs + pools); got {side}x{side}; "
            "use model digits_mlp for the 8x8 digits"
        )
    layers = [L.Input(shape=input_shape, name=INPUT_NAME)]
    if len(input_shape) == 1:
        layers.append(L.Reshape((side, side, 1), name="reshape"))
    layers += [
        L.Conv2D(20, 5, name="conv1"),
        L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(50, 5, name="conv2"),
        L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(500, name="ip1"),
        L.Activation("relu", name="relu1"),
        L.Dense(n_classes, name="ip2"),
        L.Activation("softmax", name="softmax"),
    ]
    return layers


def _lstm_seqmnist(input_shape, n_classes, units):
    """Sequential MNIST: each 28x28 image as 28 time steps of 28 pixels, LSTM(units), Dense."""
    import tensorflow as tf

    L = tf.keras.layers
    n = int(math.prod(input_shape))
    side = round(math.sqrt(n))
    if side * side != n:
        raise UsageError(f"lstm_seqmnist needs square images (rows as time steps); got {n} features per sample")
    return [
        L.Input(shape=input_shape, name=INPUT_NAME),
        L.Reshape((side, side), name="rows"),
        L.LSTM(units, name="lstm"),
        L.Dense(n_classes, name="fc"),
        L.Activation("softmax", name="softmax"),
    ]


def _sequential(layers, name):
    import tensorflow as tf

    return tf.keras.Sequential(layers, name=name)


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int):
    """A fresh (untrained) model, or the user's model in canonical form."""
    input_shape = tuple(int(d) for d in input_shape)
    if cfg.name == "digits_mlp":
        return _sequential(_mlp(input_shape, cfg.hidden, n_classes, "fc"), "digits_mlp")
    if cfg.name == "lenet300":
        return _sequential(_mlp(input_shape, [300, 100], n_classes, "ip"), "lenet300")
    if cfg.name == "lenet5":
        return _sequential(_lenet5(input_shape, n_classes), "lenet5")
    if cfg.name == "lstm_seqmnist":
        return _sequential(_lstm_seqmnist(input_shape, n_classes, cfg.lstm_units), "lstm_seqmnist")
    return load_user_model(Path(cfg.name), input_shape, n_classes)


def load_user_model(path: Path, input_shape=None, n_classes=None):
    import tensorflow as tf

    from flow.runtime.files import require_file

    require_file(path, f"give a .h5/.keras file or a built-in name ({', '.join(BUILTIN)})", kind="Keras model file")
    try:
        from qkeras.utils import _add_supported_quantized_objects

        objects: dict = {}
        _add_supported_quantized_objects(objects)
        model = tf.keras.models.load_model(path, custom_objects=objects, compile=False)
    except Exception as exc:  # noqa: BLE001 -- Keras raises anything on a damaged file (zip, h5py, json)
        what = " ".join(str(exc).split())[:300]
        raise UsageError(
            f"{path}: cannot be loaded as a Keras model ({type(exc).__name__}: {what}); "
            "give a model saved with model.save() (.keras or .h5), complete and undamaged"
        ) from None
    model = canonical(model)
    if input_shape is not None and tuple(model.input_shape[1:]) != tuple(input_shape):
        raise UsageError(
            f"model {path} takes inputs of shape {model.input_shape[1:]} but the dataset has "
            f"{tuple(input_shape)}; pick the matching dataset"
        )
    if n_classes is not None and model.output_shape[-1] != n_classes:
        raise UsageError(
            f"model {path} has {model.output_shape[-1]} outputs but the dataset has {n_classes} classes"
        )
    return model


def canonical(model):
    """Check the layer types and split fused activations into their own Activation layers."""
    import tensorflow as tf

    L = tf.keras.layers
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in UNSUPPORTED_RECURRENT:
            raise UsageError(f"layer {layer.name!r} is a {kind}, which the engine cannot run: {UNSUPPORTED_RECURRENT[kind]}")
        if kind in RECURRENT_LAYERS:
            check_recurrent(layer)
        if kind not in SUPPORTED:
            raise UsageError(
                f"layer {layer.name!r} has type {kind}, which the flow does not support; "
                f"use only {', '.join(SUPPORTED)}"
            )
        inbound = getattr(layer, "_inbound_nodes", [])
        if kind != "InputLayer" and inbound and len(tf.nest.flatten(inbound[0].inbound_layers)) != 1:
            raise UsageError(f"layer {layer.name!r} has several inputs; only a chain of layers is supported")
    out = [L.Input(shape=model.input_shape[1:], name=INPUT_NAME)]
    weights = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        conf = layer.get_config()
        act = conf.get("activation", "linear") if kind in WEIGHT_LAYERS else None
        if kind in WEIGHT_LAYERS:
            conf["activation"] = "linear"
        new = type(layer).from_config(conf)
        out.append(new)
        weights.append((new, layer.get_weights()))
        if act and act != "linear":
            out.append(L.Activation(act, name=f"{layer.name}_{act}"))
    if not (isinstance(out[-1], L.Activation) and out[-1].get_config()["activation"] == "softmax"):
        out.append(L.Activation("softmax", name="softmax"))
    new_model = tf.keras.Sequential(out, name=model.name)
    for layer, w in weights:
        layer.set_weights(w)
    return new_model


def check_recurrent(layer) -> None:
    """Refuse an LSTM the engine cannot run (flow.eie.lstm: one forward LSTM, zero initial state, tanh
    and sigmoid, its last h feeding the next layer), naming the layer and the fix."""
    conf = layer.get_config()
    fixes = {
        "return_sequences": (False, "the engine hands only the last h on (no stacked recurrent layers, no "
                                    "per-step outputs); set return_sequences=False"),
        "return_state": (False, "set return_state=False"),
        "stateful": (False, "the engine starts every sequence from a zero state; set stateful=False"),
        "go_backwards": (False, "the engine runs the sequence forwards; set go_backwards=False (reverse the "
                                "input instead)"),
        "time_major": (False, "give inputs as (batch, steps, features); set time_major=False"),
        "activation": ("tanh", "the element-wise unit has tanh and sigmoid tables; use activation='tanh'"),
        "recurrent_activation": ("sigmoid", "the element-wise unit has tanh and sigmoid tables; use "
                                            "recurrent_activation='sigmoid'"),
    }
    for key, (want, fix) in fixes.items():
        if key in conf and conf[key] != want:
            raise UsageError(f"layer {layer.name!r} (LSTM) has {key}={conf[key]!r}: {fix}")


def weight_layers(model) -> list:
    """The layers the compression works on, in order (Dense, Conv2D and LSTM)."""
    return [layer for layer in model.layers if type(layer).__name__ in WEIGHT_LAYERS + RECURRENT_LAYERS]


def rename_reserved_input(model, custom_objects: dict | None = None):
    """`model`, or a copy with the same weights whose input layer named "input" (saved by an older
    eie-flow, or by a user) is renamed INPUT_NAME, so hls4ml converts it. Other names are kept."""
    import tensorflow as tf

    config = model.get_config()
    entries = config.get("layers", [])
    if not any(e.get("class_name") == "InputLayer" and e.get("config", {}).get("name") == RESERVED_INPUT
               for e in entries):
        return model
    taken = {e.get("config", {}).get("name") for e in entries}
    new = next(n for n in [INPUT_NAME, *(f"input_{i}" for i in range(2, 1000))] if n not in taken)

    def rename(node):
        if isinstance(node, dict):
            return {k: rename(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rename(v) for v in node]
        return new if node == RESERVED_INPUT else node

    for entry in entries:  # the layer's own name and every reference to it (functional models)
        if entry.get("class_name") == "InputLayer" and entry["config"].get("name") == RESERVED_INPUT:
            entry["config"]["name"] = new
            if "name" in entry:
                entry["name"] = new
        if "inbound_nodes" in entry:
            entry["inbound_nodes"] = rename(entry["inbound_nodes"])
    for key in ("input_layers", "output_layers"):
        if key in config:
            config[key] = rename(config[key])
    objects = custom_objects or {}
    with tf.keras.utils.custom_object_scope(objects):
        copy = type(model).from_config(config)
    copy.set_weights(model.get_weights())
    return copy
