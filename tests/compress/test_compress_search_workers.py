"""compress.target's candidates in worker processes (and on Ray when installed): same search result."""

from __future__ import annotations

import numpy as np
import pytest

from flow.compress.search_workers import SearchRunner
from flow.config import FlowConfig
from flow.config.compress import TargetConfig


def _search(runner: SearchRunner | None):
    from flow.compress import search
    from flow.compress.pipeline import prepare, train_dense

    cfg = FlowConfig()
    c = cfg.compress
    c.epochs = 3
    c.target = TargetConfig(max_error_increase=3.0, levels=[1.0, 8.0, 30.0], bits=[3, 4], epochs=1, refine=1)
    _, model, sp = prepare(cfg)
    train_dense(cfg, model, sp, progress=False)
    dense_w = model.get_weights()
    s = search.search_settings(model, sp.x_train, sp.y_train, sp.validation, c, cfg, progress=False, runner=runner)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), dense_w))  # dense restored
    return s, c


def _same(a: dict, b: dict) -> None:
    assert [p["sparsity"] for p in a["curve"]] == [p["sparsity"] for p in b["curve"]]
    assert [p["level"] for p in a["curve"]] == [p["level"] for p in b["curve"]]
    for p, q in zip(a["curve"], b["curve"]):  # same seed, same threads: the same numbers
        assert (p["validation_error"], p["bytes"], p["bits"], p["index_bits"]) == (
            q["validation_error"], q["bytes"], q["bits"], q["index_bits"])
    assert a["chosen"] == b["chosen"]


def test_runner_refuses_zero_workers():
    with pytest.raises(ValueError, match="workers=0"):
        SearchRunner(0)
    assert SearchRunner().in_process and not SearchRunner(2).in_process


@pytest.mark.slow
def test_search_in_worker_processes_matches_in_process():
    """Each candidate in its own spawned process (seeded and threaded as `flow compress`) gives the
    curve, numbers and choice of the in-process search, in level order."""
    here, c_here = _search(None)
    there, c_there = _search(SearchRunner(workers=2))
    _same(here, there)
    assert c_here.layer_sparsity == c_there.layer_sparsity and c_here.layer_bits == c_there.layer_bits


@pytest.mark.slow
def test_search_on_a_local_ray_instance_matches_in_process():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'eie-flow[ray]'): Ray search not tested")
    try:
        here, _ = _search(None)
        there, _ = _search(SearchRunner(ray_address="local"))
        _same(here, there)
    finally:
        ray.shutdown()


def test_search_options_refused_without_a_target(tmp_path, capsys):
    from flow.cli.main import main

    rc = main(["compress", "--search-workers", "2", "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no compress.target" in err and (tmp_path / "o").exists() is False
    rc = main(["compress", "--search-workers", "0", "--out", str(tmp_path / "o")])
    assert rc == 2 and "--search-workers 0" in capsys.readouterr().err
