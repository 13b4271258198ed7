"""Time one BitNet b1.58 2B4T-shaped decode token on the chip model against plain
numpy matrix-vector passes over the same weights, measured side by side.

Usage: python benchmarks/bench_decode.py [--tables DIR] [--context N] [--repeats N]

Memory: one transformer block's weights (69.5 M) are generated once and reused for
all 30 layers. The LM head (128,256 x 2,560) is generated in full, so a token still
multiplies 2.4 B weights. The run peaked at 4.7 GB resident (float32 tiles of the
head and the float32 embedding are 1.3 GB each). Without --tables the
circuit costs are placeholder values of the right order: they set the accounting
numbers, not the timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bitrom_char.chip.chip import Chip
from bitrom_char.chip.kvcache import KVCache
from bitrom_char.chip.mapping import blas_threads
from bitrom_char.chip.model import BITNET_2B4T, synthetic_model
from bitrom_char.tables import Table


def placeholder_tables() -> dict[str, Table]:
    """Costs of a plausible order for sky130 at 1.8 V, for timing runs only."""
    base = {"corner": "tt", "vdd_v": 1.8, "temp_c": 27.0}
    rom = pd.DataFrame(
        [
            {
                **base,
                "rows": 2048,
                "direction": d,
                "trit": t,
                "read_energy_j": {1: 0.8e-12, 0: 0.5e-12, -1: 1.2e-12}[t],
                "precharge_energy_j": 0.3e-12,
                "drive_energy_j": 0.2e-12,
                "settle_time_s": 4e-9,
                "sense_margin_v": 0.2,
                "leakage_a": 1e-12,
            }
            for d in ("forward", "reverse")
            for t in (-1, 0, 1)
        ]
    )
    acc = pd.DataFrame(
        [
            {
                **base,
                "energy_add_j": 60e-15,
                "energy_sub_j": 66e-15,
                "energy_hold_j": 4e-15,
                "delay_s": 2.5e-9,
                "fmax_hz": 350e6,
                "leakage_w": 2e-9,
            }
        ]
    )
    edram = pd.DataFrame(
        [
            {
                **base,
                "retention_s": 40e-6,
                "write_energy_j": 20e-15,
                "read_energy_j": 15e-15,
                "refresh_energy_j": 35e-15,
                "leakage_w": 1e-15,
                "write_time_s": 2e-9,
                "read_time_s": 2e-9,
            }
        ]
    )
    axes = ("corner", "vdd_v", "temp_c")
    return {
        "rom_column": Table(
            rom, name="rom_column", axes=(*axes, "rows", "direction", "trit"), units={}
        ),
        "accumulator": Table(acc, name="accumulator", axes=axes, units={}),
        "edram": Table(edram, name="edram", axes=axes, units={}),
    }


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=Path, help="folder with characterized tables")
    parser.add_argument(
        "--context",
        type=int,
        default=128,
        help="cached positions before the timed token (default 128)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    config = BITNET_2B4T
    start = time.perf_counter()
    model = synthetic_model(config, zero_fraction=0.4, share_layers=True)
    print(
        f"built {config.name} with one shared block in "
        f"{time.perf_counter() - start:.1f} s; {config.n_params() / 1e9:.2f} B "
        "weights per token"
    )
    tables = args.tables if args.tables else placeholder_tables()
    chip = Chip.from_tables(tables, clock_hz=200e6)

    cache = KVCache(config)
    rng = np.random.default_rng(0)
    chip.forward(model, rng.integers(0, config.vocab, args.context), cache)
    length = cache.length

    def chip_token():
        truncate_cache(cache, length)
        chip.forward(model, np.array([7]), cache)

    block = model.layers[0]
    int8_weights = [
        np.concatenate(lin.tiles, axis=1).astype(np.int8)
        for lin in block.linears.values()
    ]
    head_int8 = np.concatenate(model.lm_head.tiles, axis=1).astype(np.int8)
    vectors = {
        w.shape[1]: rng.integers(-128, 128, w.shape[1]).astype(np.int8)
        for w in [*int8_weights, head_int8]
    }
    rows = chip.geometry.rows
    layer_f32 = [
        (lin.tiles, vectors[lin.in_features].astype(np.float32))
        for lin in block.linears.values()
    ]
    head_f32 = (model.lm_head.tiles, vectors[config.hidden].astype(np.float32))

    def numpy_int8():
        for _ in range(config.n_layers):
            for w in int8_weights:
                w @ vectors[w.shape[1]]
        head_int8 @ vectors[head_int8.shape[1]]

    def run_tiles(tiles, x):
        for i, t in enumerate(tiles):
            t @ x[i * rows : i * rows + t.shape[1]]

    def numpy_f32():
        for _ in range(config.n_layers):
            for tiles, x in layer_f32:
                run_tiles(tiles, x)
        run_tiles(*head_f32)

    with blas_threads(chip.blas_threads):
        chip_s = median_time(chip_token, args.repeats)
        int8_s = median_time(numpy_int8, args.repeats)
        f32_s = median_time(numpy_f32, args.repeats)

    truncate_cache(cache, length)
    accounting = chip.estimate_token(model, length)
    print(f"chip model, one decode token with accounting: {chip_s:.3f} s")
    print(f"numpy int8 matvec, same weights (int8 sums):  {int8_s:.3f} s")
    print(f"numpy float32 BLAS matvec, same weights:     {f32_s:.3f} s")
    print(f"ratio chip / numpy int8:  {chip_s / int8_s:.2f}")
    print(f"ratio chip / numpy f32:   {chip_s / f32_s:.2f}")
    summary = accounting.summary()
    print(
        f"accounted energy per token: {summary['total_energy_j']:.4g} J, "
        f"latency {summary['latency_s']:.4g} s at {chip.clock_hz:.3g} Hz"
    )
    return 0


def truncate_cache(cache: KVCache, length: int) -> None:
    """Drop positions past `length` so that every timed token attends to the same
    context."""
    for i in range(len(cache.k)):
        cache.k[i] = cache.k[i][:, :length]
        cache.v[i] = cache.v[i][:, :length]


if __name__ == "__main__":
    sys.exit(main())
