"""Structure of the PE-array loop in kernels/hls/eie_pe_array.h, checked on the source text: no memory
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
    text = (kernels_dir() / "eie_pe_array.h").read_text()
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


# --- the kernel's split into headers of one concern each (eie_dense.h includes them) ---

#: the headers eie_dense.h is made of, each with a job (eie_support.h: raw bits and csim counters)
KERNEL_PARTS = ("eie_types.h", "eie_detect.h", "eie_pe_array.h", "eie_csim_fast.h")


def _includes(name: str) -> list[str]:
    return re.findall(r'^#include "(eie_\w+\.h)"', (kernels_dir() / name).read_text(), re.M)


def test_dense_header_includes_every_part_and_each_part_exists():
    """Generated code includes eie_dense.h only; the copy steps glob kernels/hls/*.h, so every header
    it pulls in (transitively) must sit beside it."""
    assert set(KERNEL_PARTS) <= set(_includes("eie_dense.h"))
    seen, todo = set(), ["eie_dense.h"]
    while todo:
        name = todo.pop()
        assert (kernels_dir() / name).is_file(), f"{name} is included but not in kernels/hls"
        if name not in seen:
            seen.add(name)
            todo += _includes(name)


@pytest.mark.parametrize("name", ("eie_dense.h", *KERNEL_PARTS))
def test_kernel_headers_are_small(name):
    assert len((kernels_dir() / name).read_text().splitlines()) <= 300, name


def test_pe_registers_are_declared_once():
    """The per-PE stage registers come from one list (EIE_PE_REGISTERS): declaration, partition and
    reset are generated from it, not written out once per register."""
    text = (kernels_dir() / "eie_pe_array.h").read_text()
    assert len(re.findall(r"#pragma HLS ARRAY_PARTITION", text)) <= 8
    for reg in ("b_cur", "ent_q", "f2_sum"):
        assert len(re.findall(r"X\(\w+, %s, " % reg, text)) == 1, reg


def test_stream_detector_reads_packs_as_it_scans():
    """io_stream: no whole-input buffer before the detector; the stream read sits in the scan loop."""
    text = (kernels_dir() / "eie_dense.h").read_text()
    top = text[text.index("void dense_stream(") :]
    assert "detect_stream<" in top and "n_in]" not in top[: top.index("detect_stream<")]
    det = (kernels_dir() / "eie_detect.h").read_text()
    loop = det[det.index("detect_stream_loop:") :]
    assert "data_stream.read()" in loop[: loop.index("close_streams")]
