"""The hls4ml API on the EIE backend with a careless caller: an empty batch keeps its (0, n_out) shape,
an EIE knob block that is not a mapping is refused as such (not read letter by letter)."""

from __future__ import annotations

import numpy as np
import pytest

hls4ml = pytest.importorskip("hls4ml")
pytest.importorskip("tensorflow")

from hls_helpers import convert_mlp  # noqa: E402

from flow.errors import UsageError  # noqa: E402


@pytest.mark.parametrize("where", ["layer", "model"])
@pytest.mark.parametrize("block", ["easy", 8, ["n_pe", 4]])
def test_eie_knob_block_that_is_not_a_mapping_is_refused(tmp_path, where, block):
    with pytest.raises(UsageError, match=r"not a mapping.*\{'n_pe': 8\}") as info:
        convert_mlp(tmp_path / "prj", **({"layer_eie": block} if where == "layer" else {"model_eie": block}))
    assert "unknown EIE knob" not in str(info.value)


@pytest.mark.csim
def test_empty_batch_keeps_the_output_width(tmp_path):
    hm = convert_mlp(tmp_path / "prj")
    hm.compile()
    for dtype in (np.float32, np.float64):
        y = hm.predict(np.zeros((0, 20), dtype=dtype))
        assert y.shape == (0, 6)
    assert np.asarray(hm.predict(np.zeros((3, 20)))).shape == (3, 6)
