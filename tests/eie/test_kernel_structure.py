"""Structure of the PE-array loop in kernels/hls/eie_dense.h, checked on the source text: no memory
read sits inside a loop-carried recurrence (each read lands in a stage register, at an address
made of start-of-iteration registers), the exit and the gate use no memory, no DEPENDENCE false."""

from __future__ import annotations

import re

import pytest

from flow.paths import kernels_dir

#: the PE's memories (ROMs per PE and the accumulator RAM); everything else in the loop is registers
MEMORIES = ("entries", "colptr", "acc", "codebook", "bias")
#: the registers a memory read may land in (each one a pipeline stage's input)
READ_REGISTERS = {"ent_q[p]", "ptr_q[p]", "rd"}


def _pe_loop(text: str) -> str:
    start = text.index("pe_array:")
    body = text[start:]
    depth, i = 0, body.index("{")
    for k in range(i, len(body)):
        depth += {"{": 1, "}": -1}.get(body[k], 0)
        if depth == 0:
            return body[i : k + 1]
    raise AssertionError("pe_array loop not closed")


@pytest.fixture(scope="module")
def loop() -> str:
    text = (kernels_dir() / "eie_dense.h").read_text()
    assert "DEPENDENCE" not in text or not re.search(r"DEPENDENCE[^\n]*\bfalse\b", text)
    return _pe_loop(text)


def _reads(loop: str):
    for m in re.finditer(r"\b(%s)\[p\]((?:\[[^\]]*\])+)" % "|".join(MEMORIES), loop):
        stmt_start = loop.rfind("\n", 0, m.start()) + 1
        stmt = loop[stmt_start : loop.index(";", m.end()) + 1].strip()
        yield m.group(1), m.group(2), stmt


def test_every_memory_read_lands_in_a_stage_register(loop):
    reads = [r for r in _reads(loop) if not re.match(r"^(if \([^)]*\) )?%s\[p\]" % r[0], r[2])]  # writes
    assert {mem for mem, _, _ in reads} == {"entries", "colptr", "acc"}
    for mem, addr, stmt in reads:
        target = re.match(r"^(?:if \([^)]*\) )?(?:const \w+ )?([\w\[\]]+) = ", stmt)
        assert target and target.group(1) in READ_REGISTERS, f"{mem} read outside a stage register: {stmt}"
        # the address is made of start-of-iteration registers, never of a read result
        for reg in READ_REGISTERS | {"acc_q[p]", "sum"}:
            assert reg not in addr, f"{mem}[{addr}] depends on the read result {reg}"


def test_read_registers_are_only_written_by_their_read(loop):
    for reg in READ_REGISTERS - {"rd"}:
        writes = re.findall(r"%s = ([^;]*);" % re.escape(reg), loop)
        assert len(writes) == 1 and re.match(r"(entries|colptr)\[p\]", writes[0]), (reg, writes)


def test_exit_and_gate_use_registers_only(loop):
    head = loop[: loop.index("for (unsigned p = 0; p < P; p++) {\n#pragma HLS UNROLL\n      const unsigned g")]
    for mem in MEMORIES:
        assert not re.search(r"\b%s\[" % mem, head), f"the exit or the gate reads {mem}"
    assert "if (!running) break;" in head


def test_structure_check_catches_a_recurrence_through_a_read(loop):
    """The check itself: the old kernel's `cur[p] = colptr[p][col]` (a pointer read straight into
    the walk's loop-carried state) fails it."""
    bad = loop.replace("ptr_q[p] = colptr[p][q_col[p][h]];", "b_cur[p] = colptr[p][q_col[p][h]];")
    with pytest.raises(AssertionError):
        test_every_memory_read_lands_in_a_stage_register(bad)
