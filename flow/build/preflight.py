"""Everything `flow build` (and `flow compress`) can check before training, checked before training.

`check(cfg, options)` reads and validates every input the build will read (the board, the dataset,
the model: built-in, a user's Keras file or a compressed folder) and refuses, with the cause and the
fix, what would otherwise fail minutes later: a model whose input does not match the data, an
activation or layer the hardware cannot run, `hls.layers` naming a layer the model does not have,
a PE array that cannot fit the board, a 1-bit codebook, and hls settings the board overrides.
Returns the loaded compressed model when --model named one (its errors name the given folder, not a
staging copy).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from flow.errors import ConfigError, FitError, UsageError

log = logging.getLogger(__name__)


def check_compress_settings(cfg, layer_names) -> None:
    """compress.* against the model's layers: names known, code bits that can represent a network."""
    c = cfg.compress
    try:
        c.check_layers(list(layer_names))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    one_bit = [n for n in layer_names if c.bits_of(n) < 2]
    if one_bit:
        raise ConfigError(
            f"compress.bits / layer_bits: 1 code bit for {', '.join(one_bit)} leaves a codebook of 0 and a single "
            "non-zero value (one sign, one magnitude for every kept weight), which cannot represent a trained "
            "layer and gives a chance-level model; use at least 2 bits (EIE: 4)"
        )


def check_hls_layers(cfg, dense_names) -> None:
    unknown = sorted(set(cfg.hls.layers) - set(dense_names))
    if unknown:
        raise ConfigError(
            f"hls.layers names {', '.join(map(repr, unknown))}, not a Dense layer of the model; "
            f"its Dense layers are {', '.join(dense_names) or 'none'}"
        )


def check_fit_estimate(cfg, model, board, masks: dict | None = None) -> None:
    """Refuse a PE array that cannot fit the board whatever the pruning gives (estimated from the
    layer shapes and the configured sparsity, at 100 % of the board; the resources step later applies
    build.fit_limit to the real masks)."""
    from flow.board.resources import LayerFootprint, check_fit, estimate

    rng = np.random.default_rng(0)
    feet = []
    for layer in model.layers:
        if type(layer).__name__ not in ("Dense", "QDense"):
            continue
        n_in, n_out = int(layer.kernel.shape[0]), int(layer.kernel.shape[1])
        k = cfg.hls.knobs_of(layer.name)
        keep = 1.0 - cfg.compress.sparsity_of(layer.name)
        given = (masks or {}).get(layer.name)
        mask = np.asarray(given).T if given is not None else rng.random((n_out, n_in)) < keep
        n_pe = k["n_pe"]
        try:
            feet.append(
                LayerFootprint.from_mask(
                    layer.name, mask, n_pe, index_bits=cfg.compress.index_bits_of(layer.name),
                    code_bits=cfg.compress.bits_of(layer.name), fifo_depth=k["fifo_depth"],
                    broadcast=k["broadcast"], detect_width=k["detect_width"],
                )
            )
        except ValueError as exc:
            raise ConfigError(f"hls: {exc}") from None
    if not feet:
        return
    try:
        check_fit(estimate(feet), board, limit=1.0)
    except FitError as exc:
        raise FitError(f"refused before training (estimated from the layer shapes and sparsity): {exc}") from None


def _pe_bound(cfg, model, board) -> None:
    """A cheap bound before the estimate: each PE needs at least PE_LUT LUTs of control and datapath."""
    from flow.board.resources import PE_LUT

    total = 0
    for layer in model.layers:
        if type(layer).__name__ in ("Dense", "QDense"):
            total += cfg.hls.knobs_of(layer.name)["n_pe"]
    luts = getattr(getattr(board, "resources", None), "lut", None)
    if luts and total * PE_LUT > luts:
        raise FitError(
            f"refused before training: {total:,} PEs in all need at least {total * PE_LUT:,} LUTs, the "
            f"{board.name} has {luts:,}; use fewer PEs (hls.n_pe / --pe, or per layer in hls.layers) or a "
            "bigger board (see `flow boards`)"
        )


def warn_rtl_layouts(cfg, dense_names) -> None:
    """The `rtl` step runs power-of-two col_groups only; say at config time, once, that it will be
    skipped (the HLS steps take any col_groups dividing n_pe, so the build goes on)."""
    from flow.rtl.params import check_config_layouts

    try:
        check_config_layouts(cfg.hls, dense_names)
    except UsageError as exc:
        log.warning("the rtl step will be skipped: %s", exc)


def data_source(data_cfg) -> str:
    """Where a dataset's files are, for messages: the MNIST folder, the .npz file, or the built-in set."""
    import os

    if data_cfg.name == "npz":
        return f"the .npz file {data_cfg.path} (data.path)"
    if data_cfg.name == "mnist":
        folder = data_cfg.data_dir or os.environ.get("FLOW_DATA_DIR")
        return f"the MNIST folder {folder} (--data-dir)" if folder else "MNIST"
    return f"the built-in {data_cfg.name} set"


def check_model_vs_data(model, ds, source: str, data_cfg=None, fix: str | None = None) -> None:
    """The model's input width and output count against the dataset's. data_cfg (the config's data
    section) names where the data came from; `fix` replaces the default advice."""
    want = int(math.prod(ds.input_shape))
    have_shape = tuple(int(d) for d in model.input_shape[1:] if d is not None)
    have = int(math.prod(have_shape))
    if have != want:
        origin = f" (from {data_source(data_cfg)})" if data_cfg is not None else ""
        raise UsageError(
            f"{source} takes inputs of shape {have_shape} ({have} values) but the dataset's samples{origin} have "
            f"shape {tuple(ds.input_shape)} ({want}); "
            + (fix or "pick the dataset the model was trained on (data: in the config)")
        )
    n_out = int(model.output_shape[-1])
    if ds.n_classes > n_out:
        raise UsageError(
            f"{source} has {n_out} outputs but the dataset's labels go up to {ds.n_classes - 1}; "
            "pick the matching dataset or model"
        )


def check_engine_layers(model, source: str, recurrent_ok: bool = False) -> None:
    """The one check of the layers and activations the hardware runs (flow.hls.convert.hardware_layers:
    e.g. a sigmoid output or a tanh layer is refused), made before any work by every command that takes
    a model: `flow compress` before training, `flow build`, `flow csim` and `flow rtlsim` before
    converting. `source` names the model in the message ("--model m.keras", "model lenet5", a folder)."""
    from flow.hls.convert import hardware_layers

    try:
        hardware_layers(model, recurrent_ok=recurrent_ok)
    except UsageError as exc:
        raise UsageError(f"{source}: {exc}") from None


#: Keras layers the RTL overlay runs or that move data only (the overlay step decides on the converted
#: graph; this refuses `--engine rtl` for a convolutional network before any training)
RTL_KERAS_LAYERS = ("InputLayer", "Dense", "QDense", "Activation", "QActivation", "ReLU", "Flatten", "Reshape",
                    "Dropout")


def check_rtl_engine(model, source: str) -> None:
    other = [f"{ly.name} ({type(ly).__name__})" for ly in model.layers if type(ly).__name__ not in RTL_KERAS_LAYERS]
    if other:
        raise UsageError(f"--engine rtl: {source} has layers the RTL engine does not run ({', '.join(other[:4])}"
                         f"{', ...' if len(other) > 4 else ''}): use --engine hls (or auto, which takes the HLS "
                         "kernel for it)")


def check(cfg, options: dict):
    """Validate every input of a build before any work (see module docstring)."""
    from flow.board.boards import load_board
    from flow.board.vendor import resolve_clock
    from flow.config import HLSConfig
    from flow.data import load_dataset
    from flow.models import build_model, load_user_model

    board = load_board(cfg.build.board)
    resolve_clock(board, cfg.build.clock_mhz)
    default = HLSConfig()
    if cfg.hls.clock_period != default.clock_period:
        raise ConfigError(
            f"hls.clock_period={cfg.hls.clock_period}: `flow build` takes the clock from the board or "
            "build.clock_mhz (--clock); set that instead and remove hls.clock_period"
        )
    if cfg.hls.part != default.part and cfg.hls.part != board.part:
        raise ConfigError(
            f"hls.part={cfg.hls.part!r}: `flow build` takes the part from the board ({board.part}); "
            "pick the board with build.board (--board) and remove hls.part"
        )
    ds = load_dataset(cfg.data)
    given = options.get("model_path")
    cm = None
    if given:
        path = Path(given)
        if path.is_dir():
            from flow.compress.io import load_compressed

            if not (path / "compression.json").is_file():
                raise UsageError(
                    f"--model {given} is a folder but not a compressed-model folder (no compression.json); "
                    "pass the folder `flow compress` wrote, or a .h5/.keras file"
                )
            cm = load_compressed(path)
            model = cm.model
        else:
            if options.get("skip_train"):
                raise UsageError(f"--skip-train needs a compressed-model folder, but --model {given} is a file")
            model = load_user_model(path)
        source = f"--model {given}"
    else:
        model = build_model(cfg.model, ds.input_shape, ds.n_classes)
        source = f"model {cfg.model.name}"
    check_model_vs_data(model, ds, source)
    check_engine_layers(model, source)
    if options.get("engine") == "rtl":
        check_rtl_engine(model, source)
    dense = [layer.name for layer in model.layers if type(layer).__name__ in ("Dense", "QDense")]
    weight = [layer.name for layer in model.layers if type(layer).__name__ in ("Dense", "QDense", "Conv2D", "QConv2D")]
    check_hls_layers(cfg, dense)
    if cm is None:
        check_compress_settings(cfg, weight)
    _pe_bound(cfg, model, board)
    check_fit_estimate(cfg, model, board, {n: ly.mask for n, ly in cm.layers.items()} if cm else None)
    warn_rtl_layouts(cfg, dense)  # last: only a build that goes on is told
    return cm
