"""A simulated PYNQ board: a pynq Device whose DMA and IP registers drive the C simulation.

`SimDevice(bundle_dir)` stands in for the board behind the unchanged driver:
`EIEOverlay(bundle_dir, device=SimDevice(bundle_dir))`. pynq's own code runs against it:
`pynq.Overlay` (with an ip_dict built from model.json and the block design's cell names, since
there is no .hwh without Vivado), `pynq.allocate` (numpy-backed buffers with fake physical
addresses and a separate device-side copy, so a missing flush/invalidate shows), pynq's AXI DMA
driver through MMIO, and the IP's control registers. When the IP has been started and both DMA
channels have a transfer programmed, the device hands the MM2S bytes to the compiled AXI-top
library (flow/board/axi_top.py) and writes its words to the S2MM buffer, setting the same status
bits as the hardware; wrong lengths stall the way the hardware would.

Register protocol (Xilinx PG021, simple DMA mode; Vitis HLS s_axilite):
  DMA  MM2S_DMACR 0x00, MM2S_DMASR 0x04, MM2S_SA 0x18/0x1C, MM2S_LENGTH 0x28,
       S2MM_DMACR 0x30, S2MM_DMASR 0x34, S2MM_DA 0x48/0x4C, S2MM_LENGTH 0x58
  IP   AP_CTRL 0x00 (start, done (clear on read), idle, ready), N_SAMPLES 0x10
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flow.errors import FlowError
from flow.runtime.bundle import MODEL_JSON, BundleError, BundleMeta
from flow.runtime.overlay import AP_CTRL, AP_DONE, AP_IDLE, AP_START, DMA_CELL, IP_CELL, N_SAMPLES
from flow.runtime.sim_base import SimBoard
from flow.runtime.sim_library import SimLibrary, check_layout, check_network

DMA_BASE = 0x4040_0000
IP_BASE = 0x43C0_0000
SPAN = 0x1_0000

DMACR_RS, DMACR_RESET = 0x1, 0x4
DMASR_HALTED, DMASR_IDLE, DMASR_DECERR, DMASR_IOC = 0x1, 0x2, 0x40, 0x1000
DMASR_W1C = 0x7000  # IOC, Dly and Err interrupt bits: write 1 to clear
CHANNEL_OFFSETS = {"mm2s": 0x00, "s2mm": 0x30}
DMACR, DMASR, ADDR, ADDR_MSB, LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
AP_READY = 0x8

FAULTS = (None, "hang", "no_done")


class _Channel:
    def __init__(self):
        self.reset()

    def reset(self):
        self.cr, self.sr = 0, DMASR_HALTED
        self.addr = self.length = 0
        self.pending = False

    @property
    def running(self) -> bool:
        return not self.sr & DMASR_HALTED

    def complete(self, nbytes: int) -> None:
        self.length = nbytes
        self.pending = False
        self.sr |= DMASR_IDLE | DMASR_IOC


class SimDevice(SimBoard):
    """Stand-in pynq Device for a deploy bundle (see module docstring).

    Parameters
    ----------
    bundle_dir : the deploy bundle (model.json; the .bit/.hwh are not needed)
    library : the compiled AXI-top simulation library (flow.board.axi_top.build_sim_library); default:
        the bundle's `sim_library`. The bundle's
        `sim/weights` (hls4ml's text weights), when present, is handed to the library, not to
        os.environ (see SimLibrary)
    board : the board name this device reports (default: the bundle's, so the board check passes)
    fault : None, "hang" (the IP never takes its input) or "no_done" (data flows, ap_done never rises)
    """

    def __init__(self, bundle_dir, *, library=None, board: str | None = None, fault: str | None = None):
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        self.bundle_dir = Path(bundle_dir)
        self.meta = BundleMeta.load(self.bundle_dir)
        super().__init__(board or self.meta.board)
        self.fault = fault
        weights = self.bundle_dir / "sim" / "weights"  # hls4ml's text weights (see flow.board.axi_top)
        self.library = SimLibrary(
            self._resolve_library(library), self.meta.project, weights if weights.is_dir() else None
        )
        check_layout(self.meta, self.library)
        check_network(self.meta, self.library, self.bundle_dir / MODEL_JSON)
        self.batches = 0
        self._reset_registers()

    # -- set-up -----------------------------------------------------------------------------

    def _resolve_library(self, library) -> Path:
        if library is not None:
            return Path(library)
        if self.meta.sim_library:
            return self.bundle_dir / self.meta.sim_library
        hint = (
            f" (model.json names the HLS project {self.meta.hls_project}: compile it with "
            "flow.board.axi_top.build_sim_library, or use `flow run --sim`, which does)"
            if self.meta.hls_project else ""
        )
        raise BundleError(
            f"bundle {self.bundle_dir} has no sim_library in model.json: the simulated board needs the "
            f"compiled C simulation of the IP (pass library=...){hint}"
        )

    def _reset_registers(self) -> None:
        self.channels = {"mm2s": _Channel(), "s2mm": _Channel()}
        self.ip_start = self.ip_done = False
        self.ip_idle = True
        self.n_samples = 0

    def sim_bitfile(self, bundle_dir, meta) -> Path:
        """A bitstream path for pynq.Overlay: the bundle's .bit if present, else a placeholder."""
        return self.placeholder_bitfile(bundle_dir, meta.bitstream)

    def _ip_dict(self) -> dict:
        dma = self.meta.dma
        params = {
            "c_include_sg": "0",
            "c_micro_dma": "0",
            "c_sg_length_width": str(dma.length_bits),
            "c_include_mm2s": "1",
            "c_include_s2mm": "1",
            "c_include_mm2s_dre": "0",
            "c_include_s2mm_dre": "0",
            "c_m_axi_mm2s_data_width": str(dma.mm_bits),
            "c_m_axi_s2mm_data_width": str(dma.mm_bits),
            "c_m_axis_mm2s_tdata_width": str(self.meta.io.stream_bits),
            "c_s_axis_s2mm_tdata_width": str(self.meta.io.stream_bits),
        }
        params.update({k.upper(): v for k, v in params.items()})  # hwh parsers differ in case

        def cell(name, vlnv, base, parameters):
            return {
                "fullpath": name,
                "type": vlnv,
                "phys_addr": base,
                "addr_range": SPAN,
                "mem_id": "S_AXI_LITE",
                "parameters": parameters,
                "registers": {},
                "interrupts": {},
                "gpio": {},
                "state": None,
                "bdtype": None,
            }

        return {
            DMA_CELL: cell(DMA_CELL, "xilinx.com:ip:axi_dma:7.1", DMA_BASE, params),
            IP_CELL: cell(IP_CELL, f"xilinx.com:hls:{self.meta.project}_axi:1.0", IP_BASE, {}),
        }

    def _decode(self, address):
        for base, what in ((DMA_BASE, "dma"), (IP_BASE, "ip")):
            if base <= address < base + SPAN:
                return what, address - base
        raise FlowError(f"simulated board: no IP at address {address:#x}")

    def _channel(self, offset):
        name = "s2mm" if offset >= 0x30 else "mm2s"
        return self.channels[name], offset - CHANNEL_OFFSETS[name]

    def _read(self, address) -> int:
        what, offset = self._decode(address)
        if what == "ip":
            if offset == AP_CTRL:
                value = (AP_START * self.ip_start) | (AP_DONE * self.ip_done) | (AP_IDLE * self.ip_idle)
                value |= AP_READY * self.ip_done
                self.ip_done = False  # clear on read
                return value
            if offset == N_SAMPLES:
                return self.n_samples
            return 0
        ch, reg = self._channel(offset)
        return {
            DMACR: ch.cr,
            DMASR: ch.sr,
            ADDR: ch.addr & 0xFFFFFFFF,
            ADDR_MSB: ch.addr >> 32,
            LENGTH: ch.length,
        }.get(reg, 0)

    def _write(self, address, value) -> None:
        what, offset = self._decode(address)
        if what == "ip":
            if offset == AP_CTRL and value & AP_START:
                self.ip_start, self.ip_done, self.ip_idle = True, False, False
                self._try_run()
            elif offset == N_SAMPLES:
                self.n_samples = value
            return
        ch, reg = self._channel(offset)
        if reg == DMACR:
            if value & DMACR_RESET:  # resets both channels, as the AXI DMA does
                for c in self.channels.values():
                    c.reset()
            elif value & DMACR_RS:
                ch.cr, ch.sr = value, ch.sr & ~DMASR_HALTED
            else:
                ch.cr, ch.sr, ch.pending = value, ch.sr | DMASR_HALTED, False
        elif reg == DMASR:
            ch.sr &= ~(value & DMASR_W1C)
        elif reg == ADDR:
            ch.addr = (ch.addr & ~0xFFFFFFFF) | value
        elif reg == ADDR_MSB:
            ch.addr = (ch.addr & 0xFFFFFFFF) | (value << 32)
        elif reg == LENGTH and ch.running:  # a halted channel ignores the length, as the hardware does
            ch.length, ch.pending = value, True
            ch.sr &= ~DMASR_IDLE
            self._try_run()

    # -- the IP ---------------------------------------------------------------------------------

    def _ip_finished(self) -> None:
        self.ip_start = False
        if self.fault != "no_done":
            self.ip_done = self.ip_idle = True

    def _try_run(self) -> None:
        mm2s, s2mm = self.channels["mm2s"], self.channels["s2mm"]
        if not (self.ip_start and mm2s.pending and s2mm.pending) or self.fault == "hang":
            return
        lib, n = self.library, self.n_samples
        word = lib.stream_bits // 8
        if n == 0:  # the IP loop does nothing: no words, no TLAST
            self._ip_finished()
            return
        src = self._device_bytes(mm2s.addr, mm2s.length)
        dst = self._device_bytes(s2mm.addr, s2mm.length)
        for ch, mem in ((mm2s, src), (s2mm, dst)):
            if mem is None:  # address outside any allocation: AXI decode error
                ch.sr |= DMASR_DECERR
                ch.pending = False
        if src is None or dst is None:
            return
        need_in, avail = n * lib.in_words, mm2s.length // word
        if avail < need_in:  # the IP waits forever for the rest of its input
            mm2s.complete(mm2s.length)
            return
        dtype = np.dtype(f"<u{word}")
        in_words = np.frombuffer(src[: need_in * word].tobytes(), dtype=dtype)
        out_words = lib.run(in_words.astype(np.uint64), n).astype(dtype)
        self.batches += 1
        if avail == need_in:
            mm2s.complete(mm2s.length)  # else: words left in MM2S, it never goes idle
        capacity = s2mm.length // word
        k = min(capacity, out_words.size)
        dst[: k * word] = np.frombuffer(out_words[:k].tobytes(), dtype=np.uint8)
        s2mm.complete(k * word)  # TLAST, or a full buffer, ends the S2MM transfer
        if k == out_words.size:
            self._ip_finished()
        # else: the IP stalls on a full output stream and never finishes
