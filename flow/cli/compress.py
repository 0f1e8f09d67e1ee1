"""`flow compress`: train, prune, share, quantize a network and write the compressed-model folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from flow.cli import options
from flow.errors import FlowError, QualityError, UsageError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compress",
        help="Deep Compression: prune + trained weight sharing + Huffman report",
        description=__doc__,
    )
    options.add_config(p)
    options.add_data_dir(p)
    p.add_argument("--model", help="digits_mlp | lenet300 | lenet5 | lstm_seqmnist | a .h5/.keras file")
    p.add_argument(
        "--out", type=Path, default=Path("compressed"), help="output folder (default: ./compressed)"
    )
    p.add_argument(
        "--seed", type=int,
        help="random seed of initialisation and minibatch order (default: the config's `seed`); the "
             "validation split does not depend on it",
    )
    p.add_argument("--epochs", type=int, help="dense training epochs")
    p.add_argument("--prune-epochs", type=int, help="retraining epochs after each pruning step")
    p.add_argument("--finetune-epochs", type=int, help="centroid fine-tuning epochs")
    p.add_argument(
        "--force", action="store_true",
        help="replace an existing output folder (atomically; only a folder `flow compress` wrote)",
    )
    p.add_argument(
        "--fresh", action="store_true",
        help="start from scratch: drop the stages a killed run of the same config kept (by default a rerun "
             "resumes after the last completed stage)",
    )
    p.add_argument(
        "--search-workers", type=int, default=1, metavar="N",
        help="compress.target: evaluate up to N search candidates at once, each in its own process "
             "(default 1: one after another in this process; the chosen settings do not depend on N)",
    )
    p.add_argument(
        "--ray-address", metavar="ADDR",
        help="compress.target: run the search's candidates as Ray tasks on this cluster (`auto`, "
             "`local` or ray://host:port; needs pip install 'eie-flow[ray]')",
    )
    options.add_quality(p)
    options.add_no_progress(p)
    p.set_defaults(func=run)


def run(args) -> int:
    extra = {
        "seed": ("--seed", args.seed),
        "model.name": ("--model", args.model),
        "compress.epochs": ("--epochs", args.epochs),
        "compress.prune_epochs": ("--prune-epochs", args.prune_epochs),
        "compress.finetune_epochs": ("--finetune-epochs", args.finetune_epochs),
    }
    cfg = options.load_config_with(args, args.config, extra)
    if args.search_workers < 1:
        raise UsageError(f"--search-workers {args.search_workers}: give a number of processes >= 1 (default 1)")
    if (args.search_workers > 1 or args.ray_address) and cfg.compress.target is None:
        raise UsageError(
            "--search-workers/--ray-address run compress.target's candidates, but the config has no "
            "compress.target; drop the option or add a target (as examples/lenet300_mnist_target.yaml does)"
        )
    quality = options.quality_options(args)
    from flow.build import preflight
    from flow.build.steps.quality import DEFAULT_MAX_DROP, gate
    from flow.compress import determinism
    from flow.compress.io import check_target
    from flow.compress.pipeline import compress
    from flow.compress.resume import StageStore, fingerprint
    from flow.data import load_dataset
    from flow.models import build_model
    from flow.outdir import PARTIAL, OutputLock, leftovers, recover_swap

    check_target(Path(args.out), args.force)  # before any work
    determinism.configure(cfg.seed)  # before TensorFlow starts: thread pools can only be set then
    out = Path(args.out).resolve()
    ds = load_dataset(cfg.data)
    model = build_model(cfg.model, ds.input_shape, ds.n_classes)  # untrained: checks only
    preflight.check_model_vs_data(model, ds, f"model {cfg.model.name}")
    preflight.check_engine_layers(model, f"model {cfg.model.name}", recurrent_ok=True)  # before any training
    preflight.check_compress_settings(cfg, [ly.name for ly in model.layers if type(ly).__name__ in (
        "Dense", "QDense", "Conv2D", "QConv2D", "LSTM")])
    with OutputLock(out, "compress"):
        recover_swap(out)
        for stale in leftovers(out, PARTIAL):  # a killed run's half-written folder
            shutil.rmtree(stale, ignore_errors=True)
        stages = StageStore(out, fingerprint(cfg))
        if args.fresh:
            stages.clear()
        try:
            from flow.compress.search_workers import SearchRunner

            cm = compress(cfg, out, progress=not args.no_progress, force=args.force, dataset=ds,
                          stages=stages, search_runner=SearchRunner(args.search_workers, args.ray_address))
        except OSError as exc:
            raise FlowError(
                f"writing {args.out} failed: {exc.strerror or exc}; the previous folder is unchanged "
                "(free space or fix permissions and rerun)"
            ) from None
    msg, _ = gate(cm.report.get("accuracy", {}), ds.y_test,
                  max_drop=quality.get("max_accuracy_drop", DEFAULT_MAX_DROP), allow=True)
    if args.no_progress:
        from flow.compress.report import print_table

        print_table(cm.report)
    tot = cm.report["total"]
    print(
        f"wrote {args.out}: {100 * (1 - cm.report['accuracy']['quantized']):.2f}% error, "
        f"{tot['ratio']:.1f}x ({tot['huffman_ratio']:.1f}x with Huffman)"
    )
    if msg and not quality["allow_accuracy_drop"]:
        raise QualityError(f"{msg.split('. Fix:')[0]} (the folder {args.out} is written for inspection; "
                           f"`flow build --model` refuses it without --allow-accuracy-drop). Fix:{msg.split('. Fix:')[1]}")
    if msg:
        print(f"warning: {msg.split('. Fix:')[0]} (accepted with --allow-accuracy-drop)")
    return 0
