"""Bit-exact ROM-array linear layers and their per-token event counts."""

import math

import numpy as np
import pytest

from bitrom_char.chip.mapping import ArrayGeometry, map_linear
from bitrom_char.chip.model import BITNET_2B4T, random_ternary


def reference(w, x):
    return x.astype(np.int64) @ w.astype(np.int64).T


@pytest.mark.parametrize(
    ("out_features", "in_features"),
    [(1, 1), (7, 5), (1024, 2048), (1025, 2049), (2049, 4097), (300, 6000)],
)
def test_matvec_equals_int64(out_features, in_features):
    rng = np.random.default_rng(out_features + in_features)
    w = random_ternary((out_features, in_features), 0.3, rng)
    x = rng.integers(-128, 128, (3, in_features)).astype(np.int8)
    lin = map_linear(w)
    y = lin.matvec(x)
    assert y.dtype == np.int32
    assert np.array_equal(y, reference(w, x))
    assert np.array_equal(lin.matvec(x[0]), reference(w, x[:1])[0])


def test_extreme_values_stay_exact():
    w = -np.ones((4, 6000), np.int8)
    x = np.full(6000, -128, np.int8)
    y = map_linear(w).matvec(x)
    assert np.all(y == 6000 * 128)


def test_partial_sums_are_tile_sums():
    rng = np.random.default_rng(1)
    w = random_ternary((50, 5000), 0.5, rng)
    x = rng.integers(-128, 128, (2, 5000)).astype(np.int8)
    partial = map_linear(w).partial_sums(x)
    assert partial.shape == (3, 2, 50)
    for i, k in enumerate(range(0, 5000, 2048)):
        assert np.array_equal(
            partial[i], reference(w[:, k : k + 2048], x[:, k : k + 2048])
        )
    bound = 2048 * 128
    assert np.abs(partial).max() <= bound


def test_counts_small_matrix():
    geometry = ArrayGeometry(rows=4, columns=2)
    w = np.array(
        [[1, 0, -1, 1, 0], [0, 0, 0, 1, 1], [-1, -1, 1, 0, 0]], np.int8
    )  # outputs 0, 1 forward; output 2 reverse (east trit of column 0)
    counts = map_linear(w, geometry=geometry).counts
    assert counts.rom_reads[("forward", 1)] == 4
    assert counts.rom_reads[("forward", -1)] == 1
    assert counts.rom_reads[("forward", 0)] == 2 * 5 - 5
    assert counts.rom_reads[("reverse", 1)] == 1
    assert counts.rom_reads[("reverse", -1)] == 2
    # Reverse pass reads both columns; column 1's east trit is unused.
    assert counts.rom_reads[("reverse", 0)] == 2 * 5 - 3
    assert counts.macs == 15
    assert counts.macs_nonzero == 8
    assert counts.n_arrays == 2
    assert counts.global_adds == 3
    assert counts.rom_cycles == 4 * 2


def test_counts_cover_every_read():
    rng = np.random.default_rng(2)
    w = random_ternary((2600, 3000), 0.25, rng)
    counts = map_linear(w).counts
    total = sum(counts.rom_reads.values())
    # Output tiles: 2048 (two passes) + 552 (forward only) => 3 passes of 1024 columns.
    assert total == 3 * 1024 * 3000
    nonzero = sum(n for (_, t), n in counts.rom_reads.items() if t != 0)
    assert nonzero == np.count_nonzero(w)
    assert counts.accumulator_modes["add"] == np.count_nonzero(w == 1)
    assert counts.accumulator_modes["sub"] == np.count_nonzero(w == -1)
    assert counts.n_arrays == math.ceil(3000 / 2048) * math.ceil(2600 / 2048)


def test_accumulator_width_is_20_bits():
    assert ArrayGeometry().accumulator_bits == 20


def test_shape_mismatch_error():
    lin = map_linear(np.ones((3, 4), np.int8))
    with pytest.raises(ValueError, match="does not match in_features=4"):
        lin.matvec(np.zeros(5, np.int8))


def test_non_ternary_weights_rejected():
    with pytest.raises(ValueError, match="ternary"):
        map_linear(np.array([[3, 0]]))


def test_2b4t_layer_exact_every_projection():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, BITNET_2B4T.ffn).astype(np.int8)
    for name, shape in BITNET_2B4T.linear_shapes().items():
        w = random_ternary(shape, 0.4, rng)
        y = map_linear(w, name=name).matvec(x[: shape[1]])
        assert np.array_equal(y, reference(w, x[None, : shape[1]])[0]), name


def tri_mode_reads(w, x, geometry):
    """Replay one array row by row: forward pass (west trits), then reverse pass
    (east trits), each column accumulator adding, subtracting or holding."""
    rows, columns = geometry.rows, geometry.columns
    out = np.zeros(w.shape[0], np.int64)
    for k0 in range(0, w.shape[1], rows):
        for n0 in range(0, w.shape[0], 2 * columns):
            for direction in (0, 1):
                first = n0 + direction * columns
                cols = w[first : first + columns, k0 : k0 + rows]
                acc = np.zeros(cols.shape[0], np.int64)
                for row in range(cols.shape[1]):
                    trit = cols[:, row]
                    a = int(x[k0 + row])
                    acc = np.where(
                        trit == 1, acc + a, np.where(trit == -1, acc - a, acc)
                    )
                    assert np.abs(acc).max() < 2 ** (geometry.accumulator_bits - 1) + 1
                out[first : first + cols.shape[0]] += acc
    return out


def test_tri_mode_replay_matches():
    geometry = ArrayGeometry(rows=16, columns=4)
    rng = np.random.default_rng(4)
    w = random_ternary((21, 37), 0.3, rng)
    x = rng.integers(-128, 128, 37).astype(np.int8)
    lin = map_linear(w, geometry=geometry)
    assert np.array_equal(lin.matvec(x), tri_mode_reads(w, x, geometry))
    assert np.array_equal(lin.matvec(x), reference(w, x[None])[0])
