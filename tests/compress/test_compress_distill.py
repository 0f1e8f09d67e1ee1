"""`compress.distill`: the dense model teaches during pruning retraining and centroid fine-tuning
(digits, seconds): the config is validated, the loss changes, the student moves toward the teacher."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from flow.compress.pipeline import compress, prepare, train_dense
from flow.compress.prune import apply_masks, magnitude_mask
from flow.compress.train import distill_kl, fit, logits_model
from flow.config import FlowConfig, load_config
from flow.config.compress import DistillConfig
from flow.errors import ConfigError
from flow.models import weight_layers


def _load(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_config(p)


def test_distill_config_defaults_and_bad_values(tmp_path):
    c = _load(tmp_path, "compress:\n  distill: {}\n").compress
    assert c.distill == DistillConfig(temperature=4.0, weight=0.5)
    assert _load(tmp_path, "compress:\n  distill: {temperature: 2, weight: 1}\n").compress.distill.weight == 1
    assert FlowConfig().compress.distill is None
    for text, word in [
        ("{temperature: 0}", "temperature=0"),
        ("{temperature: -1.5}", "temperature=-1.5"),
        ("{temperature: .nan}", "temperature=nan"),
        ("{weight: 0}", "weight=0"),
        ("{weight: 1.5}", "weight=1.5"),
    ]:
        with pytest.raises(ConfigError, match=rf"compress\.distill.*{word}"):
            _load(tmp_path, f"compress:\n  distill: {text}\n")
    with pytest.raises(ConfigError, match=r"compress\.distill.*'temp'"):
        _load(tmp_path, "compress:\n  distill: {temp: 3}\n")
    with pytest.raises(ConfigError, match=r"compress\.distill\.weight"):
        _load(tmp_path, "compress:\n  distill: {weight: lots}\n")


def test_distill_kl_is_zero_for_the_teacher_itself_and_positive_otherwise():
    t = tf.constant([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]])
    assert float(distill_kl(t, t, 4.0)) == pytest.approx(0.0, abs=1e-7)
    s = tf.constant([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    p = tf.nn.softmax(t / 2.0).numpy()
    expected = np.mean(np.sum(p * (np.log(p) - np.log(1 / 3)), axis=1))
    assert float(distill_kl(t, s, 2.0)) == pytest.approx(expected, rel=1e-5)


def _pruned_student():
    """A trained dense digits model (the teacher) and a pruned copy of it (the student)."""
    cfg = FlowConfig()
    cfg.compress.epochs = 8
    _, model, sp = prepare(cfg)
    train_dense(cfg, model, sp, progress=False)
    teacher = tf.keras.models.clone_model(model)
    teacher.set_weights(model.get_weights())
    masks = {ly.name: magnitude_mask(ly.kernel.numpy(), 0.9) for ly in weight_layers(model)}
    apply_masks(model, masks)
    return cfg, model, teacher, masks, sp


def _kl_to_teacher(student, teacher, x) -> float:
    return float(distill_kl(logits_model(teacher)(x), logits_model(student)(x), 1.0))


def test_distillation_changes_the_loss_and_pulls_the_student_to_the_teacher():
    cfg, student, teacher, masks, sp = _pruned_student()
    start = student.get_weights()
    common = dict(epochs=3, batch_size=64, lr=1e-3, masks=masks, progress=False, seed=1)
    plain = fit(student, sp.x_train, sp.y_train, **common)
    kl_plain = _kl_to_teacher(student, teacher, sp.x_val)
    student.set_weights(start)
    taught = fit(student, sp.x_train, sp.y_train, teacher=teacher, distill=DistillConfig(temperature=1.0, weight=1.0),
                 **common)
    kl_taught = _kl_to_teacher(student, teacher, sp.x_val)
    assert plain["loss"] != taught["loss"]
    assert kl_taught < kl_plain  # trained on the teacher's outputs alone: closer to them
    # the mask still holds
    for ly in weight_layers(student):
        assert not ly.kernel.numpy()[~masks[ly.name]].any()
    # a teacher without a DistillConfig (or the reverse) is plain training: the same loss as without
    student.set_weights(start)
    assert fit(student, sp.x_train, sp.y_train, teacher=teacher, **common)["loss"] == plain["loss"]


def test_pipeline_with_distillation_runs_and_differs(tmp_path):
    def cfg(distill):
        c = FlowConfig()
        cc = c.compress
        cc.epochs, cc.prune_steps, cc.prune_epochs, cc.finetune_epochs, cc.sparsity, cc.plots = 6, 1, 2, 2, 0.7, False
        cc.distill = distill
        return c

    off = compress(cfg(None), tmp_path / "off", progress=False).report
    on = compress(cfg(DistillConfig(temperature=3.0, weight=0.7)), tmp_path / "on", progress=False).report
    assert on["accuracy"]["dense"] == off["accuracy"]["dense"]  # the same teacher
    assert on["history"]["finetune"]["loss"] != off["history"]["finetune"]["loss"]
    # a short schedule at 70 % sparsity (about 0.67 quantized accuracy either way): distillation trains
    assert on["accuracy"]["quantized"] >= off["accuracy"]["quantized"] - 0.05
    saved = load_config(tmp_path / "on" / "config.yaml").compress.distill
    assert saved == DistillConfig(temperature=3.0, weight=0.7)
