"""3T gain-cell eDRAM cell (write, storage and read nfets) and small arrays.

The write nfet (gate WWL) passes the write bit line WBL onto the storage node SN.
SN is the gate of the storage nfet, which is in series with the read nfet (gate
RWL) between GND and the read bit line RBL. An optional sky130_fd_pr__cap_mim_m3_1
capacitor adds capacitance to SN: met3 is the SN plate and capm, through via3 to
a met4 plate line per row, is the other plate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gdstk

from bitrom_char.layout.geometry import CellDrawer, check_on_grid

MIN_W_UM, MAX_W_UM = 0.42, 1.0
MIN_L_UM, MAX_L_UM = 0.15, 0.5
# The MIM cell is at least capm's 1.0 um width (capm.1) plus 0.84 um spacing
# (capm.2a) in both directions.
MIM_PITCH_UM = 1.84
MIN_CELL_WIDTH_UM = 2.0
X_SN_CONTACT_UM = 0.215  # poly contact of the storage gate, left of the write nfet
# sky130_fd_pr__cap_mim_m3_1 density is about 2 fF/um^2 (estimate for sizing).
MIM_C_F_PER_UM2 = 2e-15


def _ceil_grid(value_um: float, step_um: float = 0.01) -> float:
    return round(math.ceil(round(value_um / step_um, 6)) * step_um, 3)


@dataclass(frozen=True)
class EdramGeometry:
    """Positions in um of the gain cell's devices for one (W, L) of all three nfets.

    The read stack (RBL contact, RWL gate, storage gate, GND contact) sits low in
    the cell. The write nfet (SN contact, WWL gate, WBL contact) sits above the
    storage gate, so each word line crosses only its own transistor.
    """

    w_um: float = 0.42
    l_um: float = 0.15
    mim_cap: bool = False

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("w_um", self.w_um, MIN_W_UM, MAX_W_UM),
            ("l_um", self.l_um, MIN_L_UM, MAX_L_UM),
        ):
            if not low <= value <= high:
                raise ValueError(
                    f"{name}={value} is outside the eDRAM cell range [{low}, {high}] um"
                )
            check_on_grid(f"{name}/2", value / 2)

    @property
    def x_write(self) -> float:
        # poly licon 0.19 um from the write diffusion (licon.14)
        return round(X_SN_CONTACT_UM + 0.085 + 0.19 + self.w_um / 2, 3)

    @property
    def x_read(self) -> float:
        # 0.27 um diff spacing (difftap.3) between the write and read diffusions
        return round(self.x_write + self.w_um + 0.27, 3)

    @property
    def x_gnd(self) -> float:
        # 0.23 um met1 lines 0.14 um apart (m1.2)
        return round(self.x_read + 0.37, 3)

    # Read stack, from the bottom. Each contact sits 0.04 um inside the diff end
    # (licon.5a) and 0.055 um from its gate (licon.11).
    read_y0 = 0.135
    y_rbl = 0.26
    rwl_y0 = 0.40

    @property
    def storage_gate_y0(self) -> float:
        return round(self.rwl_y0 + self.l_um + 0.21, 3)  # poly spacing (poly.2)

    @property
    def y_gnd(self) -> float:
        return round(self.storage_gate_y0 + self.l_um + 0.14, 3)

    @property
    def read_y1(self) -> float:
        return round(self.y_gnd + 0.125, 3)

    @property
    def wwl_y0(self) -> float:
        # field poly 0.075 um above the read diffusion (poly.4)
        return round(self.read_y1 + 0.075, 3)

    @property
    def y_sn(self) -> float:
        return round(self.wwl_y0 - 0.14, 3)

    @property
    def y_wbl(self) -> float:
        return round(self.wwl_y0 + self.l_um + 0.14, 3)

    @property
    def y_sn_poly_contact(self) -> float:
        return round(self.storage_gate_y0 + 0.135, 3)

    @property
    def width_um(self) -> float:
        # li1 of the GND strap and poly of the storage gate 0.17 and 0.21 um
        # from the next cell's SN contact pad (li.3, poly.2)
        return max(
            MIN_CELL_WIDTH_UM,
            _ceil_grid(self.x_gnd + 0.085 + 0.17 - (X_SN_CONTACT_UM - 0.165)),
            _ceil_grid(self.x_read + self.w_um / 2 + 0.13 + 0.21 - 0.05),
        )

    @property
    def height_um(self) -> float:
        height = round(self.y_wbl + 0.125 + 0.135, 3)
        return max(height, MIM_PITCH_UM) if self.mim_cap else height

    @property
    def capm_box_um(self) -> tuple[float, float, float, float]:
        """capm top plate (x0, y0, x1, y1), 0.84 um (capm.2a) from its neighbours.

        met3 encloses it by 0.14 um or more (capm.3). NOTE: the sky130 package's
        mimcap pcell keeps 0.5 um of met3 around capm. If the foundry rule
        requires that much, the MIM cell pitch grows by about 0.7 um.
        """
        return (
            0.35,
            0.42,
            round(0.35 + self.width_um - 0.84, 3),
            round(0.42 + self.height_um - 0.84, 3),
        )


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


def edram_cell_info(
    *, mim_cap: bool = False, w_um: float = 0.42, l_um: float = 0.15
) -> EdramCellInfo:
    """Return the pitch and MIM area of the drawn gain cell."""
    geom = EdramGeometry(w_um, l_um, mim_cap)
    capm_area = 0.0
    if mim_cap:
        x0, y0, x1, y1 = geom.capm_box_um
        capm_area = round((x1 - x0) * (y1 - y0), 6)
    return EdramCellInfo(geom.width_um, geom.height_um, capm_area)


def edram_cell(
    *, mim_cap: bool = False, w_um: float = 0.42, l_um: float = 0.15
) -> gdstk.Cell:
    """Draw one 3T gain cell with its origin at the lower-left corner."""
    g = EdramGeometry(w_um, l_um, mim_cap)
    suffix = "_mim" if mim_cap else ""
    d = CellDrawer(f"edram_3t_w{round(w_um * 1000)}_l{round(l_um * 1000)}{suffix}")
    width, height = g.width_um, g.height_um
    half_w = w_um / 2
    xw, xr, xg, xp = g.x_write, g.x_read, g.x_gnd, X_SN_CONTACT_UM

    d.rect("nsdm", 0, 0, width, height)
    d.rect("diff", xr - half_w, g.read_y0, xr + half_w, g.read_y1)
    d.rect("diff", xw - half_w, g.y_sn - 0.125, xw + half_w, g.y_wbl + 0.125)
    d.rect("poly", 0, g.rwl_y0, width, g.rwl_y0 + l_um)  # RWL
    d.rect("poly", 0, g.wwl_y0, width, g.wwl_y0 + l_um)  # WWL
    storage_y0 = g.storage_gate_y0
    d.rect("poly", xp - 0.085, storage_y0, xr + half_w + 0.13, storage_y0 + l_um)
    # contact pad of the storage gate: 0.05 and 0.08 um around the licon (licon.8/8a)
    pad_y1 = max(storage_y0 + 0.27, storage_y0 + l_um)
    d.rect("poly", xp - 0.165, storage_y0, xp + 0.165, pad_y1)
    y_poly = g.y_sn_poly_contact
    d.square("npc", xp, y_poly, 0.37)

    contacts = ((xr, g.y_rbl), (xr, g.y_gnd), (xw, g.y_sn), (xw, g.y_wbl), (xp, y_poly))
    for x, y in contacts:
        d.square("licon", x, y, 0.17)
    d.rect("li1", xr - 0.17, g.y_rbl - 0.085, xr + 0.17, g.y_rbl + 0.085)  # RBL
    d.rect("li1", xr - 0.17, g.y_gnd - 0.085, xg + 0.085, g.y_gnd + 0.085)  # GND
    d.rect("li1", xw - 0.17, g.y_wbl - 0.085, xw + 0.17, g.y_wbl + 0.085)  # WBL
    # SN: poly contact pad, up and over to the write nfet's lower contact
    d.rect("li1", xp - 0.165, y_poly - 0.085, xp + 0.165, g.y_sn + 0.085)
    d.rect("li1", xp - 0.085, g.y_sn - 0.085, xw + 0.17, g.y_sn + 0.085)

    for x, y in ((xr, g.y_rbl), (xg, g.y_gnd), (xw, g.y_wbl)):
        d.square("mcon", x, y, 0.17)
    for x in (xw, xr, xg):
        d.rect("met1", x - 0.115, 0, x + 0.115, height)
    if mim_cap:
        _draw_mim(d, g)
    return d.cell


def _draw_mim(d: CellDrawer, g: EdramGeometry) -> None:
    """Stack SN up to a met3 plate and put capm, via3 and a met4 plate line on it."""
    xp, y = X_SN_CONTACT_UM, g.y_sn_poly_contact
    d.square("mcon", xp, y, 0.17)
    d.square("met1", xp, y, 0.32)
    d.square("via", xp, y, 0.15)
    d.square("met2", xp, y, 0.37)
    d.square("via2", xp, y, 0.2)
    x0, y0, x1, y1 = g.capm_box_um
    # met3 keeps 0.3 um (m3.2) from the next cell's plate
    d.rect("met3", 0.05, y0 - 0.14, g.width_um - 0.25, y1 + 0.14)
    d.rect("capm", x0, y0, x1, y1)
    yc = round((y0 + y1) / 2, 3)
    d.square("via3", round((x0 + x1) / 2, 3), yc, 0.2)
    d.rect("met4", 0, yc - 0.2, g.width_um, yc + 0.2)


def edram_array(
    rows: int = 4,
    cols: int = 4,
    *,
    mim_cap: bool = False,
    w_um: float = 0.42,
    l_um: float = 0.15,
) -> gdstk.Cell:
    """Draw a rows x cols array of abutted gain cells with labelled lines.

    NOTE: the array has no substrate taps. A larger array needs p+ taps on the
    GND lines, for example a tap column like the ROM tile's strap column.
    """
    for name, value in (("rows", rows), ("cols", cols)):
        if value < 1:
            raise ValueError(f"{name}={value} must be at least 1")
    cell = edram_cell(mim_cap=mim_cap, w_um=w_um, l_um=l_um)
    g = EdramGeometry(w_um, l_um, mim_cap)
    suffix = "_mim" if mim_cap else ""
    d = CellDrawer(f"edram_array_{rows}x{cols}{suffix}")
    for row in range(rows):
        for col in range(cols):
            d.place(cell, round(col * g.width_um, 3), round(row * g.height_um, 3))
    top = round(rows * g.height_um - 0.05, 3)
    for col in range(cols):
        x0 = col * g.width_um
        for name, x in (("WBL", g.x_write), ("RBL", g.x_read), ("GND", g.x_gnd)):
            label = "GND" if name == "GND" else f"{name}{col}"
            d.label("met1_label", label, round(x0 + x, 3), top)
    return d.cell
