"""ctypes wrapper of the AXI top's C simulation (`<project>_axi_sim`, see flow/hls/axi_top.py)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from flow.errors import FlowError
from flow.runtime.bundle import BundleError


class SimLibrary:
    """ctypes wrapper of `<project>_axi_sim` (see flow/hls/axi_top.py)."""

    def __init__(self, path, project: str):
        self.path = Path(path)
        try:
            self._lib = ctypes.CDLL(str(self.path))
            self._run = getattr(self._lib, f"{project}_axi_sim")
            layout = getattr(self._lib, f"{project}_axi_sim_layout")
        except (OSError, AttributeError) as exc:
            raise BundleError(
                f"{self.path} is not the AXI-top simulation library of '{project}': {exc}"
            ) from exc
        u64p = np.ctypeslib.ndpointer(np.uint64, flags="C_CONTIGUOUS")
        self._run.argtypes = [u64p, ctypes.c_size_t, u64p, ctypes.c_size_t, ctypes.c_uint]
        self._run.restype = ctypes.c_int
        info = (ctypes.c_uint * 5)()
        layout(info)
        self.stream_bits, self.in_bits, self.in_words, self.out_bits, self.out_words = list(info)

    def run(self, in_words: np.ndarray, n_samples: int) -> np.ndarray:
        in_words = np.ascontiguousarray(in_words, dtype=np.uint64)
        out = np.zeros(n_samples * self.out_words, dtype=np.uint64)
        n = self._run(in_words, in_words.size, out, out.size, n_samples)
        if n < 0:
            reasons = {
                -1: "too few input words",
                -2: "input words left over",
                -3: "output overflow",
                -4: "TLAST not on the last output word",
            }
            raise FlowError(f"{self.path.name}: C simulation failed ({reasons.get(n, n)})")
        return out[:n]


def check_layout(meta, lib: SimLibrary) -> None:
    """Raise BundleError when model.json's io does not describe the IP in the library."""
    io = meta.io
    want = (
        io.stream_bits,
        io.in_bits,
        io.in_layout.words_per_sample,
        io.out_bits,
        io.out_layout.words_per_sample,
    )
    have = (lib.stream_bits, lib.in_bits, lib.in_words, lib.out_bits, lib.out_words)
    if want != have:
        names = ("stream_bits", "in_bits", "in words/sample", "out_bits", "out words/sample")
        rows = zip(names, want, have, strict=True)
        diff = ", ".join(f"{n}: model.json {w} vs IP {h}" for n, w, h in rows if w != h)
        raise BundleError(f"model.json does not match the IP in {lib.path.name} ({diff})")
