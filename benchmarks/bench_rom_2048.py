"""Read a 2,048-row ROM column both ways at tt: per-row netlist vs lumped segments.

For each direction and trit it prints the decoded trit, the sensed line voltage and
the read energy of both netlists. The per-row netlist has one device line per row;
the lumped one has the 32 segments that the rom_column table uses. Simulation times
and their ratio follow.

Run: `python benchmarks/bench_rom_2048.py [--rows N] [--trits=-1,0,1]`.
"""

from __future__ import annotations

import argparse
import time

from bitrom_char.cells.rom import (
    DIRECTIONS,
    RomColumnParams,
    read_column,
    worst_case_pattern,
)
from bitrom_char.spice import Simulator


def timed_read(sim, params, west, east, direction, row):
    start = time.perf_counter()
    read = read_column(sim, params, west, east, direction, [row])[0]
    return read, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2048, help="rows per column")
    parser.add_argument(
        "--trits",
        default="-1,0,1",
        help="comma-separated trits to read; write --trits=-1,0 for a leading minus",
    )
    args = parser.parse_args()
    trits = [int(t) for t in args.trits.split(",")]

    sim = Simulator()
    per_row = RomColumnParams(rows=args.rows)
    lumped = RomColumnParams(rows=args.rows, segments=min(32, args.rows))
    print(
        f"{args.rows} rows, tt, 1.8 V, 27 C, sense at {per_row.sense_s * 1e9:.1f} ns "
        "after the word line; worst-case unselected rows"
    )
    header = (
        "direction trit decoded  line_V(row) line_V(lump) energy_pJ(row) "
        "energy_pJ(lump)  t_row_s t_lump_s speedup"
    )
    print(header)
    all_ok = True
    for direction in DIRECTIONS:
        for trit in trits:
            west, east = worst_case_pattern(args.rows, trit, direction)
            row = args.rows - 1
            exact, t_exact = timed_read(sim, per_row, west, east, direction, row)
            lump, t_lump = timed_read(sim, lumped, west, east, direction, row)
            all_ok &= exact.ok and lump.ok
            print(
                f"{direction:9s} {trit:+4d} {exact.decoded:+7d} "
                f"{exact.settled_v:11.4f} {lump.settled_v:12.4f} "
                f"{exact.values['read_energy_j'] * 1e12:14.4f} "
                f"{lump.values['read_energy_j'] * 1e12:15.4f} "
                f"{t_exact:8.1f} {t_lump:8.2f} {t_exact / t_lump:7.1f}x",
                flush=True,
            )
    print("all reads decoded correctly" if all_ok else "SOME READS FAILED")


if __name__ == "__main__":
    main()
