"""Benchmark the engine on a 100-point inverter sweep (10 loads x 10 VDDs at tt, 27 C).

Prints three ratios, all measured in this one run:
  (a) wall time per point / ngspice analysis time per point (goal <= 1.5);
  (b) speed-up over a fresh `ngspice -b` with the full library for each point
      (goal >= 20x; the fresh runs are timed on a sample of points);
  (c) sweep throughput with 2 workers over 1 worker (goal >= 1.7x).

Run: python benchmarks/bench_engine.py [--fresh-sample N]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bitrom_char.cells.inverter import InverterCell
from bitrom_char.pdk import find_models, spinit_commands
from bitrom_char.spice import Simulator
from bitrom_char.sweep import characterize

GRID = {
    "corner": ["tt"],
    "vdd_v": [float(v) for v in np.linspace(1.2, 1.8, 10)],
    "temp_c": [27.0],
    "cload_f": [float(c) for c in np.linspace(2e-15, 50e-15, 10)],
}


def _points() -> list[dict]:
    return [
        {"corner": "tt", "vdd_v": v, "temp_c": 27.0, "cload_f": c}
        for v in GRID["vdd_v"]
        for c in GRID["cload_f"]
    ]


def bench_in_process() -> tuple[float, float]:
    """Return (wall s per point, analysis s per point) for Simulator.run in a loop."""
    cell = InverterCell()
    sim = Simulator()
    sim.run(cell.deck(_points()[0]))  # load libngspice and write trimmed models
    analysis = 0.0
    start = time.perf_counter()
    for point in _points():
        analysis += sim.run(cell.deck(point)).analysis_s
    wall = time.perf_counter() - start
    return wall / 100, analysis / 100


def bench_fresh_full_library(sample: int) -> float:
    """Return s per point for `ngspice -b` with the full sky130 library per point."""
    cell = InverterCell()
    models = find_models()
    init = "\n".join(spinit_commands()) + "\n"
    total = 0.0
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, ".spiceinit").write_text(init)
        for point in _points()[:: max(1, 100 // sample)][:sample]:
            deck = cell.deck(point)
            lib = Path(folder) / "lib.spice"
            lib.write_text(f".lib {models.lib_path} tt\n")
            netlist = deck.render(lib).replace(".end\n", "")
            commands = "\n".join(
                [deck.analysis] + [m.command("tran") for m in deck.measurements]
            )
            text = f"{netlist}.control\n{commands}\n.endc\n.end\n"
            path = Path(folder) / "deck.spice"
            path.write_text(text)
            start = time.perf_counter()
            subprocess.run(
                ["ngspice", "-b", str(path)],
                cwd=folder,
                capture_output=True,
                check=False,
            )
            total += time.perf_counter() - start
    return total / sample


def bench_sweep(workers: int) -> float:
    """Return wall seconds of the 100-point sweep with a fresh cache."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        table = characterize(
            InverterCell(), GRID, workers=workers, cache_dir=Path(cache), progress=False
        )
        wall = time.perf_counter() - start
    holes = len(table.completeness())
    if holes:
        raise RuntimeError(f"{holes} NaN outputs in the benchmark sweep")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fresh-sample", type=int, default=5, help="points timed with a fresh ngspice"
    )
    args = parser.parse_args()

    wall, analysis = bench_in_process()
    fresh = bench_fresh_full_library(args.fresh_sample)
    one = bench_sweep(1)
    two = bench_sweep(2)

    print("100-point inverter sweep, tt, 27 C, 10 VDD x 10 loads")
    print(f"  in-process wall per point        {wall * 1e3:8.1f} ms")
    print(f"  ngspice analysis per point       {analysis * 1e3:8.1f} ms")
    print(f"  (a) wall / analysis              {wall / analysis:8.2f}  (goal <= 1.5)")
    print(f"  fresh ngspice -b, full library   {fresh * 1e3:8.1f} ms per point")
    print(f"  sweep, 1 worker                  {one / 100 * 1e3:8.1f} ms per point")
    print(f"  (b) fresh / sweep with 1 worker  {fresh / (one / 100):8.1f}x (goal >= 20x)")
    print(f"  sweep, 2 workers                 {two / 100 * 1e3:8.1f} ms per point")
    print(f"  (c) 2 workers over 1             {one / two:8.2f}x (goal >= 1.7x)")


if __name__ == "__main__":
    main()
