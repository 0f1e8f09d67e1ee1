"""Data section of the config: which dataset, where its files are, and how much of it to use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class DataConfig:
    #: digits (scikit-learn 8x8, offline), mnist (idx files in data_dir), npz (a user's file at `path`)
    name: Literal["digits", "mnist", "npz"] = "digits"
    #: MNIST idx folder; None uses $FLOW_DATA_DIR
    data_dir: str | None = None
    #: the .npz file (keys x_train, y_train, x_test, y_test) when name is npz
    path: str | None = None
    #: fraction of the training set held out for validation (used when `validation` is not set)
    validation_split: float = 0.1
    #: images held out for validation, the LAST ones of the training set; every choice of `flow
    #: compress` (best epoch, search) uses them, the test set only the final report. None: the
    #: last `validation_split` of the training set, at most 5,000 (MNIST: 5,000); 0: none
    validation: int | None = None
    #: use only the first n training samples (0 = all); handy for quick runs
    train_subset: int = 0
    #: use only the first n test samples (0 = all)
    test_subset: int = 0
    #: samples used to profile activation ranges for the fixed-point types
    calibration_samples: int = 1000

    def __post_init__(self) -> None:
        if not 0.0 <= self.validation_split < 1.0:
            raise ValueError(f"validation_split={self.validation_split} is out of range; use 0 <= v < 1")
        if self.validation is not None and self.validation < 0:
            raise ValueError(f"validation={self.validation} must be >= 0 (images held out)")
        for key in ("train_subset", "test_subset", "calibration_samples"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}={getattr(self, key)} must be >= 0")
