"""report.json and the per-layer table (rich), laid out like Deep Compression's Table 2/3."""

from __future__ import annotations

from flow.compress.storage import LayerStorage, totals


def build_report(
    *,
    model_name: str,
    dataset: str,
    accuracy: dict,
    storage: list[LayerStorage],
    types: dict,
    timings: dict,
    history: dict | None = None,
    load_balance: dict[str, int] | None = None,
    validation_accuracy: dict | None = None,
    selection: dict | None = None,
    methods: dict[str, str] | None = None,
) -> dict:
    """load_balance: {Dense layer: row PEs} of load-balance-aware pruning, None if it was off.

    accuracy: per stage, on the test set (evaluated once, at the end); validation_accuracy: per
    stage, on the validation split that made every choice; selection: which split chose what.
    """
    layers = []
    for s in storage:
        d = s.to_dict()
        t = types.get(s.name)
        if t is not None:
            d.update(
                input_type=t.input_type,
                weight_type=t.weight_type,
                bias_type=t.bias_type,
                output_type=t.output_type,
                activation=t.activation,
            )
            if getattr(t, "gate_type", None) is not None:  # an LSTM's
                d.update(gate_type=t.gate_type, cell_type=t.cell_type)
        if methods:
            d["method"] = methods.get(s.name, "kmeans")
        layers.append(d)
    return {
        "format": 1,
        "model": model_name,
        "dataset": dataset,
        "accuracy": accuracy,
        "error": {k: 1.0 - v for k, v in accuracy.items()},
        "layers": layers,
        "total": totals(storage),
        "seconds": timings,
        "history": history or {},
        "load_balance": load_balance,
        "validation_accuracy": validation_accuracy,
        "validation_error": {k: 1.0 - v for k, v in (validation_accuracy or {}).items() if v is not None},
        "selection": selection,
    }


def _kb(nbytes: float) -> str:
    return f"{nbytes / 1024:.1f} KB"


def table(report: dict):
    """A rich Table: per layer params, kept %, bits, sizes and ratios; totals and accuracies below."""
    from rich.table import Table

    acc = report["accuracy"]
    caption = "test " + "  ".join(f"{k}: {100 * (1 - v):.2f}% err" for k, v in acc.items())
    val = report.get("validation_error") or {}
    if val:
        caption += "\nvalidation " + "  ".join(f"{k}: {100 * v:.2f}% err" for k, v in val.items())
    t = Table(title=f"Deep Compression of {report['model']} on {report['dataset']}", caption=caption)
    for col in ("layer", "weights", "kept", "bits c/i", "dense", "compressed", "+Huffman", "EIE chip"):
        t.add_column(col, justify="left" if col == "layer" else "right", no_wrap=True)
    for d in report["layers"]:
        t.add_row(
            d["name"],
            f"{d['params']:,}",
            f"{100 * d['kept']:.1f}%",
            f"{d['code_bits']}/{d['index_bits']}",
            _kb(d["dense_bits"] / 8),
            f"{_kb(d['total_bits'] / 8)} {d['ratio']:.1f}x",
            f"{_kb(d['huffman_total_bits'] / 8)} {d['huffman_ratio']:.1f}x",
            _kb(d["eie_bytes"]) if d["eie_detail"] else "-",
        )
    tot = report["total"]
    t.add_section()
    t.add_row(
        "total",
        f"{tot['params']:,}",
        f"{100 * tot['kept']:.1f}%",
        "",
        _kb(tot["dense_bytes"]),
        f"{_kb(tot['compressed_bytes'])} {tot['ratio']:.1f}x",
        f"{_kb(tot['huffman_bytes'])} {tot['huffman_ratio']:.1f}x",
        _kb(tot["eie_bytes"]),
    )
    return t


def print_table(report: dict, console=None) -> None:
    from rich.console import Console

    console = console or Console(width=max(Console().width, 110))
    console.print(table(report))
