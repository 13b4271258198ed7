"""Storage density of the drawn ROM cell and of a full array with its periphery."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from bitrom_char.layout import rom
from bitrom_char.pdk import std_cell_gds

BITS_PER_TRIT = math.log2(3)
# sky130 foundry SRAM bit cell sram_sp_cell: 1.200 um x 1.580 um, one bit.
SRAM_CELL_UM2 = 1.200 * 1.580
# A ROM that stores one trit per transistor (one weight per cell), about 2.21 um^2.
ONE_TRIT_ROM_CELL_UM2 = 2.21

# Periphery estimate, counted in sky130_fd_sc_hd cells and sized by their LEF.
# Per row: an and4_1 decoder gate and a buf_8 word-line driver. Per column: three
# latch sense amplifiers, each sized as a dfxtp_1 flip-flop because a latch
# comparator has about a flip-flop's transistor count. Also per column: six
# einvp_1 tri-state drivers that precharge the read side and drive the levels.
PERIPHERY_PER_ROW = {"and4_1": 1, "buf_8": 1}
PERIPHERY_PER_COLUMN = {"dfxtp_1": 3, "einvp_1": 6}


def std_cell_area_um2(cell: str) -> float:
    """Return a sky130_fd_sc_hd cell's area in um^2 from its LEF SIZE line."""
    lef = std_cell_gds(f"sky130_fd_sc_hd__{cell}").with_suffix(".lef")
    for line in lef.read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["SIZE"]:
            return float(parts[1]) * float(parts[3])
    raise ValueError(f"no SIZE line in {lef}")


@dataclass(frozen=True)
class ArrayArea:
    """Areas in um^2 of a rows x cols ROM array built from the drawn tiles."""

    rows: int
    cols: int
    cell_area_um2: float
    core_area_um2: float
    row_periphery_um2: float
    column_periphery_um2: float

    @property
    def with_periphery_um2(self) -> float:
        return self.core_area_um2 + self.row_periphery_um2 + self.column_periphery_um2

    @property
    def trits(self) -> int:
        return 2 * self.rows * self.cols


def array_area(
    rows: int = 2048,
    cols: int = 1024,
    *,
    columns_per_strap: int = 32,
    w_um: float = 0.42,
    l_um: float = 0.15,
) -> ArrayArea:
    """Compute the array area from the cell and strap pitch, with periphery.

    The core is what abutting tiles of ``columns_per_strap`` columns cover; the
    periphery follows PERIPHERY_PER_ROW and PERIPHERY_PER_COLUMN.
    """
    for name, value in (
        ("rows", rows),
        ("cols", cols),
        ("columns_per_strap", columns_per_strap),
    ):
        if value < 1:
            raise ValueError(f"{name}={value} must be a positive count")
    geom = rom.RomCellGeometry(w_um, l_um)
    straps = math.ceil(cols / columns_per_strap)
    width_um = cols * geom.pitch_x_um + straps * rom.STRAP_WIDTH_UM
    core_um2 = width_um * rows * geom.pitch_y_um
    per_row = sum(n * std_cell_area_um2(c) for c, n in PERIPHERY_PER_ROW.items())
    per_col = sum(n * std_cell_area_um2(c) for c, n in PERIPHERY_PER_COLUMN.items())
    return ArrayArea(
        rows, cols, geom.area_um2, core_um2, rows * per_row, cols * per_col
    )


def _density_row(name: str, area_um2: float, trits: float, bits: float) -> dict:
    bits_per_um2 = bits / area_um2
    return {
        "design": name,
        "area_um2": area_um2,
        "trits": trits,
        "bits": bits,
        "um2_per_bit": area_um2 / bits,
        "trits_per_um2": trits / area_um2,
        # 1 kb = 1000 bits and 1 mm^2 = 1e6 um^2
        "kb_per_mm2": bits_per_um2 * 1e3,
    }


def density_table(area: ArrayArea | None = None) -> pd.DataFrame:
    """Compare the drawn cell and array with the sky130 SRAM and a 1T ROM cell.

    Bits count a stored trit as log2(3) bits; the SRAM row counts its one bit.
    The SRAM and one-trit-per-cell rows are reference cells without periphery.
    """
    area = area or array_area()
    two_trits_bits = 2 * BITS_PER_TRIT
    rows = [
        _density_row("BitROM two-trit cell", area.cell_area_um2, 2, two_trits_bits),
        _density_row(
            f"BitROM {area.rows}x{area.cols} array core",
            area.core_area_um2,
            area.trits,
            area.trits * BITS_PER_TRIT,
        ),
        _density_row(
            f"BitROM {area.rows}x{area.cols} array with periphery",
            area.with_periphery_um2,
            area.trits,
            area.trits * BITS_PER_TRIT,
        ),
        # A trit takes two SRAM bits in a 2-bit code (bitnet.cpp's I2_S packing).
        _density_row("sky130 SRAM cell sram_sp_cell", SRAM_CELL_UM2, 0.5, 1.0),
        _density_row(
            "ROM, one trit per transistor", ONE_TRIT_ROM_CELL_UM2, 1, BITS_PER_TRIT
        ),
    ]
    return pd.DataFrame(rows).set_index("design")
