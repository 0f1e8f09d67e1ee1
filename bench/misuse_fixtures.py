"""Fixtures of the misuse campaign (bench/misuse.py): built once per campaign, on first use, shared
read-only by the cases (the runner hashes each one a case names before and after it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from misuse import FLOW_MAIN, ROOT


class Fixtures:
    """Named fixtures under `root`, built on first use (get(name) -> path)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._made: dict[str, Path] = {}

    def get(self, name: str) -> Path:
        if name not in self._made:
            maker = getattr(self, f"_make_{name}")
            self._made[name] = Path(maker(self.root / name))
        return self._made[name]

    # each maker writes `out` (a file or a folder) and returns its path
    def _make_compressed(self, out: Path) -> Path:
        """A compressed digits MLP (64 -> 16 -> 10) as `flow compress` writes it, made without training."""
        from flow.compress.io import save_compressed
        from flow.data import load_dataset
        from flow.testing import as_compressed, shared_mlp

        ds = load_dataset()
        model, types = shared_mlp([64, 16, 10], [0.5, 0.5], calib_x=ds.x_train[:256], seed=1)
        save_compressed(as_compressed(model, types), out)
        return out

    def _make_build(self, out: Path) -> Path:
        """A real build of the compressed fixture (--skip-train, 2 PEs)."""
        res = subprocess.run([sys.executable, "-c", FLOW_MAIN, "build", "--model", str(self.get("compressed")),
                              "--skip-train", "--out", str(out), "--no-progress", "--pe", "2"],
                             capture_output=True, text=True, env=_env())
        if res.returncode != 0:
            raise RuntimeError(f"the build fixture failed:\n{res.stderr[-2000:]}")
        return out

    def _make_bundle(self, out: Path) -> Path:
        return self.get("build") / "bundle"

    def _make_fakebuild(self, out: Path) -> Path:
        """A build folder with a complete state, an rtl step report and a board (no real build)."""
        (out / "reports").mkdir(parents=True)
        steps = {s: {"status": "done", "seconds": 1.5} for s in ("compress", "hls", "csim", "rtl", "bundle")}
        summary = {"accuracy by stage": "dense 0.9722, pruned 0.9694, shared 0.9667, quantized 0.9667",
                   "rtl (measured: simulation, Yosys)": "bit-exact on 300 samples, 351.9 cycles/inference",
                   "note": "5.2 \u00b1 0.1 \u2264 6 \u2026 \u2192 done"}
        (out / "build_state.json").write_text(json.dumps({"complete": True, "steps": steps, "summary": summary,
                                                           "notes": []}))
        rtl = {"rtlsim": {"n": 300, "accuracy_rtl": 0.9767, "bit_mismatches": 0, "cycles_mean": 351.9,
                          "cycles_p99": 384.0, "model_checked": 200, "model_cycle_mismatches": 0,
                          "source": "RTL simulation (Verilator)"},
               "yosys": {"xc7": {"family": "xc7", "device": "xc7z020 (PYNQ-Z2)", "LUT": 5320, "FF": 3508,
                                 "BRAM36": 7.0, "DSP": 8, "URAM": 0, "sta_ns": 3.855, "source": "Yosys 0.23"}},
               "estimate": {"LUT": 8051, "FF": 3607, "BRAM36": 8.0, "DSP": 8}}
        (out / "reports" / "rtl.json").write_text(json.dumps(rtl))
        (out / "reports" / "resources.json").write_text(json.dumps({"board": "pynq-z2", "clock_mhz": 125.0}))
        return out

    def _digits(self):
        from flow.data import load_dataset

        return load_dataset()

    def _make_npz(self, out: Path) -> Path:
        import numpy as np

        ds = self._digits()
        out = out.with_suffix(".npz")
        np.savez(out, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test)
        return out

    def _make_npz_nan(self, out: Path) -> Path:
        import numpy as np

        ds = self._digits()
        x = ds.x_train.copy()
        x[3, 5] = np.nan
        out = out.with_suffix(".npz")
        np.savez(out, x_train=x, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test)
        return out

    def _make_npz_one_class(self, out: Path) -> Path:
        import numpy as np

        ds = self._digits()
        out = out.with_suffix(".npz")
        np.savez(out, x_train=ds.x_train, y_train=np.zeros_like(ds.y_train), x_test=ds.x_test, y_test=ds.y_test)
        return out

    def _make_cm_npz(self, out: Path) -> Path:
        """The compressed fixture as if compressed from a user's .npz (its config names data.path)."""
        shutil.copytree(self.get("compressed"), out)
        (out / "config.yaml").write_text(f"data: {{name: npz, path: {self.get('npz')}}}\n")
        return out

    def _make_mnist(self, out: Path) -> Path:
        """MNIST-shaped idx files (28x28, 12 images per split, random)."""
        import gzip
        import struct

        import numpy as np

        out.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for stem, arr in (("train-images-idx3-ubyte", rng.integers(0, 256, (12, 28, 28))),
                          ("train-labels-idx1-ubyte", rng.integers(0, 10, 12)),
                          ("t10k-images-idx3-ubyte", rng.integers(0, 256, (12, 28, 28))),
                          ("t10k-labels-idx1-ubyte", rng.integers(0, 10, 12))):
            head = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
            with gzip.open(out / f"{stem}.gz", "wb") as f:
                f.write(head + arr.astype(np.uint8).tobytes())
        return out

    def _keras(self, out: Path, n_in: int, hidden: str, final: str) -> Path:
        import tensorflow as tf

        L = tf.keras.layers
        m = tf.keras.Sequential([L.Input(shape=(n_in,)), L.Dense(16, activation=hidden, name="fc1"),
                                 L.Dense(10, activation=final, name="fc2")])
        out = out.with_suffix(".keras")
        m.save(out)
        return out

    def _make_keras_tanh(self, out: Path) -> Path:
        return self._keras(out, 64, "tanh", "softmax")

    def _make_keras_sigmoid(self, out: Path) -> Path:
        return self._keras(out, 64, "relu", "sigmoid")

    def _make_keras_wide(self, out: Path) -> Path:
        return self._keras(out, 30, "relu", "softmax")

    def _recurrent(self, out: Path, layer) -> Path:
        import tensorflow as tf

        L = tf.keras.layers
        m = tf.keras.Sequential([L.Input(shape=(8, 8)), layer, L.Dense(10, name="fc")])
        out = out.with_suffix(".keras")
        m.save(out)
        return out

    def _make_keras_gru(self, out: Path) -> Path:
        import tensorflow as tf

        return self._recurrent(out, tf.keras.layers.GRU(6, name="gru"))

    def _make_keras_lstm_seq(self, out: Path) -> Path:
        import tensorflow as tf

        L = tf.keras.layers
        return self._recurrent(out, L.LSTM(6, return_sequences=True, name="lstm"))

    def _make_image(self, out: Path) -> Path:
        """model.eie of the compressed fixture for the pynq-z2 P = 16 overlay, as `flow image` writes it."""
        out = out.with_suffix(".eie")
        res = subprocess.run([sys.executable, "-c", FLOW_MAIN, "image", str(self.get("compressed")), "--pe", "16",
                              "--out", str(out)], capture_output=True, text=True, env=_env())  # fmt: skip
        if res.returncode != 0:
            raise RuntimeError(f"fixture image: {res.stderr[-2000:]}")
        return out

    def _make_userdir(self, out: Path) -> Path:
        """A user's folder with a precious file."""
        out.mkdir()
        (out / "holiday.jpg").write_bytes(b"\xff\xd8 precious")
        return out

    def _make_textfile(self, out: Path) -> Path:
        out = out.with_suffix(".txt")
        out.write_text("not a model\n")
        return out

    def _make_quick_cfg(self, out: Path) -> Path:
        """A config for a quick real `flow compress` (digits subset, one epoch per phase)."""
        out = out.with_suffix(".yaml")
        out.write_text("data: {train_subset: 300, test_subset: 100}\n"
                       "compress: {epochs: 1, prune_epochs: 1, finetune_epochs: 1}\n")
        return out


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
