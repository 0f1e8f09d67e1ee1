"""The validation split: the last images of the training set, held out for every choice.

`flow compress` trains on the first part of the training set and makes every choice (best epoch of a
phase, the `compress.target` search) on the held-out validation images; the test set is evaluated
only once, at the end, for the report (`report.json` "selection" says which split chose what).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flow.errors import DataError

#: the default validation split is the last `validation_split` of the training set, at most this many
DEFAULT_MAX_VALIDATION = 5000


@dataclass
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    @property
    def n_val(self) -> int:
        return len(self.x_val)

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        return (self.x_val, self.y_val) if self.n_val else None

    def describe(self) -> dict:
        n = len(self.x_train) + self.n_val
        return {
            "train_images": len(self.x_train),
            "validation_images": self.n_val,
            "validation_range": [len(self.x_train), n] if self.n_val else None,
        }


def validation_size(n_train: int, validation: int | None, fraction: float) -> int:
    """Images held out: `validation` when given, else round(fraction * n_train) capped at 5,000."""
    if validation is None:
        return min(DEFAULT_MAX_VALIDATION, int(round(fraction * n_train)))
    return int(validation)


def split(x_train, y_train, data_cfg) -> Split:
    """Hold out the last images of the training set (data.validation / data.validation_split).

    A validation split as large as the training set, or a training set without labels, is a
    DataError (a UsageError: exit code 2) that names the numbers and the fix.
    """
    if y_train is None:
        raise DataError("the training set has no labels (y_train); compression needs labelled data")
    x_train, y_train = np.asarray(x_train), np.asarray(y_train)
    if y_train.ndim != 1 or len(y_train) != len(x_train):
        raise DataError(
            f"the training set has {len(x_train)} images but labels of shape {y_train.shape}; "
            "give one integer label per image"
        )
    n = len(x_train)
    n_val = validation_size(n, data_cfg.validation, data_cfg.validation_split)
    if n_val >= n:
        raise DataError(
            f"data.validation={n_val} holds out the whole training set ({n} images); "
            f"use fewer than {n} (e.g. {max(n // 10, 1)}) or 0 for no validation split"
        )
    if n_val == 0:
        return Split(x_train, y_train, x_train[:0], y_train[:0])
    return Split(x_train[:-n_val], y_train[:-n_val], x_train[-n_val:], y_train[-n_val:])
