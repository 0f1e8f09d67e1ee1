"""eie::dense in C simulation (g++) against the integer reference, bit for bit, and its cycle counts
(PE array; bias preload + detector scan + gather) against flow.eie.perf. One shared library holds
the whole pool of layers (one g++ run, cached); the pool covers detect_width 1, 3, 4, 16 and 64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flow.eie import EIELayer, FixedType
from flow.testing import Q16, dense_layer, random_layer
from flow.eie.perf import layer_cycles
from flow.eie.reference import eie_dense, eie_network

pytestmark = pytest.mark.csim

#: detector scan widths the pool cycles through (the default 4 is in the edge cases)
DETECT_WIDTHS = (1, 3, 16, 64)


def pool() -> list[EIELayer]:
    """Edge cases first, then seeded random layers (shapes up to 64)."""
    rng = np.random.default_rng(2024)
    k = np.where(rng.random((20, 12)) < 0.4, rng.choice([-0.75, -0.25, 0.5, 0.875], (20, 12)), 0.0)
    k[3, :] = 0  # an all-zero column of W (input 3 has no weights)
    k[:, 5] = 0  # an all-zero row of W
    tall = np.zeros((5, 70))
    tall[0, 69] = tall[1, 40] = tall[1, 41] = tall[2, 0] = tall[4, 17] = 0.5
    wide8 = np.where(rng.random((30, 10)) < 0.9, rng.uniform(-1, 1, (30, 10)).round(2), 0.0)
    layers = [
        dense_layer("zero_col_row", k, rng.normal(size=12) * 0.3),
        dense_layer("zero_col_row_b1", k, rng.normal(size=12) * 0.3),
        dense_layer("b8_d3", k, None, n_pe=3, fifo_depth=3, detect_width=3),  # 20 % 3 != 0
        dense_layer("all_zero", np.zeros((9, 6)), np.linspace(-1, 1, 6)),
        dense_layer("runs_p1_i4", tall, None, n_pe=1, index_bits=4, activation="linear", detect_width=64),  # 70
        dense_layer("runs_p2_i1", tall, None, n_pe=2, index_bits=1, activation="linear"),
        dense_layer(
            "saturate",
            np.full((16, 4), 0.875),
            [3.0, -3.0, 0.0, 1.0],
            activation="linear",
            output_t=FixedType(6, 2, True, "RND", "SAT"),
        ),
        dense_layer(
            "wrap_trn",
            np.full((16, 4), -0.875),
            [1.0, 0.0, -1.0, 0.5],
            activation="linear",
            output_t=FixedType(7, 3, True, "TRN", "WRAP"),
        ),
        dense_layer("pe_gt_rows", k[:, :3], None, n_pe=8),
        dense_layer(
            "unsigned_io",
            k,
            None,
            input_t=FixedType(8, 3, False, "RND", "SAT"),
            output_t=FixedType(8, 3, False, "TRN", "SAT"),
        ),
        dense_layer("code8_idx8", wide8, None, code_bits=8, index_bits=8, n_pe=3, fifo_depth=1, detect_width=1),
        dense_layer("code1", np.where(k != 0, 0.5, 0.0), None, code_bits=1, n_pe=5, fifo_depth=2),
        dense_layer(
            "wide_weights",
            k,
            None,
            weight_t=FixedType(18, 2, True, "RND", "SAT"),
            bias_t=FixedType(10, 4, True, "TRN", "SAT"),
            output_t=FixedType(20, 8, True, "RND", "SAT"),
        ),
    ]
    # column groups (G = col_groups, R = n_pe / G PEs per group)
    k7 = np.where(rng.random((7, 9)) < 0.5, rng.choice([-0.5, 0.25, 0.75], (7, 9)), 0.0)
    k7[2, :] = 0  # input 2 has no weights: never broadcast
    layers += [
        dense_layer("g4_r1", k, rng.normal(size=12) * 0.3, n_pe=4, col_groups=4, detect_width=16),  # G = n_pe
        dense_layer(  # 20 % 3; 16 % 3: a lane's group changes from cycle to cycle
            "g3_r2_ragged", k, rng.normal(size=12) * 0.3, n_pe=6, col_groups=3, detect_width=16
        ),
        dense_layer(  # 3 inputs < G = 8 < detect_width
            "g8_gt_in", k7[:3], np.linspace(-1, 1, 9), n_pe=8, col_groups=8, detect_width=64
        ),
        dense_layer("g2_rows_lt_r", k7[:, :3], [0.25, -0.5, 1.0], n_pe=8, col_groups=2, fifo_depth=1),  # 3 < R = 4
        dense_layer("g2_all_zero", np.zeros((9, 6)), np.linspace(-1, 1, 6), n_pe=4, col_groups=2),
        dense_layer("g2_runs_i1", tall, None, n_pe=4, col_groups=2, index_bits=1, activation="linear", detect_width=3),
    ]
    for i in range(8):
        layers.append(
            random_layer(
                rng,
                int(rng.integers(1, 65)),
                int(rng.integers(1, 65)),
                density=float(rng.choice([0.02, 0.1, 0.4, 1])),
                n_pe=int(rng.integers(1, 20)),
                fifo_depth=int(rng.integers(1, 9)),
                code_bits=int(rng.integers(1, 6)),
                index_bits=int(rng.integers(1, 9)),
                activation=str(rng.choice(["relu", "linear"])),
                detect_width=DETECT_WIDTHS[i % len(DETECT_WIDTHS)],  # not drawn: keeps the seeded layers
                output_t=FixedType(
                    int(rng.integers(6, 17)),
                    int(rng.integers(1, 8)),
                    True,
                    str(rng.choice(["TRN", "RND"])),
                    str(rng.choice(["SAT", "WRAP"])),
                ),
                name=f"random{i}",
            )
        )
    grng = np.random.default_rng(2025)
    for i in range(6):
        groups, row_pes = int(grng.integers(2, 7)), int(grng.integers(1, 5))
        layers.append(
            random_layer(
                grng,
                int(grng.integers(1, 65)),
                int(grng.integers(1, 33)),
                density=float(grng.choice([0.05, 0.2, 0.6])),
                n_pe=groups * row_pes,
                col_groups=groups,
                fifo_depth=int(grng.integers(1, 9)),
                index_bits=int(grng.integers(1, 6)),
                activation=str(grng.choice(["relu", "linear"])),
                detect_width=DETECT_WIDTHS[(i + 1) % len(DETECT_WIDTHS)],
                name=f"random_g{i}",
            )
        )
    return layers


@pytest.fixture(scope="module")
def compiled():
    from flow.eie.csim import compile_chains

    layers = pool()
    a = random_layer(np.random.default_rng(7), 40, 24, density=0.2, n_pe=4, name="c1")
    b = random_layer(np.random.default_rng(8), 24, 10, density=0.3, n_pe=3, name="c2", activation="linear")
    chains = compile_chains([[layer] for layer in layers] + [[a, b]])
    return chains[:-1], chains[-1]


@pytest.fixture(scope="module")
def compiled_hls_types():
    from flow.eie.csim import compile_chains

    return compile_chains([[layer] for layer in pool()], hls_types=True)


@pytest.fixture(scope="module")
def compiled_cycle_level():
    """Native integers with the register-by-register PE-array loop (EIE_CSIM_CYCLE_LEVEL) instead of
    csim's per-column fast path."""
    from flow.eie.csim import compile_chains

    return compile_chains([[layer] for layer in pool()], cycle_level=True)


def _inputs(rng, t: FixedType, n_in: int, kind: str, batch: int) -> np.ndarray:
    if kind == "zero":
        return np.zeros((batch, n_in), dtype=np.int64)
    if kind == "extreme":
        return rng.choice([t.min_raw, t.max_raw, 0], size=(batch, n_in))
    x = rng.integers(t.min_raw, t.max_raw + 1, size=(batch, n_in))
    return np.where(rng.random((batch, n_in)) < float(kind), x, 0)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_csim_equals_reference(compiled, data):
    singles, _ = compiled
    chain = singles[data.draw(st.integers(0, len(singles) - 1), label="layer")]
    layer = chain.layers[0]
    kind = data.draw(st.sampled_from(["zero", "extreme", "0.1", "0.5", "1.0"]), label="inputs")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    x = _inputs(rng, layer.input_t, layer.n_in, kind, batch=4)
    y = chain(x)
    ref = eie_dense(x, layer)
    assert np.array_equal(y, ref), f"{layer.name}: first mismatch at {np.argwhere(y != ref)[0]}"
    # the kernel's PE-array loop ran exactly the modelled number of cycles (last sample), and its
    # bias preload + detector scan (detect_width per cycle) + gather the modelled overhead
    cyc = layer_cycles(layer, x[-1])
    assert chain.last_cycles()[0] == cyc.cycles
    assert chain.last_overhead_cycles()[0] == cyc.overhead_cycles


def test_pool_covers_detect_widths():
    layers = pool()
    widths = {layer.detect_width for layer in layers}
    assert {1, 3, 4, 16, 64} <= widths
    assert any(layer.detect_width > layer.n_in for layer in layers)  # one partial scan cycle
    assert any(1 < layer.detect_width < layer.n_in and layer.n_in % layer.detect_width for layer in layers)
    grouped = [layer for layer in layers if layer.col_groups > 1]
    assert any(layer.detect_width % layer.col_groups for layer in grouped)  # a lane's group varies
    assert any(layer.detect_width % layer.col_groups == 0 for layer in grouped)


def test_pool_covers_column_groups():
    grouped = [layer for layer in pool() if layer.col_groups > 1]
    assert any(layer.row_pes == 1 for layer in grouped)  # G = n_pe
    assert any(layer.n_in % layer.col_groups for layer in grouped)  # a padding column
    assert any(layer.col_groups > layer.n_in for layer in grouped)  # groups without columns
    assert any(layer.n_out < layer.row_pes for layer in grouped)  # PEs without rows
    assert any(layer.encoding.nnz == 0 for layer in grouped)  # all-zero layer
    assert any(layer.encoding.n_fillers for layer in grouped)
    assert any(layer.fifo_depth == 1 for layer in grouped)
    assert len({layer.col_groups for layer in grouped}) >= 3


def test_every_layer_bits_and_cycles(compiled):
    """Each pooled layer on every kind of input (hypothesis above samples them at random)."""
    singles, _ = compiled
    rng = np.random.default_rng(3)
    for chain in singles:
        layer = chain.layers[0]
        for kind in ("zero", "extreme", "0.1", "0.5", "1.0"):
            x = _inputs(rng, layer.input_t, layer.n_in, kind, batch=2)
            assert np.array_equal(chain(x), eie_dense(x, layer)), f"{layer.name} ({kind} inputs)"
            cyc = layer_cycles(layer, x[-1])
            assert chain.last_cycles()[0] == cyc.cycles, f"{layer.name} ({kind})"
            assert chain.last_overhead_cycles()[0] == cyc.overhead_cycles, f"{layer.name} ({kind})"


def test_hls_types_path_equals_reference(compiled_hls_types):
    """The exact-width ap_int arithmetic of synthesis (EIE_HLS_TYPES, cycle-level PE-array loop)
    gives the same integers in the modelled number of cycles."""
    rng = np.random.default_rng(1)
    for chain in compiled_hls_types:
        layer = chain.layers[0]
        for kind in ("zero", "extreme", "0.3", "1.0"):
            x = _inputs(rng, layer.input_t, layer.n_in, kind, batch=3)
            assert np.array_equal(chain(x), eie_dense(x, layer)), f"{layer.name} ({kind} inputs)"
            assert chain.last_cycles()[0] == layer_cycles(layer, x[-1]).cycles, f"{layer.name} ({kind})"


def test_cycle_level_loop_equals_fast_path(compiled, compiled_cycle_level):
    """The register-by-register PE-array loop (what synthesis builds) and csim's per-column fast
    path: same integers, same cycle and overhead counts, both equal to the model."""
    singles, _ = compiled
    rng = np.random.default_rng(5)
    for fast, slow in zip(singles, compiled_cycle_level):
        layer = slow.layers[0]
        for kind in ("zero", "extreme", "0.1", "0.5", "1.0"):
            x = _inputs(rng, layer.input_t, layer.n_in, kind, batch=3)
            y = slow(x)
            assert np.array_equal(y, eie_dense(x, layer)), f"{layer.name} ({kind} inputs)"
            assert np.array_equal(fast(x), y), f"{layer.name} ({kind} inputs)"
            cyc = layer_cycles(layer, x[-1])
            assert slow.last_cycles()[0] == fast.last_cycles()[0] == cyc.cycles, f"{layer.name} ({kind})"
            assert slow.last_overhead_cycles() == fast.last_overhead_cycles(), f"{layer.name} ({kind})"


def test_chain_equals_network(compiled):
    _, chain = compiled
    rng = np.random.default_rng(0)
    x = _inputs(rng, Q16, chain.layers[0].n_in, "0.5", batch=32)
    assert np.array_equal(chain(x), eie_network(x, chain.layers))


def test_edge_cases_hit_their_paths(compiled):
    singles, _ = compiled
    by_name = {c.layers[0].name: c for c in singles}
    assert by_name["runs_p1_i4"].layers[0].encoding.n_fillers > 0
    sat = by_name["saturate"]
    y = sat(np.full((1, 16), Q16.max_raw))
    assert list(y[0]) == [31, 31, 31, 31]
    for name in ("all_zero", "g2_all_zero"):  # only the bias; every non-zero input still broadcast
        chain = by_name[name]
        x = np.full((1, 9), 100, dtype=np.int64)
        assert list(chain(x)[0]) == list(eie_dense(x, chain.layers[0])[0])
        assert chain.last_cycles() == [layer_cycles(chain.layers[0], x[0]).cycles]
    # all-zero input: nothing is broadcast (one iteration reads the end tokens); the bias reaches
    # the output once (group 0's PEs hold it)
    for name in ("g4_r1", "g8_gt_in", "g2_rows_lt_r"):
        chain = by_name[name]
        x = np.zeros((1, chain.layers[0].n_in), dtype=np.int64)
        assert np.array_equal(chain(x), eie_dense(x, chain.layers[0])) and chain.last_cycles() == [1]
    # a column without weights is broadcast like any other (as in EIE and the RTL): taken by the
    # walk at 3, empty, the loop exits at 4
    chain = by_name["g2_rows_lt_r"]
    x = np.zeros((1, 7), dtype=np.int64)
    x[0, 2] = 64
    assert np.array_equal(chain(x), eie_dense(x, chain.layers[0])) and chain.last_cycles() == [4]


@pytest.mark.slow
@settings(max_examples=4, deadline=None)
@given(
    n_in=st.integers(1, 300),
    n_out=st.integers(1, 300),
    density=st.floats(0, 0.5),
    col_groups=st.sampled_from([1, 1, 2, 3, 4, 8]),
    row_pes=st.integers(1, 16),
    index_bits=st.integers(1, 8),
    fifo_depth=st.integers(1, 8),
    detect_width=st.sampled_from([1, 3, 4, 16, 64]),
    seed=st.integers(0, 2**31),
)
def test_csim_equals_reference_large(
    n_in, n_out, density, col_groups, row_pes, index_bits, fifo_depth, detect_width, seed
):
    from flow.eie.csim import CsimChain

    rng = np.random.default_rng(seed)
    layer = random_layer(
        rng,
        n_in,
        n_out,
        density=density,
        n_pe=col_groups * row_pes,
        col_groups=col_groups,
        index_bits=index_bits,
        fifo_depth=fifo_depth,
        detect_width=detect_width,
    )
    x = _inputs(rng, layer.input_t, n_in, "0.5", batch=16)
    chain = CsimChain([layer])
    assert np.array_equal(chain(x), eie_dense(x, layer))
    cyc = layer_cycles(layer, x[-1])
    assert chain.last_cycles()[0] == cyc.cycles
    assert chain.last_overhead_cycles()[0] == cyc.overhead_cycles
