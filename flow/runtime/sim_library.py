"""ctypes wrapper of the AXI top's C simulation (`<project>_axi_sim`, see flow/board/axi_top.py)."""

from __future__ import annotations

import contextlib
import ctypes
import os
from pathlib import Path

import numpy as np

from flow.errors import FlowError
from flow.runtime.bundle import BundleError

#: environment variable the library falls back to for hls4ml's text weights (flow.board.axi_top.WEIGHTS_ENV)
WEIGHTS_ENV = "EIE_WEIGHTS_DIR"

# weights folder given to each library file loaded in this process, by (st_dev, st_ino): the dynamic
# loader hands out one instance per file, and its network keeps the weights it read first
_weights_of: dict[tuple[int, int], str | None] = {}


@contextlib.contextmanager
def env_var(name: str, value: str | None):
    """Set (None: unset) the environment variable `name` inside the block; restore it afterwards."""
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


class SimLibrary:
    """ctypes wrapper of `<project>_axi_sim` (see flow/board/axi_top.py).

    ``weights_dir``: the folder of hls4ml's text weights (bundle/sim/weights) for networks whose
    hls4ml layers read them in csim; None: the library's default ($EIE_WEIGHTS_DIR, else the folder
    of the project it was compiled from).
    """

    def __init__(self, path, project: str, weights_dir=None):
        self.path = Path(path)
        self.weights_dir = None if weights_dir is None else str(Path(weights_dir).resolve())
        probe_library(self.path)
        try:
            self._lib = ctypes.CDLL(str(self.path))
            self._run = getattr(self._lib, f"{project}_axi_sim")
            layout = getattr(self._lib, f"{project}_axi_sim_layout")
        except (OSError, AttributeError) as exc:
            raise BundleError(
                f"{self.path} is not the AXI-top simulation library of '{project}': {exc}"
            ) from exc
        # The weights folder goes to this library, not to os.environ: hls4ml's code reads WEIGHTS_DIR
        # lazily, on the network's first call (a static loaded_weights flag), not at load time. A
        # process-wide $EIE_WEIGHTS_DIR set when a board is opened would leak into the rest of the
        # process, and a second board opened before the first one's first run would hand the first
        # its weights. The setter stores the folder in this library's own instance (one per file:
        # the dynamic loader shares a file loaded twice, hence the check). Libraries built before the
        # setter existed get the variable only around each call (_weights_env), then restored.
        st = os.stat(self.path)
        key = (st.st_dev, st.st_ino)
        if _weights_of.setdefault(key, self.weights_dir) != self.weights_dir:
            raise BundleError(
                f"{self.path} is already loaded in this process with the weights of "
                f"{_weights_of[key] or 'its project'}, not {self.weights_dir or 'its project'}: the network "
                "keeps the weights it read first (give each bundle its own copy of the library)"
            )
        self._env_weights = False
        if self.weights_dir is not None:
            setter = getattr(self._lib, f"{project}_axi_sim_set_weights_dir", None)
            if setter is None:
                self._env_weights = True
            else:
                setter.argtypes, setter.restype = [ctypes.c_char_p], None
                setter(os.fsencode(self.weights_dir))
        network = getattr(self._lib, f"{project}_axi_sim_network", None)
        if network is not None:
            network.argtypes, network.restype = [], ctypes.c_char_p
        #: the network fingerprint compiled in ("" if built without one), None: a library older than it
        self.network = None if network is None else (network() or b"").decode("ascii", "replace")
        u64p = np.ctypeslib.ndpointer(np.uint64, flags="C_CONTIGUOUS")
        self._run.argtypes = [u64p, ctypes.c_size_t, u64p, ctypes.c_size_t, ctypes.c_uint]
        self._run.restype = ctypes.c_int
        info = (ctypes.c_uint * 5)()
        layout(info)
        self.stream_bits, self.in_bits, self.in_words, self.out_bits, self.out_words = list(info)

    def run(self, in_words: np.ndarray, n_samples: int) -> np.ndarray:
        in_words = np.ascontiguousarray(in_words, dtype=np.uint64)
        out = np.zeros(n_samples * self.out_words, dtype=np.uint64)
        with self._weights_env():
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

    def _weights_env(self):
        """$EIE_WEIGHTS_DIR around a call, for libraries without the setter (their weights load lazily)."""
        return env_var(WEIGHTS_ENV, self.weights_dir) if self._env_weights else contextlib.nullcontext()


def probe_library(path: Path) -> None:
    """Refuse a file that is not a loadable shared library before this process loads it: a truncated
    .so passes dlopen and then kills the process with SIGBUS, so it is loaded in a child first."""
    import signal
    import subprocess
    import sys

    from flow.runtime.files import FileError, require_file

    fix = "rebuild the bundle with `flow build` (or pass --library a simulation library built from it)"
    try:
        require_file(path, fix, kind="shared library")
    except FileError as exc:
        raise BundleError(str(exc)) from None
    code = "import ctypes, sys; ctypes.CDLL(sys.argv[1])"
    try:
        res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BundleError(f"{path}: cannot be probed as a shared library ({exc}); {fix}") from None
    if res.returncode < 0:
        name = signal.Signals(-res.returncode).name
        raise BundleError(f"{path}: loading it crashes ({name}): the library is truncated or damaged; {fix}")
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise BundleError(f"{path}: not a loadable shared library ({last}); {fix}")


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


def check_network(meta, lib: SimLibrary, model_json) -> None:
    """Raise BundleError when the library was compiled for another network than the bundle's (same
    interface, other weights or types: it would run and give wrong outputs) or cannot say which one.

    meta.network None (a bundle from before fingerprints): nothing to check against, the outputs are
    still compared with the test vectors."""
    import logging

    if meta.network is None:
        logging.getLogger(__name__).warning(
            "%s has no network fingerprint (an older eie-flow built it): %s cannot be checked against it",
            model_json, lib.path,
        )
        return
    fix = (
        f"rebuild with `flow build`, or pass the library built with this bundle"
        f"{f' ({Path(model_json).parent / meta.sim_library})' if meta.sim_library else ''}"
    )
    if not lib.network:
        raise BundleError(
            f"{lib.path} does not say which network it was compiled for (no {meta.project}_axi_sim_network: "
            f"an older eie-flow built it), so it cannot be checked against {model_json}; {fix}"
        )
    if lib.network != meta.network:
        raise BundleError(
            f"{lib.path} was compiled for another network (fingerprint {lib.network[:12]}) than {model_json} "
            f"describes ({meta.network[:12]}): same interface, other weights or types; {fix}"
        )
