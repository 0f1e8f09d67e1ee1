"""`flow rtlsim` on a model configured with a layout the RTL engine cannot run (col_groups=3): exit
2 with one line naming the layer, the value and the nearest powers of two, before any file is written."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("hls4ml")

from flow.cli import main
from flow.compress.io import save_compressed
from flow.config import FlowConfig, apply_overrides, dump_config
from flow.testing import as_compressed, shared_mlp


def test_rtlsim_refuses_non_power_of_two_groups_before_writing(tmp_path, capsys):
    from flow.data import load_dataset

    x = load_dataset().x_train[:200]
    model, types = shared_mlp([64, 16, 10], (0.5, 0.5), calib_x=x, seed=2)
    folder = tmp_path / "compressed"
    save_compressed(as_compressed(model, types), folder)
    cfg = apply_overrides(FlowConfig(), {"hls.n_pe": ("--pe", 12), "hls.col_groups": ("--col-groups", 3)})
    (folder / "config.yaml").write_text(dump_config(cfg))
    out = tmp_path / "rtl_out"
    assert main(["rtlsim", str(folder), "--n", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "col_groups=3" in err and "nearest: 2 or 4" in err and "layer '" in err, err
    assert not out.exists()
    assert len(err.strip().splitlines()) == 1, err
