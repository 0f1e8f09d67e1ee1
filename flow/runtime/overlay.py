"""PYNQ driver of an eie-flow deploy bundle: `EIEOverlay(bundle).predict(X)`.

Block design (docs/internals.md): AXI DMA `axi_dma_0` (simple mode) streams packed samples into the
IP `eie_0` (`<project>_axi`) and its results back. The IP's s_axilite registers: 0x00 AP_CTRL,
0x10 N_SAMPLES. Uses only the pynq API that 3.0 through 4.0 share (Overlay, allocate, DefaultIP,
the DMA channels' transfer/idle/error/wait); pynq is imported when an overlay is opened.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from flow.errors import FlowError, UsageError
from flow.runtime.bundle import BundleError, BundleMeta

log = logging.getLogger(__name__)

DMA_CELL = "axi_dma_0"
IP_CELL = "eie_0"

# Vitis HLS s_axilite control registers of <project>_axi
AP_CTRL = 0x00
N_SAMPLES = 0x10
AP_START, AP_DONE, AP_IDLE = 0x1, 0x2, 0x4

DEFAULT_TIMEOUT_S = 5.0
#: the longest wait per transfer accepted (a day): beyond it a hung DMA looks like a hung program
MAX_TIMEOUT_S = 86400.0
#: samples per DMA transfer unless batch_size says otherwise: keeps one transfer well inside the timeout
DEFAULT_MAX_BATCH = 8192
_POLL_S = 1e-4


def check_timeout(value, what: str = "timeout") -> float:
    """The one check of a DMA/IP wait in seconds (the API's `timeout=` and `flow run --timeout`):
    a finite number in (0, MAX_TIMEOUT_S]. NaN would never time out, 0 or less would time out at once."""
    import math

    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT_S):
        raise UsageError(
            f"{what}={value!r}: give the seconds to wait for each DMA transfer, a number > 0 and <= "
            f"{MAX_TIMEOUT_S:g} (default {DEFAULT_TIMEOUT_S:g})"
        )
    return seconds


class DeviceTimeout(FlowError):
    """The DMA or the IP did not finish in time; the message names the channel."""


def _import_pynq():
    try:
        import pynq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UsageError(
            "pynq is not installed: run on a PYNQ board, or use the simulated board (`flow run --sim`)"
        ) from exc
    return pynq


def _norm_board(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def running_board(device=None) -> str | None:
    """The board this process runs on, when knowable: a simulated device's `board`, else $BOARD
    (PYNQ images set it, e.g. 'Pynq-Z2')."""
    board = getattr(device, "board", None)
    if board:
        return str(board)
    return os.environ.get("BOARD") or None


def _ip_driver_class():
    from pynq import DefaultIP

    class EIECore(DefaultIP):
        """The `<project>_axi` IP: start with a sample count, poll done/idle with a timeout."""

        def start_batch(self, n_samples: int) -> None:
            self.write(N_SAMPLES, int(n_samples))
            self.write(AP_CTRL, AP_START)

        @property
        def ctrl(self) -> int:
            return self.read(AP_CTRL)

    return EIECore


class EIEOverlay:
    """Runs an eie-flow network on a PYNQ board (or the simulated board, `device=SimDevice(...)`).

    Parameters
    ----------
    bundle_dir : the deploy bundle (model.json, <project>.bit, <project>.hwh)
    download : program the bitstream (False: use what is loaded, as pynq.Overlay does)
    device : pynq Device to use (None: pynq's active device); a `flow.runtime.sim_device.SimDevice`
        for the simulated board
    timeout : seconds to wait for each DMA channel and the IP per transfer
    check_board : refuse a bundle built for another board than the running one (when knowable)
    """

    def __new__(cls, bundle_dir, *args, **kwargs):
        """A bundle holding overlay.json is the RTL overlay (flow.runtime.rtl_overlay): models are
        loaded at run time with `load`; otherwise the HLS kernel with its weights in ROM."""
        if cls is EIEOverlay and (Path(bundle_dir) / "overlay.json").is_file():
            from flow.runtime.rtl_overlay import EIERTLOverlay

            return EIERTLOverlay(bundle_dir, *args, **kwargs)
        return super().__new__(cls)

    def load(self, src) -> None:
        """HLS bundles hold their model in the bitstream: refuse, saying what loads models."""
        raise UsageError(
            f"bundle {self.bundle_dir} is the HLS kernel with its weights in ROM: it cannot load {src}. "
            "Loading models at run time needs the RTL overlay (a bundle with overlay.json, docs/overlay.md)"
        )

    def __init__(
        self,
        bundle_dir,
        *,
        download: bool = True,
        device=None,
        timeout: float = DEFAULT_TIMEOUT_S,
        check_board: bool = True,
    ):
        self.bundle_dir = Path(bundle_dir)
        self.meta = BundleMeta.load(self.bundle_dir)
        self.timeout = check_timeout(timeout)
        self.io = self.meta.io
        self.in_layout = self.io.in_layout
        self.out_layout = self.io.out_layout
        if check_board:
            here = running_board(device)
            if here is not None and _norm_board(here) != _norm_board(self.meta.board):
                raise UsageError(
                    f"bundle {self.bundle_dir} was built for board '{self.meta.board}' but this is '{here}': "
                    f"rebuild it with `flow build --board {here.lower()}` (or pass check_board=False)"
                )
        bitfile = self._bitfile(device)
        pynq = _import_pynq()
        self._pynq = pynq
        self.overlay = pynq.Overlay(str(bitfile), download=download, device=device)
        self.device = self.overlay.device
        cells = sorted(self.overlay.ip_dict)
        for cell in (DMA_CELL, IP_CELL):
            if cell not in self.overlay.ip_dict:
                raise BundleError(
                    f"{bitfile.with_suffix('.hwh').name} has no cell '{cell}' (cells: {', '.join(cells)}); "
                    "the block design must name the DMA axi_dma_0 and the EIE IP eie_0"
                )
        self.dma = getattr(self.overlay, DMA_CELL)
        for name in ("sendchannel", "recvchannel"):
            if getattr(self.dma, name, None) is None:
                raise BundleError(f"{DMA_CELL} has no {name}: the DMA needs both MM2S and S2MM channels")
        desc = dict(self.overlay.ip_dict[IP_CELL])
        desc["device"] = self.device
        self.ip = _ip_driver_class()(desc)
        self._in_buf = self._out_buf = None
        self._stuck = None
        self.timings: dict = {}
        max_bytes = int(getattr(self.dma, "buffer_max_size", (1 << self.meta.dma.length_bits) - 1))
        per_sample = max(self.in_layout.bytes_per_sample, self.out_layout.bytes_per_sample)
        self.max_transfer_samples = max(1, max_bytes // per_sample)  # the DMA length register's limit

    # -- setup -------------------------------------------------------------------------------

    def _bitfile(self, device) -> Path:
        """The bitstream path; a simulated device supplies one when the bundle has none."""
        bit = self.bundle_dir / self.meta.bitstream
        hwh = self.bundle_dir / self.meta.hwh
        sim_bitfile = getattr(device, "sim_bitfile", None)
        if callable(sim_bitfile):
            return Path(sim_bitfile(self.bundle_dir, self.meta))
        missing = [p.name for p in (bit, hwh) if not p.is_file()]
        if missing:
            raise BundleError(
                f"bundle {self.bundle_dir} lacks {' and '.join(missing)}: copy the whole bundle from "
                "`flow build` (the .bit and .hwh are produced by Vivado), or run it with `flow run --sim`"
            )
        return bit

    def _buffers(self, n: int):
        """DMA buffers for n samples, reused across calls while large enough."""
        n_in = n * self.in_layout.words_per_sample
        n_out = n * self.out_layout.words_per_sample
        if self._in_buf is None or self._in_buf.shape[0] < n_in or self._out_buf.shape[0] < n_out:
            self.free_buffers()
            alloc = self._pynq.allocate
            self._in_buf = alloc(shape=(n_in,), dtype=self.in_layout.dtype, target=self.device)
            self._out_buf = alloc(shape=(n_out,), dtype=self.out_layout.dtype, target=self.device)
        return self._in_buf[:n_in], self._out_buf[:n_out]

    def free_buffers(self) -> None:
        for buf in (self._in_buf, self._out_buf):
            if buf is not None and hasattr(buf, "freebuffer"):
                buf.freebuffer()
        self._in_buf = self._out_buf = None

    def close(self) -> None:
        self.free_buffers()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- inference ---------------------------------------------------------------------------

    def _check_input(self, X, raw: bool) -> np.ndarray:
        X = np.asarray(X)
        n_in = self.io.n_in
        if X.ndim == 1 and X.size == n_in:
            X = X[None, :]
        if X.ndim < 2 or int(np.prod(X.shape[1:])) != n_in:
            raise UsageError(f"input of shape {X.shape} does not fit this network: expected (batch, {n_in})")
        X = X.reshape(X.shape[0], n_in)
        if raw:
            try:
                return self.io.in_t.check_raw(X, "raw input")
            except UsageError as exc:
                raise UsageError(f"{exc}; pass raw=False for float inputs") from exc
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise UsageError(f"input must be real numbers, got dtype {X.dtype}")
        finite = np.isfinite(X)
        if not finite.all():
            rows = np.unique(np.argwhere(~finite)[:, 0])
            raise UsageError(
                f"input holds {int((~finite).sum())} NaN/Inf value(s), first in sample {int(rows[0])} "
                f"({len(rows)} sample(s) affected); the fixed-point IP cannot represent them"
            )
        return self.io.in_t.quantize(X)

    def predict(self, X, batch_size: int | None = None, raw: bool = False) -> np.ndarray:
        """Run samples X (batch, n_in) through the IP.

        Floats are quantized to the input type (its rounding and saturation) and the outputs are
        returned as floats, softmax applied when the bundle says so. With raw=True, X holds raw
        fixed-point integers and the raw int64 outputs are returned. batch_size caps the samples per
        DMA transfer (default: 8192, or fewer if the DMA length register allows fewer).
        """
        if self._stuck:
            raise FlowError(
                f"the device timed out before ({self._stuck}); reload the overlay (download=True)"
            )
        x_raw = self._check_input(X, raw)
        n = x_raw.shape[0]
        out_raw = np.zeros((n, self.io.n_out), dtype=np.int64)
        chunk = min(self.max_transfer_samples, DEFAULT_MAX_BATCH)
        if batch_size is not None:
            if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
                raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
            chunk = min(self.max_transfer_samples, int(batch_size))
        latencies = []
        t0 = time.perf_counter()
        for start in range(0, n, chunk):
            t = time.perf_counter()
            out_raw[start : start + chunk] = self._run_batch(x_raw[start : start + chunk])
            latencies.append(time.perf_counter() - t)
        total = time.perf_counter() - t0
        self.timings = {
            "samples": n,
            "batches": len(latencies),
            "batch_size": chunk,
            "seconds": total,
            "inferences_per_s": n / total if total > 0 else float("inf"),
            "latency_per_batch_s": float(np.mean(latencies)) if latencies else 0.0,
            "latency_per_sample_s": total / n if n else 0.0,
        }
        if raw:
            return out_raw
        y = self.io.out_t.to_float(out_raw)
        if self.meta.softmax_on_host:
            y = softmax(y)
        return y

    def _run_batch(self, x_raw: np.ndarray) -> np.ndarray:
        n = x_raw.shape[0]
        inbuf, outbuf = self._buffers(n)
        inbuf[:] = self.in_layout.pack(x_raw)
        outbuf[:] = 0  # stale results must not pass for new ones ...
        outbuf.flush()  # ... and the dirty cache lines must not land on the DMA's data later
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        recv.transfer(outbuf)
        send.transfer(inbuf)
        self.ip.start_batch(n)
        self._wait_channel(send, f"{DMA_CELL} send channel (MM2S)", "the IP did not take all input words")
        self._wait_channel(
            recv, f"{DMA_CELL} receive channel (S2MM)", "the IP produced fewer output words or no TLAST"
        )
        self._wait_ip()
        got = int(recv.transferred)
        if got != outbuf.nbytes:
            raise FlowError(
                f"{DMA_CELL} received {got} bytes for {n} samples, expected {outbuf.nbytes}: "
                "the bundle's io (n_out, out_bits, stream_bits) does not match the IP"
            )
        return self.out_layout.unpack(np.asarray(outbuf), n, signed=self.io.out_type["signed"])

    def _deadline_wait(self, done, what: str, hint: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            if time.monotonic() > deadline:
                self._stuck = what
                raise DeviceTimeout(
                    f"timeout after {self.timeout:g} s waiting for {what}: {hint}. "
                    "Check that the bundle matches the loaded bitstream; reload the overlay to recover"
                )
            time.sleep(_POLL_S)

    def _wait_channel(self, channel, what: str, hint: str) -> None:
        def finished() -> bool:
            return channel.idle or channel.error

        self._deadline_wait(finished, what, hint)
        try:
            channel.wait()  # returns at once now; raises on DMA error bits, syncs the buffer
        except RuntimeError as exc:
            raise FlowError(f"{what}: {exc}") from exc

    def _wait_ip(self) -> None:
        self._deadline_wait(
            lambda: bool(self.ip.ctrl & (AP_DONE | AP_IDLE)),
            f"{IP_CELL} (ap_done)",
            "the IP did not finish its batch",
        )


def softmax(y: np.ndarray) -> np.ndarray:
    z = y - y.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
