"""The validation split (flow.compress.validation) and honest selection in `flow compress` (digits, seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from flow.compress import pipeline, train
from flow.compress.pipeline import compress
from flow.compress.validation import split, validation_size
from flow.config import FlowConfig
from flow.config import DataConfig
from flow.data import load_dataset
from flow.errors import DataError, UsageError


def quick_cfg(**compress_keys) -> FlowConfig:
    cfg = FlowConfig()
    c = cfg.compress
    c.epochs, c.prune_steps, c.prune_epochs, c.finetune_epochs = 6, 1, 2, 2
    c.sparsity, c.plots = 0.5, False
    for k, v in compress_keys.items():
        setattr(c, k, v)
    return cfg


def test_default_size_is_the_last_tenth_capped_at_5000():
    assert validation_size(60000, None, 0.1) == 5000
    assert validation_size(1437, None, 0.1) == 144
    assert validation_size(1437, 0, 0.1) == 0
    assert validation_size(60000, 7000, 0.1) == 7000


def test_split_holds_out_the_last_images():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    sp = split(x, y, DataConfig(validation=3))
    assert sp.y_train.tolist() == list(range(7)) and sp.y_val.tolist() == [7, 8, 9]
    assert np.array_equal(sp.x_val, x[7:])
    assert sp.describe() == {"train_images": 7, "validation_images": 3, "validation_range": [7, 10]}
    none = split(x, y, DataConfig(validation=0))
    assert none.validation is None and len(none.x_train) == 10


@pytest.mark.parametrize("n_val", [10, 11])
def test_validation_as_large_as_the_training_set_is_refused(n_val):
    x, y = np.zeros((10, 2), np.float32), np.zeros(10, int)
    with pytest.raises(DataError, match=f"data.validation={n_val} holds out the whole training set \\(10 images\\)"):
        split(x, y, DataConfig(validation=n_val))


def test_missing_or_mismatched_labels_are_refused():
    x = np.zeros((10, 2), np.float32)
    with pytest.raises(DataError, match="no labels"):
        split(x, None, DataConfig())
    with pytest.raises(DataError, match="labels of shape"):
        split(x, np.zeros(9, int), DataConfig())
    with pytest.raises(ValueError, match="validation=-1"):
        DataConfig(validation=-1)


def test_npz_without_labels_is_a_usage_error(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((30, 4)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_train=x, x_test=x[:5], y_test=np.zeros(5, int))
    cfg = quick_cfg()
    cfg.data = DataConfig(name="npz", path=str(tmp_path / "d.npz"))
    with pytest.raises(UsageError, match="y_train"):
        compress(cfg, tmp_path / "o", progress=False)


def test_too_large_split_refused_before_training(tmp_path, monkeypatch):
    cfg = quick_cfg()
    cfg.data.validation = 5000  # digits has 1,438 training images
    monkeypatch.setattr(pipeline, "fit", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(DataError, match="1438 images"):
        compress(cfg, tmp_path / "o", progress=False)


def test_test_set_is_read_once_after_every_choice(tmp_path, monkeypatch):
    ds = load_dataset(DataConfig())
    events = []
    real = train.evaluate

    def recording(model, x, y, batch_size=2048):
        events.append("test" if x is ds.x_test else "other")
        return real(model, x, y, batch_size)

    monkeypatch.setattr(train, "evaluate", recording)
    monkeypatch.setattr(pipeline, "evaluate", recording)
    cm = compress(quick_cfg(), tmp_path / "o", progress=False, dataset=ds)
    first_test = events.index("test")
    assert "other" not in events[first_test:], "a validation evaluation after the test set was read"
    rep = cm.report
    sel = rep["selection"]
    assert sel["validation_images"] == 144 and sel["train_images"] == len(ds.x_train) - 144
    assert "best epoch" in sel["chosen_on_validation"][0]
    assert set(rep["validation_accuracy"]) >= {"dense", "pruned", "kmeans", "shared", "quantized"}
    assert set(rep["accuracy"]) >= {"dense", "pruned", "kmeans", "shared", "quantized"}
    assert 1 <= rep["history"]["dense"]["best_epoch"] <= 6
    # the restored best epoch is the one whose validation accuracy the history records as best
    h = rep["history"]["dense"]
    assert h["val_accuracy"][h["best_epoch"] - 1] == max(h["val_accuracy"])


def test_dsd_option_records_both_dense_models(tmp_path):
    cm = compress(quick_cfg(dsd=True, dsd_epochs=1, prune_epochs=1, finetune_epochs=0), tmp_path / "o", progress=False)
    rep = cm.report
    assert {"dense_before_dsd", "dense"} <= set(rep["validation_accuracy"]) & set(rep["accuracy"])
    assert set(rep["history"]["dsd"]) == {"sparse", "redense"}
    assert rep["seconds"]["dsd"] > 0


def test_same_seed_same_numbers(tmp_path):
    """Two runs with the same seed give identical reports (the benchmark relies on it)."""
    a = compress(quick_cfg(prune_epochs=1, finetune_epochs=1), tmp_path / "a", progress=False).report
    b = compress(quick_cfg(prune_epochs=1, finetune_epochs=1), tmp_path / "b", progress=False).report
    assert a["accuracy"] == b["accuracy"] and a["validation_accuracy"] == b["validation_accuracy"]
    assert a["total"] == b["total"]
