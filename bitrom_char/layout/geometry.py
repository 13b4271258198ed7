"""Grid-checked rectangles, labels and deterministic GDS output with gdstk."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from pathlib import Path

import gdstk

from bitrom_char.layout.pdkdata import load_layers

GRID_NM = 5
# A fixed GDS timestamp keeps the file bytes a pure function of the geometry.
GDS_TIMESTAMP = datetime.datetime(2026, 1, 1)


def to_nm(value_um: float) -> int:
    """Convert um to integer nm, raising when the value is off the 5 nm grid."""
    value_nm = round(value_um * 1000)
    if abs(value_nm - value_um * 1000) > 1e-6 or value_nm % GRID_NM:
        raise ValueError(
            f"coordinate {value_um!r} um is off the sky130 5 nm manufacturing grid; "
            "use a multiple of 0.005 um"
        )
    return value_nm


def check_on_grid(name: str, value_um: float) -> None:
    """Raise ValueError naming the parameter when it is off the 5 nm grid."""
    try:
        to_nm(value_um)
    except ValueError as exc:
        raise ValueError(f"{name}={value_um!r} um: {exc}") from None


class CellDrawer:
    """Adds grid-checked rectangles and labels to one gdstk cell."""

    def __init__(self, name: str) -> None:
        self.cell = gdstk.Cell(name)
        self._layers = load_layers()

    def rect(self, layer: str, x0: float, y0: float, x1: float, y1: float) -> None:
        """Draw the rectangle (x0, y0)-(x1, y1) in um on a named layer."""
        spec = self._layers[layer]
        xa, xb = sorted((to_nm(x0), to_nm(x1)))
        ya, yb = sorted((to_nm(y0), to_nm(y1)))
        if xa == xb or ya == yb:
            raise ValueError(f"empty rectangle on {layer}: ({x0}, {y0})-({x1}, {y1})")
        self.cell.add(
            gdstk.rectangle(
                (xa / 1000, ya / 1000),
                (xb / 1000, yb / 1000),
                layer=spec.layer,
                datatype=spec.datatype,
            )
        )

    def square(self, layer: str, cx: float, cy: float, size: float) -> None:
        """Draw a square cut of side ``size`` centred on (cx, cy)."""
        half = size / 2
        self.rect(layer, cx - half, cy - half, cx + half, cy + half)

    def label(self, layer: str, text: str, x: float, y: float) -> None:
        """Place a net-name text label on a label layer at (x, y) in um."""
        spec = self._layers[layer]
        self.cell.add(
            gdstk.Label(
                text,
                (to_nm(x) / 1000, to_nm(y) / 1000),
                layer=spec.layer,
                texttype=spec.datatype,
            )
        )

    def place(self, child: gdstk.Cell, x: float, y: float, *, mirror_x: bool = False):
        """Place a reference to ``child`` with its origin at (x, y) in um."""
        self.cell.add(
            gdstk.Reference(
                child, (to_nm(x) / 1000, to_nm(y) / 1000), x_reflection=mirror_x
            )
        )


def write_gds(top: gdstk.Cell | Iterable[gdstk.Cell], path: Path) -> Path:
    """Write the cell(s) and everything they reference to a GDS file."""
    tops = [top] if isinstance(top, gdstk.Cell) else list(top)
    library = gdstk.Library(unit=1e-6, precision=1e-9)
    seen: dict[str, gdstk.Cell] = {}
    for cell in tops:
        for item in [cell, *cell.dependencies(True)]:
            if isinstance(item, gdstk.Cell):
                seen.setdefault(item.name, item)
    for name in sorted(seen):
        library.add(seen[name])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    library.write_gds(path, timestamp=GDS_TIMESTAMP)
    return path
