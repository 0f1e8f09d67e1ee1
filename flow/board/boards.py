"""Boards as data: `boards/<name>/board.yaml` is the only source of a board's part, clock and DMA widths.

`load_board(name)` reads and validates one file into a frozen `Board`; `list_boards()` reads them
all. Everything else (the Vivado block design, the Vitis HLS clock and part, the resource limits,
the runtime's stream packing) takes its numbers from the `Board`, never from a second copy.

What differs between the two processing-system families (IP, pin and CONFIG names) is not a
property of one board but of the PS family, so it lives here once, in `PS_TYPES`, keyed by
`ps.type` in board.yaml ("zynq" = Zynq-7000 `processing_system7`, "zynq_us" = Zynq UltraScale+
`zynq_ultra_ps_e`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from flow.config.schema import from_dict, to_dict
from flow.errors import ConfigError, UsageError
from flow.paths import boards_dir


@dataclass(frozen=True)
class PSType:
    """Names of one PS family in Vivado IP integrator. `{n}` is replaced by the port number."""

    vlnv: str
    cell: str
    automation_rule: str
    #: -config of that automation rule when the board preset is applied
    automation_config: str
    #: AXI master that drives AXI-lite control (DMA registers, IP `control` bundle)
    gp_intf: str
    gp_aclk: str
    gp_enable: str
    #: AXI slave into DDR that the DMA's memory side uses
    hp_intf: str
    hp_aclk: str
    hp_enable: str
    hp_width: str
    #: fabric clock and reset outputs of the PS, and the CONFIG key of that clock's frequency
    clk_out: str
    resetn_out: str
    clock_freq_key: str
    #: other CONFIG values every design needs (clock/reset ports on)
    base_config: dict = field(default_factory=dict)
    #: PS interfaces that become top-level ports (DDR, MIO) when no board preset handles them
    external_intfs: tuple = ()
    #: fabric-to-PS interrupt input pin and the CONFIG values that enable it (the RTL overlay's irq)
    irq_pin: str = ""
    irq_config: dict = field(default_factory=dict)
    #: base address of the GP/HPM master's window, per port number (the RTL overlay's address map)
    gp_base: tuple = ()


PS_TYPES: dict[str, PSType] = {
    "zynq": PSType(
        vlnv="xilinx.com:ip:processing_system7:5.5",
        cell="processing_system7_0",
        automation_rule="xilinx.com:bd_rule:processing_system7",
        automation_config='make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"',
        gp_intf="M_AXI_GP{n}",
        gp_aclk="M_AXI_GP{n}_ACLK",
        gp_enable="PCW_USE_M_AXI_GP{n}",
        hp_intf="S_AXI_HP{n}",
        hp_aclk="S_AXI_HP{n}_ACLK",
        hp_enable="PCW_USE_S_AXI_HP{n}",
        hp_width="PCW_S_AXI_HP{n}_DATA_WIDTH",
        clk_out="FCLK_CLK0",
        resetn_out="FCLK_RESET0_N",
        clock_freq_key="PCW_FPGA0_PERIPHERAL_FREQMHZ",
        base_config={"PCW_EN_CLK0_PORT": "1", "PCW_EN_RST0_PORT": "1"},
        external_intfs=("DDR", "FIXED_IO"),
        irq_pin="IRQ_F2P",
        irq_config={"PCW_USE_FABRIC_INTERRUPT": "1", "PCW_IRQ_F2P_INTR": "1"},
        gp_base=(0x4000_0000, 0x8000_0000),  # M_AXI_GP0 / GP1 (UG585 address map)
    ),
    "zynq_us": PSType(
        vlnv="xilinx.com:ip:zynq_ultra_ps_e",  # no version: 3.3 (2020.2) ... 3.5 (2023.x) all work
        cell="zynq_ultra_ps_e_0",
        automation_rule="xilinx.com:bd_rule:zynq_ultra_ps_e",
        automation_config='apply_board_preset "1"',
        gp_intf="M_AXI_HPM{n}_FPD",
        gp_aclk="maxihpm{n}_fpd_aclk",
        gp_enable="PSU__USE__M_AXI_GP{n}",
        # S_AXI_HP{n}_FPD is S_AXI_GP{n+2} in the CONFIG names; n is formatted as n + 2 there
        hp_intf="S_AXI_HP{n}_FPD",
        hp_aclk="saxihp{n}_fpd_aclk",
        hp_enable="PSU__USE__S_AXI_GP{n+2}",
        hp_width="PSU__SAXIGP{n+2}__DATA_WIDTH",
        clk_out="pl_clk0",
        resetn_out="pl_resetn0",
        clock_freq_key="PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
        base_config={"PSU__FPGA_PL0_ENABLE": "1", "PSU__NUM_FABRIC_RESETS": "1"},
        external_intfs=(),
        irq_pin="pl_ps_irq0",
        irq_config={"PSU__USE__IRQ0": "1"},
        gp_base=(0xA000_0000, 0xB000_0000),  # M_AXI_HPM0_FPD / HPM1_FPD (UG1085 address map)
    ),
}


def _fmt_port(template: str, n: int) -> str:
    return template.replace("{n+2}", str(n + 2)).replace("{n}", str(n))


@dataclass(frozen=True)
class PSConfig:
    #: PS family: "zynq" (Zynq-7000) or "zynq_us" (Zynq UltraScale+)
    type: str = "zynq"
    #: HP slave port number used by the DMA's memory side
    hp_port: int = 0
    #: GP/HPM master port number used for AXI-lite control
    gp_port: int = 0
    #: extra PS CONFIG values (DDR part, MIO...), applied after the board preset
    config: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in PS_TYPES:
            raise ValueError(f"ps.type {self.type!r} is unknown; use one of {', '.join(PS_TYPES)}")
        if not 0 <= self.hp_port <= 3 or not 0 <= self.gp_port <= 1:
            raise ValueError(f"ps.hp_port={self.hp_port} / gp_port={self.gp_port}: use HP 0..3, GP 0..1")


@dataclass(frozen=True)
class Resources:
    lut: int
    ff: int
    #: RAMB36 blocks (each is two RAMB18)
    bram36: int
    dsp: int
    #: LUTs usable as distributed RAM
    lutram: int
    uram: int = 0

    @property
    def bram18(self) -> int:
        return 2 * self.bram36

    def __post_init__(self) -> None:
        for name in ("lut", "ff", "bram36", "dsp", "lutram", "uram"):
            if getattr(self, name) < 0:
                raise ValueError(f"resources.{name}={getattr(self, name)} must be >= 0")


_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class DMAConfig:
    #: AXI4-Stream TDATA width of MM2S and S2MM (= the IP's stream word)
    stream_bits: int = 32
    #: memory-mapped data width towards the PS HP port
    mm_bits: int = 32
    #: buffer length register width (bytes per transfer < 2**length_bits)
    length_bits: int = 26
    #: maximum burst length in beats
    burst: int = 16
    #: address width of the DMA masters
    addr_bits: int = 32

    def __post_init__(self) -> None:
        if self.stream_bits not in _WIDTHS or self.mm_bits not in _WIDTHS:
            raise ValueError(f"dma widths {self.stream_bits}/{self.mm_bits} must be one of {_WIDTHS}")
        if not 8 <= self.length_bits <= 26:
            raise ValueError(f"dma.length_bits={self.length_bits} must be 8..26 (AXI DMA limit)")
        if self.burst not in (2, 4, 8, 16, 32, 64, 128, 256):
            raise ValueError(f"dma.burst={self.burst} must be a power of two in 2..256")
        if self.addr_bits not in (32, 64):
            raise ValueError(f"dma.addr_bits={self.addr_bits} must be 32 or 64")


@dataclass(frozen=True)
class PynqInfo:
    #: PYNQ image the overlay is built for
    image: str = "3.0.1"


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    part: str
    clock_mhz: float
    ps: PSConfig
    resources: Resources
    dma: DMAConfig
    pynq: PynqInfo = field(default_factory=PynqInfo)
    #: Vivado board part, used when its board files are installed
    board_part: str = ""
    board_connections: dict[str, str] = field(default_factory=dict)
    #: RTL overlay engine presets, keyed "p<P>": EngineParams fields (flow/overlay/sizing.py checks
    #: and sizes them; docs/overlay.md)
    overlay: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 10.0 <= self.clock_mhz <= 500.0:
            raise ValueError(f"clock_mhz={self.clock_mhz} is out of range; use 10..500 MHz")

    @property
    def clock_period_ns(self) -> float:
        return 1000.0 / self.clock_mhz

    @property
    def ps_type(self) -> PSType:
        return PS_TYPES[self.ps.type]

    def ps_port(self, template: str, which: str = "hp") -> str:
        """A PS pin/interface/CONFIG name with this board's port number filled in."""
        return _fmt_port(template, self.ps.hp_port if which == "hp" else self.ps.gp_port)

    def to_dict(self) -> dict:
        d = to_dict(self)
        d["resources"]["bram18"] = self.resources.bram18
        return d


def _board_file(name: str) -> Path:
    return boards_dir() / name / "board.yaml"


def board_names() -> list[str]:
    root = boards_dir()
    return sorted(p.parent.name for p in root.glob("*/board.yaml") if not p.parent.name.startswith("_"))


def load_board(name: str) -> Board:
    """Read `boards/<name>/board.yaml`; an unknown name is a UsageError that lists the known boards."""
    path = _board_file(name)
    if not path.is_file():
        known = ", ".join(board_names()) or "(none)"
        raise UsageError(f"unknown board {name!r}; known boards: {known} (see `flow boards`)")
    from flow.runtime.files import FileError, read_text

    try:
        data = yaml.safe_load(read_text(path, "repair or reinstall the board file", kind="board YAML"))
    except FileError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    board = from_dict(Board, data, path=str(path))
    if board.name != name:
        raise ConfigError(f"{path}: name {board.name!r} differs from its folder {name!r}; make them equal")
    return board


def list_boards() -> list[Board]:
    return [load_board(n) for n in board_names()]
