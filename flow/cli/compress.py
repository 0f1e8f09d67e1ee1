"""`flow compress`: train, prune, share, quantize a network and write the compressed-model folder."""

from __future__ import annotations

from pathlib import Path

from flow.cli import options


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compress",
        help="Deep Compression: prune + trained weight sharing + Huffman report",
        description=__doc__,
    )
    options.add_config(p)
    options.add_data_dir(p)
    p.add_argument("--model", help="digits_mlp | lenet300 | lenet5 | a .h5/.keras file")
    p.add_argument(
        "--out", type=Path, default=Path("compressed"), help="output folder (default: ./compressed)"
    )
    p.add_argument("--epochs", type=int, help="dense training epochs")
    p.add_argument("--prune-epochs", type=int, help="retraining epochs after each pruning step")
    p.add_argument("--finetune-epochs", type=int, help="centroid fine-tuning epochs")
    p.add_argument("--force", action="store_true", help="replace an existing output folder (atomically)")
    options.add_no_progress(p)
    p.set_defaults(func=run)


def run(args) -> int:
    extra = {
        "model.name": ("--model", args.model),
        "compress.epochs": ("--epochs", args.epochs),
        "compress.prune_epochs": ("--prune-epochs", args.prune_epochs),
        "compress.finetune_epochs": ("--finetune-epochs", args.finetune_epochs),
    }
    cfg = options.load_config_with(args, args.config, extra)
    from flow.compress.pipeline import compress

    cm = compress(cfg, args.out, progress=not args.no_progress, force=args.force)
    if args.no_progress:
        from flow.compress.report import print_table

        print_table(cm.report)
    tot = cm.report["total"]
    print(
        f"wrote {args.out}: {100 * (1 - cm.report['accuracy']['quantized']):.2f}% error, "
        f"{tot['ratio']:.1f}x ({tot['huffman_ratio']:.1f}x with Huffman)"
    )
    return 0
