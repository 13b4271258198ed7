"""3T gain-cell eDRAM cell (write, storage and read nfets) and small arrays.

The write nfet (gate WWL) passes the write bit line WBL onto the storage node SN.
SN is the gate of the storage nfet, which is in series with the read nfet (gate
RWL) between GND and the read bit line RBL. An optional sky130_fd_pr__cap_mim_m3_1
capacitor adds capacitance to SN: met3 is the SN plate and capm, through via3 to
a met4 plate line per row, is the other plate.
"""

from __future__ import annotations

from dataclasses import dataclass

import gdstk

from bitrom_char.layout.geometry import CellDrawer

CELL_WIDTH_UM = 2.0
CELL_HEIGHT_UM = 1.80
# With a MIM capacitor the height grows to capm's 1.0 um width + 0.84 um spacing.
CELL_HEIGHT_MIM_UM = 1.84
X_WRITE_UM = 0.70  # write nfet diffusion centre (WBL line above it)
X_READ_UM = 1.39  # storage and read nfet diffusion centre (RBL line)
X_GND_UM = 1.76  # GND line
X_SN_CONTACT_UM = 0.215  # poly contact of the storage gate
W_UM = 0.42
L_UM = 0.15
# sky130_fd_pr__cap_mim_m3_1 density is about 2 fF/um^2 (estimate for sizing).
MIM_C_F_PER_UM2 = 2e-15
# capm top plate; met3 encloses it by 0.14 um or more (capm.3).
# NOTE: the sky130 package's mimcap pcell keeps 0.5 um of met3 around capm. If
# the foundry rule requires that much, the MIM cell pitch grows to about 2.3 um.
CAPM_BOX_UM = (0.35, 0.42, 1.51, 1.42)


@dataclass(frozen=True)
class EdramCellInfo:
    """Drawn size of the gain cell and its MIM top plate, in um and um^2."""

    width_um: float
    height_um: float
    capm_area_um2: float

    @property
    def area_um2(self) -> float:
        return round(self.width_um * self.height_um, 6)

    @property
    def mim_c_f(self) -> float:
        return self.capm_area_um2 * MIM_C_F_PER_UM2


def edram_cell_info(*, mim_cap: bool = False) -> EdramCellInfo:
    """Return the pitch and MIM area of the drawn gain cell."""
    if not mim_cap:
        return EdramCellInfo(CELL_WIDTH_UM, CELL_HEIGHT_UM, 0.0)
    x0, y0, x1, y1 = CAPM_BOX_UM
    return EdramCellInfo(
        CELL_WIDTH_UM, CELL_HEIGHT_MIM_UM, round((x1 - x0) * (y1 - y0), 6)
    )


def _contact(d: CellDrawer, x: float, y: float) -> None:
    d.square("licon", x, y, 0.17)


def edram_cell(*, mim_cap: bool = False) -> gdstk.Cell:
    """Draw one 3T gain cell with its origin at the lower-left corner."""
    info = edram_cell_info(mim_cap=mim_cap)
    d = CellDrawer("edram_3t_mim" if mim_cap else "edram_3t")
    width, height = info.width_um, info.height_um
    half_w = W_UM / 2
    xw, xr, xg, xp = X_WRITE_UM, X_READ_UM, X_GND_UM, X_SN_CONTACT_UM

    d.rect("nsdm", 0, 0, width, height)
    # Read stack from the bottom: RBL contact, RWL gate, storage gate, GND contact.
    d.rect("diff", xr - half_w, 0.135, xr + half_w, 1.175)
    # Write nfet from the bottom: SN contact, WWL gate, WBL contact.
    d.rect("diff", xw - half_w, 0.985, xw + half_w, 1.665)
    d.rect("poly", 0, 0.40, width, 0.55)  # RWL
    d.rect("poly", 0, 1.25, width, 1.40)  # WWL
    d.rect("poly", xp - 0.085, 0.76, xr + half_w + 0.13, 0.91)  # storage gate
    d.rect("poly", xp - 0.165, 0.76, xp + 0.165, 1.03)  # its contact pad
    d.square("npc", xp, 0.895, 0.37)

    for x, y in ((xr, 0.26), (xr, 1.05), (xw, 1.11), (xw, 1.54), (xp, 0.895)):
        _contact(d, x, y)
    d.rect("li1", xr - 0.17, 0.175, xr + 0.17, 0.345)  # RBL
    d.rect("li1", xr - 0.17, 0.965, xg + 0.085, 1.135)  # GND, over to its line
    d.rect("li1", xw - 0.17, 1.455, xw + 0.17, 1.625)  # WBL
    # SN: poly contact pad, up and over to the write nfet's lower contact.
    d.rect("li1", xp - 0.165, 0.81, xp + 0.165, 1.195)
    d.rect("li1", xp - 0.085, 1.025, xw + 0.17, 1.195)

    for x, y in ((xr, 0.26), (xg, 1.05), (xw, 1.54)):
        d.square("mcon", x, y, 0.17)
    for x in (xw, xr, xg):
        d.rect("met1", x - 0.115, 0, x + 0.115, height)
    if mim_cap:
        _draw_mim(d, width, height)
    return d.cell


def _draw_mim(d: CellDrawer, width: float, height: float) -> None:
    """Stack SN up to a met3 plate and put capm, via3 and a met4 plate line on it."""
    xp, y = X_SN_CONTACT_UM, 0.895
    d.square("mcon", xp, y, 0.17)
    d.square("met1", xp, y, 0.32)
    d.square("via", xp, y, 0.15)
    d.square("met2", xp, y, 0.37)
    d.square("via2", xp, y, 0.2)
    x0, y0, x1, y1 = CAPM_BOX_UM
    d.rect("met3", 0.05, y0 - 0.14, width - 0.25, y1 + 0.14)
    d.rect("capm", x0, y0, x1, y1)
    yc = (y0 + y1) / 2
    d.square("via3", (x0 + x1) / 2, yc, 0.2)
    d.rect("met4", 0, yc - 0.2, width, yc + 0.2)


def edram_array(rows: int = 4, cols: int = 4, *, mim_cap: bool = False) -> gdstk.Cell:
    """Draw a rows x cols array of abutted gain cells with labelled lines."""
    for name, value in (("rows", rows), ("cols", cols)):
        if value < 1:
            raise ValueError(f"{name}={value} must be at least 1")
    cell = edram_cell(mim_cap=mim_cap)
    info = edram_cell_info(mim_cap=mim_cap)
    suffix = "_mim" if mim_cap else ""
    d = CellDrawer(f"edram_array_{rows}x{cols}{suffix}")
    for row in range(rows):
        for col in range(cols):
            d.place(cell, round(col * info.width_um, 3), round(row * info.height_um, 3))
    top = round(rows * info.height_um - 0.05, 3)
    for col in range(cols):
        x0 = col * info.width_um
        for name, x in (("WBL", X_WRITE_UM), ("RBL", X_READ_UM), ("GND", X_GND_UM)):
            label = "GND" if name == "GND" else f"{name}{col}"
            d.label("met1_label", label, round(x0 + x, 3), top)
    return d.cell
