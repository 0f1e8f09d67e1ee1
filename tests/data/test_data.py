"""Datasets: digits offline, MNIST idx (.gz or plain), user .npz, and the errors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from flow import testing as flow_testing
from flow.config import DataConfig
from flow.testing import find_mnist_dir
from flow.data import load_dataset, read_mnist
from flow.errors import DataError


def _idx(path, arr, gz):
    header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def _fake_mnist(folder, gz=True, n_train=20, n_test=10):
    rng = np.random.default_rng(0)
    _idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (n_train, 28, 28)), gz)
    _idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, n_train), gz)
    _idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (n_test, 28, 28)), gz)
    _idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, n_test), gz)


def test_digits_default():
    ds = load_dataset(DataConfig())
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape[1] == 64
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert ds.n_classes == 10 and len(ds.x_test) > 300
    assert not set(map(bytes, ds.x_test[:50])) & set(map(bytes, ds.x_train))  # split is disjoint (mostly)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_folder(tmp_path, gz):
    _fake_mnist(tmp_path, gz=gz)
    ds = load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path)))
    assert ds.x_train.shape == (20, 784) and ds.x_test.shape == (10, 784)
    assert ds.x_train.max() <= 1.0 and ds.y_train.dtype == np.int64


def test_mnist_from_env(tmp_path, monkeypatch):
    _fake_mnist(tmp_path)
    monkeypatch.setenv("FLOW_DATA_DIR", str(tmp_path))
    assert load_dataset(DataConfig(name="mnist")).x_train.shape == (20, 784)


def test_mnist_missing_names_folder_and_fix(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=rf"train-images-idx3-ubyte.*{tmp_path}.*--data-dir"):
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path)))
    monkeypatch.delenv("FLOW_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="FLOW_DATA_DIR"):
        load_dataset(DataConfig(name="mnist"))


def test_find_mnist_dir_precedence(tmp_path, monkeypatch):
    explicit, env, shared, partial = (tmp_path / d for d in ("explicit", "env", "shared", "partial"))
    for folder in (explicit, env, shared, partial):
        folder.mkdir()
    for folder in (explicit, env, shared):
        _fake_mnist(folder, gz=folder is not env)
    (partial / "train-images-idx3-ubyte").write_bytes(b"")  # not the four files: not an MNIST folder
    monkeypatch.setattr(flow_testing, "SHARED_MNIST_DIR", shared)
    monkeypatch.setenv("FLOW_DATA_DIR", str(env))
    assert find_mnist_dir(explicit) == explicit  # an explicit folder first
    assert find_mnist_dir(str(partial)) is None  # and only it: no fall-back behind a wrong --data-dir
    assert find_mnist_dir() == env  # then $FLOW_DATA_DIR (plain idx files count too)
    monkeypatch.setenv("FLOW_DATA_DIR", str(partial))
    assert find_mnist_dir() == shared  # a FLOW_DATA_DIR without the files falls through to ../shared
    monkeypatch.delenv("FLOW_DATA_DIR")
    assert find_mnist_dir() == shared
    monkeypatch.setattr(flow_testing, "SHARED_MNIST_DIR", tmp_path / "absent")
    assert find_mnist_dir() is None
    assert read_mnist(explicit, "x_test").shape == (10, 28, 28)
    with pytest.raises(DataError, match=rf"t10k-images-idx3-ubyte.*{partial}"):
        read_mnist(partial, "x_test")


def test_truncated_idx_refused(tmp_path):
    _fake_mnist(tmp_path, gz=False)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated"):
        load_dataset(DataConfig(name="mnist", data_dir=str(tmp_path)))


def test_npz_and_nan(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.random((30, 5)),
        "y_train": rng.integers(0, 3, 30),
        "x_test": rng.random((10, 5)),
        "y_test": rng.integers(0, 3, 10),
    }
    np.savez(tmp_path / "d.npz", **arrays)
    ds = load_dataset(DataConfig(name="npz", path=str(tmp_path / "d.npz")))
    assert ds.x_train.shape == (30, 5) and ds.n_classes == 3
    arrays["x_test"][3, 2] = np.nan
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=r"x_test holds 1 NaN/Inf.*\[3, 2\]"):
        load_dataset(DataConfig(name="npz", path=str(tmp_path / "bad.npz")))
    del arrays["y_test"]
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(DataError, match="y_test"):
        load_dataset(DataConfig(name="npz", path=str(tmp_path / "short.npz")))
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(DataConfig(name="npz", path=str(tmp_path / "none.npz")))


def test_subsets_and_validation_range():
    ds = load_dataset(DataConfig(train_subset=100, test_subset=40))
    assert len(ds.x_train) == 100 and len(ds.x_test) == 40
    with pytest.raises(ValueError, match="validation_split"):
        DataConfig(validation_split=1.0)
