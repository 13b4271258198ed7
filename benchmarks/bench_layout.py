"""Time the directional-enclosure DRC check: whole-region method against a per-cut loop.

Run: python benchmarks/bench_layout.py [rows cols] (default 16 16). Prints both
times, their ratio, and whether both methods flag the same cuts on a ROM tile.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import klayout.db as kdb
import numpy as np

from bitrom_char.layout import rom
from bitrom_char.layout.drc import _directional_failures, _LayerSource
from bitrom_char.layout.geometry import write_gds


def per_cut_failures(outer: kdb.Region, inner: kdb.Region, value_nm: int) -> kdb.Region:
    """Reference method: grow each cut one side at a time and test containment."""
    failed = kdb.Region()
    for polygon in inner.each():
        box = polygon.bbox()
        grown = {
            "left": kdb.Box(box.left - value_nm, box.bottom, box.right, box.top),
            "right": kdb.Box(box.left, box.bottom, box.right + value_nm, box.top),
            "bottom": kdb.Box(box.left, box.bottom - value_nm, box.right, box.top),
            "top": kdb.Box(box.left, box.bottom, box.right, box.top + value_nm),
        }
        inside = {
            side: (kdb.Region(grown_box) - outer).is_empty()
            for side, grown_box in grown.items()
        }
        x_ok = inside["left"] and inside["right"]
        y_ok = inside["bottom"] and inside["top"]
        if not (x_ok or y_ok):
            failed.insert(polygon)
    return failed


def main() -> None:
    rows, cols = (
        (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) == 3 else (16, 16)
    )
    trits = np.random.default_rng(1).integers(-1, 2, size=(rows, cols, 2))
    with tempfile.TemporaryDirectory() as folder:
        path = write_gds(rom.rom_tile(trits), Path(folder) / "tile.gds")
        layout = kdb.Layout()
        layout.read(str(path))
        layers = _LayerSource(layout, layout.top_cells()[0], ())
        # The last check requires more enclosure than drawn, so both methods must
        # flag the same, non-empty set of cuts.
        checks = [
            ("met1", "mcon", 60),
            ("met1", "via", 85),
            ("li1", "licon", 80),
            ("met1", "mcon", 120),
        ]
        for outer, inner, value_nm in checks:
            layers[outer], layers[inner]  # build the regions before timing

        start = time.perf_counter()
        fast = [_directional_failures(layers[o], layers[i], v) for o, i, v in checks]
        fast_s = time.perf_counter() - start
        start = time.perf_counter()
        slow = [per_cut_failures(layers[o], layers[i], v) for o, i, v in checks]
        slow_s = time.perf_counter() - start

    same = all((a ^ b).is_empty() for a, b in zip(fast, slow, strict=True))
    cuts = sum(layers[i].count() for _, i, _ in checks)
    flagged = sum(region.count() for region in fast)
    print(f"tile {rows}x{cols}, {cuts} cuts checked in {len(checks)} directional rules")
    print(f"cuts flagged: {flagged}")
    print(f"region method: {fast_s * 1e3:.1f} ms, per-cut loop: {slow_s * 1e3:.1f} ms")
    print(f"speed-up: {slow_s / fast_s:.0f}x, same cuts flagged: {same}")


if __name__ == "__main__":
    main()
