"""Decode-refresh gain-cell eDRAM for the on-die KV cache: netlists, retention, table.

Every decode step reads the whole KV cache and writes it back, so a cell needs no
separate refresh while the decode interval stays below its retention time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.optimize import brentq

from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.pdk import check_device_size
from bitrom_char.spice import Deck, Simulator
from bitrom_char.spice.measure import Average, Find, Integral, OperatingPoint, When
from bitrom_char.tables import Table

log = logging.getLogger(__name__)

# NOTE: sky130 has no high-Vt 1.8 V nfet; the flavours below are the 1.8 V core
# devices that the combined models define (grep '^.subckt' models_fet.spice).
WRITE_DEVICES = ("nfet_01v8", "nfet_01v8_lvt", "pfet_01v8", "pfet_01v8_hvt")
STORAGE_DEVICES = ("nfet_01v8", "nfet_01v8_lvt")
TOPOLOGIES = ("3t", "2t")

MAX_VDD_V = 1.95  # sky130 1.8 V device models are valid up to 1.95 V
MIM_CAP_F_PER_UM2 = 2e-15  # sw_cap_mim_ca in the sky130 nominal parameters
MIM_MIN_SIDE_UM = 1.0  # capm.1: minimum MIM plate width
MIM_SPACING_UM = 0.84  # capm.2a: minimum spacing between MIM plates
# Source/drain diffusion past the gate with one contact: licon-to-gate 0.055 um,
# licon 0.17 um and diffusion enclosure 0.06 um (licon.11, licon.1, licon.5c).
DIFF_EXT_UM = 0.285


@dataclass(frozen=True)
class EdramDesign:
    """Gain-cell structure, device sizes and column periphery of one eDRAM column.

    The write word line (WWL) turns on `wwl_overdrive_v` beyond its on rail: above
    VDD for an nfet write device, below 0 V for a pfet. It turns off
    `wwl_underdrive_v` beyond its off rail: below 0 V for an nfet, above VDD for a
    pfet. Both widen the swing, which the 1.95 V model limit bounds.
    """

    topology: str = "3t"
    write_device: str = "nfet_01v8"
    write_w_um: float = 0.42
    write_l_um: float = 0.15
    storage_device: str = "nfet_01v8"
    storage_w_um: float = 0.42
    storage_l_um: float = 0.15
    read_device: str = "nfet_01v8"
    read_w_um: float = 0.42
    read_l_um: float = 0.15
    mim_w_um: float = 0.0  # 0 means no MIM capacitor on the storage node
    mim_l_um: float = 0.0
    wwl_overdrive_v: float = 0.0
    wwl_underdrive_v: float = 0.0
    rows: int = 64
    bitline_wire_cap_per_row_f: float = 0.2e-15
    write_pulse_s: float = 5e-9
    read_window_s: float = 5e-9
    sense_margin_v: float = 0.1

    def validate(self, vdd_v: float) -> None:
        """Raise ValueError naming the first invalid field, its range and the fix."""
        self._validate_devices()
        self._validate_levels(vdd_v)
        self._validate_column()

    def _validate_devices(self) -> None:
        _check_choice("topology", self.topology, TOPOLOGIES)
        _check_choice("write_device", self.write_device, WRITE_DEVICES)
        _check_choice("storage_device", self.storage_device, STORAGE_DEVICES)
        _check_choice("read_device", self.read_device, STORAGE_DEVICES)
        for role in ("write", "storage", "read"):
            check_device_size(
                f"sky130_fd_pr__{getattr(self, f'{role}_device')}",
                getattr(self, f"{role}_w_um"),
                getattr(self, f"{role}_l_um"),
            )
        if self.mim_w_um == 0 and self.mim_l_um == 0:
            return
        for name in ("mim_w_um", "mim_l_um"):
            value = getattr(self, name)
            if not value >= MIM_MIN_SIDE_UM:
                raise ValueError(
                    f"{name}={value} um is below the {MIM_MIN_SIDE_UM} um minimum"
                    " side of sky130_fd_pr__cap_mim_m3_1: use 0 for both sides"
                    f" (no capacitor) or {MIM_MIN_SIDE_UM} um or more"
                )

    def _validate_levels(self, vdd_v: float) -> None:
        for name in ("wwl_overdrive_v", "wwl_underdrive_v"):
            value = getattr(self, name)
            if not value >= 0.0:
                raise ValueError(
                    f"{name}={value} V is invalid: use 0 V or more (it extends the"
                    " write word-line swing beyond the rails)"
                )
        wwl_span_v = vdd_v + self.wwl_overdrive_v + self.wwl_underdrive_v
        if wwl_span_v > MAX_VDD_V + 1e-9:
            raise ValueError(
                f"write word-line swing {wwl_span_v:.3f} V (vdd_v + wwl_overdrive_v"
                f" + wwl_underdrive_v) exceeds the {MAX_VDD_V} V limit of the sky130"
                " 1.8 V device models: lower vdd_v or the over/underdrive"
            )
        if not 0.0 <= self.sense_margin_v < 0.5 * vdd_v:
            raise ValueError(
                f"sense_margin_v={self.sense_margin_v} V is invalid: use 0 V up to"
                f" half of vdd_v ({0.5 * vdd_v:g} V)"
            )

    def _validate_column(self) -> None:
        if not (int(self.rows) == self.rows and self.rows >= 1):
            raise ValueError(f"rows={self.rows!r} is invalid: use an integer >= 1")
        if not self.bitline_wire_cap_per_row_f >= 0:
            raise ValueError(
                f"bitline_wire_cap_per_row_f={self.bitline_wire_cap_per_row_f} F"
                " is invalid: use 0 F or more"
            )
        for name in ("write_pulse_s", "read_window_s"):
            value = getattr(self, name)
            if not value >= 2 * EDGE_S:
                raise ValueError(
                    f"{name}={value} s is invalid: use at least {2 * EDGE_S:g} s,"
                    " two stimulus edges"
                )

    @property
    def write_is_pfet(self) -> bool:
        return self.write_device.startswith("pfet")

    @property
    def storage_cap_f(self) -> float:
        """MIM capacitance added to the storage node (F), 0 without a MIM capacitor."""
        return MIM_CAP_F_PER_UM2 * self.mim_w_um * self.mim_l_um

    def wwl_levels_v(self, vdd_v: float) -> tuple[float, float]:
        """Return the (on, off) levels of the write word line in volts."""
        if self.write_is_pfet:
            return -self.wwl_overdrive_v, vdd_v + self.wwl_underdrive_v
        return vdd_v + self.wwl_overdrive_v, -self.wwl_underdrive_v

    def rwl_levels_v(self, vdd_v: float) -> tuple[float, float]:
        """Return the (on, off) levels of the read word line in volts.

        In the 2T cell the read word line is the storage transistor's source line: it
        idles at VDD so the device stays off and drops to 0 V to read.
        """
        if self.topology == "2t":
            return 0.0, vdd_v
        return vdd_v, 0.0

    def cell_area_um2(self) -> float:
        """Estimate the cell area (um^2) from device footprints and the MIM plate.

        Each transistor takes (W + 0.27 um diffusion spacing) by (L + 2 x 0.285 um
        contacted diffusion + 0.17 um spacing). The MIM plate with its spacing to the
        next plate sits above the devices on metal 3, so the larger of the two sets
        the area.
        """
        # NOTE: an estimate from design rules, not a drawn layout.
        roles = ["write", "storage"] + (["read"] if self.topology == "3t" else [])
        devices_um2 = 0.0
        for role in roles:
            w_um = getattr(self, f"{role}_w_um")
            l_um = getattr(self, f"{role}_l_um")
            devices_um2 += (w_um + 0.27) * (l_um + 2 * DIFF_EXT_UM + 0.17)
        mim_um2 = 0.0
        if self.mim_w_um > 0:
            mim_um2 = (self.mim_w_um + MIM_SPACING_UM) * (
                self.mim_l_um + MIM_SPACING_UM
            )
        return max(devices_um2, mim_um2)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is invalid: use one of {allowed}")


# --- netlists --------------------------------------------------------------------

EDGE_S = 100e-12  # rise and fall time of every stimulus
# Print step of the access decks. Without an explicit max step ngspice also takes it
# as the max step.
ACCESS_STEP_S = 50e-12
# Longer holds are simulated in two phases (see read_after_hold), because with steps
# sized for a long hold ngspice 39 skipped the read pulse's PWL corners in a test.
LONG_HOLD_S = 100e-9
T_START_S = 1e-9  # settle time before the first stimulus edge
# Periphery device sizes (W/L in um). The word-line drivers are the share of one
# column: a driver sized to switch one cell's gate.
BITLINE_DRIVER_NFET = (1.0, 0.15)
BITLINE_DRIVER_PFET = (2.0, 0.15)
WORDLINE_DRIVER_NFET = (0.42, 0.15)
WORDLINE_DRIVER_PFET = (0.84, 0.15)
PRECHARGE_PFET = (1.0, 0.15)
SENSE_NFET = (0.42, 0.15)
SENSE_PFET = (0.84, 0.15)
CELL_SUBCKT = "edram_gain_cell"
# Supplies whose delivered energy counts as access energy: the periphery supply
# and the two write word-line rails.
ENERGY_SUPPLIES = ("vdd", "vwh", "vwl")


def fet_line(
    name: str,
    drain: str,
    gate: str,
    source: str,
    body: str,
    device: str,
    w_um: float,
    l_um: float,
) -> str:
    """Return a sky130 transistor instance with contacted source/drain junctions.

    The junction area and perimeter come from a diffusion of DIFF_EXT_UM past the
    gate, so junction leakage and capacitance are part of the result.
    """
    area_um2 = w_um * DIFF_EXT_UM
    perimeter_um = 2 * (w_um + DIFF_EXT_UM)
    return (
        f"X{name} {drain} {gate} {source} {body} sky130_fd_pr__{device}"
        f" w={w_um:g} l={l_um:g} ad={area_um2:.6g} as={area_um2:.6g}"
        f" pd={perimeter_um:.6g} ps={perimeter_um:.6g}"
    )


def _cell_fet(
    design: EdramDesign, role: str, drain: str, gate: str, source: str, body: str
) -> str:
    return fet_line(
        role,
        drain,
        gate,
        source,
        body,
        getattr(design, f"{role}_device"),
        getattr(design, f"{role}_w_um"),
        getattr(design, f"{role}_l_um"),
    )


def cell_subckt(design: EdramDesign) -> str:
    """Return the gain-cell subcircuit with ports wbl wwl rbl rwl sn vdd.

    3T: the write device connects the write bit line to the storage node (sn), the
    storage nfet's gate is sn, and the read nfet connects it to the read bit line.
    2T: the storage nfet sits between the read bit line and the read word line,
    which acts as its source line.
    """
    write_body = "vdd" if design.write_is_pfet else "0"
    lines = [
        f".subckt {CELL_SUBCKT} wbl wwl rbl rwl sn vdd",
        _cell_fet(design, "write", "wbl", "wwl", "sn", write_body),
    ]
    if design.topology == "3t":
        lines.append(_cell_fet(design, "storage", "mid", "sn", "0", "0"))
        lines.append(_cell_fet(design, "read", "rbl", "rwl", "mid", "0"))
    else:
        lines.append(_cell_fet(design, "storage", "rbl", "sn", "rwl", "0"))
    if design.mim_w_um > 0:
        # The sky130 model is a plain capacitor, with no plate-to-substrate part.
        lines.append(
            f"Xmim sn 0 sky130_fd_pr__cap_mim_m3_1 w={design.mim_w_um:g}"
            f" l={design.mim_l_um:g}"
        )
    lines.append(f".ends {CELL_SUBCKT}")
    return "\n".join(lines)


Level = float | str  # a voltage, or a deck parameter in braces such as "{data_v}"


def _level_text(level: Level) -> str:
    return level if isinstance(level, str) else f"{level:.6g}"


def pwl(points: list[tuple[float, Level]]) -> str:
    """Return a SPICE PWL() source value from (time_s, level) points."""
    return "PWL(" + " ".join(f"{t:.6g} {_level_text(v)}" for t, v in points) + ")"


def data_params(vdd_v: float, data: int) -> dict[str, float]:
    """Return the deck parameters that set the data value of a testbench.

    The netlists refer to them, so decks for 1 and 0 share one loaded circuit.
    """
    if data not in (0, 1):
        raise ValueError(f"data={data!r} is invalid: use 0 or 1")
    data_v = vdd_v if data else 0.0
    return {"data_v": data_v, "complement_v": vdd_v - data_v}


def pulse_points(
    idle_v: Level, active_v: Level, start_s: float, stop_s: float
) -> list[tuple[float, Level]]:
    """Return PWL points of a pulse to active_v that rises at start_s, falls at stop_s."""
    return [
        (0.0, idle_v),
        (start_s, idle_v),
        (start_s + EDGE_S, active_v),
        (stop_s, active_v),
        (stop_s + EDGE_S, idle_v),
    ]


def inverter_lines(
    name: str, out: str, inp: str, high: str, low: str, nfet: tuple, pfet: tuple
) -> list[str]:
    return [
        fet_line(f"{name}n", out, inp, low, low, "nfet_01v8", *nfet),
        fet_line(f"{name}p", out, inp, high, high, "pfet_01v8", *pfet),
    ]


@dataclass(frozen=True)
class AccessTiming:
    """Event times (s) of one column testbench: a write, a hold, then a read."""

    din_s: float  # write data reaches the write driver input
    wwl_on_s: float
    write_end_s: float  # write word line off, one edge of driver delay later
    bias_s: float  # the data input starts to return to the complement of the data
    hold_start_s: float  # every write edge has settled: the hold starts here
    read_s: float  # read word line starts to turn on
    sense_s: float  # the sense stage samples the read bit line
    stop_s: float

    @property
    def write_window_s(self) -> tuple[float, float]:
        return self.din_s - 0.2e-9, self.bias_s - 0.05e-9  # ends before the return

    @property
    def read_window_s(self) -> tuple[float, float]:
        return self.read_s - 0.5e-9, self.stop_s


def access_timing(design: EdramDesign, hold_s: float, write: bool) -> AccessTiming:
    """Return the event times of a column testbench.

    hold_s is the time from the hold start to the read (at least 0.5 ns). The hold
    starts once the write word line is off and the write bit line is back at the
    complement of the data, so both coupling kicks are in the stored level. Without
    a write the hold starts at time 0 and the read follows the settle time and
    hold_s.
    """
    hold_s = float(hold_s)  # a numpy float would print as np.float64(...) in decks
    din_s = T_START_S
    wwl_on_s = din_s + 0.5e-9
    write_end_s = wwl_on_s + EDGE_S + design.write_pulse_s + EDGE_S
    bias_s = write_end_s + 0.5e-9
    hold_start_s = bias_s + EDGE_S + 0.5e-9
    if write:
        read_s = hold_start_s + max(hold_s, 0.5e-9)
    else:
        read_s = T_START_S + 0.5e-9 + hold_s
    sense_s = read_s + EDGE_S + design.read_window_s
    return AccessTiming(
        din_s=din_s,
        wwl_on_s=wwl_on_s,
        write_end_s=write_end_s,
        bias_s=bias_s,
        hold_start_s=hold_start_s,
        read_s=read_s,
        sense_s=sense_s,
        stop_s=sense_s + EDGE_S + 3e-9,
    )


def column_netlist(
    design: EdramDesign,
    vdd_v: float,
    *,
    hold_s: float = 0.0,
    write: bool = True,
) -> tuple[str, AccessTiming]:
    """Return a column testbench (rows cells, drivers, precharge, sense) and its timing.

    The target cell is written with the level of parameter `data_v` (when `write`),
    held for hold_s and read. The other rows - 1 cells store `complement_v`, and the
    write bit line sits at `complement_v` outside the write: both are the worst case
    for the target cell. Without `write` the target cell's storage node starts at
    parameter `sn_start_v` and is read after hold_s. data_params() gives the values.
    """
    timing = access_timing(design, hold_s, write)
    wwl_on_v, wwl_off_v = design.wwl_levels_v(vdd_v)
    rwl_on_v, rwl_off_v = design.rwl_levels_v(vdd_v)
    high_rail_v, low_rail_v = max(wwl_on_v, wwl_off_v), min(wwl_on_v, wwl_off_v)
    sn_start = "{complement_v}" if write else "{sn_start_v}"

    if write:
        din = pwl(
            pulse_points("{complement_v}", "{data_v}", timing.din_s, timing.bias_s)
        )
        # The driver inverts: its input sits at the opposite rail of the output.
        wwl_in = pwl(
            pulse_points(
                high_rail_v + low_rail_v - wwl_off_v,
                high_rail_v + low_rail_v - wwl_on_v,
                timing.wwl_on_s,
                timing.write_end_s - 2 * EDGE_S,
            )
        )
    else:
        din = "DC {complement_v}"
        wwl_in = f"DC {high_rail_v + low_rail_v - wwl_off_v:g}"
    rwl_in = pwl(
        pulse_points(vdd_v - rwl_off_v, vdd_v - rwl_on_v, timing.read_s, timing.sense_s)
    )
    precharge_b = pwl(
        pulse_points(0.0, vdd_v, timing.read_s - 0.3e-9, timing.sense_s + EDGE_S)
    )
    wire_cap_f = design.rows * design.bitline_wire_cap_per_row_f
    wwl_idle_node = "wwl_hi" if design.write_is_pfet else "wwl_lo"
    rwl_idle_node = "vdd" if design.topology == "2t" else "0"

    lines = [
        cell_subckt(design),
        f"Vdd vdd 0 {vdd_v:g}",
        f"Vwh wwl_hi 0 {high_rail_v:g}",
        f"Vwl wwl_lo 0 {low_rail_v:g}",
        f"Vdin din 0 {din}",
        f"Vwwlin wwl_in 0 {wwl_in}",
        f"Vrwlin rwl_in 0 {rwl_in}",
        f"Vpre pre_b 0 {precharge_b}",
        "* write driver: two inverters from the data input to the write bit line",
        *inverter_lines(
            "wd1", "wbl_b", "din", "vdd", "0", BITLINE_DRIVER_NFET, BITLINE_DRIVER_PFET
        ),
        *inverter_lines(
            "wd2", "wbl", "wbl_b", "vdd", "0", BITLINE_DRIVER_NFET, BITLINE_DRIVER_PFET
        ),
        # NOTE: with wwl_underdrive_v > 0 the write word-line driver's nfet body sits
        # below ground, which silicon only allows in an isolated (deep n-well) p-well.
        "* word-line drivers: the write driver runs between the write word-line rails",
        *inverter_lines(
            "wwd",
            "wwl",
            "wwl_in",
            "wwl_hi",
            "wwl_lo",
            WORDLINE_DRIVER_NFET,
            WORDLINE_DRIVER_PFET,
        ),
        *inverter_lines(
            "rwd",
            "rwl",
            "rwl_in",
            "vdd",
            "0",
            WORDLINE_DRIVER_NFET,
            WORDLINE_DRIVER_PFET,
        ),
        "* read bit-line precharge and inverter sense stage",
        fet_line("pre", "rbl", "pre_b", "vdd", "vdd", "pfet_01v8", *PRECHARGE_PFET),
        *inverter_lines("sa", "sense_out", "rbl", "vdd", "0", SENSE_NFET, SENSE_PFET),
        f"Cwbl wbl 0 {wire_cap_f:.6g}",
        f"Crbl rbl 0 {wire_cap_f:.6g}",
        f"Xcell0 wbl wwl rbl rwl sn vdd {CELL_SUBCKT}",
    ]
    for row in range(1, design.rows):
        lines.append(
            f"Xcell{row} wbl {wwl_idle_node} rbl {rwl_idle_node} sn_other vdd"
            f" {CELL_SUBCKT}"
        )
    ic = f".ic v(sn)={sn_start} v(rbl)={vdd_v:g}"
    if design.rows > 1:
        ic += " v(sn_other)={complement_v}"
    lines.append(ic)
    return "\n".join(lines), timing


def hold_netlist(design: EdramDesign, vdd_v: float) -> str:
    """Return a one-cell testbench that holds the level `sn_start_v` from time 0.

    DC sources put the cell's lines at their standby levels. The write bit line
    sits at parameter `complement_v`, the complement of the stored data and the
    worst case for leakage (see data_params()). The read bit line stays precharged
    at VDD and both word lines sit at their off levels.
    """
    _, wwl_off_v = design.wwl_levels_v(vdd_v)
    _, rwl_off_v = design.rwl_levels_v(vdd_v)
    lines = [
        cell_subckt(design),
        f"Vdd vdd 0 {vdd_v:g}",
        "Vwbl wbl 0 {complement_v}",
        f"Vwwl wwl 0 {wwl_off_v:g}",
        f"Vrbl rbl 0 {vdd_v:g}",
        f"Vrwl rwl 0 {rwl_off_v:g}",
        f"Xcell0 wbl wwl rbl rwl sn vdd {CELL_SUBCKT}",
        ".ic v(sn)={sn_start_v}",
    ]
    return "\n".join(lines)


# --- decks -----------------------------------------------------------------------

HOLD_MAX_S = 1.0  # maximum hold simulated, so a longer retention is reported as NaN
HOLD_POINTS = 1000  # the max step of a hold transient is its span / HOLD_POINTS
REFINE_SPAN = 2.0  # the refining hold run stops at 2 x the first estimate
SETTLED_V = 1e-3  # a stored level that moves less than this over the last half
# of the longest hold has settled at a leakage equilibrium
CRITICAL_TOL_V = 5e-3  # resolution of the critical storage level search


@dataclass(frozen=True)
class Conditions:
    """Operating point of one characterization: process corner, supply, temperature."""

    corner: str
    vdd_v: float
    temp_c: float


def sense_threshold_deck(cond: Conditions) -> Deck:
    """Return an `op` deck of the sense inverter with its input tied to its output.

    That node settles at the inverter's switching threshold: the read bit-line level
    that separates a read 1 from a read 0.
    """
    netlist = "\n".join(
        [
            f"Vdd vdd 0 {cond.vdd_v:g}",
            *inverter_lines("sa", "vm", "vm", "vdd", "0", SENSE_NFET, SENSE_PFET),
        ]
    )
    return Deck(
        title="edram sense threshold",
        netlist=netlist,
        analysis="op",
        measurements=[OperatingPoint("threshold_v", "v(vm)")],
        corner=cond.corner,
        temp_c=cond.temp_c,
    )


def _energy_measurements(phase: str, window_s: tuple[float, float]) -> list[Integral]:
    start_s, stop_s = window_s
    return [
        Integral(f"q_{supply}_{phase}", f"i({supply})", start_s, stop_s)
        for supply in ENERGY_SUPPLIES
    ]


def access_deck(
    design: EdramDesign, cond: Conditions, data: int, hold_s: float = 0.0
) -> tuple[Deck, AccessTiming]:
    """Return the column deck that writes `data`, holds it for hold_s and reads it.

    Holds longer than LONG_HOLD_S need the two-phase read_after_hold() instead.
    """
    if hold_s > LONG_HOLD_S:
        raise ValueError(
            f"hold_s={hold_s} s is too long for one access transient: use at most"
            f" {LONG_HOLD_S} s, or read_after_hold() for longer holds"
        )
    netlist, timing = column_netlist(design, cond.vdd_v, hold_s=hold_s)
    analysis = f"tran {ACCESS_STEP_S!r} {timing.stop_s!r}"

    measurements = [
        Find("stored_v", "v(sn)", timing.hold_start_s),
        Find("before_off_v", "v(sn)", timing.write_end_s - 2 * EDGE_S),
        Find("rbl_at_sense_v", "v(rbl)", timing.sense_s),
        *_energy_measurements("write", timing.write_window_s),
        *_energy_measurements("read", timing.read_window_s),
    ]
    deck = Deck(
        title="edram column write and read",
        netlist=netlist,
        analysis=analysis,
        measurements=measurements,
        corner=cond.corner,
        temp_c=cond.temp_c,
        params=data_params(cond.vdd_v, data),
        save=("v(sn)", "v(wwl)", "v(rwl)", "v(rbl)"),
    )
    return deck, timing


def read_deck(design: EdramDesign, cond: Conditions, data: int) -> Deck:
    """Return the column deck that reads a storage level given as `sn_start_v`.

    `data` is the value the level stands for; the other cells store its complement.
    """
    netlist, timing = column_netlist(design, cond.vdd_v, write=False)
    # The search only needs the read bit line at the sense instant, so the run stops
    # there instead of simulating the bit-line restore.
    stop_s = timing.sense_s + EDGE_S
    return Deck(
        title="edram column read of a stored level",
        netlist=netlist,
        analysis=f"tran {ACCESS_STEP_S!r} {stop_s!r}",
        measurements=[Find("rbl_at_sense_v", "v(rbl)", timing.sense_s)],
        corner=cond.corner,
        temp_c=cond.temp_c,
        params={**data_params(cond.vdd_v, data), "sn_start_v": 0.0},
    )


HOLD_SOURCES = ("vdd", "vwbl", "vwwl", "vrbl", "vrwl")


def hold_deck(
    design: EdramDesign,
    cond: Conditions,
    data: int,
    stored_v: float,
    critical_v: float,
    stop_s: float = HOLD_MAX_S,
    average_to_s: float | None = None,
) -> Deck:
    """Return the one-cell deck that holds `data`, stored at stored_v, until stop_s.

    It measures when the storage node crosses critical_v, its level at the end and
    halfway, and the mean source currents from 0 to average_to_s (default stop_s).
    """
    edge = "fall" if data else "rise"
    average_to_s = stop_s if average_to_s is None else average_to_s
    measurements = [
        When("crossing_s", "v(sn)", critical_v, edge),
        Find("end_v", "v(sn)", stop_s * (1 - 1e-5)),  # inside the span after rounding
        Find("half_v", "v(sn)", stop_s / 2),
        *[
            Average(f"i_{name}", f"i({name})", 0.0, average_to_s)
            for name in HOLD_SOURCES
        ],
    ]
    return Deck(
        title="edram cell hold",
        netlist=hold_netlist(design, cond.vdd_v),
        analysis=f"tran 10p {stop_s!r} 0 {stop_s / HOLD_POINTS!r}",
        measurements=measurements,
        corner=cond.corner,
        temp_c=cond.temp_c,
        params={**data_params(cond.vdd_v, data), "sn_start_v": stored_v},
    )


def hold_source_levels_v(
    design: EdramDesign, vdd_v: float, data: int
) -> dict[str, float]:
    """Return the DC level of every source of the hold deck during the hold."""
    _, wwl_off_v = design.wwl_levels_v(vdd_v)
    _, rwl_off_v = design.rwl_levels_v(vdd_v)
    return {
        "vdd": vdd_v,
        "vwbl": 0.0 if data else vdd_v,
        "vwwl": wwl_off_v,
        "vrbl": vdd_v,
        "vrwl": rwl_off_v,
    }


# --- measurement -----------------------------------------------------------------


class MeasurementError(RuntimeError):
    """A simulation gave no number where the characterization needs one."""


def _value(result, name: str) -> float:
    value = result.values.get(name, math.nan)
    if math.isnan(value):
        reason = result.reasons.get(name, "no value")
        raise MeasurementError(f"{name}: {reason}")
    return value


def first_crossing_s(
    time_s: np.ndarray, values: np.ndarray, level: float, after_s: float, falling: bool
) -> float:
    """Return the first time after after_s that values crosses level, or NaN."""
    mask = time_s >= after_s
    t, v = time_s[mask], values[mask]
    beyond = v <= level if falling else v >= level
    if not beyond.any():
        return math.nan
    index = int(np.argmax(beyond))
    if index == 0:
        return float(t[0])
    v0, v1 = v[index - 1], v[index]
    fraction = (v0 - level) / (v0 - v1)
    return float(t[index - 1] + fraction * (t[index] - t[index - 1]))


@dataclass
class AccessResult:
    """One write-then-read of a column at one data value."""

    data: int
    stored_v: float  # storage node level at the hold start, after the write
    rbl_at_sense_v: float
    write_energy_j: float
    read_energy_j: float
    write_time_s: float  # 50 % word-line on-edge to 90 % of the storage-node swing
    read_time_s: float  # NaN for a 0, whose read bit line stays high


def supply_energy_j(result, phase: str, design: EdramDesign, vdd_v: float) -> float:
    """Return the energy that the periphery and word-line supplies deliver in a phase."""
    wwl_on_v, wwl_off_v = design.wwl_levels_v(vdd_v)
    levels_v = {
        "vdd": vdd_v,
        "vwh": max(wwl_on_v, wwl_off_v),
        "vwl": min(wwl_on_v, wwl_off_v),
    }
    # ngspice counts current into a source's + node as positive, so a supply that
    # delivers charge reports a negative integral.
    return sum(
        -levels_v[supply] * _value(result, f"q_{supply}_{phase}")
        for supply in ENERGY_SUPPLIES
    )


def run_access(
    sim: Simulator,
    design: EdramDesign,
    cond: Conditions,
    data: int,
    threshold_v: float,
    hold_s: float = 0.0,
) -> AccessResult:
    """Write `data` into the column, hold it for hold_s, read it; measure the access."""
    deck, timing = access_deck(design, cond, data, hold_s)
    result = sim.run(deck)
    waves = result.waveforms
    time_s = waves["time"]
    stored_v = _value(result, "stored_v")

    wwl_on_v, wwl_off_v = design.wwl_levels_v(cond.vdd_v)
    wwl_mid_v = 0.5 * (wwl_on_v + wwl_off_v)
    wwl_edge_s = first_crossing_s(
        time_s, waves["v(wwl)"], wwl_mid_v, timing.din_s, falling=wwl_on_v < wwl_off_v
    )
    # The write time ends at 90 % of the swing toward the level just before the word
    # line turns off, so the coupling kick of the turn-off edge does not count.
    start_v = cond.vdd_v if data == 0 else 0.0
    target_v = start_v + 0.9 * (_value(result, "before_off_v") - start_v)
    written_s = first_crossing_s(
        time_s, waves["v(sn)"], target_v, wwl_edge_s, falling=data == 0
    )

    read_time_s = math.nan
    if data:
        rwl_on_v, rwl_off_v = design.rwl_levels_v(cond.vdd_v)
        rwl_edge_s = first_crossing_s(
            time_s,
            waves["v(rwl)"],
            0.5 * (rwl_on_v + rwl_off_v),
            timing.read_s,
            falling=rwl_on_v < rwl_off_v,
        )
        sensed_s = first_crossing_s(
            time_s,
            waves["v(rbl)"],
            threshold_v - design.sense_margin_v,
            rwl_edge_s,
            falling=True,
        )
        read_time_s = sensed_s - rwl_edge_s

    return AccessResult(
        data=data,
        stored_v=stored_v,
        rbl_at_sense_v=_value(result, "rbl_at_sense_v"),
        write_energy_j=supply_energy_j(result, "write", design, cond.vdd_v),
        read_energy_j=supply_energy_j(result, "read", design, cond.vdd_v),
        write_time_s=written_s - wwl_edge_s,
        read_time_s=read_time_s,
    )


def read_is_correct(
    data: int, rbl_at_sense_v: float, threshold_v: float, margin_v: float
) -> bool:
    """Return whether the read bit line sits on the data's side of the threshold.

    A 1 discharges the read bit line, so it must be at least margin_v below the sense
    threshold at the sense instant. A 0 must leave it at least margin_v above.
    """
    if data:
        return rbl_at_sense_v <= threshold_v - margin_v
    return rbl_at_sense_v >= threshold_v + margin_v


def column_hold_deck(
    design: EdramDesign, cond: Conditions, data: int, stored_v: float, hold_s: float
) -> Deck:
    """Return the column deck that holds `data` from stored_v until the read starts.

    The column has no write: the target cell starts at stored_v, the level a write
    leaves (AccessResult.stored_v). The max step is sized for the hold, and the run
    ends just before the read pulse.
    """
    netlist, timing = column_netlist(design, cond.vdd_v, hold_s=hold_s, write=False)
    stop_s = timing.read_s - 0.2e-9
    # Measurement times print with 6 digits, so the level is read 2 ns before the
    # end to stay inside the simulated span.
    return Deck(
        title="edram column hold",
        netlist=netlist,
        analysis=f"tran {ACCESS_STEP_S!r} {stop_s!r} 0 {stop_s / HOLD_POINTS!r}",
        measurements=[Find("held_v", "v(sn)", stop_s - 2e-9)],
        corner=cond.corner,
        temp_c=cond.temp_c,
        params={**data_params(cond.vdd_v, data), "sn_start_v": stored_v},
    )


def read_after_hold(
    sim: Simulator,
    design: EdramDesign,
    cond: Conditions,
    data: int,
    stored_v: float,
    hold_s: float,
) -> tuple[float, float]:
    """Hold `data` in the column from stored_v for hold_s and read it, in two phases.

    Phase one simulates the hold in the whole column, with its drivers, precharge
    and other cells. Phase two reads the column starting from the storage level
    that phase one ends with. A single transient cannot do both, because steps
    sized for the hold miss the read's edges. Returns that level and the read
    bit-line level at the sense instant, both in volts.
    """
    hold = column_hold_deck(design, cond, data, stored_v, hold_s)
    held_v = _value(sim.run(hold), "held_v")
    deck = read_deck(design, cond, data)
    probe = dataclasses.replace(deck, params={**deck.params, "sn_start_v": held_v})
    return held_v, _value(sim.run(probe), "rbl_at_sense_v")


def critical_level_v(
    sim: Simulator,
    design: EdramDesign,
    cond: Conditions,
    data: int,
    stored_v: float,
    threshold_v: float,
) -> float:
    """Find the storage level at which a read of `data` just keeps the sense margin.

    The read outcome depends only on the storage level when the read starts. A
    higher level drives the storage transistor harder and discharges the read bit
    line further, so Brent's method over that level (one column read per step)
    finds the boundary. A stored 1 may decay down to the returned level,
    a stored 0 may rise up to it. Returns +inf for a 0 when even a level of VDD
    still reads as 0. Raises MeasurementError when the freshly stored level itself
    fails to read.
    """
    deck = read_deck(design, cond, data)
    margin_v = design.sense_margin_v
    target_v = threshold_v - margin_v if data else threshold_v + margin_v

    def excess_v(level_v: float) -> float:
        probe = dataclasses.replace(deck, params={**deck.params, "sn_start_v": level_v})
        return _value(sim.run(probe), "rbl_at_sense_v") - target_v

    if data:
        low_v, high_v = 0.0, stored_v
        if excess_v(high_v) >= 0:
            raise MeasurementError(
                f"a freshly stored 1 ({stored_v:.3f} V) reads back with less than"
                f" the {margin_v} V sense margin"
            )
        if excess_v(low_v) <= 0:
            raise MeasurementError("a storage level of 0 V still reads as 1")
    else:
        low_v, high_v = stored_v, cond.vdd_v
        if excess_v(low_v) <= 0:
            raise MeasurementError(
                f"a freshly stored 0 ({stored_v:.3f} V) reads back with less than"
                f" the {margin_v} V sense margin"
            )
        if excess_v(high_v) >= 0:
            return math.inf
    return float(brentq(excess_v, low_v, high_v, xtol=CRITICAL_TOL_V))


@dataclass
class HoldResult:
    """Retention of one data value and the cell's standby power while holding it."""

    retention_s: float  # NaN with a reason when not found, inf when the data settles
    reason: str
    leakage_w: float


def run_hold(
    sim: Simulator,
    design: EdramDesign,
    cond: Conditions,
    data: int,
    stored_v: float,
    critical_v: float,
) -> HoldResult:
    """Measure how long the cell holds `data` before a read loses its sense margin.

    The hold starts from stored_v, the level the column write leaves at its hold
    start (see AccessTiming), so the hold's time 0 is that instant. The hold
    dynamics do not depend on when the read comes, so one hold transient gives the
    storage level at every hold time, and the retention is the time the level
    crosses the critical level. A first run spans HOLD_MAX_S with a coarse max
    step, and a second run to REFINE_SPAN times the first crossing resolves it
    finely. The standby power is the mean over the retention time, or over the
    whole hold when the level never crosses.
    """
    if (stored_v <= critical_v) if data else (stored_v >= critical_v):
        reason = (
            f"the stored {data} is at {stored_v:.3f} V when the hold starts, already"
            f" past the {critical_v:.3f} V critical level"
        )
        return HoldResult(math.nan, reason, math.nan)
    levels_v = hold_source_levels_v(design, cond.vdd_v, data)

    def standby_power_w(result) -> float:
        return sum(
            -levels_v[name] * _value(result, f"i_{name}") for name in HOLD_SOURCES
        )

    result = sim.run(hold_deck(design, cond, data, stored_v, critical_v))
    crossing_s = result.values["crossing_s"]
    if math.isnan(crossing_s):
        leakage_w = standby_power_w(result)
        end_v = _value(result, "end_v")
        drift_v = abs(end_v - _value(result, "half_v"))
        if drift_v < SETTLED_V:
            reason = (
                f"the stored {data} settles at {end_v:.3f} V, short of the"
                f" {critical_v:.3f} V critical level, so it does not decay"
            )
            return HoldResult(math.inf, reason, leakage_w)
        reason = (
            f"the stored {data} reached {end_v:.3f} V after {HOLD_MAX_S} s, short of"
            f" the {critical_v:.3f} V critical level: retention exceeds {HOLD_MAX_S} s"
        )
        return HoldResult(math.nan, reason, leakage_w)

    refine = hold_deck(
        design,
        cond,
        data,
        stored_v,
        critical_v,
        stop_s=REFINE_SPAN * crossing_s,
        average_to_s=crossing_s,
    )
    refined = sim.run(refine)
    if math.isnan(refined.values["crossing_s"]):
        reason = (
            f"the refining hold run found no crossing of {critical_v:.3f} V up to"
            f" {REFINE_SPAN} x the first estimate: {refined.reasons['crossing_s']}"
        )
        return HoldResult(math.nan, reason, standby_power_w(refined))
    return HoldResult(refined.values["crossing_s"], "", standby_power_w(refined))


def combine_retention(
    retention1: HoldResult, retention0: HoldResult
) -> tuple[float, str]:
    """Return the cell's retention (the shorter of 1 and 0) and a reason if NaN.

    A side that is NaN only because it exceeds HOLD_MAX_S is a lower bound, so the
    other side decides when it is shorter than HOLD_MAX_S.
    """
    values = [retention1.retention_s, retention0.retention_s]
    known = [value for value in values if not math.isnan(value)]
    if len(known) == 2:
        return min(known), ""
    exceeded = [
        r
        for r in (retention1, retention0)
        if math.isnan(r.retention_s) and "retention exceeds" in r.reason
    ]
    failed = [r for r in (retention1, retention0) if math.isnan(r.retention_s)]
    if known and len(exceeded) == len(failed) and known[0] < HOLD_MAX_S:
        return known[0], ""
    return math.nan, "; ".join(r.reason for r in failed)


# --- characterization ------------------------------------------------------------

OUTPUT_UNITS = {
    "retention_s": "s",
    "retention1_s": "s",
    "retention0_s": "s",
    "write_energy_j": "J",
    "write_time_s": "s",
    "read_energy_j": "J",
    "read_time_s": "s",
    "refresh_energy_j": "J",
    "refresh_power_w": "W",
    "leakage_w": "W",
    "stored1_v": "V",
    "stored0_v": "V",
    "critical1_v": "V",
    "critical0_v": "V",
    "sense_threshold_v": "V",
    "cell_area_um2": "um^2",
}


def characterize_point(
    design: EdramDesign, cond: Conditions, sim: Simulator
) -> PointResult:
    """Measure retention, access energies and times, and standby power of a column.

    Energies are per column access (one bit) and include the bit lines, their
    drivers, precharge and sense, and one cell's share of the word lines.
    write_energy_j is the mean of writing 1 and 0 with the write bit line toggling.
    read_energy_j is the mean of reading 1 and 0, including the bit-line restore.
    refresh_energy_j is a read plus its write-back: the decode-refresh cost.
    refresh_power_w is the explicit refresh cost per cell: one refresh per
    retention time. leakage_w is the standby power of one cell, the mean of holding
    a 1 and a 0 (see run_hold).
    """
    threshold_v = _value(sim.run(sense_threshold_deck(cond)), "threshold_v")
    accesses = {
        data: run_access(sim, design, cond, data, threshold_v) for data in (1, 0)
    }
    values, reasons = access_values(accesses)
    values["sense_threshold_v"] = threshold_v
    values["cell_area_um2"] = design.cell_area_um2()

    # All reads first, then all holds: each deck kind stays loaded in ngspice.
    critical: dict[int, float] = {}
    for data in (1, 0):
        try:
            critical[data] = critical_level_v(
                sim, design, cond, data, accesses[data].stored_v, threshold_v
            )
        except MeasurementError as error:
            critical[data] = math.nan
            reasons[f"critical{data}_v"] = str(error)
        values[f"critical{data}_v"] = critical[data]
    holds = {
        data: hold_for_level(
            sim, design, cond, data, accesses[data].stored_v, critical[data], reasons
        )
        for data in (1, 0)
    }
    retention_values(holds, values, reasons)
    return PointResult(values, reasons)


def access_values(
    accesses: Mapping[int, AccessResult],
) -> tuple[dict[str, float], dict[str, str]]:
    """Return the table's energy, time and stored-level columns from two accesses."""
    access1, access0 = accesses[1], accesses[0]
    write_energy_j = 0.5 * (access1.write_energy_j + access0.write_energy_j)
    read_energy_j = 0.5 * (access1.read_energy_j + access0.read_energy_j)
    values = {
        "stored1_v": access1.stored_v,
        "stored0_v": access0.stored_v,
        "write_energy_j": write_energy_j,
        "read_energy_j": read_energy_j,
        "refresh_energy_j": write_energy_j + read_energy_j,
        "write_time_s": max(access1.write_time_s, access0.write_time_s),
        "read_time_s": access1.read_time_s,
    }
    reasons = {}
    if math.isnan(values["write_time_s"]):
        reasons["write_time_s"] = (
            "the storage node or the write word line never crossed its 90 % or 50 %"
            " level during the write"
        )
    if math.isnan(values["read_time_s"]):
        reasons["read_time_s"] = (
            "the read bit line never fell below the sense threshold minus the margin"
        )
    return values, reasons


def retention_values(
    holds: Mapping[int, HoldResult], values: dict[str, float], reasons: dict[str, str]
) -> None:
    """Add the retention, explicit refresh and standby columns from the two holds."""
    for data in (1, 0):
        values[f"retention{data}_s"] = holds[data].retention_s
        if math.isnan(holds[data].retention_s):
            reasons[f"retention{data}_s"] = holds[data].reason
    retention_s, reason = combine_retention(holds[1], holds[0])
    values["retention_s"] = retention_s
    values["refresh_power_w"] = values["refresh_energy_j"] / retention_s
    if reason:
        reasons["retention_s"] = reason
        reasons["refresh_power_w"] = reason
    values["leakage_w"] = 0.5 * (holds[1].leakage_w + holds[0].leakage_w)
    if math.isnan(values["leakage_w"]):
        reasons["leakage_w"] = "standby power was not measured: " + "; ".join(
            hold.reason for hold in holds.values() if math.isnan(hold.leakage_w)
        )


def hold_for_level(
    sim: Simulator,
    design: EdramDesign,
    cond: Conditions,
    data: int,
    stored_v: float,
    critical_v: float,
    reasons: Mapping[str, str],
) -> HoldResult:
    """Run the hold of `data` against its critical level, handling the edge cases.

    A NaN critical level (the search failed) gives a NaN retention with the
    search's reason. An infinite one (every level reads correctly) gives an
    infinite retention, and the hold still runs for the standby power.
    """
    if math.isnan(critical_v):
        reason = reasons[f"critical{data}_v"]
        return HoldResult(math.nan, reason, math.nan)
    if math.isinf(critical_v):
        leakage_w = run_hold(sim, design, cond, data, stored_v, cond.vdd_v).leakage_w
        reason = f"a stored {data} reads correctly at any storage level"
        return HoldResult(math.inf, reason, leakage_w)
    return run_hold(sim, design, cond, data, stored_v, critical_v)


def design_variants() -> dict[str, EdramDesign]:
    """Return named cell variants that trade retention against area and energy.

    The pfet write device passes a full 1 but only a weak 0, so its word line turns
    on 0.15 V below ground. In a 2T cell the storage node couples down with the read
    word line (its source line) when a read starts. Without a MIM capacitor a fresh
    1 then read back wrong at sky130 tt, 85 C, so the 2T variant carries one.
    """
    base = EdramDesign()
    mim = {"mim_w_um": 2.0, "mim_l_um": 2.0}
    return {
        "minimum": base,
        "long_write": dataclasses.replace(base, write_l_um=0.5),
        "lvt_write": dataclasses.replace(base, write_device="nfet_01v8_lvt"),
        "pfet_hvt_write": dataclasses.replace(
            base, write_device="pfet_01v8_hvt", wwl_overdrive_v=0.15
        ),
        "wwl_underdrive": dataclasses.replace(base, wwl_underdrive_v=0.15),
        "mim_2x2": dataclasses.replace(base, **mim),
        "two_transistor_mim": dataclasses.replace(base, topology="2t", **mim),
    }


def _conditions(point: Mapping[str, object]) -> Conditions:
    return Conditions(
        corner=str(point["corner"]),
        vdd_v=float(point["vdd_v"]),
        temp_c=float(point["temp_c"]),
    )


def method_text(design: EdramDesign, cond: Conditions) -> str:
    """Return the text that determines a point's result: design, settings, decks."""
    settings = (
        f"hold_max_s={HOLD_MAX_S!r} hold_points={HOLD_POINTS} refine={REFINE_SPAN!r}"
        f" settled_v={SETTLED_V!r} critical_tol_v={CRITICAL_TOL_V!r}"
    )
    parts = [repr(design), settings, sense_threshold_deck(cond).fingerprint()]
    for data in (1, 0):
        parts.append(access_deck(design, cond, data)[0].fingerprint())
        parts.append(read_deck(design, cond, data).fingerprint())
        # The write and the read search find the stored and critical levels, so
        # placeholders stand in for them here.
        parts.append(hold_deck(design, cond, data, 0.0, 0.0).fingerprint())
    return "\n".join(parts)


@dataclass(frozen=True)
class EdramCell(Cell):
    """Decode-refresh gain-cell eDRAM column of one design; table "edram"."""

    design: EdramDesign = field(default_factory=EdramDesign)

    name = "edram"
    axes = ("corner", "vdd_v", "temp_c")
    units: ClassVar[dict[str, str]] = OUTPUT_UNITS

    def design_at(self, point: Mapping[str, object]) -> EdramDesign:
        return self.design

    def validate_point(self, point: Mapping[str, object]) -> None:
        super().validate_point(point)
        self.design_at(point).validate(float(point["vdd_v"]))

    def key_text(self, point: Mapping[str, object]) -> str:
        return method_text(self.design_at(point), _conditions(point))

    def evaluate(self, point: Mapping[str, object], sim: Simulator) -> PointResult:
        design = self.design_at(point)
        result = characterize_point(design, _conditions(point), sim)
        result.netlist_hash = hashlib.sha256(self.key_text(point).encode()).hexdigest()
        return result

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        if quick:
            return {"corner": ["tt"], "vdd_v": [1.8], "temp_c": [27.0, 85.0, 125.0]}
        return {
            "corner": ["tt", "ff", "ss", "sf", "fs"],
            "vdd_v": [1.6, 1.8, 1.95],
            "temp_c": [27.0, 85.0, 125.0],
        }


@dataclass(frozen=True)
class EdramVariantsCell(EdramCell):
    """The cell variants of design_variants() side by side; table "edram_variants"."""

    variants: Mapping[str, EdramDesign] = field(default_factory=design_variants)

    name = "edram_variants"
    axes = ("variant", "corner", "vdd_v", "temp_c")
    units: ClassVar[dict[str, str]] = OUTPUT_UNITS

    def design_at(self, point: Mapping[str, object]) -> EdramDesign:
        variant = str(point["variant"])
        if variant not in self.variants:
            raise ValueError(
                f"variant={variant!r} is unknown: use one of {sorted(self.variants)}"
            )
        return self.variants[variant]

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        if quick:
            return {
                "variant": ["minimum", "long_write"],
                "corner": ["tt"],
                "vdd_v": [1.8],
                "temp_c": [85.0],
            }
        return {
            "variant": list(self.variants),
            "corner": ["tt", "ss"],
            "vdd_v": [1.8],
            "temp_c": [27.0, 85.0, 125.0],
        }


# --- use of the table --------------------------------------------------------------


def decode_refresh_check(
    table: Table,
    decode_interval_s: float,
    temp_c: float,
    corner: str,
    vdd_v: float = 1.8,
    capacity_bits: int = 0,
    **axes: object,
) -> dict[str, object]:
    """Check whether decoding alone refreshes the KV cache, and price the gap if not.

    Each decode step reads every cell and writes it back, so a cell is refreshed
    once per decode interval. When the interval exceeds the retention time, a cell
    needs ceil(interval / retention) - 1 explicit refreshes per interval, each
    costing refresh_energy_j. `axes` passes further table axes (e.g. variant=...).
    Energies per cell per second are watts per cell; `capacity_bits` scales them to
    the whole cache.
    """
    if not (math.isfinite(decode_interval_s) and decode_interval_s > 0):
        raise ValueError(
            f"decode_interval_s={decode_interval_s} is invalid: use a positive time"
            " in seconds, the reciprocal of the decode rate in tokens/s"
        )
    if capacity_bits < 0 or int(capacity_bits) != capacity_bits:
        raise ValueError(
            f"capacity_bits={capacity_bits} is invalid: use a whole number >= 0"
        )
    conditions = {"corner": corner, "vdd_v": vdd_v, "temp_c": temp_c, **axes}
    retention_s = table.lookup("retention_s", **conditions)
    refresh_energy_j = table.lookup("refresh_energy_j", **conditions)
    if math.isnan(retention_s) or math.isnan(refresh_energy_j):
        raise ValueError(
            f"the {table.name} table has no retention_s or refresh_energy_j at"
            f" {conditions}: run Table.completeness() for the reason"
        )
    if math.isinf(retention_s):
        refreshes = 0
    else:
        refreshes = max(math.ceil(decode_interval_s / retention_s) - 1, 0)
    per_cell_w = refreshes * refresh_energy_j / decode_interval_s
    return {
        "decode_refresh_suffices": refreshes == 0,
        "retention_s": retention_s,
        "decode_interval_s": decode_interval_s,
        "min_decode_rate_hz": 1.0 / retention_s,
        "explicit_refreshes_per_decode": refreshes,
        "refresh_energy_j": refresh_energy_j,
        "explicit_refresh_power_per_cell_w": per_cell_w,
        "capacity_bits": int(capacity_bits),
        "explicit_refresh_power_w": per_cell_w * capacity_bits,
    }


def plot_retention(table: Table, path: str | Path, vdd_v: float = 1.8) -> Path:
    """Plot retention_s against temperature, one line per corner (and variant).

    Writes a PNG with matplotlib's Agg backend and returns its path. Points with
    infinite retention (the data never decays) or NaN are left out.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    df = table.df[np.isclose(table.df["vdd_v"].astype(float), vdd_v)]
    if df.empty:
        raise ValueError(
            f"the {table.name} table has no rows at vdd_v={vdd_v} V: use one of"
            f" {table.values('vdd_v')}"
        )
    group_axes = [axis for axis in table.axes if axis not in ("vdd_v", "temp_c")]
    figure = Figure(figsize=(6.4, 4.4))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for key, group in df.groupby(group_axes):
        group = group.sort_values("temp_c")
        retention_s = group["retention_s"].to_numpy(dtype=float)
        finite = np.isfinite(retention_s)
        label = " ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        ax.plot(
            group["temp_c"].to_numpy(dtype=float)[finite],
            retention_s[finite] * 1e6,
            marker="o",
            label=label,
        )
    ax.set_yscale("log")
    ax.set_xlabel("temperature (°C)")
    ax.set_ylabel("retention (µs)")
    ax.set_title(f"{table.name}: retention at VDD = {vdd_v} V")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path
