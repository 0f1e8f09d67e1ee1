"""The deploy bundle's model.json: what the driver needs to talk to the IP (docs/internals.md).

A bundle is a folder holding `<project>.bit`, `<project>.hwh`, `model.json`, optionally
`test_vectors.npz` (see `flow.runtime.sim.load_test_vectors`) and, for the simulated board,
a compiled C-simulation library of the AXI top (`sim/lib<project>_axi_sim-<hash>.so`) or the path of
the HLS project it can be built from.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flow.errors import UsageError
from flow.fixed import FixedType
from flow.runtime.packing import STREAM_DTYPES, StreamLayout

FORMAT = 1
MODEL_JSON = "model.json"


class BundleError(UsageError):
    """A deploy bundle that is missing or whose model.json does not validate."""


@dataclass
class IOSpec:
    """Shape and fixed-point types of the IP's streams."""

    n_in: int  # values per input sample
    n_out: int  # values per output sample (the logits; softmax stays on the host)
    in_type: dict  # FixedType dict of the network input (input_t)
    out_type: dict  # FixedType dict of the network output (result_t)
    stream_bits: int  # AXI-stream TDATA width, from board.yaml dma.stream_bits
    in_bits: int = 0  # raw bits per input value; 0 -> in_type width
    out_bits: int = 0  # raw bits per output value; 0 -> out_type width

    def __post_init__(self) -> None:
        if not self.in_bits and isinstance(self.in_type, dict):
            self.in_bits = self.in_type.get("width", 0)
        if not self.out_bits and isinstance(self.out_type, dict):
            self.out_bits = self.out_type.get("width", 0)

    @property
    def in_t(self) -> FixedType:
        return FixedType.from_dict(self.in_type, "io.in_type")

    @property
    def out_t(self) -> FixedType:
        return FixedType.from_dict(self.out_type, "io.out_type")

    @property
    def in_layout(self) -> StreamLayout:
        return StreamLayout(self.n_in, self.in_bits, self.stream_bits)

    @property
    def out_layout(self) -> StreamLayout:
        return StreamLayout(self.n_out, self.out_bits, self.stream_bits)


@dataclass
class DMASpec:
    """AXI DMA setup the bundle was built with (the real driver reads it from the .hwh; the simulated
    board builds its DMA from this)."""

    length_bits: int = (
        26  # board.yaml dma.length_bits (c_sg_length_width): <= 2**length_bits - 1 bytes/transfer
    )
    mm_bits: int = 64  # board.yaml dma.mm_bits (c_m_axi_mm2s/s2mm_data_width); buffers align to it


@dataclass
class BundleMeta:
    """model.json of a deploy bundle. `flow.build` writes it, `EIEOverlay` and the sim read it."""

    project: str  # HLS project name; the IP top is <project>_axi
    board: str  # board name as in boards/<name>/ (e.g. "pynq-z2")
    io: IOSpec
    format: int = FORMAT
    clock_mhz: float | None = None  # PL clock the IP was built for
    layers: list = field(default_factory=list)  # per-layer summary (name, n_in, n_out, n_pe, ...)
    classes: list | None = None  # class names, len n_out, for classifiers
    softmax_on_host: bool = False  # apply softmax to the float outputs in predict()
    bitstream: str = ""  # file name in the bundle; "" -> <project>.bit (.hwh beside it)
    dma: DMASpec = field(default_factory=DMASpec)
    test_vectors: str | None = None  # npz in the bundle: x, y_raw, labels (see flow.runtime.sim)
    sim_library: str | None = None  # compiled AXI-top csim library, relative to the bundle
    hls_project: str | None = None  # HLS project dir (relative to the bundle or absolute) for the sim
    versions: dict = field(default_factory=dict)  # eie-flow, hls4ml, vivado, ... that built it
    network: str | None = None  # fingerprint of the compiled network (flow.board.axi_top.network_fingerprint)

    def __post_init__(self) -> None:
        if isinstance(self.io, dict):
            self.io = IOSpec(**self.io)
        if isinstance(self.dma, dict):
            self.dma = DMASpec(**self.dma)
        if not self.bitstream:
            self.bitstream = f"{self.project}.bit"

    @property
    def hwh(self) -> str:
        return str(Path(self.bitstream).with_suffix(".hwh"))

    # -- (de)serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "model.json") -> BundleMeta:
        if not isinstance(d, dict):
            raise BundleError(f"{source}: expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise BundleError(
                f"{source}: format {d.get('format')!r} is not supported (this eie-flow reads {FORMAT}); "
                "rebuild the bundle with this version of eie-flow"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise BundleError(
                f"{source}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for key in ("project", "board", "io"):
            if key not in d:
                raise BundleError(f"{source}: missing field '{key}'")
        io = d["io"]
        if not isinstance(io, dict):
            raise BundleError(f"{source}: 'io' must be an object, got {io!r}")
        io_known = set(IOSpec.__dataclass_fields__)
        io_missing = [k for k in ("n_in", "n_out", "in_type", "out_type", "stream_bits") if k not in io]
        if io_missing:
            raise BundleError(f"{source}: io lacks {', '.join(io_missing)}")
        io_unknown = sorted(set(io) - io_known)
        if io_unknown:
            raise BundleError(f"{source}: unknown io field(s) {', '.join(io_unknown)}")
        dma = d.get("dma", {})
        if not isinstance(dma, dict) or set(dma) - set(DMASpec.__dataclass_fields__):
            raise BundleError(
                f"{source}: 'dma' must be an object with {sorted(DMASpec.__dataclass_fields__)}"
            )
        meta = cls(**d)
        meta.validate(source)
        return meta

    @classmethod
    def load(cls, bundle: str | Path) -> BundleMeta:
        """Read `<bundle>/model.json` (or the .json file given) and validate it."""
        path = Path(bundle)
        if path.is_dir():
            path = path / MODEL_JSON
        if not path.is_file():
            hint = ""
            if path.parent.is_dir() and (path.parent / "bundle" / MODEL_JSON).is_file():
                hint = f"; {path.parent} is a build folder, its bundle is {path.parent / 'bundle'}"
            raise BundleError(
                f"no {MODEL_JSON} at {path}: not a deploy bundle{hint or ' (build one with `flow build`)'}"
            )
        from flow.runtime.files import FileError, read_json_object

        try:
            data = read_json_object(path, "rebuild the bundle with `flow build`", kind="model.json")
        except FileError as exc:
            raise BundleError(str(exc)) from None
        return cls.from_dict(data, source=str(path))

    def save(self, bundle_dir: str | Path) -> Path:
        self.validate()
        path = Path(bundle_dir)
        path.mkdir(parents=True, exist_ok=True)
        out = path / MODEL_JSON
        out.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return out

    # -- validation ----------------------------------------------------------------------------

    def validate(self, source: str = "model.json") -> None:
        """Raise BundleError naming the first bad field."""

        def bad(msg: str) -> BundleError:
            return BundleError(f"{source}: {msg}")

        if not isinstance(self.project, str) or not self.project.isidentifier():
            raise bad(f"project must be a C identifier (the IP top is <project>_axi), got {self.project!r}")
        if not isinstance(self.board, str) or not self.board:
            raise bad(f"board must be a board name such as 'pynq-z2', got {self.board!r}")
        io = self.io
        for key in ("n_in", "n_out"):
            v = getattr(io, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise bad(f"io.{key} must be a positive integer, got {v!r}")
        for key in ("in_type", "out_type"):
            try:
                setattr(io, key, FixedType.from_dict(getattr(io, key), f"io.{key}").to_dict())
            except UsageError as exc:
                raise bad(str(exc)) from exc
        if io.stream_bits not in STREAM_DTYPES:
            raise bad(f"io.stream_bits must be one of {sorted(STREAM_DTYPES)}, got {io.stream_bits!r}")
        for key, t in (("in_bits", io.in_type), ("out_bits", io.out_type)):
            v = getattr(io, key)
            if v != t["width"]:
                raise bad(
                    f"io.{key}={v!r} differs from the type's width {t['width']} "
                    "(raw values are packed at full width)"
                )
            if v > io.stream_bits:
                raise bad(f"io.{key}={v} is wider than io.stream_bits={io.stream_bits}")
        if self.classes is not None and (not isinstance(self.classes, list) or len(self.classes) != io.n_out):
            raise bad(f"classes must be a list of io.n_out={io.n_out} names, got {self.classes!r}")
        if not isinstance(self.softmax_on_host, bool):
            raise bad(f"softmax_on_host must be true or false, got {self.softmax_on_host!r}")
        if self.clock_mhz is not None and (
            not isinstance(self.clock_mhz, (int, float)) or self.clock_mhz <= 0
        ):
            raise bad(f"clock_mhz must be a positive number, got {self.clock_mhz!r}")
        if (
            not isinstance(self.bitstream, str)
            or not self.bitstream.endswith(".bit")
            or "/" in self.bitstream
        ):
            raise bad(f"bitstream must be a .bit file name inside the bundle, got {self.bitstream!r}")
        d = self.dma
        if not isinstance(d.length_bits, int) or not 8 <= d.length_bits <= 26:
            raise bad(f"dma.length_bits must be in 8..26 (AXI DMA c_sg_length_width), got {d.length_bits!r}")
        if d.mm_bits not in (32, 64, 128, 256, 512, 1024):
            raise bad(f"dma.mm_bits must be a power of two from 32 to 1024, got {d.mm_bits!r}")
        if not isinstance(self.layers, list):
            raise bad(f"layers must be a list, got {type(self.layers).__name__}")
        hexdigits = set("0123456789abcdef")
        if self.network is not None and (not isinstance(self.network, str) or not self.network
                                         or not set(self.network) <= hexdigits):
            raise bad(f"network must be the hex fingerprint of the compiled network, got {self.network!r}")
        if not isinstance(self.versions, dict):
            raise bad(f"versions must be an object, got {type(self.versions).__name__}")


def write_bundle(
    bundle_dir,
    meta: BundleMeta,
    *,
    bitstream=None,
    hwh=None,
    sim_library=None,
    test_vectors: dict | None = None,
) -> Path:
    """Assemble a deploy bundle; returns its folder.

    Copies `bitstream` and `hwh` (both or neither: pynq needs the .hwh beside the .bit) to the names
    model.json gives, the compiled AXI-top simulation library to `sim/` (sets `meta.sim_library`),
    writes `test_vectors` ({"x", "y_raw", "labels"}, see flow.runtime.sim) to test_vectors.npz (sets
    `meta.test_vectors`), then model.json.
    """
    import shutil

    out = Path(bundle_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (bitstream is None) != (hwh is None):
        raise BundleError("give both the .bit and the .hwh (pynq reads the block design from the .hwh)")
    if bitstream is not None:
        for src, name in ((Path(bitstream), meta.bitstream), (Path(hwh), meta.hwh)):
            if not src.is_file():
                raise BundleError(f"{src} not found")
            shutil.copyfile(src, out / name)
    if sim_library is not None:
        src = Path(sim_library)
        if not src.is_file():
            raise BundleError(
                f"simulation library {src} not found (build it with flow.board.axi_top.build_sim_library)"
            )
        (out / "sim").mkdir(exist_ok=True)
        shutil.copyfile(src, out / "sim" / src.name)
        meta.sim_library = f"sim/{src.name}"
    if test_vectors is not None:
        from flow.runtime.sim import TEST_VECTORS, write_test_vectors

        write_test_vectors(out, **test_vectors)
        meta.test_vectors = TEST_VECTORS
    meta.save(out)
    return out
