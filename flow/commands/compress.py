"""`flow compress`: train, prune, share, quantize a network and write the compressed-model folder."""

from __future__ import annotations

from pathlib import Path

from flow.errors import ConfigError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compress",
        help="Deep Compression: prune + trained weight sharing + Huffman report",
        description=__doc__,
    )
    p.add_argument("--config", type=Path, help="YAML config (default: the built-in digits example)")
    p.add_argument(
        "--data-dir", help="MNIST idx folder (sets data.data_dir; implies data.name=mnist unless npz)"
    )
    p.add_argument("--model", help="digits_mlp | lenet300 | lenet5 | a .h5/.keras file")
    p.add_argument(
        "--out", type=Path, default=Path("compressed"), help="output folder (default: ./compressed)"
    )
    p.add_argument("--epochs", type=int, help="dense training epochs")
    p.add_argument("--prune-epochs", type=int, help="retraining epochs after each pruning step")
    p.add_argument("--finetune-epochs", type=int, help="centroid fine-tuning epochs")
    p.add_argument("--force", action="store_true", help="replace an existing output folder (atomically)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    from flow.config import load_config
    from flow.data import set_data_dir

    cfg = load_config(args.config)
    if args.data_dir:
        set_data_dir(cfg.data, args.data_dir)
    if args.model:
        cfg.model.name = args.model
    for opt, key in (
        ("epochs", "epochs"),
        ("prune_epochs", "prune_epochs"),
        ("finetune_epochs", "finetune_epochs"),
    ):
        value = getattr(args, opt)
        if value is not None:
            if value < 0:
                raise ConfigError(f"--{opt.replace('_', '-')}={value} must be >= 0")
            setattr(cfg.compress, key, value)
    try:
        cfg.model.__post_init__()
    except ValueError as exc:
        raise ConfigError(f"--model: {exc}") from None
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
