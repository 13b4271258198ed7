"""Bidirectional ROM cell and programmed ROM tiles for sky130 (gdstk).

One nfet_01v8 stores two trits. Its upper (north) diffusion contact is the west
terminal, which reaches one of three west lines. Its lower (south) contact is
the east terminal, which reaches one of three east lines. Lines run along the
column, and the lines of a side are stacked at one x: li1, met1 and met2 on the
west, met1, met2 and met3 on the east. The trit is set by the finger the cell
draws from its contact to the line: li1 alone, or mcon and met1, or mcon, via
and met2, or mcon, via, via2 and met3. The word line is poly, strapped by met4.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import gdstk
import numpy as np

from bitrom_char.layout.geometry import CellDrawer, check_on_grid

TRITS = (-1, 0, 1)
TRIT_NAME = {-1: "NEG", 0: "ZERO", 1: "POS"}
SIDES = ("W", "E")

# Layer and x extent (inner and outer edge, as distances from the cell centre
# line, in um) of the line of each trit on each side.
LINES = {
    "W": {
        0: ("li1", (0.335, 0.685)),
        -1: ("met1", (0.30, 0.44)),
        1: ("met2", (0.30, 0.44)),
    },
    "E": {
        -1: ("met1", (0.30, 0.44)),
        1: ("met2", (0.30, 0.44)),
        0: ("met3", (0.21, 0.51)),
    },
}
TRIT_LINE_LAYER = {
    side: {trit: layer for trit, (layer, _) in lines.items()}
    for side, lines in LINES.items()
}

# The met1 and met2 lines set the column pitch: a 0.32 um via landing pad at the
# centre, 0.14 um spacing (m1.2, m2.2) to each 0.14 um line, and 0.14 um to the
# next column. The met3 line and finger need 0.985 um. The li1 line (12.8 ohm/sq)
# takes all the width this pitch leaves it, 0.35 um, and reaches into the column
# to its west, which has no east li1 line; 0.17 um (li.3) from that column's pad.
CELL_PITCH_X_UM = 1.02
X_CENTRE_UM = 0.51
# The strap column has a p+ substrate tap per row on a vertical met1 VSS line
# at its left and the word-line stack to met4 at its right. The stack's 0.49 um
# met3 landing pad (0.24 um^2, m3.6) keeps 0.3 um (m3.2) from the met3 line at
# the right edge of the column before it.
STRAP_WIDTH_UM = 1.50
STRAP_STACK_X_UM = 0.95
STRAP_TAP_X_UM = 0.34
WL_STRAP_HALF_UM = 0.20  # half height of the met4 word-line strap
E_MET3_STACK_DY_UM = -0.045  # via2 below the contact, clear of the west met2 finger

# W at most the column pitch less the 0.27 um diff spacing (difftap.3)
MIN_W_UM, MAX_W_UM = 0.42, 0.75
MIN_L_UM, MAX_L_UM = 0.15, 1.0


@dataclass(frozen=True)
class RomCellGeometry:
    """Vertical positions of the cell's rows of shapes for one (W, L), in um."""

    w_um: float = 0.42
    l_um: float = 0.15

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("w_um", self.w_um, MIN_W_UM, MAX_W_UM),
            ("l_um", self.l_um, MIN_L_UM, MAX_L_UM),
        ):
            if not low <= value <= high:
                raise ValueError(
                    f"{name}={value} is outside the ROM cell range [{low}, {high}] um"
                )
            # W/2 and L/2 must stay on the 5 nm grid.
            check_on_grid(f"{name}/2", value / 2)

    # diff bottom leaves half of the 0.27 um diff spacing (difftap.3) to the cell edge
    diff_y0 = 0.135
    # 0.04 diff enclosure (licon.5a) + half a 0.17 licon
    y_south = 0.26
    # licon top + 0.055 licon-to-gate spacing (licon.11)
    gate_y0 = 0.40

    @property
    def gate_y1(self) -> float:
        return round(self.gate_y0 + self.l_um, 3)

    @property
    def y_north(self) -> float:
        return round(self.gate_y1 + 0.055 + 0.085, 3)

    @property
    def diff_y1(self) -> float:
        return round(self.y_north + 0.085 + 0.04, 3)

    @property
    def pitch_y_um(self) -> float:
        return round(self.diff_y1 + self.diff_y0, 3)

    @property
    def wordline_y(self) -> float:
        return round((self.gate_y0 + self.gate_y1) / 2, 3)

    @property
    def pitch_x_um(self) -> float:
        return CELL_PITCH_X_UM

    @property
    def area_um2(self) -> float:
        return round(self.pitch_x_um * self.pitch_y_um, 6)


def _check_trit(name: str, value: int) -> int:
    if value not in TRITS:
        raise ValueError(f"{name}={value!r} is not a trit; use -1, 0 or 1")
    return int(value)


def _cell_name(geom: RomCellGeometry, west: int, east: int) -> str:
    code = {-1: "n", 0: "z", 1: "p"}
    w_nm, l_nm = round(geom.w_um * 1000), round(geom.l_um * 1000)
    return f"bitrom_cell_w{w_nm}_l{l_nm}_{code[west]}{code[east]}"


def _draw_lines_and_device(d: CellDrawer, geom: RomCellGeometry) -> None:
    px, py, xc = geom.pitch_x_um, geom.pitch_y_um, X_CENTRE_UM
    half_w = geom.w_um / 2
    d.rect("nsdm", 0, 0, px, py)
    d.rect("diff", xc - half_w, geom.diff_y0, xc + half_w, geom.diff_y1)
    d.rect("poly", 0, geom.gate_y0, px, geom.gate_y1)
    for y in (geom.y_south, geom.y_north):
        d.square("licon", xc, y, 0.17)
        # li1 encloses the licon by 0.08 left and right (li.5); area 0.0561 um^2 (li.6)
        d.rect("li1", xc - 0.165, y - 0.085, xc + 0.165, y + 0.085)
    for side, sign in (("W", -1), ("E", 1)):
        for layer, (inner, outer) in LINES[side].values():
            d.rect(layer, xc + sign * inner, 0, xc + sign * outer, py)
    y_wl = geom.wordline_y
    d.rect("met4", 0, y_wl - WL_STRAP_HALF_UM, px, y_wl + WL_STRAP_HALF_UM)


def _draw_program(d: CellDrawer, geom: RomCellGeometry, side: str, trit: int) -> None:
    """Draw the finger from one terminal's contact to the line of ``trit``."""
    xc = X_CENTRE_UM
    sign = -1 if side == "W" else 1
    y = geom.y_north if side == "W" else geom.y_south
    layer, (inner, outer) = LINES[side][trit]
    line_x = xc + sign * outer
    if layer == "li1":
        d.rect("li1", xc + sign * inner, y - 0.085, xc + sign * 0.165, y + 0.085)
        return

    d.square("mcon", xc, y, 0.17)
    if layer == "met1":
        # mcon enclosure: 0.03 above and below (m1.4), 0.06 at both ends (m1.5)
        d.rect("met1", line_x, y - 0.115, xc - sign * 0.145, y + 0.115)
        return

    if layer == "met2":
        # via stacked on the mcon; met1 and met2 enclose it by 0.085 at both ends
        # (via.5a, m2.5) and 0.055 above and below (via.4a, m2.4)
        d.square("via", xc, y, 0.15)
        d.rect("met1", xc - 0.16, y - 0.13, xc + 0.16, y + 0.13)
        d.rect("met2", line_x, y - 0.13, xc - sign * 0.16, y + 0.13)
        return

    # met3: via and via2 sit slightly below the contact. met2 encloses via2 by
    # 0.04 left and right (via2.4) and 0.085 above and below (via2.5); met3 by 0.065.
    y_via = round(y + E_MET3_STACK_DY_UM, 3)
    d.rect("met1", xc - 0.16, y_via - 0.13, xc + 0.16, y + 0.13)
    d.square("via", xc, y_via, 0.15)
    d.rect("met2", xc - 0.14, y_via - 0.185, xc + 0.14, y_via + 0.185)
    d.square("via2", xc, y_via, 0.2)
    d.rect("met3", xc - sign * 0.165, y_via - 0.165, line_x, y_via + 0.165)


def rom_cell(
    west_trit: int = 0, east_trit: int = 0, *, w_um: float = 0.42, l_um: float = 0.15
) -> gdstk.Cell:
    """Draw one two-trit ROM cell with its origin at the lower-left corner."""
    west = _check_trit("west_trit", west_trit)
    east = _check_trit("east_trit", east_trit)
    geom = RomCellGeometry(w_um, l_um)
    d = CellDrawer(_cell_name(geom, west, east))
    _draw_lines_and_device(d, geom)
    _draw_program(d, geom, "W", west)
    _draw_program(d, geom, "E", east)
    return d.cell


def wordline_strap(*, l_um: float = 0.15) -> gdstk.Cell:
    """Draw the strap column cell placed left of each tile row.

    It joins the tile's poly word line to its met4 strap and ties the substrate
    to a VSS met1 line through a p+ tap.
    """
    geom = RomCellGeometry(0.42, l_um)
    d = CellDrawer(f"bitrom_wl_strap_l{round(l_um * 1000)}")
    xs, y = STRAP_STACK_X_UM, geom.wordline_y
    # The tile's word line starts at this contact; the tap sits left of it.
    d.rect("poly", xs - 0.165, geom.gate_y0, STRAP_WIDTH_UM, geom.gate_y1)
    # poly encloses the licon by 0.05 (licon.8) and 0.08 left and right (licon.8a)
    d.rect("poly", xs - 0.165, y - 0.135, xs + 0.165, y + 0.135)
    d.square("npc", xs, y, 0.37)
    d.square("licon", xs, y, 0.17)
    d.rect("li1", xs - 0.17, y - 0.085, xs + 0.17, y + 0.085)
    d.square("mcon", xs, y, 0.17)
    d.square("met1", xs, y, 0.32)
    d.square("via", xs, y, 0.15)
    d.square("met2", xs, y, 0.37)
    d.square("via2", xs, y, 0.2)
    d.square("met3", xs, y, 0.49)
    d.square("via3", xs, y, 0.2)
    d.rect("met4", 0, y - WL_STRAP_HALF_UM, STRAP_WIDTH_UM, y + WL_STRAP_HALF_UM)
    _draw_substrate_tap(d, geom)
    return d.cell


def _draw_substrate_tap(d: CellDrawer, geom: RomCellGeometry) -> None:
    """Draw a p+ tap level with the word-line contact, on the VSS met1 line."""
    xt, y = STRAP_TAP_X_UM, geom.wordline_y
    # licon 0.12 um inside the tap left and right (licon.7), 0.06 above and below
    d.rect("tap", xt - 0.205, y - 0.145, xt + 0.205, y + 0.145)
    # psdm 0.125 um around the tap (psd.5b), abutting the nsdm of the column
    # to the west, whose edge stays 0.135 um from the tap (psd.7)
    d.rect("psdm", 0, y - 0.27, xt + 0.33, y + 0.27)
    d.square("licon", xt, y, 0.17)
    d.rect("li1", xt - 0.165, y - 0.085, xt + 0.165, y + 0.085)
    d.square("mcon", xt, y, 0.17)
    d.rect("met1", xt - 0.115, 0, xt + 0.115, geom.pitch_y_um)


def line_net_name(column: int, side: str, trit: int) -> str:
    """Return the label of a column line, e.g. ``C3_W_POS`` for the west +1 line."""
    return f"C{column}_{side}_{TRIT_NAME[trit]}"


def load_trits(trits: np.ndarray | str | Path) -> np.ndarray:
    """Return a (rows, cols, 2) int8 trit array from an array or a .npy file."""
    if isinstance(trits, (str, Path)):
        path = Path(trits)
        if path.suffix != ".npy":
            raise ValueError(f"weight file {path} must be a numpy .npy file")
        trits = np.load(path)
    array = np.asarray(trits)
    if array.ndim != 3 or array.shape[2] != 2 or 0 in array.shape[:2]:
        raise ValueError(
            f"trit array shape {array.shape} is invalid; expected (rows, cols, 2) "
            "with west trits in [..., 0] and east trits in [..., 1]"
        )
    bad = ~np.isin(array, TRITS)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"trit array value {array[index]!r} at index {index} is not -1, 0 or 1"
        )
    return array.astype(np.int8)


def rom_tile(
    trits: np.ndarray | str | Path,
    *,
    w_um: float = 0.42,
    l_um: float = 0.15,
    name: str | None = None,
) -> gdstk.Cell:
    """Draw a programmed tile: a word-line strap column, then rows x cols cells.

    Row 0 is at the bottom. Tiles abut left to right and bottom to top: lines
    continue through the tile's top and bottom edges and the met4 word-line
    straps through its left and right edges.

    Each strap column row has a p+ substrate tap on the VSS met1 line, so taps
    are one tile width apart.
    """
    array = load_trits(trits)
    rows, cols = array.shape[:2]
    geom = RomCellGeometry(w_um, l_um)
    if name is None:
        digest = hashlib.sha256(array.tobytes()).hexdigest()[:8]
        name = f"bitrom_tile_{rows}x{cols}_{digest}"
    d = CellDrawer(name)
    variants: dict[tuple[int, int], gdstk.Cell] = {}
    strap = wordline_strap(l_um=l_um)
    px, py = geom.pitch_x_um, geom.pitch_y_um
    for row in range(rows):
        y0 = round(row * py, 3)
        d.place(strap, 0, y0)
        for col in range(cols):
            key = (int(array[row, col, 0]), int(array[row, col, 1]))
            if key not in variants:
                variants[key] = rom_cell(*key, w_um=w_um, l_um=l_um)
            d.place(variants[key], round(STRAP_WIDTH_UM + col * px, 3), y0)
        d.label("met4_label", f"WL{row}", STRAP_STACK_X_UM, y0 + geom.wordline_y)
    _label_lines(d, cols, round(rows * py - 0.05, 3))
    return d.cell


def _label_lines(d: CellDrawer, cols: int, y: float) -> None:
    d.label("met1_label", "VSS", STRAP_TAP_X_UM, y)
    for col in range(cols):
        xc = STRAP_WIDTH_UM + col * CELL_PITCH_X_UM + X_CENTRE_UM
        for side, sign in (("W", -1), ("E", 1)):
            for trit, (layer, (inner, outer)) in LINES[side].items():
                x = round(xc + sign * (inner + outer) / 2, 3)
                d.label(f"{layer}_label", line_net_name(col, side, trit), x, y)


def tile_size_um(rows: int, cols: int, *, l_um: float = 0.15) -> tuple[float, float]:
    """Return (width, height) in um of a rows x cols tile with its strap column."""
    geom = RomCellGeometry(0.42, l_um)
    return STRAP_WIDTH_UM + cols * geom.pitch_x_um, rows * geom.pitch_y_um
