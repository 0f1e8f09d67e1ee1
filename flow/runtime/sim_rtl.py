"""The simulated board of the RTL overlay: pynq's own Overlay, allocate and AXI DMA driver against
a Verilator model of kernels/rtl/overlay/eie_axi.sv (+ the engine), cycle by cycle.

    device = RTLSimDevice("overlay_bundle/")          # a bundle holding overlay.json
    ov = EIEOverlay("overlay_bundle/", device=device)  # the unchanged board driver (EIERTLOverlay)
    ov.load("model.eie"); y = ov.predict(X)

The model is the compiled library of flow.overlay.simlib (kernels/rtl/overlay/sim/eie_axi_board.cpp,
driven here through ctypes; numpy only, so this module ships with the runtime). Block design as in
docs/overlay.md: `eie_0` (eie_axi's AXI4-Lite registers), `axi_dma_0` (MM2S -> s_axis_in, S2MM <-
m_axis_out), `axi_dma_1` (MM2S -> s_axis_ld). Register accesses to eie_0 are AXI4-Lite transactions
of the model; the DMA registers (Xilinx PG021, simple mode) live here, and a programmed channel
moves its buffer's 64-bit beats through the model's stream ports with random gaps on every
tvalid/tready (seeded). Time: every register access lets `host_gap` clock cycles pass (the host's
time between accesses), and reading the status of a busy DMA channel runs the clock until that
channel finishes or `poll_cycles` pass. The driver's timings come from the overlay's own cycle
counters (CYC_BATCH, CYC_SAMPLE, LOAD_CYCLES), read through the same registers.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np

from flow.errors import FlowError
from flow.runtime.bundle import BundleError
from flow.runtime.sim_base import SimBoard

IP_CELL, DMA_CELL, LOAD_DMA_CELL = "eie_0", "axi_dma_0", "axi_dma_1"
IP_BASE = 0x43C0_0000
DMA_BASE = {DMA_CELL: 0x4040_0000, LOAD_DMA_CELL: 0x4041_0000}
SPAN = 0x1_0000
#: the model's stream channels: (DMA cell, direction) -> channel number of eie_axi_board.cpp
CHANNELS = {(DMA_CELL, "mm2s"): 0, (DMA_CELL, "s2mm"): 1, (LOAD_DMA_CELL, "mm2s"): 2}
CHANNEL_NAMES = {0: f"{DMA_CELL} MM2S -> s_axis_in", 1: f"{DMA_CELL} S2MM <- m_axis_out",
                 2: f"{LOAD_DMA_CELL} MM2S -> s_axis_ld"}
#: fault -> the stream wedged (its tvalid / tready never rises), for tests of the host's timeouts
FAULTS = {None: None, "wedge_in": 0, "wedge_out": 1, "wedge_load": 2}

DMACR_RS, DMACR_RESET = 0x1, 0x4
DMASR_HALTED, DMASR_IDLE, DMASR_INTERR, DMASR_DECERR, DMASR_IOC = 0x1, 0x2, 0x10, 0x40, 0x1000
DMASR_W1C = 0x7000
DMACR, DMASR, ADDR, ADDR_MSB, LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
BUSY, DONE, OVERFLOW = 1, 2, 3
#: cycles an AXI4-Lite transaction may take before the slave counts as hung
LITE_LIMIT = 10_000
_probed: set[str] = set()


class BoardModel:
    """ctypes wrapper of libeie_axi_board.so: one Verilator model of eie_axi and its host side."""

    def __init__(self, path, *, seed: int = 1, stall: float = 0.2):
        from flow.runtime.sim_library import probe_library

        self.path = Path(path)
        key = str(self.path.resolve())
        if key not in _probed:  # once per file and process: a truncated .so would kill this process
            probe_library(self.path)
            _probed.add(key)
        try:
            lib = ctypes.CDLL(str(self.path))
            lib.eb_open.argtypes, lib.eb_open.restype = [ctypes.c_uint64, ctypes.c_double], ctypes.c_void_p
        except (OSError, AttributeError) as exc:
            raise BundleError(f"{self.path} is not the simulated board's library (flow.overlay.simlib): {exc}") from exc
        vp, u32, u64, i32 = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int
        sig = {
            "eb_close": ([vp], None), "eb_cycles": ([vp], u64), "eb_irq": ([vp], i32),
            "eb_error": ([vp, ctypes.c_char_p, i32], i32), "eb_set_stall": ([vp, i32, ctypes.c_double], None),
            "eb_write": ([vp, u32, u32, u32], i32), "eb_read": ([vp, u32, ctypes.POINTER(u32), u32], i32),
            "eb_start": ([vp, i32, vp, u64], None), "eb_stop": ([vp, i32], None),
            "eb_state": ([vp, i32, ctypes.POINTER(u64)], i32), "eb_run": ([vp, u64, i32], ctypes.c_int64),
            "eb_idle": ([vp, u64], ctypes.c_int64),
        }  # fmt: skip
        for name, (args, res) in sig.items():
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, res
        if not 0.0 <= stall < 1.0:
            raise FlowError(f"stall={stall}: the probability of a gap per cycle must be in [0, 1)")
        self._lib = lib
        self._h = lib.eb_open(int(seed), float(stall))
        self.seed, self.stall = int(seed), float(stall)

    def close(self) -> None:
        if self._h:
            self._lib.eb_close(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 -- interpreter shutdown
            pass

    def _check(self, rc: int, what: str) -> None:
        if rc == -1 and what:
            raise FlowError(f"simulated board: {what}: {self.error() or 'no answer'}")
        if rc < 0:
            raise FlowError(f"simulated board: the RTL stopped the simulation during {what}: {self.error()}")

    def error(self) -> str:
        buf = ctypes.create_string_buffer(512)
        self._lib.eb_error(self._h, buf, len(buf))
        return buf.value.decode(errors="replace")

    @property
    def cycles(self) -> int:
        return int(self._lib.eb_cycles(self._h))

    @property
    def irq(self) -> bool:
        return bool(self._lib.eb_irq(self._h))

    def read(self, offset: int) -> int:
        out = ctypes.c_uint32()
        self._check(self._lib.eb_read(self._h, offset, ctypes.byref(out), LITE_LIMIT),
                    f"{IP_CELL} read of register {offset:#x}")
        return int(out.value)

    def write(self, offset: int, value: int) -> None:
        self._check(self._lib.eb_write(self._h, offset, value & 0xFFFFFFFF, LITE_LIMIT),
                    f"{IP_CELL} write of register {offset:#x}")

    def set_stall(self, channel: int, p: float) -> None:
        self._lib.eb_set_stall(self._h, channel, float(p))

    def start(self, channel: int, buf: np.ndarray) -> None:
        """Start a stream channel on `buf` (device-side bytes, kept alive by the caller)."""
        self._lib.eb_start(self._h, channel, buf.ctypes.data, buf.size)

    def stop(self, channel: int) -> None:
        self._lib.eb_stop(self._h, channel)

    def state(self, channel: int) -> tuple[int, int]:
        moved = ctypes.c_uint64()
        st = self._lib.eb_state(self._h, channel, ctypes.byref(moved))
        return int(st), int(moved.value)

    def run(self, max_cycles: int, until: int = -1) -> int:
        n = int(self._lib.eb_run(self._h, max_cycles, until))
        self._check(n, "")
        return n

    def idle(self, cycles: int) -> None:
        if cycles:
            self._check(int(self._lib.eb_idle(self._h, cycles)), "")


class _DMAChannel:
    """The PG021 registers of one simple-mode channel; the data moves in the model."""

    def __init__(self, number: int | None):
        self.number = number  # the model's stream channel; None: not in this DMA (reads 0)
        self.reset()

    def reset(self) -> None:
        self.cr, self.sr = 0, DMASR_HALTED
        self.addr = self.length = 0
        self.busy = False
        self.buf = None

    @property
    def running(self) -> bool:
        return not self.sr & DMASR_HALTED


def read_overlay_json(bundle_dir) -> dict:
    path = Path(bundle_dir) / "overlay.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: {exc}; an RTL overlay bundle holds overlay.json (docs/overlay.md)") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{path}: expected a JSON object")
    return meta


class RTLSimDevice(SimBoard):
    """Stand-in pynq Device for an RTL overlay bundle (see module docstring).

    Parameters
    ----------
    bundle_dir : the overlay bundle (overlay.json; the .bit/.hwh are not needed)
    library : the compiled board library (flow.overlay.simlib.build_board_library); default: the
        bundle's overlay.json `sim_library` (relative to the bundle)
    board : the board name this device reports (default: overlay.json's)
    seed : random stalls and Verilator's random initial state
    stall : probability of a gap on each tvalid / tready (and AXI4-Lite valid/ready) per cycle
    host_gap : clock cycles between two register accesses of the host
    poll_cycles : the most cycles one status read of a busy DMA channel runs the clock
    fault : None or "wedge_in" / "wedge_out" / "wedge_load": that stream never moves (tests)
    """

    def __init__(self, bundle_dir, *, library=None, board: str | None = None, seed: int = 1, stall: float = 0.2,
                 host_gap: int = 8, poll_cycles: int = 100_000, fault: str | None = None):
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {sorted(map(str, FAULTS))}, got {fault!r}")
        self.bundle_dir = Path(bundle_dir)
        self.meta = read_overlay_json(self.bundle_dir)
        super().__init__(board or str(self.meta.get("board", "sim")))
        self.library_path = self._resolve_library(library)
        self.seed, self.stall, self.fault = int(seed), float(stall), fault
        self.host_gap, self.poll_cycles = int(host_gap), int(poll_cycles)
        self.model: BoardModel | None = None
        self._reset_registers()

    def _resolve_library(self, library) -> Path:
        if library is not None:
            return Path(library)
        if self.meta.get("sim_library"):
            return self.bundle_dir / self.meta["sim_library"]
        raise BundleError(
            f"bundle {self.bundle_dir} has no sim_library in overlay.json: the simulated board needs the "
            "compiled Verilator model of the overlay (pass library=..., built by "
            "flow.overlay.simlib.build_board_library; `flow run --sim` builds it)"
        )

    def sim_bitfile(self, bundle_dir, meta) -> Path:
        """A bitstream path for pynq.Overlay: the bundle's .bit if present, else a placeholder."""
        name = meta.get("bitstream") if isinstance(meta, dict) else getattr(meta, "bitstream", None)
        return self.placeholder_bitfile(bundle_dir, name or "eie_overlay.bit")

    def _reset_registers(self) -> None:
        """A download: a fresh model (the power-up state, nothing loaded) and idle DMA channels."""
        if getattr(self, "model", None) is not None:
            self.model.close()
        self.model = BoardModel(self.library_path, seed=self.seed, stall=self.stall)
        if FAULTS[self.fault] is not None:
            self.model.set_stall(FAULTS[self.fault], 1.0)
        self.channels = {(cell, d): _DMAChannel(CHANNELS.get((cell, d))) for cell in DMA_BASE for d in ("mm2s", "s2mm")}
        want = self.meta.get("build_hash")
        if want is not None:
            from flow.runtime import regmap as rm

            have = self.model.read(rm.offset("BUILD_HASH"))
            if not isinstance(want, int) or have != want:
                raise BundleError(
                    f"{self.library_path} simulates an overlay with BUILD_HASH {have:#010x}, overlay.json "
                    f"says {want!r}: the library was built for another engine; rebuild it "
                    "(flow.overlay.simlib.build_board_library) or leave library= out")

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
            self.model = None

    def _ip_dict(self) -> dict:
        def dma_params(s2mm: bool) -> dict:
            p = {"c_include_sg": "0", "c_micro_dma": "0", "c_sg_length_width": str(self.meta.get("dma_length_bits", 26)),
                 "c_include_mm2s": "1", "c_include_s2mm": "1" if s2mm else "0", "c_include_mm2s_dre": "0",
                 "c_include_s2mm_dre": "0", "c_m_axi_mm2s_data_width": "64", "c_m_axi_s2mm_data_width": "64",
                 "c_m_axis_mm2s_tdata_width": "64", "c_s_axis_s2mm_tdata_width": "64"}  # fmt: skip
            p.update({k.upper(): v for k, v in p.items()})
            return p

        def cell(name, vlnv, base, parameters):
            return {"fullpath": name, "type": vlnv, "phys_addr": base, "addr_range": SPAN,
                    "mem_id": "S_AXI_LITE", "parameters": parameters, "registers": {}, "interrupts": {},
                    "gpio": {}, "state": None, "bdtype": None}  # fmt: skip

        return {
            IP_CELL: cell(IP_CELL, "eie-flow:rtl:eie_axi:1.0", IP_BASE, {}),
            DMA_CELL: cell(DMA_CELL, "xilinx.com:ip:axi_dma:7.1", DMA_BASE[DMA_CELL], dma_params(True)),
            LOAD_DMA_CELL: cell(LOAD_DMA_CELL, "xilinx.com:ip:axi_dma:7.1", DMA_BASE[LOAD_DMA_CELL], dma_params(False)),
        }

    # -- registers ----------------------------------------------------------------------------

    def _decode(self, address):
        if IP_BASE <= address < IP_BASE + SPAN:
            return IP_CELL, address - IP_BASE
        for cell, base in DMA_BASE.items():
            if base <= address < base + SPAN:
                return cell, address - base
        raise FlowError(f"simulated board: no IP at address {address:#x}")

    def _channel(self, cell, offset):
        d = "s2mm" if offset >= 0x30 else "mm2s"
        return self.channels[(cell, d)], offset - (0x30 if d == "s2mm" else 0)

    def _read(self, address) -> int:
        cell, offset = self._decode(address)
        self.model.idle(self.host_gap)
        if cell == IP_CELL:
            return self.model.read(offset)
        ch, reg = self._channel(cell, offset)
        if reg == DMASR and ch.busy:
            self.model.run(self.poll_cycles, ch.number)
            self._sync(ch)
        return {DMACR: ch.cr, DMASR: ch.sr, ADDR: ch.addr & 0xFFFFFFFF, ADDR_MSB: ch.addr >> 32,
                LENGTH: ch.length}.get(reg, 0)  # fmt: skip

    def _sync(self, ch: _DMAChannel) -> None:
        """A busy channel's end, from the model: IOC and idle, or the S2MM internal error."""
        state, moved = self.model.state(ch.number)
        if state == BUSY:
            return
        ch.busy = False
        ch.buf = None
        if state == OVERFLOW:  # the packet was longer than the buffer: the AXI DMA halts
            ch.sr |= DMASR_INTERR | DMASR_HALTED
        else:
            ch.sr |= DMASR_IDLE | DMASR_IOC
        if ch.number == 1:
            ch.length = moved  # S2MM: the bytes received

    def _write(self, address, value) -> None:
        cell, offset = self._decode(address)
        self.model.idle(self.host_gap)
        if cell == IP_CELL:
            self.model.write(offset, value)
            return
        ch, reg = self._channel(cell, offset)
        if ch.number is None:
            return
        if reg == DMACR:
            if value & DMACR_RESET:  # resets both channels of this DMA, as the AXI DMA does
                for (c, _), other in self.channels.items():
                    if c == cell and other.number is not None:
                        self.model.stop(other.number)
                        other.reset()
            elif value & DMACR_RS:
                ch.cr, ch.sr = value, ch.sr & ~DMASR_HALTED
            else:
                self.model.stop(ch.number)
                ch.cr, ch.sr, ch.busy = value, ch.sr | DMASR_HALTED, False
        elif reg == DMASR:
            ch.sr &= ~(value & DMASR_W1C)
        elif reg == ADDR:
            ch.addr = (ch.addr & ~0xFFFFFFFF) | value
        elif reg == ADDR_MSB:
            ch.addr = (ch.addr & 0xFFFFFFFF) | (value << 32)
        elif reg == LENGTH and ch.running:  # a halted channel ignores the length, as the hardware does
            self._start(ch, value)

    def _start(self, ch: _DMAChannel, nbytes: int) -> None:
        ch.sr &= ~DMASR_IDLE
        if nbytes == 0 or nbytes % 8:  # 64-bit streams; a zero length is the DMA's internal error
            ch.sr |= DMASR_INTERR | DMASR_HALTED
            return
        mem = self._device_bytes(ch.addr, nbytes)
        if mem is None:  # outside any allocation: AXI decode error
            ch.sr |= DMASR_DECERR | DMASR_HALTED
            return
        ch.length = nbytes if ch.number != 1 else 0
        ch.busy, ch.buf = True, mem
        self.model.start(ch.number, mem)
