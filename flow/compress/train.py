"""One training loop for every phase: dense, masked (after pruning), and shared (centroids).

A custom step (GradientTape) so the three phases share the same code:
- dense: all variables, cross-entropy on the logits + L2 weight decay on kernels;
- masked: kernel gradients and kernels multiplied by the fixed mask after every update;
- shared: a kernel is `centroids[codes]`; each centroid's gradient is the sum of its
  members' kernel gradients (`unsorted_segment_sum` by code), code 0 (the pruned zero)
  never moves. Biases keep training normally.
Progress goes through a Keras callback (`RichProgress`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from flow.compress.augment import image_shape, random_shift
from flow.compress.matrices import kernel_vars, split_rows
from flow.errors import FlowError
from flow.models import weight_layers

CHUNK = 32  # minibatches per compiled call
log = logging.getLogger(__name__)


@dataclass
class Shared:
    """One layer's weight sharing: `codes` (int, kernel shape, 0 = pruned) and `centroids` (2**bits)."""

    codes: np.ndarray
    centroids: np.ndarray


class RichProgress(tf.keras.callbacks.Callback):
    """A rich progress bar per training phase, with loss and validation accuracy."""

    def __init__(self, label: str, epochs: int, steps: int):
        super().__init__()
        self.label, self.epochs, self.steps = label, epochs, steps
        self._progress = None

    def on_train_begin(self, logs=None):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=self.epochs * self.steps, info="")

    def on_train_batch_end(self, batch, logs=None):
        self._progress.advance(self._task)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        info = f"epoch {epoch + 1}/{self.epochs} loss {logs.get('loss', float('nan')):.4f}"
        if "val_accuracy" in logs:
            info += f" val acc {logs['val_accuracy']:.4f}"
        self._progress.update(self._task, info=info)

    def on_train_end(self, logs=None):
        self._progress.stop()


def logits_model(model):
    """A callable: the model without its final softmax (same layers, same weights)."""
    layers = list(model.layers)
    last = layers[-1]
    if type(last).__name__ == "Activation" and last.get_config()["activation"] == "softmax":
        layers = layers[:-1]

    def forward(x, training=False):
        for layer in layers:
            x = layer(x, training=training)
        return x

    return forward


def distill_kl(teacher_logits, student_logits, temperature: float):
    """Mean KL(softmax(teacher / T) || softmax(student / T)) over the batch (Hinton's soft targets)."""
    t = tf.nn.log_softmax(tf.stop_gradient(teacher_logits) / temperature)
    s = tf.nn.log_softmax(student_logits / temperature)
    return tf.reduce_mean(tf.reduce_sum(tf.exp(t) * (t - s), axis=-1))


def evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int = 2048) -> float:
    """Top-1 accuracy."""
    net = logits_model(model)
    correct = 0
    for i in range(0, len(x), batch_size):
        out = net(x[i : i + batch_size], training=False).numpy()
        correct += int((out.argmax(axis=1) == y[i : i + batch_size]).sum())
    return correct / max(len(x), 1)


def check_finite(model, stage: str) -> None:
    for layer in model.layers:
        for w in layer.weights:
            if not np.isfinite(w.numpy()).all():
                raise FlowError(
                    f"{stage}: weights of layer {layer.name!r} ({w.name}) became NaN/Inf; "
                    "lower the learning rate or check the data"
                )


def fit(
    model,
    x,
    y,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float = 0.0,
    schedule: str = "cosine",
    masks: dict | None = None,
    shared: dict | None = None,
    validation: tuple | None = None,
    progress: bool = True,
    label: str = "train",
    seed: int = 0,
    ternary: dict | None = None,
    restore_best: bool = False,
    augment_shift: int = 0,
    augment_image=None,
    teacher=None,
    distill=None,
) -> dict:
    """Train `model` in place; returns the history (loss and val accuracy per epoch).

    ternary: {layer: flow.compress.ternary.Ternary}: trained ternary layers (TTQ), whose kernel is
      the ternarised latent weights; the latent weights and both scales train, and the records
      are updated in place at the end.
    restore_best: with a validation set, end with the weights of the epoch of best validation
      accuracy (ties: the later epoch); history["best_epoch"] (1-based) records which.
    augment_shift: translate each training image by up to this many pixels (flow.compress.augment);
      its own generator, so the minibatch order is the same with and without it. augment_image:
      (H, W, C) of one image of flat data (compress.augment_image).
    teacher, distill: a Keras model (the dense one) and its DistillConfig (temperature, weight): the
      loss becomes (1 - weight) * cross-entropy + weight * T^2 * KL(teacher || student) at temperature
      T, on the same (shifted) images; history["loss"] is that loss.
    """
    history: dict = {"loss": [], "val_accuracy": []}
    if epochs <= 0:
        return history
    img_shape = image_shape(model, x, augment_shift, augment_image)
    masks = masks or {}
    shared = shared or {}
    ternary = ternary or {}
    net = logits_model(model)
    layers = {layer.name: layer for layer in weight_layers(model)}
    steps = math.ceil(len(x) / batch_size)
    total = max(epochs * steps, 1)
    sched = tf.keras.optimizers.schedules.CosineDecay(lr, total, alpha=0.01) if schedule == "cosine" else lr
    opt = tf.keras.optimizers.Adam(learning_rate=sched)

    kvars = {n: kernel_vars(layers[n]) for n in layers}  # an LSTM's matrix is two variables (matrices.py)
    kernels = [v for n in layers for v in kvars[n]]
    mask_t = {n: [tf.constant(m.astype(np.float32)) for m in split_rows(layers[n], masks[n])] for n in masks}
    cents = {n: tf.Variable(s.centroids.astype(np.float32), name=f"{n}_centroids") for n, s in shared.items()}
    codes = {n: [tf.constant(c.astype(np.int32)) for c in split_rows(layers[n], s.codes)] for n, s in shared.items()}
    for n in shared:  # start from the exact shared values
        for v, c in zip(kvars[n], codes[n]):
            v.assign(tf.gather(cents[n], c))
    tern = {n: t.variables(layers[n].kernel) for n, t in ternary.items()}  # latent, w_pos, w_neg, mask
    for n in ternary:
        layers[n].kernel.assign(ternary[n].kernel_tf(*tern[n]))
    kernel_ids = {id(v): n for n in list(shared) + list(ternary) for v in kvars[n]}
    plain = [v for v in model.trainable_variables if id(v) not in kernel_ids]
    tern_names = list(tern)
    train_vars = plain + list(cents.values()) + [v for n in tern_names for v in tern[n][:3]]
    lossf = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    n_plain = len(plain)
    masked_of = {
        i: mask_t[name][p] for i, v in enumerate(plain) for name in masks for p, kv in enumerate(kvars[name]) if v is kv
    }
    shared_names = list(cents)
    shared_vars = [v for n in shared_names for v in kvars[n]]
    kd = None if teacher is None or distill is None else (
        logits_model(teacher), float(distill.temperature), float(distill.weight))

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            logits = net(xb, training=True)
            loss = lossf(yb, logits)
            if kd is not None:
                loss = (1.0 - kd[2]) * loss + kd[2] * kd[1] ** 2 * distill_kl(kd[0](xb, training=False), logits, kd[1])
            if weight_decay > 0:
                loss += weight_decay * tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels])
        grads = tape.gradient(loss, plain + shared_vars + [layers[n].kernel for n in tern_names])
        g_plain = list(grads[:n_plain])
        for i, m in masked_of.items():
            g_plain[i] = g_plain[i] * m
        g_cent = []
        at = n_plain
        for name in shared_names:
            parts = len(codes[name])
            g = tf.math.unsorted_segment_sum(
                tf.concat([tf.reshape(gr, [-1]) for gr in grads[at : at + parts]], 0),
                tf.concat([tf.reshape(c, [-1]) for c in codes[name]], 0),
                tf.shape(cents[name])[0],
            )
            at += parts
            g_cent.append(g * tf.concat([[0.0], tf.ones_like(g[1:])], axis=0))  # code 0 stays 0
        g_tern = []
        for j, name in enumerate(tern_names):
            g_tern += ternary[name].gradients_tf(grads[n_plain + len(shared_vars) + j], *tern[name])
        opt.apply_gradients(zip(g_plain + g_cent + g_tern, train_vars))
        for i, m in masked_of.items():
            plain[i].assign(plain[i] * m)
        for name in shared_names:
            for v, c in zip(kvars[name], codes[name]):
                v.assign(tf.gather(cents[name], c))
        for name in tern_names:
            layers[name].kernel.assign(ternary[name].kernel_tf(*tern[name]))
        return loss

    spec = (tf.TensorSpec([None, *x.shape[1:]], tf.float32), tf.TensorSpec([None], tf.int64))

    @tf.function(input_signature=spec)
    def run_chunk(xc, yc):  # several steps per call: far less Python overhead per batch
        n = (tf.shape(xc)[0] + batch_size - 1) // batch_size
        total_loss = tf.constant(0.0)
        for i in tf.range(n):
            total_loss += step(
                xc[i * batch_size : (i + 1) * batch_size], yc[i * batch_size : (i + 1) * batch_size]
            )
        return total_loss / tf.cast(n, tf.float32)

    cb = tf.keras.callbacks.CallbackList(
        [RichProgress(label, epochs, steps)] if progress else [], model=model
    )
    rng = np.random.default_rng(seed)
    shift_rng = np.random.default_rng([seed, 7919])
    track = [*model.weights, *cents.values(), *(v for n in tern_names for v in tern[n][:3])]
    best, best_acc = None, -1.0
    cb.on_train_begin()
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        cb.on_epoch_begin(epoch)
        for b in range(0, steps, CHUNK):
            cb.on_train_batch_begin(b)
            idx = order[b * batch_size : (b + CHUNK) * batch_size]
            n = math.ceil(len(idx) / batch_size)
            xb = random_shift(x[idx], augment_shift, shift_rng, img_shape)
            losses.append((float(run_chunk(tf.constant(xb, tf.float32), tf.constant(y[idx], tf.int64))), n))
            for k in range(n):
                cb.on_train_batch_end(b + k)
        logs = {"loss": sum(v * n for v, n in losses) / sum(n for _, n in losses)}
        if not np.isfinite(logs["loss"]):
            raise FlowError(f"{label}: the loss became NaN/Inf at epoch {epoch + 1}; lower the learning rate")
        if validation is not None and len(validation[0]):
            logs["val_accuracy"] = evaluate(model, *validation)
            history["val_accuracy"].append(logs["val_accuracy"])
            if restore_best and logs["val_accuracy"] >= best_acc:
                best_acc, best = logs["val_accuracy"], (epoch, [v.numpy() for v in track])
        history["loss"].append(logs["loss"])
        cb.on_epoch_end(epoch, logs)
        if not progress:
            log.info("%s epoch %d/%d: %s", label, epoch + 1, epochs, {k: round(v, 5) for k, v in logs.items()})
    cb.on_train_end()
    if best is not None:  # the epoch the validation split chose
        for v, value in zip(track, best[1]):
            v.assign(value)
        history["best_epoch"] = best[0] + 1
    check_finite(model, label)
    for name, s in shared.items():  # hand the trained centroids back
        s.centroids = cents[name].numpy()
    for name, t in ternary.items():
        t.update(*tern[name])
    return history
