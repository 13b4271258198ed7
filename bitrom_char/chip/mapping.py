"""Map ternary weight matrices onto BitROM arrays and run them bit-exactly.

Mapping used throughout the chip model. One array has 2,048 rows (word lines) by
1,024 columns of transistors, and each transistor stores two trits, a west trit and
an east trit. Rows carry inputs and the two trits of a transistor belong to two
output columns: output j of a 2,048-output tile is the west trit of column j for
j < 1,024 and the east trit of column j - 1,024 otherwise. One array therefore stores
a 2,048-input by 2,048-output tile of W (out_features, in_features).

For each token an array reads its used rows once in the forward direction (west
trits, one activation per row broadcast to the 1,024 column accumulators) and, when
the tile has more than 1,024 outputs, once more in the reverse direction (east
trits). Each column accumulator works in tri-mode: +1 adds the activation, -1
subtracts it, 0 holds. Local sums cover at most 2,048 int8 inputs, so they fit a
signed 20-bit accumulator. Partial sums of the input tiles are then added by the
global accumulator and scaled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from bitrom_char.chip.quant import check_int8, check_ternary

DIRECTIONS = ("forward", "reverse")
TRITS = (-1, 0, 1)


@dataclass(frozen=True)
class ArrayGeometry:
    """Size of one BitROM array in rows and transistor columns."""

    rows: int = 2048
    columns: int = 1024

    def __post_init__(self) -> None:
        for name in ("rows", "columns"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @property
    def outputs_per_array(self) -> int:
        """Outputs that one array stores: two trits per transistor column."""
        return 2 * self.columns

    @property
    def accumulator_bits(self) -> int:
        """Signed width that contains +-rows x 128 (the int8 extreme) without overflow."""
        return math.ceil(math.log2(self.rows * 128 + 1)) + 1


@dataclass
class LinearCounts:
    """Hardware events of one linear layer for one token."""

    rom_reads: dict[tuple[str, int], int]
    macs: int
    macs_nonzero: int
    global_adds: int
    n_arrays: int
    n_input_tiles: int
    rom_cycles: int

    @property
    def accumulator_modes(self) -> dict[str, int]:
        """Accumulator cycles by mode: add (+1), subtract (-1), hold (0)."""
        by_trit = {t: sum(self.rom_reads[(d, t)] for d in DIRECTIONS) for t in TRITS}
        return {"add": by_trit[1], "sub": by_trit[-1], "hold": by_trit[0]}


@dataclass
class MappedLinear:
    """A ternary linear layer placed on BitROM arrays, with its per-token counts.

    The weights are kept as float32 tiles of at most `geometry.rows` inputs, so
    every local sum is an integer below 2**24 in magnitude and float32 BLAS
    computes it exactly.
    """

    name: str
    out_features: int
    in_features: int
    gamma: float
    geometry: ArrayGeometry
    tiles: list[np.ndarray] = field(repr=False)
    counts: LinearCounts = field(repr=False)

    def partial_sums(self, x_int8: np.ndarray) -> np.ndarray:
        """Return the local sums of each input tile, shape (tiles, tokens, out)."""
        x = _as_tokens(check_int8(x_int8), self.in_features, self.name)
        xf = x.astype(np.float32)
        rows = self.geometry.rows
        out = np.empty((len(self.tiles), x.shape[0], self.out_features), np.int32)
        for i, tile in enumerate(self.tiles):
            xs = xf[:, i * rows : i * rows + tile.shape[1]]
            out[i] = (xs @ tile.T) if xs.shape[0] > 1 else (tile @ xs[0])[None, :]
        return out

    def matvec(self, x_int8: np.ndarray) -> np.ndarray:
        """Return y = W x in int32 for int8 x of shape (in,) or (tokens, in)."""
        x = np.asarray(x_int8)
        partial = self.partial_sums(x)
        y = partial[0] if len(partial) == 1 else partial.sum(axis=0, dtype=np.int32)
        return y[0] if x.ndim == 1 else y


def map_linear(
    weights: np.ndarray,
    gamma: float = 1.0,
    name: str = "linear",
    geometry: ArrayGeometry | None = None,
) -> MappedLinear:
    """Place a ternary (out_features, in_features) matrix onto BitROM arrays."""
    geometry = geometry or ArrayGeometry()
    w = check_ternary(weights, name)
    if not np.isfinite(gamma) or gamma < 0:
        raise ValueError(f"{name}: gamma must be a finite value >= 0, got {gamma}")
    out_features, in_features = w.shape
    rows = geometry.rows
    tiles = [
        np.ascontiguousarray(w[:, k : k + rows], dtype=np.float32)
        for k in range(0, in_features, rows)
    ]
    counts = count_events(w, geometry)
    return MappedLinear(
        name, out_features, in_features, float(gamma), geometry, tiles, counts
    )


def count_events(w: np.ndarray, geometry: ArrayGeometry) -> LinearCounts:
    """Count per-token ROM reads by direction and trit, MACs and global adds."""
    out_features, in_features = w.shape
    rows, columns = geometry.rows, geometry.columns
    per_array = geometry.outputs_per_array
    n_in = math.ceil(in_features / rows)
    n_out = math.ceil(out_features / per_array)

    pos = np.count_nonzero(w == 1, axis=1)
    neg = np.count_nonzero(w == -1, axis=1)
    reverse = (np.arange(out_features) % per_array) >= columns

    # A pass reads every column of the array for every used row, so outputs that
    # no weight occupies read as zero trits and their accumulators hold.
    used_in_tile = [min(per_array, out_features - t * per_array) for t in range(n_out)]
    forward_passes = n_out
    reverse_passes = sum(1 for used in used_in_tile if used > columns)
    reads = {"forward": forward_passes, "reverse": reverse_passes}

    rom_reads: dict[tuple[str, int], int] = {}
    for direction, mask in (("forward", ~reverse), ("reverse", reverse)):
        total = reads[direction] * columns * in_features
        plus = int(pos[mask].sum())
        minus = int(neg[mask].sum())
        rom_reads[(direction, 1)] = plus
        rom_reads[(direction, -1)] = minus
        rom_reads[(direction, 0)] = total - plus - minus

    passes = 2 if reverse_passes else 1
    return LinearCounts(
        rom_reads=rom_reads,
        macs=out_features * in_features,
        macs_nonzero=int(pos.sum() + neg.sum()),
        global_adds=out_features * (n_in - 1),
        n_arrays=n_in * n_out,
        n_input_tiles=n_in,
        rom_cycles=min(in_features, rows) * passes,
    )


@contextmanager
def blas_threads(n_threads: int | None) -> Iterator[None]:
    """Limit BLAS threads inside the block when threadpoolctl is installed.

    One thread suits the many small products of a decode step: on 2 shared cores
    a 6-layer SmolLM2 decode spent 0.13 s in products with 1 OpenBLAS thread and
    2.6 s with 2. None leaves the BLAS default.
    """
    if n_threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n_threads, user_api="blas"):
        yield


def _as_tokens(x: np.ndarray, in_features: int, name: str) -> np.ndarray:
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != in_features:
        raise ValueError(
            f"{name}: activation shape {x.shape} does not match in_features="
            f"{in_features}; pass (in_features,) or (tokens, in_features)"
        )
    return x
