"""The MNIST benchmark path on a small subset (slow; needs the MNIST idx files)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deep_compression.py"


def _bench():
    spec = importlib.util.spec_from_file_location("deep_compression", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_bench_runs_the_shipped_example_configs():
    bench = _bench()
    for net in bench.NETWORKS.values():
        assert (bench.EXAMPLES / net["config"]).is_file()
    for variants in bench.COMPARISONS.values():
        for config in variants.values():
            assert (bench.EXAMPLES / config).is_file()


@pytest.mark.slow
@pytest.mark.mnist
def test_bench_quick(mnist_path, tmp_path):
    bench = _bench()
    out = tmp_path / "dc.json"
    result = bench.run(str(mnist_path), ["lenet300", "ternary"], quick=True, repeat=True, out=out)
    saved = json.loads(out.read_text())
    r = saved["lenet300"]
    assert r["repeat_identical"] is True
    assert r["huffman_ratio"] > r["ratio"] > 5
    assert r["selection"]["validation_images"] == 1000
    assert r["search"]["curve"]
    shelf = r["off_the_shelf"]
    assert shelf["layers"]["ip1"]["codebooks"] == 784
    assert set(saved["ternary"]) == {"ternary (TTQ)", "k-means 2-bit"}
    assert all(d["code_bits"] == 2 for d in saved["ternary"]["ternary (TTQ)"]["layers"])
    assert result["lenet300"]["error"] == r["error"]


RESULTS = BENCH.parent / "results" / "deep_compression.json"


def _recorded_entries(bench, saved):
    for part, net in bench.NETWORKS.items():
        yield saved[part], net["config"]
    for part, variants in bench.COMPARISONS.items():
        for label, config in variants.items():
            yield saved[part][label], config


def test_recorded_results_come_from_the_shipped_example_configs():
    """Editing an example config without re-running the benchmark fails here: the README's numbers
    must be what `flow compress --config examples/<it>` gives."""
    from flow.config import load_config

    bench = _bench()
    saved = json.loads(RESULTS.read_text())
    assert saved["quick"] is False
    for entry, config in _recorded_entries(bench, saved):
        assert entry["config"] == f"examples/{config}"
        assert entry["settings"], f"{config}: no settings recorded"
        assert bench.setting_differences(entry["settings"], load_config(bench.EXAMPLES / config)) == [], config


def test_readme_quotes_the_recorded_numbers():
    bench = _bench()
    saved = json.loads(RESULTS.read_text())
    readme = (BENCH.parents[1] / "README.md").read_text()
    for part in bench.NETWORKS:
        r = saved[part]
        assert f"**{100 * r['error']:.2f} %**" in readme, part
        assert f"**{r['huffman_ratio']:.1f}x**" in readme, part


SEEDS = BENCH.parent / "results" / "deep_compression_seeds.json"


def _seeds_bench():
    spec = importlib.util.spec_from_file_location("deep_compression_seeds", BENCH.parent / "deep_compression_seeds.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_quotes_the_mean_over_seeds_where_a_multi_seed_record_exists():
    """A network benchmarked over seeds: the README quotes mean ± std (and N) of what was recorded,
    from the shipped example config as it is now."""
    from flow.config import load_config

    bench, seeds = _bench(), _seeds_bench()
    saved = json.loads(SEEDS.read_text()) if SEEDS.is_file() else {}
    readme = (BENCH.parents[1] / "README.md").read_text()
    for part, net in bench.NETWORKS.items():
        entry = saved.get(part)
        if entry is None or entry["n"] == 0:
            continue
        assert entry["quick"] is False and entry["config"] == f"examples/{net['config']}", part
        cfg = load_config(bench.EXAMPLES / net["config"])
        recorded = {"seed": entry["seeds"][0], **entry["settings"]}
        assert bench.setting_differences(recorded, cfg) == [], part
        assert len(entry["rows"]) == entry["n"] and [r["seed"] for r in entry["rows"]] == sorted(
            r["seed"] for r in entry["rows"])
        for figure in seeds.readme_figures(entry):
            assert figure in readme, (part, figure)


def test_readme_figures_of_a_multi_seed_entry():
    seeds = _seeds_bench()
    rows = [{"seed": s, "error": e, "validation_error": e, "huffman_ratio": h, "ratio": h - 10, "wall_seconds": 1.0}
            for s, e, h in ((0, 0.0155, 66.1), (1, 0.0167, 64.8), (2, 0.0160, 65.0))]
    entry = {"summary": seeds.summarize(rows), "n": 3}
    assert seeds.readme_figures(entry) == ["1.61 ± 0.06 %", "65.3 ± 0.7x", "3 seeds"]
    goal = seeds.goal_check(entry["summary"], rows, {"error": 0.0158, "huffman_ratio": 60})
    assert goal == {"mean_error_ok": False, "every_seed_ratio_ok": True, "met": False}
    assert seeds.goal_check(entry["summary"], rows, {"error": 0.0162, "huffman_ratio": 65})["met"] is False


def test_a_rerun_keeps_the_seeds_recorded_with_the_same_settings(tmp_path):
    from flow.config import FlowConfig

    seeds = _seeds_bench()
    cfg = FlowConfig()
    settings = {k: v for k, v in cfg.to_dict().items() if k in ("data", "model", "compress")}
    older = json.loads(json.dumps(settings))
    del older["compress"]["distill"]  # recorded before the key existed: it had the default
    out = tmp_path / "s.json"
    seeds.record(out, "net", {"settings": older, "quick": False, "rows": [{"seed": 0}, {"seed": 7}]})
    assert seeds.kept_rows(out, "net", settings, False, [0, 1, 2]) == [{"seed": 0}]
    assert seeds.kept_rows(out, "net", settings, True, [0, 1, 2]) == []  # a --quick run is another run
    assert seeds.kept_rows(out, "other", settings, False, [0]) == []
    cfg.compress.epochs += 1
    changed = {k: v for k, v in cfg.to_dict().items() if k in ("data", "model", "compress")}
    assert seeds.kept_rows(out, "net", changed, False, [0, 1, 2]) == []
    # a load-balanced run records its engine layout: the same settings on another layout are rerun
    layout = {**settings, "hls": {"n_pe": 64, "col_groups": 1, "layers": {"ip2": {"col_groups": 8}}}}
    seeds.record(out, "bal", {"settings": layout, "quick": False, "rows": [{"seed": 0}]})
    assert seeds.kept_rows(out, "bal", layout, False, [0]) == [{"seed": 0}]
    other = {**settings, "hls": {"n_pe": 64, "col_groups": 1, "layers": {"ip2": {"col_groups": 4}}}}
    assert seeds.kept_rows(out, "bal", other, False, [0]) == []
    assert seeds.kept_rows(out, "bal", settings, False, [0]) == []  # recorded before the layout was


def test_setting_differences_name_the_key_and_treat_missing_keys_as_defaults():
    from flow.config import load_config

    bench = _bench()
    cfg = load_config(bench.EXAMPLES / "lenet5_mnist.yaml")
    rec = bench.settings_of(cfg.to_dict())
    assert bench.setting_differences(rec, cfg) == []
    rec["compress"]["epochs"] += 1
    rec["data"]["data_dir"] = "/elsewhere"  # where the data come from does not count
    assert bench.setting_differences(rec, cfg) == ["compress.epochs"]
    older = bench.settings_of(cfg.to_dict())
    del older["compress"]["augment_shift"]  # a run from before the key existed: it had the default, 0
    assert bench.setting_differences(older, cfg) == ["compress.augment_shift"]
    cfg.compress.augment_shift = 0
    assert bench.setting_differences(older, cfg) == []
    older["seed"] = 1
    assert bench.setting_differences(older, cfg) == ["seed"]


def test_a_load_balanced_run_is_not_reused_across_engine_layouts():
    from flow.config import load_config

    bench = _bench()
    cfg = load_config(bench.EXAMPLES / "lenet300_mnist_p64_codesign.yaml")
    rec = bench.settings_of(cfg.to_dict())
    assert bench.setting_differences(rec, cfg) == []
    cfg.hls.layers["ip2"] = {"col_groups": 8}  # other row PEs: other balanced masks
    assert bench.setting_differences(rec, cfg) == ["hls.layers"]
    plain = load_config(bench.EXAMPLES / "lenet300_mnist_target.yaml")  # no load_balance: layout irrelevant
    rec = bench.settings_of(plain.to_dict())
    plain.hls.n_pe = 4
    assert bench.setting_differences(rec, plain) == []
