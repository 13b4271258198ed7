"""Placed rows of sky130_fd_sc_hd cells for the tri-mode accumulator block.

The cells are the foundry's GDS; this module only places them in rows of the
2.72 um standard-cell height (odd rows mirrored so rows share their power
rails) and adds a power strap column of its own on the left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import gdstk

from bitrom_char.layout.density import std_cell_area_um2
from bitrom_char.layout.geometry import CellDrawer
from bitrom_char.pdk import std_cell_gds

ROW_HEIGHT_UM = 2.72
SITE_WIDTH_UM = 0.46
TAP_CELL = "tapvpwrvgnd_1"
# Power strap column left of the rows: met1 rail stubs, vias and two met2 straps.
STRAP_COLUMN_UM = 1.0
RAIL_HALF_UM = 0.24

# Cells of a 20-bit ripple accumulator: a full adder, an XOR that inverts the
# activation for -1 weights, and a flip-flop per bit, plus one clock gate that
# holds the register for 0 weights.
DEFAULT_CELL_COUNTS = {"fa_1": 20, "xor2_1": 20, "dfxtp_1": 20, "dlclkp_1": 1}


@dataclass(frozen=True)
class AccumulatorInfo:
    """Placement result: rows, placed width and areas in um and um^2."""

    rows: int
    width_um: float
    cell_area_um2: float
    tap_cells: int

    @property
    def height_um(self) -> float:
        return round(self.rows * ROW_HEIGHT_UM, 3)

    @property
    def placed_area_um2(self) -> float:
        return round(self.width_um * self.height_um, 6)

    @property
    def utilization(self) -> float:
        return self.cell_area_um2 / self.placed_area_um2


@cache
def _std_cell_library(cell: str) -> gdstk.Library:
    return gdstk.read_gds(std_cell_gds(f"sky130_fd_sc_hd__{cell}"))


def _std_cell(cell: str) -> gdstk.Cell:
    full_name = f"sky130_fd_sc_hd__{cell}"
    for item in _std_cell_library(cell).top_level():
        if item.name == full_name:
            return item
    raise ValueError(f"cell {full_name} not found in its GDS file")


def _cell_width_um(cell: str) -> float:
    return round(std_cell_area_um2(cell) / ROW_HEIGHT_UM, 3)


def _check_counts(cell_counts: dict[str, int]) -> dict[str, int]:
    if not cell_counts:
        raise ValueError("cell_counts is empty; give at least one {cell_name: count}")
    counts = {}
    for name, count in cell_counts.items():
        base = name.removeprefix("sky130_fd_sc_hd__")
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"count of {name} is {count!r}; use a non-negative int")
        std_cell_gds(f"sky130_fd_sc_hd__{base}")  # raises when the cell does not exist
        counts[base] = counts.get(base, 0) + count
    return counts


def _fill_rows(instances: list[str], rows: int) -> list[list[str]]:
    """Put cells, widest first, into the currently narrowest row."""
    filled: list[list[str]] = [[] for _ in range(rows)]
    widths = [0.0] * rows
    for cell in sorted(instances, key=lambda c: (-_cell_width_um(c), c)):
        row = min(range(rows), key=lambda r: (widths[r], r))
        filled[row].append(cell)
        widths[row] += _cell_width_um(cell)
    return filled


def accumulator_block(
    cell_counts: dict[str, int] | None = None, *, rows: int | None = None
) -> tuple[gdstk.Cell, AccumulatorInfo]:
    """Place the given sky130_fd_sc_hd cell counts in rows; return cell and info.

    Each row starts with a tapvpwrvgnd_1 well tap. Without ``rows`` the row
    count makes the block about square.
    """
    counts = _check_counts(DEFAULT_CELL_COUNTS if cell_counts is None else cell_counts)
    instances = [cell for cell, count in sorted(counts.items()) for _ in range(count)]
    cell_area = sum(std_cell_area_um2(cell) for cell in instances)
    if rows is None:
        rows = max(1, round(math.sqrt(cell_area) / ROW_HEIGHT_UM))
    if rows < 1:
        raise ValueError(f"rows={rows} must be at least 1")

    d = CellDrawer(f"accumulator_{len(instances)}cells_{rows}rows")
    row_width = 0.0
    for row, cells in enumerate(_fill_rows(instances, rows)):
        x = STRAP_COLUMN_UM
        mirrored = row % 2 == 1
        y = (row + 1) * ROW_HEIGHT_UM if mirrored else row * ROW_HEIGHT_UM
        for cell in [TAP_CELL, *cells]:
            d.place(_std_cell(cell), round(x, 3), round(y, 3), mirror_x=mirrored)
            x += _cell_width_um(cell)
        row_width = max(row_width, x - STRAP_COLUMN_UM)
    _draw_power_straps(d, rows)
    tap_area = rows * std_cell_area_um2(TAP_CELL)
    info = AccumulatorInfo(rows, round(row_width, 3), cell_area + tap_area, rows)
    return d.cell, info


def _draw_power_straps(d: CellDrawer, rows: int) -> None:
    """Join the row rails to a VGND and a VPWR met2 strap left of the rows."""
    height = rows * ROW_HEIGHT_UM
    straps = {"VGND": 0.25, "VPWR": 0.70}
    for name, x in straps.items():
        d.rect("met2", x - 0.15, -RAIL_HALF_UM, x + 0.15, height + RAIL_HALF_UM)
        d.label("met2_label", name, x, round(height / 2, 3))
    for rail in range(rows + 1):
        y = round(rail * ROW_HEIGHT_UM, 3)
        d.rect("met1", 0, y - RAIL_HALF_UM, STRAP_COLUMN_UM, y + RAIL_HALF_UM)
        # Rails alternate: VGND at even multiples of the row height.
        net = "VGND" if rail % 2 == 0 else "VPWR"
        d.square("via", straps[net], y, 0.15)
