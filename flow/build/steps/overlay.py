"""Step `overlay`: which engine the build is for, and for the RTL overlay the model image.

`flow build --engine` (options["engine"]):
- `rtl`: the RTL overlay of the board with the smallest preset P >= the model's n_pe. The overlay
  is taken from the known place (flow.build.overlay.overlay_home()) and built there first when
  none exists (said in the output); the model, laid out on P PEs, is written to
  `overlay/model.eie`, checked against the preset's capacity with both numbers. The HLS-only steps
  (csim, board, vendor, bundle, sim_board) do not run (`steps_for("rtl")`). A network with layers
  the RTL does not run is a usage error naming `--engine hls`.
- `hls`: today's HLS kernel and bundle only.
- `auto` (default): `rtl` for an all-Dense network that fits a preset, with the HLS bundle built
  beside it (the simulated board and the README's first command rely on it; without vendor tools
  it costs seconds); `hls` for a network with other layers (LeNet-5's convolutions) or none
  fits. The summary's `engine` line says which and why; reports/engine.json records it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
from pathlib import Path

from flow.build.context import step
from flow.build.steps.common import board, compressed, hls_config, hls_model, write_json
from flow.errors import UsageError

log = logging.getLogger(__name__)

ENGINES = ("auto", "rtl", "hls")
OVERLAY = "overlay"
IMAGE = f"{OVERLAY}/model.eie"


def check_overlay(folder: Path) -> str | None:
    """None when the overlay the image was written for is still the one in its place (a rebuilt or
    removed overlay makes the step rerun, and build it again when it is gone)."""
    from flow.build.overlay import read_meta

    try:
        rec = json.loads((folder / "reports" / "engine.json").read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return "reports/engine.json cannot be read"
    if not isinstance(rec, dict):
        return "reports/engine.json is not an object"
    if rec.get("engine") != "rtl":
        return None
    if not (folder / IMAGE).is_file():
        return f"{IMAGE} is missing"
    now = read_meta(Path(str(rec.get("overlay"))))
    if now != rec.get("overlay_meta"):
        return f"the overlay in {rec.get('overlay')} changed or is gone since the image was written"
    return None


def _other_layers(model) -> list[str]:
    from flow.hls.csim import _DATA_ONLY, _identity_relu
    from flow.hls.layer import is_eie_node

    return [f"{n.name} ({n.class_name})" for n in model.graph.get_layers()
            if not (n.class_name in _DATA_ONLY or is_eie_node(n) or _identity_relu(n))]


def choose_P(b, n_pe: int) -> int | None:
    """The smallest overlay preset of board `b` with P >= n_pe, or None."""
    ps = sorted(int(k[1:]) for k in b.overlay)
    return next((P for P in ps if P >= n_pe), None)


def _layers_on(ctx, P: int):
    """The model's EIE layers laid out on P PEs (a reconversion when the build's n_pe differs)."""
    from flow.hls.convert import convert

    model = hls_model(ctx)
    if all(ly.n_pe == P for ly in model.eie_layers):
        return model.eie_layers
    cfg = dataclasses.replace(hls_config(ctx), n_pe=P)
    with tempfile.TemporaryDirectory(prefix="flow-overlay-") as tmp:
        layers = convert(compressed(ctx), cfg, Path(tmp) / "hls").eie_layers
    if any(ly.n_pe != P for ly in layers):
        raise UsageError(f"the model's layers take {sorted({ly.n_pe for ly in layers})} PEs with hls.n_pe={P} "
                         f"(per-layer n_pe in hls.layers?); the P={P} overlay needs every layer on {P}")
    return layers


def _softmax(ctx) -> bool:
    last = compressed(ctx).model.layers[-1]
    return last.get_config().get("activation") == "softmax"


def decide(engine: str, other: list[str], n_pe: int, b) -> tuple[int | None, str]:
    """(P of the RTL overlay, why) or (None, why the HLS kernel); UsageError when --engine rtl cannot be."""
    if other:
        why = (f"the network has layers the RTL engine does not run ({', '.join(other[:4])}"
               f"{', ...' if len(other) > 4 else ''}); the HLS kernel runs them")
        if engine == "rtl":
            raise UsageError(f"--engine rtl: {why}: use --engine hls (or auto)")
        return None, why
    P = choose_P(b, n_pe)
    if P is None:
        have = ", ".join(sorted(b.overlay, key=lambda k: int(k[1:]))) or "none"
        why = f"no overlay preset of {b.name} has P >= {n_pe} (the model's n_pe; presets: {have})"
        if engine == "rtl":
            raise UsageError(f"--engine rtl: {why}: take a smaller hls.n_pe or add a preset to board.yaml")
        return None, why
    why = "all layers are Dense" if engine == "auto" else "--engine rtl"
    if P != n_pe:
        why += f" (laid out on P={P}: the smallest {b.name} preset >= the model's n_pe {n_pe})"
    return P, why


def _hls_only(ctx, engine: str, why: str) -> dict:
    shutil.rmtree(ctx.out / OVERLAY, ignore_errors=True)  # a previous build's image is not this build's
    ctx.summary["engine"] = f"hls: {why}"
    rec = {"engine": "hls", "requested": engine, "why": why}
    write_json(ctx, "engine.json", rec)
    return rec


@step("overlay", depends_on=("hls", "build", "engine"), outputs=("reports/engine.json",), check=check_overlay)
def overlay(ctx) -> dict:
    """Decide the engine; for the RTL overlay write overlay/model.eie for an overlay that exists."""
    from flow.build.overlay import ensure_overlay
    from flow.overlay.image import capacity_of_params, image_bytes, write_image
    from flow.overlay.project import overlay_name
    from flow.overlay.sizing import preset
    from flow.runtime.eie_image import check_capacity, read_image

    engine = ctx.options.get("engine", "auto")
    if engine == "hls":
        return _hls_only(ctx, engine, "--engine hls: the HLS kernel, the model's weights compiled into ROM")
    b = board(ctx)
    model = hls_model(ctx)
    n_pe = max((ly.n_pe for ly in model.eie_layers), default=1)
    P, why = decide(engine, _other_layers(model), n_pe, b)
    if P is None:
        return _hls_only(ctx, engine, why)
    layers = _layers_on(ctx, P)
    params = preset(b, P)
    softmax = _softmax(ctx)
    img = read_image(image_bytes(layers, params, softmax=softmax))
    check_capacity(img, capacity_of_params(params), f"the {b.name} P={P} overlay")  # both numbers, before writing
    folder, meta, built = ensure_overlay(b.name, P, say=log.warning)
    counts = write_image(layers, ctx.out / IMAGE, params, softmax=softmax)
    counts.pop("path", None)  # the staging folder's: the record names IMAGE, relative to the build
    name = overlay_name(b, P)
    bit = "with bitstream" if meta.get("bitstream_built") else "no bitstream yet: Vivado did not run"
    ctx.summary["engine"] = (f"rtl overlay {name}: {why}; {IMAGE} ({counts['bytes']:,} bytes, {counts['beats']:,} "
                             f"load-stream beats, {counts['beats'] / (b.clock_mhz * 1e3):.3f} ms at "
                             f"{b.clock_mhz:g} MHz) for the overlay in {folder} ({bit}"
                             f"{'; built by this build' if built else ''})")
    if engine == "auto":
        ctx.summary["engine"] += "; the HLS bundle (bundle/) is built beside it"
    if built:
        ctx.notes.append(f"built the {name} overlay in {folder} (none existed); `flow overlay` rebuilds it")
    rec = {"engine": "rtl", "requested": engine, "why": why, "overlay": str(folder), "overlay_meta": meta,
           "image": IMAGE, "P": P, "image_counts": counts, "overlay_built_now": built}
    write_json(ctx, "engine.json", rec)
    return {k: rec[k] for k in ("engine", "requested", "why", "overlay", "P", "overlay_built_now")}
