"""The register map has one source (flow.runtime.regmap); the RTL include and the docs table are
generated from it and must agree with it."""

from __future__ import annotations

import re

import pytest

from flow.overlay import gen
from flow.runtime import regmap as rm


def test_generated_files_are_current():
    assert gen.main(["--check"]) == 0, "run python -m flow.overlay.gen"


def test_svh_parsed_back_equals_python():
    text = gen.SVH.read_text()
    regs = {m[0]: (int(m[1], 16), m[2]) for m in re.findall(r"EIE_REG_(\w+) = \d+'h([0-9a-f]+);\s+// (\w+)", text)}
    assert regs == {r.name: (r.offset, r.access) for r in rm.REGS}
    bits = dict(re.findall(r"localparam integer EIE_(\w+?) = (\d+);", text))
    for r in rm.REGS:
        for b, pos in r.bits.items():
            assert int(bits[f"{r.name}_{b}"]) == pos
    kinds = {k: int(v) for k, v in re.findall(r"EIE_LD_(\w+) = 4'd(\d+);", text)}
    assert kinds == rm.LOAD_KINDS
    assert f"32'h{rm.IDENT_VALUE:08x}" in text


def test_docs_table_rows_equal_python():
    text = gen.DOC.read_text()
    rows = re.findall(r"^\| 0x([0-9A-F]{2}) \| (\w+) \| (\w+) \|", text, re.M)
    assert [(int(o, 16), n, a) for o, n, a in rows] == [(r.offset, r.name, r.access) for r in rm.REGS]


def test_offsets_unique_and_aligned():
    rm.check_unique()
    with pytest.raises(ValueError, match="aligned"):
        rm.Reg("X", 0x41, "ro", "x")


def test_header_round_trip_and_range():
    w = rm.pack_header("ENT", count=300, addr=17, pe=63, bcast=True)
    assert rm.unpack_header(w) == {"KIND": 0, "BCAST": 1, "PE": 63, "ADDR": 17, "COUNT": 300}
    with pytest.raises(ValueError, match="COUNT"):
        rm.pack_header("ENT", count=1 << 24)


def test_rtl_uses_generated_names_only():
    """The wrapper addresses registers through the generated names, never a literal offset."""
    sv = gen.SVH.parent / "eie_axi.sv"
    if not sv.is_file():
        pytest.skip("kernels/rtl/overlay/eie_axi.sv is not written yet")
    text = sv.read_text()
    assert '`include "eie_regmap.svh"' in text
    assert not re.search(r"8'h[0-9a-fA-F]{2}\s*:", text), "a literal register offset in a case label"
