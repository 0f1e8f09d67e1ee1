"""Datasets: digits (offline, scikit-learn), MNIST (idx folder), or a user's .npz.

`load_dataset(cfg)` returns float32 images in [0, 1] (flattened for the MLPs; the
model builder reshapes for convolutions) and integer labels.
"""

from __future__ import annotations

import gzip
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flow.config.data import DataConfig
from flow.errors import DataError

log = logging.getLogger(__name__)

MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def calibration(self, n: int) -> np.ndarray:
        return self.x_train[: n or len(self.x_train)]


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}; re-download the MNIST idx files") from None
    if len(raw) < 4:
        raise DataError(f"{path} is not an idx file (too short)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DataError(f"{path} is not an unsigned-byte idx file (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says {dims} but holds {data.size} bytes; the file is truncated")
    return data.reshape(dims)


def mnist_dir(cfg: DataConfig) -> Path:
    if cfg.data_dir:
        return Path(cfg.data_dir)
    env = os.environ.get("FLOW_DATA_DIR")
    if env:
        return Path(env)
    raise DataError(
        "MNIST needs its idx folder: pass --data-dir DIR, set data.data_dir in the config, "
        "or set FLOW_DATA_DIR (files train-images-idx3-ubyte[.gz] etc.)"
    )


def mnist_file(folder: Path, key: str) -> Path | None:
    stem = MNIST_FILES[key]
    for cand in (folder / f"{stem}.gz", folder / stem):
        if cand.is_file():
            return cand
    return None


def read_mnist(folder, key: str) -> np.ndarray:
    """One MNIST idx file as uint8 (key: x_train, y_train, x_test or y_test; .gz or not)."""
    folder = Path(folder)
    path = mnist_file(folder, key)
    if path is None:
        raise DataError(
            f"MNIST file {MNIST_FILES[key]}[.gz] not found in {folder}; download the four idx files there "
            "or point --data-dir / FLOW_DATA_DIR at the folder that holds them"
        )
    return _read_idx(path)


def _load_mnist(cfg: DataConfig) -> dict[str, np.ndarray]:
    folder = mnist_dir(cfg)
    out = {key: read_mnist(folder, key) for key in MNIST_FILES}
    n = {k: len(v) for k, v in out.items()}
    if n["x_train"] != n["y_train"] or n["x_test"] != n["y_test"]:
        raise DataError(f"MNIST in {folder}: image and label counts differ {n}")
    return {
        "x_train": out["x_train"].reshape(n["x_train"], -1).astype(np.float32) / 255.0,
        "y_train": out["y_train"].astype(np.int64),
        "x_test": out["x_test"].reshape(n["x_test"], -1).astype(np.float32) / 255.0,
        "y_test": out["y_test"].astype(np.int64),
    }


def _load_digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    n_test = len(x) // 5
    return {"x_train": x[n_test:], "y_train": y[n_test:], "x_test": x[:n_test], "y_test": y[:n_test]}


def _load_npz(cfg: DataConfig) -> dict[str, np.ndarray]:
    from flow.runtime.files import FileError, check_array, load_npz

    if not cfg.path:
        raise DataError("data.name is npz but data.path is not set; give the .npz file path")
    path = Path(cfg.path)
    fix = "fix data.path: an .npz with arrays x_train, y_train, x_test, y_test (np.savez)"
    try:
        raw = load_npz(path, fix, required=tuple(MNIST_FILES), kind="dataset .npz")
        for k in ("x_train", "x_test"):
            check_array(path, k, raw[k], ndim=(2, 3, 4), fix=fix)
        for k in ("y_train", "y_test"):
            check_array(path, k, raw[k], ndim=(1, 2), fix=fix)
    except FileError as exc:
        raise DataError(str(exc)) from None
    if raw["x_train"].shape[1:] != raw["x_test"].shape[1:]:
        raise DataError(
            f"{path}: x_train has samples of shape {raw['x_train'].shape[1:]} but x_test "
            f"{raw['x_test'].shape[1:]}; both splits need the same features"
        )
    out = {}
    # one scale for both splits, decided on the training split (a split-dependent scale would
    # feed the model test data on another scale than it was trained on)
    x_tr = raw["x_train"].astype(np.float32)
    scale = 1.0
    finite = x_tr.size and np.isfinite(x_tr).all() and np.isfinite(raw["x_test"].astype(np.float32)).all()
    if finite and x_tr.max() > 1.0:
        scale = 255.0 if x_tr.max() <= 255.0 else float(x_tr.max())
        log.info("%s: inputs scaled by 1/%g (decided on x_train, applied to both splits)", path, scale)
    for k in ("x_train", "x_test"):
        x = raw[k].astype(np.float32) / np.float32(scale)
        out[k] = x.reshape(len(x), -1) if x.ndim > 2 and x.shape[-1] not in (1, 3) else x
    if finite and scale != 1.0 and out["x_test"].size and out["x_test"].max() > 1.5:
        log.warning("%s: x_test goes up to %.3g after the training split's scaling", path, out["x_test"].max())
    for k in ("y_train", "y_test"):
        y = raw[k]
        if y.ndim == 2:  # one-hot
            y = y.argmax(axis=1)
        elif not np.issubdtype(y.dtype, np.integer) and not np.issubdtype(y.dtype, np.bool_):
            if np.isfinite(y).all() and np.array_equal(y, np.round(y)):
                y = np.round(y)
            else:
                bad = y[~(np.isfinite(y) & (y == np.round(y)))]
                raise DataError(
                    f"{path}: {k} holds non-integer labels (e.g. {bad.flat[0]!r}); labels must be class "
                    "indices 0..n-1 (or one-hot rows)"
                )
        out[k] = y.astype(np.int64)
    return out


def _check(name: str, arrays: dict[str, np.ndarray]) -> None:
    for key in ("x_train", "x_test"):
        x = arrays[key]
        bad = ~np.isfinite(x)
        if bad.any():
            first = np.argwhere(bad)[0].tolist()
            raise DataError(
                f"dataset {name}: {key} holds {int(bad.sum())} NaN/Inf value(s) (first at index {first}); "
                "clean the data before compressing"
            )
    for xk, yk in (("x_train", "y_train"), ("x_test", "y_test")):
        if len(arrays[xk]) != len(arrays[yk]):
            raise DataError(f"dataset {name}: {xk} has {len(arrays[xk])} rows but {yk} has {len(arrays[yk])}")
        if len(arrays[xk]) == 0:
            raise DataError(f"dataset {name}: {xk} is empty")
        if (arrays[yk] < 0).any():
            raise DataError(f"dataset {name}: {yk} has negative labels")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataError(
            f"dataset {name}: x_train samples have shape {arrays['x_train'].shape[1:]} but x_test "
            f"{arrays['x_test'].shape[1:]}; both splits need the same features"
        )
    classes = np.unique(arrays["y_train"])
    if len(classes) < 2:
        raise DataError(
            f"dataset {name}: y_train holds a single class ({int(classes[0])}); a classifier needs at least two"
        )


def load_dataset(cfg: DataConfig | None = None) -> Dataset:
    cfg = cfg or DataConfig()
    if cfg.name == "digits":
        arrays = _load_digits()
    elif cfg.name == "mnist":
        arrays = _load_mnist(cfg)
    elif cfg.name == "npz":
        arrays = _load_npz(cfg)
    else:  # guarded by the Literal type, but a DataConfig may be built by hand
        raise DataError(f"unknown dataset {cfg.name!r}; use digits, mnist or npz")
    _check(cfg.name, arrays)
    if cfg.train_subset:
        arrays["x_train"], arrays["y_train"] = (
            arrays["x_train"][: cfg.train_subset],
            arrays["y_train"][: cfg.train_subset],
        )
    if cfg.test_subset:
        arrays["x_test"], arrays["y_test"] = (
            arrays["x_test"][: cfg.test_subset],
            arrays["y_test"][: cfg.test_subset],
        )
    n_classes = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    return Dataset(n_classes=n_classes, name=cfg.name, **arrays)
