"""What the build steps share: the typed step context, the Step record and the `step` decorator."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from flow.config import FlowConfig


@dataclass
class BuildContext:
    """The config, the staging folder, and the objects earlier steps made (None until made: a skipped
    step's products are re-made lazily by flow.build.steps.common, which owns these fields)."""

    cfg: FlowConfig
    out: Path  # the staging folder; paths recorded in reports are relative to it
    options: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: flow.board.boards.Board of cfg.build.board
    board: Any = None
    #: flow.data.Dataset of cfg.data
    dataset: Any = None
    #: flow.compress.io.CompressedModel (step compress, or loaded from the build folder)
    compressed: Any = None
    #: flow.hls.convert.Converted, compiled for csim (step hls, or re-made)
    hls: Any = None
    #: seconds the csim library took to compile
    csim_compile_s: float | None = None


@dataclass(frozen=True)
class Step:
    name: str
    func: Callable[[BuildContext], dict | None]
    #: config sections (and CLI options) whose values decide whether the step must rerun
    depends_on: tuple[str, ...]
    #: files/folders (relative to the build folder) that must exist for a skip
    outputs: tuple[str, ...]
    doc: str = ""
    #: optional cfg -> value of settings outside depends_on that also decide the step (None: nothing)
    also_depends: Callable[[FlowConfig], Any] | None = None
    #: optional ctx -> what the step reads from outside the build folder: Paths (hashed by content,
    #: flow.manifest.content_digest) and strings (e.g. a tool's identity); joins the fingerprint. What the
    #: step reads inside the build folder needs no declaring: the files earlier steps wrote join it anyway
    inputs: Callable[[BuildContext], Iterable[Path | str]] | None = None
    #: optional build folder -> None, or why an output is wrong although present (e.g. a JSON report of
    #: the wrong shape); checked before a skip, as every declared .json output is parsed
    check: Callable[[Path], str | None] | None = None
    #: said with the warning when the step reruns because its outputs changed after the build
    rerun_hint: str = ""

    def __call__(self, ctx: BuildContext) -> dict | None:
        return self.func(ctx)


def step(
    name: str,
    *,
    depends_on: tuple[str, ...],
    outputs: tuple[str, ...],
    also_depends: Callable[[FlowConfig], Any] | None = None,
    inputs: Callable[[BuildContext], Iterable[Path | str]] | None = None,
    check: Callable[[Path], str | None] | None = None,
    rerun_hint: str = "",
):
    """Make a function a build Step; flow.build.steps.STEPS lists them in build order.

    also_depends(cfg): part of another section that matters to this step only in some configs
    (e.g. the PE array to load-balanced pruning); its value joins the fingerprint unless None.
    inputs(ctx), check(folder): see Step. The runner (flow.build.runner) records the files each step
    writes and verifies them before a skip: a new step gets content fingerprints and ownership as is."""

    def wrap(func) -> Step:
        doc = (func.__doc__ or "").strip().split("\n")[0]
        return Step(name, func, depends_on, outputs, doc, also_depends, inputs, check, rerun_hint)

    return wrap
