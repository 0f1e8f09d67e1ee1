"""Boards as data: board.yaml files load, validate, and are listed by `flow boards`."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

import flow.board.boards as boards_mod
from flow.board.boards import PS_TYPES, Board, list_boards, load_board
from flow.cli import main
from flow.errors import ConfigError, UsageError
from flow.paths import boards_dir


def test_pynq_z2_numbers():
    b = load_board("pynq-z2")
    assert b.part == "xc7z020clg400-1"
    assert b.ps.type == "zynq" and b.ps_type.cell == "processing_system7_0"
    assert b.clock_mhz == 100.0 and b.clock_period_ns == 10.0
    r = b.resources
    assert (r.lut, r.ff, r.bram36, r.bram18, r.dsp) == (53200, 106400, 140, 280, 220)
    assert b.dma.stream_bits in (32, 64) and b.dma.mm_bits in (32, 64)
    assert b.pynq.image


def test_second_board_is_zynq_ultrascale():
    b = load_board("kv260")
    assert b.part == "xck26-sfvc784-2LV-c"
    assert b.ps_type.cell == "zynq_ultra_ps_e_0"
    assert (b.resources.lut, b.resources.bram36, b.resources.dsp, b.resources.uram) == (117120, 144, 1248, 64)
    assert b.ps_port(b.ps_type.hp_intf) == "S_AXI_HP0_FPD"
    assert b.ps_port(b.ps_type.hp_enable) == "PSU__USE__S_AXI_GP2"  # HP0_FPD is S_AXI_GP2 in CONFIG names


def test_list_boards_reads_every_folder():
    names = [b.name for b in list_boards()]
    assert names == sorted(names)
    assert {"pynq-z2", "kv260"} <= set(names)
    assert not any(n.startswith("_") for n in names)  # _templates is not a board


def test_unknown_board_lists_known_ones():
    with pytest.raises(UsageError) as exc:
        load_board("zedboard")
    assert "zedboard" in str(exc.value) and "pynq-z2" in str(exc.value) and "kv260" in str(exc.value)


@pytest.fixture
def board_tree(tmp_path, monkeypatch):
    """A copy of boards/ that a test may break."""
    root = tmp_path / "boards"
    shutil.copytree(boards_dir(), root)
    monkeypatch.setattr(boards_mod, "boards_dir", lambda: root)
    return root


def _edit(root, name, fn):
    path = root / name / "board.yaml"
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data))


def test_unknown_key_is_refused(board_tree):
    _edit(board_tree, "pynq-z2", lambda d: d["dma"].update(stream_width=32))
    with pytest.raises(ConfigError, match="stream_width"):
        load_board("pynq-z2")


def test_bad_values_are_refused(board_tree):
    _edit(board_tree, "pynq-z2", lambda d: d["dma"].update(stream_bits=24))
    with pytest.raises(ConfigError, match="24"):
        load_board("pynq-z2")
    _edit(board_tree, "pynq-z2", lambda d: (d["dma"].update(stream_bits=32), d["ps"].update(type="versal")))
    with pytest.raises(ConfigError, match="versal"):
        load_board("pynq-z2")


def test_name_must_match_folder(board_tree):
    _edit(board_tree, "kv260", lambda d: d.update(name="kv-260"))
    with pytest.raises(ConfigError, match="folder"):
        load_board("kv260")


def test_ps_types_cover_the_cell_names_of_internals():
    assert {t.cell for t in PS_TYPES.values()} == {"processing_system7_0", "zynq_ultra_ps_e_0"}


def test_flow_boards_json(capsys):
    assert main(["boards", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {d["name"]: d for d in data}
    assert by_name["pynq-z2"]["resources"]["bram18"] == 280
    assert by_name["pynq-z2"]["part"] == "xc7z020clg400-1"
    assert isinstance(load_board("pynq-z2"), Board)


def test_flow_boards_table(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    assert "xc7z020clg400-1" in out and "53,200" in out and "kv260" in out


def test_flow_boards_unknown_exits_2(capsys):
    assert main(["boards", "nope"]) == 2
    assert "known boards" in capsys.readouterr().err
