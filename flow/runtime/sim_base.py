"""What every simulated PYNQ board shares: a pynq Device with numpy-backed DDR and register access.

`SimBoard` stands in for a board behind pynq's own `Overlay`, `allocate` and drivers: the bitstream
metadata comes from the subclass's `_ip_dict()` (no .hwh without Vivado), buffers are numpy arrays
at fake, page-aligned physical addresses with a separate device-side copy (so a missing
flush/invalidate shows), and MMIO reaches the subclass's `_read` / `_write`. The HLS kernel's board
(flow.runtime.sim_device) and the RTL overlay's (flow.runtime.sim_rtl) are its subclasses.
"""

from __future__ import annotations

import ctypes
import itertools
import struct
import tempfile
import types
from pathlib import Path

import numpy as np
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device

from flow.errors import FlowError

MEM_BASE = 0x1000_0000
PAGE = 4096


def check_pynq_lib() -> None:
    """pynq.Overlay imports pynq.lib (all drivers); say how to fix it when that fails."""
    try:
        import pynq.lib.dma  # noqa: F401
    except ImportError as exc:
        hint = (
            " (pynq 3.0.1 needs pycparser < 3: pip install 'pycparser<3')" if "pycparser" in str(exc) else ""
        )
        raise FlowError(f"pynq's drivers do not import: {exc}{hint}") from exc


class _SimMemory:
    """`device.default_memory`: numpy-backed PynqBuffers at fake, page-aligned physical addresses."""

    def __init__(self, device: SimBoard):
        self.device = device

    def allocate(self, shape, dtype, **kwargs):
        return self.device._allocate(shape, dtype)


class SimBoard(Device):
    """Base of the simulated boards (see module docstring). Subclasses give `_ip_dict`, `_read`,
    `_write` and `_reset_registers`."""

    def __init__(self, board: str):
        super().__init__("sim")
        check_pynq_lib()
        self.name = "eie-flow simulated board"
        self.board = board
        self.capabilities = {"REGISTER_RW": True, "MEMORY_MAPPED": False, "CALLABLE": False}
        self.default_memory = _SimMemory(self)
        self._mem: dict[int, tuple[int, np.ndarray]] = {}  # bo -> (physical base, device-side bytes)
        self._next_addr = MEM_BASE
        self._bo = itertools.count(1)
        self._tmp = None
        self.loaded_bitfile = None
        self.downloads = 0
        self.timestamp = ""
        self.bitfile_name = None

    # -- set-up -----------------------------------------------------------------------------

    def placeholder_bitfile(self, bundle_dir, name: str) -> Path:
        """A bitstream path for pynq.Overlay: the bundle's file if present, else a placeholder."""
        bit = Path(bundle_dir) / name
        if bit.is_file():
            return bit.resolve()
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="eie-sim-")
        placeholder = Path(self._tmp.name) / Path(name).name
        placeholder.write_bytes(b"eie-flow simulated bitstream\n")
        return placeholder

    def _ip_dict(self) -> dict:
        raise NotImplementedError

    def _reset_registers(self) -> None:
        raise NotImplementedError

    def get_bitfile_metadata(self, bitfile_name):
        """What pynq would parse from the .hwh, built from the bundle and the known cell names."""
        return types.SimpleNamespace(
            ip_dict=self._ip_dict(),
            gpio_dict={},
            interrupt_controllers={},
            interrupt_pins={},
            hierarchy_dict={},
            mem_dict={},
            clock_dict={},
            systemgraph=None,
            partial=False,
        )

    def download(self, bitstream, parser=None):
        self.loaded_bitfile = bitstream.bitfile_name
        self.downloads += 1
        self._reset_registers()
        self.post_download(bitstream, parser)

    def gen_cache(self, bitstream, parser=None):
        pass

    # -- memory -------------------------------------------------------------------------------

    def _allocate(self, shape, dtype) -> PynqBuffer:
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        bo = next(self._bo)
        addr = self._next_addr
        self._next_addr += -(-max(nbytes, 1) // PAGE) * PAGE
        self._mem[bo] = (addr, np.zeros(nbytes, dtype=np.uint8))
        host = bytearray(nbytes)
        return PynqBuffer(shape, dtype, buffer=host, device=self, device_address=addr, bo=bo, coherent=False)

    def flush(self, bo, offset, ptr, size):
        """Host cache -> device memory (pynq calls this before MM2S)."""
        _, dev = self._mem[bo]
        dev[offset : offset + size] = np.frombuffer(ctypes.string_at(ptr, size), dtype=np.uint8)

    def invalidate(self, bo, offset, ptr, size):
        """Device memory -> host view (pynq calls this after S2MM)."""
        _, dev = self._mem[bo]
        ctypes.memmove(ptr, dev.ctypes.data + offset, size)

    def _device_bytes(self, addr: int, nbytes: int) -> np.ndarray | None:
        for base, dev in self._mem.values():
            if base <= addr and addr + nbytes <= base + dev.size:
                return dev[addr - base : addr - base + nbytes]
        return None

    # -- registers ----------------------------------------------------------------------------

    def _require_loaded(self) -> None:
        if self.loaded_bitfile is None:
            raise FlowError(
                "the simulated board has no bitstream loaded: open the overlay with download=True"
            )

    def read_registers(self, address, length):
        self._require_loaded()
        return struct.pack("<I", self._read(address) & 0xFFFFFFFF)[:length]

    def write_registers(self, address, data):
        self._require_loaded()
        if len(data) % 4:
            raise FlowError(f"unaligned register write of {len(data)} bytes at {address:#x}")
        for i, (value,) in enumerate(struct.iter_unpack("<I", bytes(data))):
            self._write(address + 4 * i, value)

    def _read(self, address) -> int:
        raise NotImplementedError

    def _write(self, address, value) -> None:
        raise NotImplementedError
