"""The simulated board and the dataset run behind `flow run [--sim]`.

Test vectors (`test_vectors.npz` in the bundle, named by model.json `test_vectors`):
  x       float32 (N, n_in)    inputs as the user would pass them to predict()
  y_raw   int64   (N, n_out)   expected raw outputs (numpy reference / csim) for x, optional
  labels  int     (N,)         true classes, optional
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flow.errors import DataError
from flow.runtime.overlay import EIEOverlay

TEST_VECTORS = "test_vectors.npz"


def sim_overlay(bundle_dir, *, library=None, board=None, fault=None, **kwargs) -> EIEOverlay:
    """`EIEOverlay` on the simulated board (the same driver code path as on hardware): the C
    simulation of the HLS IP, or for an RTL overlay bundle (overlay.json) Verilator's model of
    eie_axi (flow.runtime.sim_rtl; its library from overlay.json's sim_library or `library`)."""
    if (Path(bundle_dir) / "overlay.json").is_file():
        from flow.runtime.sim_rtl import RTLSimDevice

        kwargs.pop("check_board", None)
        device = RTLSimDevice(bundle_dir, library=library, board=board, fault=fault)
        return EIEOverlay(bundle_dir, device=device, **kwargs)
    from flow.runtime.sim_device import SimDevice

    device = SimDevice(bundle_dir, library=library, board=board, fault=fault)
    return EIEOverlay(bundle_dir, device=device, **kwargs)


def write_test_vectors(bundle_dir, x, y_raw=None, labels=None, name: str = TEST_VECTORS) -> Path:
    """Write test vectors into a bundle (does not edit model.json; set `test_vectors` there)."""
    arrays = {"x": np.asarray(x, dtype=np.float32)}
    if y_raw is not None:
        arrays["y_raw"] = np.asarray(y_raw, dtype=np.int64)
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    path = Path(bundle_dir) / name
    np.savez_compressed(path, **arrays)
    return path


def load_test_vectors(path, meta) -> dict:
    """Read and check a test-vector npz against the bundle's io (`meta`: a BundleMeta)."""
    from flow.runtime.files import FileError, check_array, load_npz

    path = Path(path)
    fix = "rebuild the bundle with `flow build`, or pass --data with an npz of x, y_raw, labels"
    try:
        data = load_npz(path, fix, required=("x",), kind="test vectors .npz")
        x = check_array(path, "x", data["x"], fix=fix)
        for key in ("y_raw", "labels"):
            if key in data:
                check_array(path, key, data[key], fix=fix)
    except FileError as exc:
        raise DataError(str(exc)) from None
    n_in, n_out = meta.io.n_in, meta.io.n_out
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != n_in:
        raise DataError(f"{path}: x has shape {x.shape}, the bundle expects (N, {n_in})")
    x = x.reshape(len(x), n_in)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: x holds NaN/Inf")
    out = {"x": x}
    if "y_raw" in data:
        if data["y_raw"].shape != (len(x), n_out):
            raise DataError(f"{path}: y_raw has shape {data['y_raw'].shape}, expected ({len(x)}, {n_out})")
        out["y_raw"] = data["y_raw"].astype(np.int64)
    if "labels" in data:
        if data["labels"].shape != (len(x),):
            raise DataError(f"{path}: labels has shape {data['labels'].shape}, expected ({len(x)},)")
        out["labels"] = data["labels"].astype(np.int64)
    return out


def run_vectors(overlay: EIEOverlay, vectors: dict, batch_size: int | None = None) -> dict:
    """Run test vectors through an overlay; accuracy and bit agreement with the expected raw outputs."""
    io = overlay.io
    x_raw = io.in_t.quantize(vectors["x"])
    y_raw = overlay.predict(x_raw, batch_size=batch_size, raw=True)
    n = len(x_raw)
    report = {"samples": n, "timings": dict(overlay.timings)}
    if "labels" in vectors and n:
        report["accuracy"] = float(np.mean(y_raw.argmax(axis=1) == vectors["labels"]))
    if "y_raw" in vectors and n:
        ref = vectors["y_raw"]
        same = y_raw == ref
        rows = same.all(axis=1)
        report["bit_agreement"] = float(rows.mean())
        report["value_agreement"] = float(same.mean())
        report["max_raw_diff"] = int(np.abs(y_raw - ref).max())
        report["first_mismatch"] = None if rows.all() else int(np.argmin(rows))
        if "labels" in vectors:
            report["reference_accuracy"] = float(np.mean(ref.argmax(axis=1) == vectors["labels"]))
    return report
