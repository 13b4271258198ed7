"""Generate every layout, check it, and summarise areas, density and parasitics."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gdstk
import numpy as np

from bitrom_char.layout import accumulator, edram, rom
from bitrom_char.layout.density import array_area, density_table
from bitrom_char.layout.drc import run_drc
from bitrom_char.layout.extract import extract_nfets
from bitrom_char.layout.figures import render_figures
from bitrom_char.layout.geometry import write_gds
from bitrom_char.layout.parasitics import rom_parasitics
from bitrom_char.layout.pdkdata import load_rules

logger = logging.getLogger(__name__)

STD_CELL_PATTERN = "sky130_fd_sc_hd__*"
# Fixed seed so the example tile, and so its GDS bytes, are the same on every run.
TILE_SEED = 2026
COLUMNS_PER_STRAP = 32


def _example_trits(rows: int, cols: int) -> np.ndarray:
    return np.random.default_rng(TILE_SEED).integers(-1, 2, size=(rows, cols, 2))


def _accumulator_cell_counts() -> dict[str, int]:
    """Return the cell counts of the accumulator netlist, or the layout default."""
    try:
        from bitrom_char.cells.accumulator_netlist import cell_counts
    except ImportError as exc:
        logger.warning("accumulator netlist not importable (%s); using defaults", exc)
        return dict(accumulator.DEFAULT_CELL_COUNTS)
    return cell_counts()


def tile_matches_trits(gds_path: Path, trits: np.ndarray) -> bool:
    """Return True when extraction finds one nfet per cell on its trits' lines."""
    expected = set()
    rows, cols = trits.shape[:2]
    for row in range(rows):
        for col in range(cols):
            west = rom.line_net_name(col, "W", int(trits[row, col, 0]))
            east = rom.line_net_name(col, "E", int(trits[row, col, 1]))
            expected.add((f"WL{row}", frozenset((west, east))))
    found = [
        (device.gate, frozenset((device.source, device.drain)))
        for device in extract_nfets(gds_path)
    ]
    return len(found) == rows * cols and set(found) == expected


def _write_and_check(
    designs: dict[str, gdstk.Cell], out_dir: Path
) -> tuple[list[str], dict[str, int], dict[str, list[str]]]:
    """Write each design to its GDS file and DRC it; log up to 20 violations each."""
    files, counts, details = [], {}, {}
    for filename, cell in designs.items():
        path = write_gds(cell, out_dir / filename)
        # the foundry's standard cells are not ours to check
        skip = (STD_CELL_PATTERN,) if filename == "accumulator.gds" else ()
        report = run_drc(path, skip_cells=skip)
        files.append(str(path))
        counts[filename] = len(report.violations)
        if report.violations:
            details[filename] = [str(v) for v in report.violations[:20]]
            for violation in report.violations[:20]:
                logger.error("DRC %s: %s", filename, violation)
    return files, counts, details


def build_all(out_dir: Path, *, quick: bool = False) -> dict:
    """Write all GDS files to ``out_dir``, DRC each one, and return a summary.

    The summary has the file list, violations per file and the number of rules
    checked. It also has the drawn ROM cell, eDRAM cell and accumulator areas,
    the 2,048 x 1,024 array area with its estimated periphery, the density
    table, the ROM line parasitics and PNG figures. Violations are logged and
    counted, not raised.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    tile_rows, tile_cols = (8, 8) if quick else (32, COLUMNS_PER_STRAP)
    trits = _example_trits(tile_rows, tile_cols)
    variants = np.array([[[w, e] for e in rom.TRITS] for w in rom.TRITS])
    acc_counts = _accumulator_cell_counts()
    acc_cell, acc_info = accumulator.accumulator_block(acc_counts)
    designs = {
        "bitrom_cell.gds": rom.rom_cell(1, -1),
        "bitrom_cell_variants.gds": rom.rom_tile(variants, name="bitrom_cell_variants"),
        f"bitrom_tile_{tile_rows}x{tile_cols}.gds": rom.rom_tile(trits),
        "edram_cell.gds": edram.edram_cell(),
        "edram_cell_mim.gds": edram.edram_cell(mim_cap=True),
        "edram_array_4x4.gds": edram.edram_array(4, 4),
        "accumulator.gds": acc_cell,
    }
    files, drc_counts, drc_details = _write_and_check(designs, out_dir)

    tile_path = out_dir / f"bitrom_tile_{tile_rows}x{tile_cols}.gds"
    extraction_ok = tile_matches_trits(tile_path, trits)
    if not extraction_ok:
        logger.error("extracted transistors of %s do not match its trits", tile_path)

    geom = rom.RomCellGeometry()
    area = array_area(columns_per_strap=COLUMNS_PER_STRAP)
    density = density_table(area)
    parasitics = rom_parasitics(columns_per_strap=COLUMNS_PER_STRAP)
    density.to_csv(out_dir / "density.csv")
    figures = render_figures(
        {
            "ROM cells with all nine trit pairs (nsdm and met4 hidden)": out_dir
            / "bitrom_cell_variants.gds",
            "3T gain cell with MIM capacitor": out_dir / "edram_cell_mim.gds",
            "Accumulator: placed sky130_fd_sc_hd cells": out_dir / "accumulator.gds",
        },
        out_dir,
    )
    with_periphery = f"BitROM {area.rows}x{area.cols} array with periphery"
    (out_dir / "parasitics.json").write_text(json.dumps(parasitics, indent=2) + "\n")
    return {
        "files": files,
        "drc": drc_counts,
        "drc_violations": drc_details,
        "rules_checked": len(load_rules()),
        "tile_extraction_matches": extraction_ok,
        "rom_cell_area_um2": geom.area_um2,
        "rom_cell_w_um": geom.pitch_x_um,
        "rom_cell_h_um": geom.pitch_y_um,
        "array_area_um2": area.core_area_um2,
        "array_with_periphery_area_um2": area.with_periphery_um2,
        "density": density,
        "cell_density_kb_per_mm2": density.loc["BitROM two-trit cell", "kb_per_mm2"],
        "array_density_kb_per_mm2": density.loc[with_periphery, "kb_per_mm2"],
        "figures": figures,
        "parasitics": parasitics,
        "accumulator_area_um2": acc_info.placed_area_um2,
        "accumulator_rows": acc_info.rows,
        "accumulator_cell_counts": acc_counts,
        "edram_cell_area_um2": edram.edram_cell_info().area_um2,
        "edram_cell_mim_area_um2": edram.edram_cell_info(mim_cap=True).area_um2,
        "edram_mim_c_f": edram.edram_cell_info(mim_cap=True).mim_c_f,
    }
