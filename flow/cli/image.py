"""`flow image`: write model.eie, a compressed model for the RTL overlay (docs/overlay.md).

Converts the folder written by `flow compress` with the EIE backend (its EIE layers, laid out on
the config's hls.n_pe PEs), checks it against the board's overlay preset for that P (every
capacity, with both numbers) before writing, and writes the image atomically. Load it on the
board with `EIEOverlay(overlay_bundle).load("model.eie")`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flow.cli import options
from flow.errors import UsageError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("image", help="model.eie for the RTL overlay from a compressed model", description=__doc__)
    p.add_argument("model_dir", type=Path, help="compressed-model folder written by `flow compress`")
    p.add_argument("--board", default="pynq-z2", help="board whose overlay preset the image is for (default pynq-z2)")
    p.add_argument("--pe", type=int, help="overlay size P (default: the model's hls.n_pe)")
    p.add_argument("--out", type=Path, help="output file (default: <model_dir>/model.eie)")
    p.set_defaults(func=run)


def _softmax_at_end(model) -> bool:
    last = model.layers[-1]
    act = getattr(last, "activation", None)
    return getattr(act, "__name__", "") == "softmax" or last.get_config().get("activation") == "softmax"


def write(model_dir: Path, cfg, board_name: str, pe: int | None, out: Path) -> dict:
    from flow.compress.io import load_compressed
    from flow.hls.convert import convert
    from flow.hls.csim import reference_covers
    from flow.overlay.image import write_for_board
    from flow.rtl.params import check_config_layouts

    cm = load_compressed(model_dir)
    dense = [ly.name for ly in cm.model.layers if type(ly).__name__ in ("Dense", "QDense")]
    check_config_layouts(cfg.hls, dense)
    with tempfile.TemporaryDirectory(prefix="flow-image-") as tmp:
        model = convert(cm, cfg.hls, Path(tmp) / "hls")
        if not reference_covers(model):
            raise UsageError(f"{model_dir}: the network has layers besides Dense (e.g. convolutions); the RTL "
                             "overlay runs only EIE Dense layers: use `flow build` (the HLS kernel) for it")
        layers = model.eie_layers
    return write_for_board(layers, out, board_name, pe, softmax=_softmax_at_end(cm.model), what=str(model_dir))


def run(args) -> int:
    if not args.model_dir.is_dir():
        raise UsageError(f"{args.model_dir} is not a folder; pass the output folder of `flow compress`")
    if args.pe is not None and args.pe < 1:
        raise UsageError(f"--pe={args.pe}: give the overlay's number of PEs (16, 32 or 64 for the presets)")
    cfg_path = args.model_dir / "config.yaml"
    args.data_dir = None
    cfg = options.load_config_with(args, cfg_path if cfg_path.is_file() else None)
    out = args.out or args.model_dir / "model.eie"
    from flow.runtime.cli import check_writable

    check_writable(out, "--out", fix="pass --out a .eie file in a writable folder", create_parents=True)  # before any work
    s = write(args.model_dir, cfg, args.board, args.pe, out)
    print(f"wrote {s['path']}: {s['bytes']} bytes, {s['beats']} load-stream beats "
          f"({s['beats'] / 100:.1f} us at 100 MHz), {s['engine_writes']} engine writes")
    return 0
