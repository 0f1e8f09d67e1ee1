"""Driver of the RTL overlay (kernels/rtl/overlay/eie_axi.sv): built once, loaded with many models.

    ov = EIEOverlay("overlay_bundle/")    # a bundle with overlay.json: this class
    ov.load("lenet/model.eie")            # or a folder holding model.eie; no bitstream reload
    y = ov.predict(X)
    ov.load("digits/model.eie", slot=1)   # a second resident model, placed after the first
    ov.select(1); ov.select(0)            # a swap: one register write (MODEL.SEL)
    ov.timings                            # hardware cycle counters of the last batch and load

The register-level logic (`OverlayCore`) needs only an MMIO object (read/write of 32-bit
registers), three DMA channels (transfer/idle/wait, pynq's API: input MM2S, output S2MM, load
MM2S) and an allocate function, so the same code runs on a board (pynq), in the cocotb bridge
test against the RTL (tests/overlay), and on a simulated board. numpy only; pynq lazily.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from flow.errors import FlowError, UsageError
from flow.runtime import regmap as rm
from flow.runtime.eie_image import (
    ImageError, ModelImage, check_capacity, check_input, expected_rows, read_image,
)
from flow.runtime.packing import StreamLayout
from flow.runtime.placement import footprint, place, relocate

#: block-design cells of the overlay (docs/overlay.md, "Block design contract")
IP_CELL, DMA_CELL, LOAD_DMA_CELL = "eie_0", "axi_dma_0", "axi_dma_1"
_POLL_S = 1e-4


class OverlayTimeout(FlowError):
    """A stream or the overlay did not finish in time; the message names the channel."""


def _f(word: int, lo: int, n: int) -> int:
    return (int(word) >> lo) & ((1 << n) - 1)


def read_identity(mmio) -> dict:
    """The identity and capacity registers; FlowError naming both versions when the overlay's
    register map or model format is not this driver's."""
    ident = mmio.read(rm.offset("IDENT"))
    if ident != rm.IDENT_VALUE:
        raise FlowError(f"the IP at {IP_CELL} reads IDENT {ident:#010x}, "
                        f"not {rm.IDENT_VALUE:#010x} ('EIE1'): this bitstream is not an eie-flow RTL overlay")
    ver = mmio.read(rm.offset("VERSION"))
    regmap_v, format_v = _f(ver, 0, 16), _f(ver, 16, 16)
    if (regmap_v, format_v) != (rm.REGMAP_VERSION, rm.FORMAT_VERSION):
        raise FlowError(
            f"the overlay has register map version {regmap_v} and model format version {format_v}; this "
            f"driver knows register map {rm.REGMAP_VERSION} and format {rm.FORMAT_VERSION}: install the "
            "eie-flow that built the overlay, or rebuild the overlay with this one")
    w = mmio.read(rm.offset("CAP_WIDTHS"))
    lay = mmio.read(rm.offset("CAP_LAYOUT"))
    fifo = mmio.read(rm.offset("CAP_FIFO"))
    r = {k: mmio.read(rm.offset(f"CAP_{k}")) for k in ("P", "DMAX", "ENT", "PTR", "ACC", "BIAS", "NX", "CB")}
    r.update(LAYERS=mmio.read(rm.offset("CAP_LAYERS")), XW=_f(w, 0, 8), WW=_f(w, 8, 8), ACCW=_f(w, 16, 8),
             CBW=_f(w, 24, 4), IXW=_f(w, 28, 4), MAXG=_f(lay, 0, 8), OL=_f(lay, 8, 8), ANYR=_f(lay, 16, 1),
             READ=_f(lay, 17, 1),
             STREAM_BITS=8 * _f(lay, 24, 8), IFIFO=_f(fifo, 0, 16), OFIFO=_f(fifo, 16, 16),
             BUILD_HASH=mmio.read(rm.offset("BUILD_HASH")), REGMAP_VERSION=regmap_v, FORMAT_VERSION=format_v,
             MODELS=mmio.read(rm.offset("CAP_MODELS")))
    return r


class OverlayCore:
    """Register-level driver: identity check, model load, batches, timings (docs/overlay.md)."""

    def __init__(self, mmio, dma_in, dma_out, dma_load, allocate, *, timeout: float = 5.0,
                 clock_mhz: float = 100.0):
        self.mmio, self.dma_in, self.dma_out, self.dma_load = mmio, dma_in, dma_out, dma_load
        self.allocate, self.timeout, self.clock_mhz = allocate, float(timeout), float(clock_mhz)
        self.capacity = read_identity(mmio)
        self.model: ModelImage | None = None  # the selected slot's
        self.slot = 0
        #: resident models: slot -> (image, offsets, footprint) (flow.runtime.placement)
        self.slots: dict[int, tuple[ModelImage, dict, dict]] = {}
        self.timings: dict = {}

    # -- helpers -----------------------------------------------------------------------------
    def _status(self) -> int:
        return self.mmio.read(rm.offset("STATUS"))

    def _wait(self, done, what: str, hint: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            if time.monotonic() > deadline:
                raise OverlayTimeout(f"timeout after {self.timeout:g} s waiting for {what}: {hint}; "
                                     "write CTRL.SOFT_RESET (ov.soft_reset()) after resetting the DMA")
            time.sleep(_POLL_S)

    def _wait_channel(self, ch, what: str, hint: str) -> None:
        self._wait(lambda: ch.idle or getattr(ch, "error", False), what, hint)
        try:
            ch.wait()
        except RuntimeError as exc:
            raise FlowError(f"{what}: {exc}") from exc

    def _wait_bit(self, bit: str, what: str, hint: str) -> None:
        self._wait(lambda: bool(self._status() & rm.bit("STATUS", bit)), what, hint)

    # -- load ---------------------------------------------------------------------------------
    def load(self, src, slot: int | None = None) -> dict:
        """Load model.eie (path, folder holding it, or bytes): every check before any device write.
        slot None: the model alone (slot 0, at base 0; other resident models are dropped); slot k:
        into model slot k, placed after the other resident models (refused, naming the sizes, when
        it does not fit beside them), which stay loaded; then `select` swaps with one write."""
        img = src if isinstance(src, ModelImage) else read_image(src)
        where = f"the overlay (P={self.capacity['P']})"
        check_capacity(img, self.capacity, where)
        n_slots = int(self.capacity.get("MODELS", 1))
        if slot is not None and not (isinstance(slot, int) and 0 <= slot < n_slots):
            raise UsageError(f"model slot {slot!r}: the overlay has slots 0..{n_slots - 1} (CAP_MODELS)")
        keep = {} if slot is None else {k: v for k, v in self.slots.items() if k != slot}
        slot = 0 if slot is None else slot
        off = place(img, {f"slot {k} ({m.source})": (o, f) for k, (m, o, f) in keep.items()}, self.capacity, where)
        words = relocate(img, off)
        t0 = time.perf_counter()
        self._wait_bit("IDLE", f"{IP_CELL} idle before the load", "a batch or a load is still running")
        self.mmio.write(rm.offset("MODEL"), slot)
        self.mmio.write(rm.offset("CTRL"), rm.bit("CTRL", "LOAD"))
        st = self._status()
        if st & rm.bit("STATUS", "REFUSED") or not st & rm.bit("STATUS", "LOADING"):
            raise FlowError(f"{IP_CELL} refused the load (STATUS {st:#x}): it is not idle")
        self.model = None
        self.slots = keep
        buf = self.allocate(shape=(words.size,), dtype=np.uint64)
        buf[:] = words
        if hasattr(buf, "flush"):
            buf.flush()
        self.dma_load.transfer(buf)
        self._wait_channel(self.dma_load, f"{LOAD_DMA_CELL} send channel (model load stream)",
                           "the overlay did not take all load words")
        self._wait_bit("LOADED", f"{IP_CELL} LOADED", "the END record was not taken")
        self._wait_bit("IDLE", f"{IP_CELL} idle after the load", "the load did not end")
        st = self._status()
        taken = self.mmio.read(rm.offset("LOAD_WORDS"))
        if st & rm.bit("STATUS", "LOAD_ERR") or taken != words.size:
            raise FlowError(f"{IP_CELL} took {taken} of {words.size} load words (STATUS {st:#x}): the load failed")
        self.model, self.slot = img, slot
        self.slots[slot] = (img, off, footprint(img))
        cyc = self.mmio.read(rm.offset("LOAD_CYCLES"))
        self.timings = {"load_words": int(taken), "load_cycles": int(cyc),
                        "load_s_at_clock": cyc / (self.clock_mhz * 1e6), "load_host_s": time.perf_counter() - t0,
                        "source": "overlay cycle counters (LOAD_CYCLES) and host wall time"}
        return dict(self.timings)

    def verify_load(self, slot: int | None = None) -> int:
        """Read back (LOAD_READ) every memory row the model in `slot` (default: the selected one)
        wrote and compare it with the image: the number of rows checked; FlowError naming the
        first row that differs. The overlay must be idle (a batch uses the memories' read ports)."""
        if not self.capacity.get("READ"):
            raise UsageError("this overlay has no load readback (CAP_LAYOUT.READ is 0: built with LD_READ=0); "
                             "a load is checked by its word count and the image's CRC only")
        slot = self.slot if slot is None else slot
        if slot not in self.slots:
            raise UsageError(f"model slot {slot!r} holds no model this driver loaded")
        img, off, _ = self.slots[slot]
        rows = expected_rows(dataclasses.replace(img, words=relocate(img, off)), self.capacity)
        self._wait_bit("IDLE", f"{IP_CELL} idle before the readback", "a batch or a load is still running")
        names = ("ENT", "PTR", "CB", "BIAS")
        for (sel, pe, addr), want in rows.items():
            self.mmio.write(rm.offset("LOAD_READ"), addr | pe << 16 | sel << 24)
            got = self.mmio.read(rm.offset("LOAD_DATA_LO")) | self.mmio.read(rm.offset("LOAD_DATA_HI")) << 32
            if got != want:
                raise FlowError(f"{IP_CELL}: {names[sel]} row {addr} of PE {pe} reads {got:#x}, the image "
                                f"{img.source} wrote {want:#x}: the load did not take (reload the model)")
        return len(rows)

    def select(self, slot: int) -> None:
        """Swap to the resident model in `slot`: one register write (MODEL.SEL)."""
        if slot not in self.slots:
            have = ", ".join(str(k) for k in sorted(self.slots)) or "none"
            raise UsageError(f"model slot {slot!r} holds no model this driver loaded (resident: {have}); "
                             "load one with load(path, slot=...)")
        self.mmio.write(rm.offset("MODEL"), slot)
        got = self.mmio.read(rm.offset("MODEL")) & 0xF
        if got != slot:
            raise FlowError(f"{IP_CELL} kept model slot {got} (MODEL write ignored: a batch or a load is running)")
        self.model, self.slot = self.slots[slot][0], slot

    # -- inference ----------------------------------------------------------------------------
    def _layouts(self):
        m = self.model
        cw = [r for r in m.records() if r["kind"] == "CONFIG"][0]["data"][0]
        cfg = {k: _f(cw, lo, n) for k, (lo, n) in rm.CONFIG_FIELDS.items()}
        return (StreamLayout(m.n_in, cfg["IN_BITS"], rm.STREAM_BITS),
                StreamLayout(m.n_out, cfg["OUT_BITS"], rm.STREAM_BITS))

    def run_raw(self, x_raw: np.ndarray) -> np.ndarray:
        """Raw input integers (n, n_in) -> raw outputs (n, n_out), one batch."""
        if self.model is None:
            raise UsageError("no model is loaded: call load('model.eie') first")
        x_raw = check_input(self.model, x_raw)
        n = x_raw.shape[0]
        lin, lout = self._layouts()
        inbuf = self.allocate(shape=(n * lin.words_per_sample,), dtype=np.uint64)
        outbuf = self.allocate(shape=(n * lout.words_per_sample,), dtype=np.uint64)
        inbuf[:] = lin.pack(x_raw)
        outbuf[:] = 0
        for b in (inbuf, outbuf):
            if hasattr(b, "flush"):
                b.flush()
        t0 = time.perf_counter()
        self.mmio.write(rm.offset("N_SAMPLES"), n)
        self.dma_out.transfer(outbuf)
        self.dma_in.transfer(inbuf)
        self.mmio.write(rm.offset("CTRL"), rm.bit("CTRL", "START"))
        if self._status() & rm.bit("STATUS", "REFUSED"):
            raise FlowError(f"{IP_CELL} refused START (STATUS {self._status():#x})")
        self._wait_channel(self.dma_in, f"{DMA_CELL} send channel (MM2S, samples)", "the overlay did not take all input words")
        self._wait_channel(self.dma_out, f"{DMA_CELL} receive channel (S2MM, results)",
                           "the overlay produced fewer output words or no TLAST")
        self._wait_bit("DONE", f"{IP_CELL} DONE", "the batch did not finish")
        host = time.perf_counter() - t0
        cb, cs = self.mmio.read(rm.offset("CYC_BATCH")), self.mmio.read(rm.offset("CYC_SAMPLE"))
        self.timings.update(samples=n, cycles_batch=cb, cycles_last_sample=cs,
                            inferences_per_s_at_clock=n * self.clock_mhz * 1e6 / cb if cb else 0.0,
                            batch_host_s=host)
        return lout.unpack(np.asarray(outbuf), n, signed=self.model.out_t.signed)

    def soft_reset(self) -> None:
        """Abort a batch or load (reset the DMA channels first on a board); the model stays."""
        self.mmio.write(rm.offset("CTRL"), rm.bit("CTRL", "SOFT_RESET"))
        self._wait_bit("IDLE", f"{IP_CELL} idle after the soft reset", "the overlay stayed busy")


class EIERTLOverlay:
    """An RTL overlay bundle (overlay.json + .bit + .hwh) on a PYNQ board: `EIEOverlay(bundle)`
    returns one when the bundle holds overlay.json."""

    def __init__(self, bundle_dir, *, download: bool = True, device=None, timeout: float = 5.0):
        self.bundle_dir = Path(bundle_dir)
        meta_path = self.bundle_dir / "overlay.json"
        try:
            self.meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"{meta_path}: {exc}; copy the whole overlay bundle") from None
        for key, mine in (("regmap_version", rm.REGMAP_VERSION), ("format_version", rm.FORMAT_VERSION)):
            if self.meta.get(key) != mine:
                raise FlowError(f"{meta_path}: {key} {self.meta.get(key)} is not this driver's {mine}: "
                                "install the eie-flow that built the overlay, or rebuild it")
        from flow.runtime.overlay import _import_pynq

        pynq = _import_pynq()
        bit = self.bundle_dir / self.meta["bitstream"]
        sim_bitfile = getattr(device, "sim_bitfile", None)  # a simulated board supplies one without a .bit
        if callable(sim_bitfile):
            bit = Path(sim_bitfile(self.bundle_dir, self.meta))
        elif not bit.is_file():
            raise UsageError(f"overlay bundle {self.bundle_dir} lacks {bit.name} (Vivado builds it): copy the whole "
                             "bundle, or run it on the simulated board (`flow run --sim`)")
        self.overlay = pynq.Overlay(str(bit), download=download, device=device)
        for cell in (IP_CELL, DMA_CELL, LOAD_DMA_CELL):
            if cell not in self.overlay.ip_dict:
                raise FlowError(f"{bit.with_suffix('.hwh').name} has no cell '{cell}' (cells: "
                                f"{', '.join(sorted(self.overlay.ip_dict))}); see docs/overlay.md")
        ip = getattr(self.overlay, IP_CELL)
        dma, ld = getattr(self.overlay, DMA_CELL), getattr(self.overlay, LOAD_DMA_CELL)

        def allocate(shape, dtype):
            return pynq.allocate(shape=shape, dtype=dtype, target=self.overlay.device)

        self.core = OverlayCore(ip, dma.sendchannel, dma.recvchannel, ld.sendchannel, allocate,
                                timeout=timeout, clock_mhz=float(self.meta.get("clock_mhz", 100.0)))

    @property
    def capacity(self) -> dict:
        return self.core.capacity

    @property
    def timings(self) -> dict:
        return self.core.timings

    def load(self, src, slot: int | None = None) -> dict:
        return self.core.load(src, slot)

    def select(self, slot: int) -> None:
        self.core.select(slot)

    def verify_load(self, slot: int | None = None) -> int:
        return self.core.verify_load(slot)

    def predict(self, X, raw: bool = False) -> np.ndarray:
        """Floats (quantized to the model's input type) or raw integers (raw=True) -> outputs."""
        m = self.core.model
        if m is None:
            raise UsageError("no model is loaded: call load('model.eie') first")
        X = np.asarray(X).reshape(len(X), -1) if np.ndim(X) > 1 else np.asarray(X)[None, :]
        if X.shape[1] != m.n_in:
            raise UsageError(f"input of shape {X.shape} does not fit the loaded model: expected (batch, {m.n_in})")
        y = self.core.run_raw(X if raw else m.in_t.quantize(X))
        if raw:
            return y
        y = m.out_t.to_float(y)
        if m.softmax:
            from flow.runtime.overlay import softmax

            y = softmax(y)
        return y


__all__ = ["EIERTLOverlay", "ImageError", "OverlayCore", "OverlayTimeout", "read_identity"]
