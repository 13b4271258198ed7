"""Bidirectional BitROM column: netlist generator, ternary read-back and its table.

One nfet stores two trits: its west terminal contacts one of the lines W+, W0, W-
and its east terminal one of E+, E0, E-. A forward read drives the west lines at the
trit levels and precharges the east lines to VDD. The lowest east line then gives
the west trit. A reverse read swaps the sides and gives the east trit.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.pdk import CORNERS, check_device_size, validate_supply
from bitrom_char.spice import Deck, SimResult, Simulator, render_template
from bitrom_char.spice.measure import Find

log = logging.getLogger(__name__)

TRITS = (-1, 0, 1)
DIRECTIONS = ("forward", "reverse")
CELL_MODELS = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__nfet_01v8_lvt")
PRECHARGE_MODEL = "sky130_fd_pr__pfet_01v8"
LINE_SUFFIX = {1: "p", 0: "z", -1: "m"}

# Contacted diffusion length on each side of a gate (um): sets the junction
# area (W x 0.29) and perimeter (2 (W + 0.29)) that load the lines.
DIFFUSION_LENGTH_UM = 0.29

# Bit-line wire per row and line. NOTE: estimate, not extracted. A row pitch of
# 1.0 um is assumed (0.42 um gate width + 0.27 um diffusion spacing + poly end
# caps); a minimum-width (0.14 um) met1 line then has 0.125 ohm/sq x 1.0/0.14 =
# 0.89 ohm, and 25.8 aF/um^2 x 0.14 um + 2 x 40.6 aF/um = 0.085 fF to ground
# (sky130_fd_sc_hd nominal tech LEF). Coupling between the stacked met1/met2/met3
# lines is not modelled; rounding up to 0.1 fF is a rough allowance for it.
# RomColumnParams.from_layout() takes
# per-line values extracted from the drawn cell instead.
WIRE_R_OHM_PER_ROW = 0.9
WIRE_C_F_PER_ROW = 0.1e-15

EDGE_S = 50e-12  # rise and fall time of word-line and precharge-clock edges
IDLE_S = 0.2e-9  # idle time at the start, from the DC operating point
GAP_S = 0.1e-9  # between precharge release and word-line rise, and after sensing
# The sense latches decide within this time after the sense time. The word line
# stays on meanwhile, so its falling edge cannot couple into the decision.
SENSE_LATCH_S = 0.4e-9
SENSE_STAGES = ("ideal", "latch")


def _check_range(name: str, value: float, low: float, high: float, unit: str) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name}={value} {unit} is invalid; use {low}..{high} {unit}")


@dataclass(frozen=True)
class RomColumnParams:
    """Design and bias of one ROM column; levels and references are fractions of VDD.

    `segments` lumps the column into that many wire segments, each with one
    multiplied device per (west, east) trit pair of its unselected rows. None keeps
    one wire segment and one device line per row. `sense_time_s` counts from the
    word line's 50 % point; None scales it with the row count (see `sense_s`).
    `sense_stage` "ideal" decides from the simulated line voltages at the sense
    time. "latch" adds two StrongARM comparators per read line (against the low
    and the high reference) and decides from their outputs.
    """

    rows: int = 16
    vdd_v: float = 1.8
    cell_model: str = "sky130_fd_pr__nfet_01v8"
    cell_w_um: float = 0.42
    cell_l_um: float = 0.15
    wordline_boost_v: float = 0.0
    level_minus_frac: float = 0.0
    level_plus_frac: float = 0.25
    level_zero_frac: float = 0.5
    ref_low_frac: float = 0.125
    ref_high_frac: float = 0.375
    precharge_w_um: float | None = None
    driver_r_ohm: float = 50.0
    wire_r_ohm_per_row: float | Mapping[int, float] = WIRE_R_OHM_PER_ROW
    wire_c_f_per_row: float | Mapping[int, float] = WIRE_C_F_PER_ROW
    contact_c_f: float | Mapping[int, float] = 0.0
    sense_time_s: float | None = None
    precharge_time_s: float | None = None
    settle_tol_frac: float = 0.05
    segments: int | None = None
    sense_stage: str = "ideal"

    def __post_init__(self) -> None:
        if isinstance(self.rows, bool) or not isinstance(self.rows, int | np.integer):
            raise TypeError(f"rows={self.rows!r} is invalid; use an integer >= 1")
        if self.rows < 1:
            raise ValueError(f"rows={self.rows} is invalid; use rows >= 1")
        self._check_devices()
        self._check_levels()
        self._check_parasitics()
        self._check_timing()

    def _check_devices(self) -> None:
        validate_supply(self.vdd_v, 27.0)
        if self.cell_model not in CELL_MODELS:
            raise ValueError(
                f"cell_model={self.cell_model!r} is invalid; use one of "
                f"{', '.join(CELL_MODELS)}"
            )
        check_device_size(self.cell_model, self.cell_w_um, self.cell_l_um)
        check_device_size(PRECHARGE_MODEL, self.precharge_w, 0.15)
        _check_range("wordline_boost_v", self.wordline_boost_v, 0.0, 1.95, "V")
        if self.wordline_v > 1.95 + 1e-12:
            raise ValueError(
                f"word-line level vdd_v + wordline_boost_v = {self.wordline_v:.3g} V "
                "exceeds 1.95 V, the limit of the sky130 1.8 V device models; "
                "lower wordline_boost_v"
            )

    def _check_parasitics(self) -> None:
        _check_range("driver_r_ohm", self.driver_r_ohm, 1e-3, 1e6, "ohm")
        for trit in TRITS:
            name = f"[{trit}]" if isinstance(self.wire_r_ohm_per_row, Mapping) else ""
            _check_range(
                f"wire_r_ohm_per_row{name}", self.wire_r_ohm(trit), 1e-3, 1e4, "ohm"
            )
            name = f"[{trit}]" if isinstance(self.wire_c_f_per_row, Mapping) else ""
            _check_range(
                f"wire_c_f_per_row{name}", self.wire_c_f(trit), 1e-19, 1e-12, "F"
            )
            name = f"[{trit}]" if isinstance(self.contact_c_f, Mapping) else ""
            _check_range(f"contact_c_f{name}", self.contact_c(trit), 0.0, 1e-12, "F")

    def _check_timing(self) -> None:
        _check_range("settle_tol_frac", self.settle_tol_frac, 1e-3, 0.5, "")
        for name in ("sense_time_s", "precharge_time_s"):
            value = getattr(self, name)
            if value is not None:
                _check_range(name, value, 10e-12, 1e-6, "s")
        if self.sense_stage not in SENSE_STAGES:
            raise ValueError(
                f"sense_stage={self.sense_stage!r} is invalid; use 'ideal' (decide "
                "from the line voltages) or 'latch' (StrongARM comparators)"
            )
        if self.segments is not None and not 1 <= self.segments <= self.rows:
            raise ValueError(
                f"segments={self.segments} is invalid; use 1..rows={self.rows}, "
                "or None for one segment per row"
            )

    def _check_levels(self) -> None:
        order = (
            ("level_minus_frac", self.level_minus_frac),
            ("ref_low_frac", self.ref_low_frac),
            ("level_plus_frac", self.level_plus_frac),
            ("ref_high_frac", self.ref_high_frac),
            ("level_zero_frac", self.level_zero_frac),
        )
        for name, value in order:
            _check_range(name, value, 0.0, 1.0, "x VDD")
        for (low_name, low), (high_name, high) in itertools.pairwise(order):
            if not low < high:
                raise ValueError(
                    f"{low_name}={low} must be below {high_name}={high}; levels and "
                    "references must be strictly ordered as level_minus < ref_low < "
                    "level_plus < ref_high < level_zero"
                )

    @classmethod
    def from_layout(cls, **changes: object) -> RomColumnParams:
        """Column parameters with the bit-line R and C extracted from the cell layout.

        Uses `bitrom_char.layout.parasitics.rom_parasitics()` for the drawn cell,
        with W and L from `changes` or the defaults. It takes the per-row wire R
        and C, the plate coupling to the lines stacked above and below (counted
        as capacitance to ground) and the contact capacitance of each line's
        layer. Both sides get the west side's layers, whose 0 line is the
        resistive li1 one. The drawn east side routes its 0 line on met3, so
        forward reads come out slower than drawn. NOTE: the contacts' series
        resistance (tens of ohms) is left out, because it is small next to the
        cell's on-resistance of several kilohms.
        """
        from bitrom_char.layout.parasitics import rom_parasitics

        w_um = float(changes.get("cell_w_um", cls.cell_w_um))
        l_um = float(changes.get("cell_l_um", cls.cell_l_um))
        extracted = rom_parasitics(w_um=w_um, l_um=l_um)
        layer = extracted["trit_layer"]
        coupling = extracted.get("bitline_coupling_c_per_row_f", {})

        def coupled_c_f(name: str) -> float:
            pairs = [k.split(":", 1)[1] for k in coupling if k.startswith("W:")]
            return sum(
                coupling[f"W:{pair}"] for pair in pairs if name in pair.split("-")
            )

        values = {
            "wire_r_ohm_per_row": {
                t: extracted["bitline_r_per_row_ohm"][layer[t]] for t in TRITS
            },
            "wire_c_f_per_row": {
                t: extracted["bitline_c_per_row_f"][layer[t]] + coupled_c_f(layer[t])
                for t in TRITS
            },
            "contact_c_f": {
                t: extracted["bitline_contact_c_f"][layer[t]] for t in TRITS
            },
        }
        return cls(**{**values, **changes})

    def wire_r_ohm(self, trit: int) -> float:
        """Wire resistance per row of the lines that carry `trit` (ohm)."""
        return _per_line(self.wire_r_ohm_per_row, trit, "wire_r_ohm_per_row")

    def wire_c_f(self, trit: int) -> float:
        """Wire capacitance per row of the lines that carry `trit` (F)."""
        return _per_line(self.wire_c_f_per_row, trit, "wire_c_f_per_row")

    def contact_c(self, trit: int) -> float:
        """Contact capacitance of one cell terminal on a `trit` line (F)."""
        return _per_line(self.contact_c_f, trit, "contact_c_f")

    @property
    def wordline_v(self) -> float:
        """Word-line high level (V)."""
        return self.vdd_v + self.wordline_boost_v

    def level_v(self, trit: int) -> float:
        """Source-line level that encodes a trit (V)."""
        fraction = {
            -1: self.level_minus_frac,
            0: self.level_zero_frac,
            1: self.level_plus_frac,
        }
        return fraction[check_trit(trit)] * self.vdd_v

    @property
    def ref_low_v(self) -> float:
        """Reference between the -1 and +1 levels (V)."""
        return self.ref_low_frac * self.vdd_v

    @property
    def ref_high_v(self) -> float:
        """Reference between the +1 and 0 levels (V)."""
        return self.ref_high_frac * self.vdd_v

    @property
    def precharge_w(self) -> float:
        """Precharge pfet width (um); by default 0.42 um per 64 rows, at least 0.42."""
        if self.precharge_w_um is not None:
            return self.precharge_w_um
        return round(max(0.42, 0.42 * self.rows / 64), 3)

    @property
    def sense_s(self) -> float:
        """Sense time after the word line's 50 % point (s).

        The default is 1 ns + 25 ps per row. That is about 2.5 times what the +1
        line of a worst-case column needs to fall below the high reference at tt,
        1.8 V, 27 C, which is 20.6 ns at 2,048 rows with the default wire estimate.
        """
        if self.sense_time_s is not None:
            return self.sense_time_s
        return 1e-9 + 25e-12 * self.rows

    @property
    def precharge_s(self) -> float:
        """Precharge phase after each read (s).

        The default is 2 ns + 2 ps per row at 1.8 V, which restores a -1 line of a
        worst-case column at ss, -40 C. It grows as 1 / (VDD - 0.6 V)^2 at lower
        VDD, an estimate of how the precharge pfet's drive falls with its
        overdrive (0.6 V is a rough |Vtp|; the overdrive is floored at 0.2 V).
        """
        if self.precharge_time_s is not None:
            return self.precharge_time_s
        overdrive_v = max(self.vdd_v - 0.6, 0.2)
        return (2e-9 + 2e-12 * self.rows) * (1.2 / overdrive_v) ** 2

    @property
    def settle_tol_v(self) -> float:
        """Distance to the source-line level that counts as settled (V)."""
        return self.settle_tol_frac * self.vdd_v


def _per_line(value: float | Mapping[int, float], trit: int, name: str) -> float:
    if not isinstance(value, Mapping):
        return float(value)
    if set(value) != set(TRITS):
        raise ValueError(
            f"{name} has keys {sorted(value)}; give one value per line trit -1, 0, 1"
        )
    return float(value[trit])


def check_trit(trit: object) -> int:
    """Return a trit as int, or raise ValueError for anything outside {-1, 0, 1}."""
    if isinstance(trit, bool) or trit not in TRITS:
        raise ValueError(f"trit {trit!r} is invalid; use -1, 0 or 1")
    return int(trit)


def check_direction(direction: str) -> str:
    """Return the direction, or raise ValueError when it is not forward or reverse."""
    if direction not in DIRECTIONS:
        raise ValueError(
            f"direction {direction!r} is invalid; use 'forward' (west trit) or "
            "'reverse' (east trit)"
        )
    return direction


def check_pattern(rows: int, west: Sequence[int], east: Sequence[int]) -> None:
    """Raise ValueError unless both sides hold `rows` trits from {-1, 0, 1}."""
    for side, trits in (("west", west), ("east", east)):
        if len(trits) != rows:
            raise ValueError(
                f"{side} pattern has {len(trits)} trits; the column has {rows} rows"
            )
        for row, trit in enumerate(trits):
            try:
                check_trit(trit)
            except ValueError as error:
                raise ValueError(f"{side} trit of row {row}: {error}") from None


def aggressor_trit(trit: int) -> int:
    """Source-line trit whose leakage pulls a read line hardest toward a wrong level.

    A line reading 0 or +1 is pulled down toward -1 by cells on VSS; a line reading
    -1 is pulled up by cells on VDD/2, which see the largest drain voltage.
    """
    return 0 if check_trit(trit) == -1 else -1


def worst_case_pattern(
    rows: int, trit: int, direction: str
) -> tuple[list[int], list[int]]:
    """Return (west, east) trits for reading `trit` from the last, farthest row.

    Every row's read-side terminal contacts the same read line, so that line carries
    all junction capacitance and all unselected-row leakage. The unselected rows'
    drive-side terminals sit on the aggressor level of `trit`.
    """
    check_direction(direction)
    trit = check_trit(trit)
    drive = [aggressor_trit(trit)] * rows
    drive[-1] = trit
    read = [trit] * rows
    if direction == "forward":
        return drive, read
    return read, drive


@dataclass(frozen=True)
class ReadSlot:
    """Timing of one read in a column transient (s)."""

    row: int
    release_s: float  # precharge turns off
    wordline_s: float  # word line crosses 50 %
    sense_s: float  # sense time: the latches start to evaluate
    end_s: float  # end of the following precharge phase


@dataclass(frozen=True)
class ColumnDeck:
    """A column transient, its read schedule and the node names to sense."""

    deck: Deck
    slots: tuple[ReadSlot, ...]
    read_nodes: dict[int, str]  # trit of each read-side line -> its sense node
    far_nodes: dict[int, str]  # trit of each read-side line -> its far end
    direction: str
    params: RomColumnParams


def schedule_reads(params: RomColumnParams, rows: Sequence[int]) -> list[ReadSlot]:
    """Place reads of `rows` one after another: release, word line, sense, precharge."""
    slots = []
    start = IDLE_S
    for row in rows:
        wordline = start + GAP_S + EDGE_S / 2
        sense = wordline + params.sense_s
        end = sense + SENSE_LATCH_S + EDGE_S + GAP_S + EDGE_S + params.precharge_s
        slots.append(ReadSlot(row, start, wordline, sense, end))
        start = end
    return slots


def _time_step_s(stop_s: float, hold_s: float) -> float:
    """Return the transient step, which ngspice also uses as its maximum step.

    Reads need 10 ps: at 2,048 rows a 29 ps step shifts the read energy by up to
    35 %, while 10 ps agrees with 2 ps within 0.5 %. A run that keeps the word line
    on only follows a slowly settling line, so 2,000 steps suffice there.
    """
    return max(10e-12, stop_s / 2000) if hold_s > 0 else 10e-12


def _pwl(points: Sequence[tuple[float, str]]) -> str:
    return "pwl(" + " ".join(f"{t:.6g} {v}" for t, v in points) + ")"


def _segment_bounds(params: RomColumnParams) -> list[tuple[int, int]]:
    count = params.segments or params.rows
    edges = np.linspace(0, params.rows, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _line(side: str, trit: int, node: int) -> str:
    return f"{side}{LINE_SUFFIX[trit]}_{node}"


def _array_lines(
    params: RomColumnParams,
    west: Sequence[int],
    east: Sequence[int],
    selected: set[int],
) -> list[str]:
    """Wire segments and cells; selected rows get their own word line wl<row>."""
    lines = ["* column array: node 0 at the periphery, the last node at the far end"]
    for index, (first, stop) in enumerate(_segment_bounds(params)):
        near = " ".join(_line(s, t, index) for s in "we" for t in (1, 0, -1))
        far = " ".join(_line(s, t, index + 1) for s in "we" for t in (1, 0, -1))
        count = stop - first
        values = " ".join(
            f"r_{LINE_SUFFIX[t]}={params.wire_r_ohm(t) * count:.6g} "
            f"c_{LINE_SUFFIX[t]}={params.wire_c_f(t) * count:.6g}"
            for t in TRITS
        )
        lines.append(f"Xw{index} {near} {far} rom_wire {values}")
        groups: dict[tuple[int, int], int] = {}
        for row in range(first, stop):
            pair = (int(west[row]), int(east[row]))
            if row in selected:
                lines.append(
                    f"Xc{row} {_line('w', pair[0], index + 1)} wl{row} "
                    f"{_line('e', pair[1], index + 1)} 0 rom_cell"
                    f"{_contact_values(params, pair)}"
                )
            else:
                groups[pair] = groups.get(pair, 0) + 1
        for (w, e), mult in sorted(groups.items()):
            multiplier = f" cells={mult}" if mult > 1 else ""
            name = f"Xc{first}" if count == 1 else f"Xu{index}{LINE_SUFFIX[w]}"
            name += "" if count == 1 else LINE_SUFFIX[e]
            lines.append(
                f"{name} {_line('w', w, index + 1)} wl_off "
                f"{_line('e', e, index + 1)} 0 rom_cell{multiplier}"
                f"{_contact_values(params, (w, e))}"
            )
    return lines


def _has_contacts(params: RomColumnParams) -> bool:
    return any(params.contact_c(t) > 0 for t in TRITS)


def _contact_values(params: RomColumnParams, pair: tuple[int, int]) -> str:
    if not _has_contacts(params):
        return ""
    west, east = pair
    return f" cw_f={params.contact_c(west):.6g} ce_f={params.contact_c(east):.6g}"


def _periphery_lines(
    params: RomColumnParams, direction: str, slots: Sequence[ReadSlot]
) -> list[str]:
    drive, read = ("w", "e") if direction == "forward" else ("e", "w")
    lines = [
        "* supplies, source-line drivers and precharge",
        "Vdd vdd 0 {vdd_v}",
        "Vwloff wl_off 0 0",
    ]
    for trit, name in ((1, "plus"), (0, "zero"), (-1, "minus")):
        suffix = LINE_SUFFIX[trit]
        lines.append(f"Vlevel{suffix} level{suffix} 0 {{level_{name}_v}}")
        lines.append(
            f"Rdrive{suffix} level{suffix} {_line(drive, trit, 0)} {{driver_r_ohm}}"
        )
        lines.append(
            f"Xpre{suffix} {_line(read, trit, 0)} prechargeb vdd rom_precharge"
        )

    clock = [(0.0, "0")]
    for slot in slots:
        clock += [(slot.release_s, "0"), (slot.release_s + EDGE_S, "{vdd_v}")]
        low = slot.sense_s + SENSE_LATCH_S + EDGE_S + GAP_S
        clock += [(low, "{vdd_v}"), (low + EDGE_S, "0")]
    lines.append(f"Vprechargeb prechargeb 0 {_pwl(clock)}")

    for slot in slots:
        rise = slot.wordline_s - EDGE_S / 2
        fall = slot.sense_s + SENSE_LATCH_S
        wave = [
            (0.0, "0"),
            (rise, "0"),
            (rise + EDGE_S, "{wordline_v}"),
            (fall, "{wordline_v}"),
            (fall + EDGE_S, "0"),
        ]
        lines.append(f"Vwl{slot.row} wl{slot.row} 0 {_pwl(wave)}")
    if params.sense_stage == "latch":
        lines += _latch_lines(read, slots)
    return lines


def _latch_lines(read: str, slots: Sequence[ReadSlot]) -> list[str]:
    """Comparators of each read line against both references, clocked per read."""
    lines = [
        "* sense latches: outp of rom_sense rises when the line is below the reference",
        "Vsense vsense 0 {vdd_v}",
        "Vreflow reflow 0 {ref_low_v}",
        "Vrefhigh refhigh 0 {ref_high_v}",
    ]
    clock = [(0.0, "{vdd_v}")]
    for slot in slots:
        reset = slot.sense_s + SENSE_LATCH_S + EDGE_S + GAP_S
        clock += [
            (slot.sense_s - EDGE_S / 2, "{vdd_v}"),
            (slot.sense_s + EDGE_S / 2, "0"),
        ]
        clock += [(reset, "0"), (reset + EDGE_S, "{vdd_v}")]
    lines.append(f"Vsenseclkb senseclkb 0 {_pwl(clock)}")
    for trit in TRITS:
        suffix = LINE_SUFFIX[trit]
        node = _line(read, trit, 0)
        for ref in ("low", "high"):
            lines.append(
                f"Xs{ref}{suffix} {node} ref{ref} senseclkb below{ref}{suffix} "
                f"above{ref}{suffix} vsense rom_sense"
            )
    return lines


def subcircuits(params: RomColumnParams) -> str:
    """Return the cell, wire and precharge subcircuits for this column's sizes."""
    cell_w = params.cell_w_um
    pre_w = params.precharge_w
    return render_template(
        "rom_column",
        {
            "cell_model": params.cell_model,
            "cell_w_um": f"{cell_w:.6g}",
            "cell_l_um": f"{params.cell_l_um:.6g}",
            "cell_diff_area_um2": f"{cell_w * DIFFUSION_LENGTH_UM:.6g}",
            "cell_diff_perim_um": f"{2 * (cell_w + DIFFUSION_LENGTH_UM):.6g}",
            "contact_caps": (
                "Cw west 0 {cw_f*cells}\nCe east 0 {ce_f*cells}"
                if _has_contacts(params)
                else "* no contact capacitance"
            ),
            "precharge_w_um": f"{pre_w:.6g}",
            "precharge_diff_area_um2": f"{pre_w * DIFFUSION_LENGTH_UM:.6g}",
            "precharge_diff_perim_um": f"{2 * (pre_w + DIFFUSION_LENGTH_UM):.6g}",
        },
    )


def column_deck(
    params: RomColumnParams,
    west: Sequence[int],
    east: Sequence[int],
    direction: str,
    read_rows: Sequence[int],
    *,
    corner: str = "tt",
    temp_c: float = 27.0,
    hold_s: float = 0.0,
    save_waveforms: bool = True,
) -> ColumnDeck:
    """Build the transient that reads `read_rows` in order from a programmed column.

    Unselected rows keep their word line at 0 V with every leakage path in place.
    `hold_s` keeps the last read's word line on that much longer, so a slow level
    can be followed past the sense time. Line voltages are still measured at the
    normal sense time.
    """
    check_direction(direction)
    check_pattern(params.rows, west, east)
    if not read_rows:
        raise ValueError("read_rows is empty; give at least one row to read")
    for row in read_rows:
        if not 0 <= row < params.rows:
            raise ValueError(f"read row {row} is invalid; use 0..{params.rows - 1}")
    if len(set(read_rows)) != len(read_rows):
        raise ValueError(f"read_rows {list(read_rows)} repeats a row; read each once")

    slots = schedule_reads(params, read_rows)
    if hold_s > 0:
        last = slots[-1]
        slots[-1] = replace(
            last, sense_s=last.sense_s + hold_s, end_s=last.end_s + hold_s
        )
    read_side = "e" if direction == "forward" else "w"
    read_nodes = {trit: _line(read_side, trit, 0) for trit in TRITS}
    last = len(_segment_bounds(params))
    far_nodes = {trit: _line(read_side, trit, last) for trit in TRITS}
    netlist = "\n".join(
        [
            subcircuits(params),
            render_template("rom_sense", {}) if params.sense_stage == "latch" else "",
            *_array_lines(params, west, east, set(read_rows)),
            *_periphery_lines(params, direction, slots),
        ]
    )
    measurements = [
        Find(f"v{LINE_SUFFIX[trit]}_{index}", f"v({node})", at_s=slot.sense_s)
        for index, slot in enumerate(slots)
        for trit, node in read_nodes.items()
    ]
    if hold_s > 0:
        # The schedule above moved the last sense time; sense at the real one.
        real = schedule_reads(params, read_rows)[-1].sense_s
        index = len(slots) - 1
        measurements = [
            m if not m.name.endswith(f"_{index}") else replace(m, at_s=real)
            for m in measurements
        ]
    if params.sense_stage == "latch":
        measurements += [
            Find(
                f"below{ref}{LINE_SUFFIX[trit]}_{index}",
                f"v(below{ref}{LINE_SUFFIX[trit]})",
                at_s=slot.sense_s + SENSE_LATCH_S,
            )
            for index, slot in enumerate(schedule_reads(params, read_rows))
            for trit in TRITS
            for ref in ("low", "high")
        ]
    save: tuple[str, ...] = ()
    if save_waveforms:
        sources = ["vdd", "vprechargeb", "vlevelp", "vlevelz", "vlevelm"]
        if params.sense_stage == "latch":
            sources += ["vsense", "vsenseclkb"]
        sources += [f"vwl{row}" for row in read_rows]
        nodes = [*read_nodes.values(), *far_nodes.values()]
        save = tuple(f"v({node})" for node in nodes)
        save += tuple(f"i({source})" for source in sources)
    deck = Deck(
        title=f"rom column {params.rows} rows {direction}",
        netlist=netlist,
        analysis=(
            f"tran {_time_step_s(slots[-1].end_s, hold_s):.6g} {slots[-1].end_s:.6g}"
        ),
        measurements=measurements,
        corner=corner,
        temp_c=temp_c,
        params={
            "vdd_v": params.vdd_v,
            "wordline_v": params.wordline_v,
            "level_plus_v": params.level_v(1),
            "level_zero_v": params.level_v(0),
            "level_minus_v": params.level_v(-1),
            "driver_r_ohm": params.driver_r_ohm,
            "ref_low_v": params.ref_low_v,
            "ref_high_v": params.ref_high_v,
        },
        save=save,
    )
    return ColumnDeck(deck, tuple(slots), read_nodes, far_nodes, direction, params)


def decode_trit(lowest_v: float, params: RomColumnParams) -> int:
    """Return the trit that the lowest read-side line voltage at sense time encodes.

    Below the low reference reads -1, below the high reference +1, anything else 0,
    so a 0 that has not yet reached VDD/2 still decodes as 0.
    """
    if lowest_v < params.ref_low_v:
        return -1
    if lowest_v < params.ref_high_v:
        return 1
    return 0


def decision_margin_v(lowest_v: float, trit: int, params: RomColumnParams) -> float:
    """Signed distance from the lowest line to the edge of `trit`'s decision band (V).

    Positive when the read decodes as `trit`; its size is the voltage error that the
    sense stage tolerates before it decides wrongly.
    """
    trit = check_trit(trit)
    if trit == -1:
        return params.ref_low_v - lowest_v
    if trit == 1:
        return min(lowest_v - params.ref_low_v, params.ref_high_v - lowest_v)
    return lowest_v - params.ref_high_v


@dataclass
class ReadResult:
    """One read of one row: line voltages at sense time, decision, energy, timing.

    Energies are per column access. They count the energy drawn from VDD by the
    precharge supply and clock, by the source-line levels and by the word-line
    driver. Supplies count the net charge they source over the access, as a
    decoupled supply delivers it. Each level is modelled as a linear regulator fed
    from VDD, so it draws its net sourced charge and returns nothing for charge it
    sinks. Pulse drivers (clocks, word line) count the charge they source. NaN
    entries carry a reason in `reasons`.
    """

    row: int
    expected: int
    line: int  # read-side line that the cell contacts, named by its trit
    line_v: dict[int, float]
    decoded: int | float  # from the sense stage; NaN when it could not decide
    line_decoded: int | float  # from the line voltages against the references
    lowest_v: float
    settled_v: float
    decision_margin_v: float
    values: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the decoded trit equals the programmed one."""
        return self.decoded == self.expected


def _supply_energy_j(
    time_s: np.ndarray, current_a: np.ndarray, level_v: float, start: float, stop: float
) -> float:
    """Energy of the net charge a decoupled supply at `level_v` sources in a window.

    A supply that sinks more than it sources over the window counts zero.
    """
    inside = (time_s >= start) & (time_s <= stop)
    charge_c = np.trapezoid(-current_a[inside], time_s[inside])
    return float(level_v * max(charge_c, 0.0))


def _driver_energy_j(
    time_s: np.ndarray, current_a: np.ndarray, level_v: float, start: float, stop: float
) -> float:
    """Energy a pulse driver at `level_v` draws: the charge it sources, in a window."""
    inside = (time_s >= start) & (time_s <= stop)
    sourced = np.clip(-current_a[inside], 0.0, None)
    return float(level_v * np.trapezoid(sourced, time_s[inside]))


def settle_time_s(
    time_s: np.ndarray, line_v: np.ndarray, start_s: float, stop_s: float,
    level_v: float, tol_v: float,
) -> float:  # fmt: skip
    """Time after `start_s` from which the line stays within `tol_v` of `level_v`.

    The entry into the band is interpolated linearly between time points. Returns
    NaN when the line is still outside the band at `stop_s`.
    """
    window = (time_s >= start_s) & (time_s <= stop_s)
    t = time_s[window]
    error_v = np.abs(line_v[window] - level_v) - tol_v
    if t.size == 0 or error_v[-1] > 0:
        return math.nan
    outside = np.nonzero(error_v > 0)[0]
    if outside.size == 0:
        return 0.0
    k = outside[-1]
    fraction = error_v[k] / (error_v[k] - error_v[k + 1])
    return float(t[k] + fraction * (t[k + 1] - t[k]) - start_s)


def latch_decision(
    values: Mapping[str, float], index: int, params: RomColumnParams
) -> tuple[int | float, str]:
    """Decode read `index` from the sense latches' outputs; return it and a reason.

    Any line below the low reference reads -1, else any line below the high
    reference reads +1, else 0. An output between 20 % and 80 % of VDD at the end
    of the latch window counts as undecided.
    """
    below: dict[str, bool] = {}
    for ref in ("low", "high"):
        for trit in TRITS:
            name = f"below{ref}{LINE_SUFFIX[trit]}_{index}"
            out_v = values.get(name, math.nan)
            if math.isnan(out_v) or 0.2 * params.vdd_v < out_v < 0.8 * params.vdd_v:
                return math.nan, (
                    f"sense latch {name} undecided at {out_v:.3g} V after "
                    f"{SENSE_LATCH_S:g} s"
                )
            below[f"{ref}{trit}"] = out_v > 0.5 * params.vdd_v
    if any(below[f"low{t}"] for t in TRITS):
        return -1, ""
    if any(below[f"high{t}"] for t in TRITS):
        return 1, ""
    return 0, ""


def access_results(
    column: ColumnDeck, result: SimResult, west: Sequence[int], east: Sequence[int]
) -> list[ReadResult]:
    """Decode every read of a column transient and compute its energy and timing."""
    forward = column.direction == "forward"
    programmed, contacted = (west, east) if forward else (east, west)
    params = column.params
    waves = result.waveforms
    reads = []
    for index, slot in enumerate(column.slots):
        line_v = {
            trit: result.values[f"v{LINE_SUFFIX[trit]}_{index}"] for trit in TRITS
        }
        lowest = min(line_v.values())
        trit = int(programmed[slot.row])
        line = int(contacted[slot.row])
        reasons: dict[str, str] = {}
        if any(math.isnan(v) for v in line_v.values()):
            reasons["line_v"] = "; ".join(sorted(set(result.reasons.values())))
            decoded = math.nan
        else:
            decoded = decode_trit(lowest, params)
        line_decoded = decoded
        if params.sense_stage == "latch":
            decoded, reason = latch_decision(result.values, index, params)
            if reason:
                reasons["decoded"] = reason
        read = ReadResult(
            row=slot.row,
            expected=trit,
            line=line,
            line_v=line_v,
            decoded=decoded,
            line_decoded=line_decoded,
            lowest_v=lowest,
            settled_v=line_v[line],
            decision_margin_v=decision_margin_v(lowest, trit, params),
            reasons=reasons,
        )
        if waves:
            _add_energy_and_timing(read, column, waves, index)
        reads.append(read)
    return reads


def _add_energy_and_timing(
    read: ReadResult, column: ColumnDeck, waves: Mapping[str, np.ndarray], index: int
) -> None:
    params = column.params
    slot = column.slots[index]
    start = column.slots[index - 1].end_s if index else 0.0
    time_s = waves["time"]
    node = column.read_nodes[read.line]
    line = waves[f"v({node})"]

    precharge = _supply_energy_j(
        time_s, waves["i(vdd)"], params.vdd_v, start, slot.end_s
    )
    precharge += _driver_energy_j(
        time_s, waves["i(vprechargeb)"], params.vdd_v, start, slot.end_s
    )
    drive = sum(
        _supply_energy_j(
            time_s, waves[f"i(vlevel{LINE_SUFFIX[t]})"], params.vdd_v, start, slot.end_s
        )
        for t in TRITS
    )
    wordline = _driver_energy_j(
        time_s, waves[f"i(vwl{slot.row})"], params.wordline_v, start, slot.end_s
    )
    sense = 0.0
    if params.sense_stage == "latch":
        sense = _supply_energy_j(
            time_s, waves["i(vsense)"], params.vdd_v, start, slot.end_s
        )
        sense += _driver_energy_j(
            time_s, waves["i(vsenseclkb)"], params.vdd_v, start, slot.end_s
        )
        read.values["sense_energy_j"] = sense
    far_line = waves[f"v({column.far_nodes[read.line]})"]
    restored_v = float(np.interp(slot.end_s, time_s, np.minimum(line, far_line)))
    if restored_v < params.vdd_v - params.settle_tol_v:
        reason = (
            f"precharge left the bit line at {restored_v:.3f} V, below VDD - "
            f"{params.settle_tol_v:.3f} V, after {params.precharge_s:.3g} s; "
            "raise precharge_time_s or precharge_w_um"
        )
        read.values["precharge_energy_j"] = math.nan
        read.reasons["precharge_energy_j"] = reason
        read.values["read_energy_j"] = math.nan
        read.reasons["read_energy_j"] = reason
    else:
        read.values["precharge_energy_j"] = precharge
        read.values["read_energy_j"] = precharge + drive + wordline + sense
    read.values["drive_energy_j"] = drive
    read.values["wordline_energy_j"] = wordline
    read.values["leakage_a"] = float(-waves["i(vdd)"][0]) if index == 0 else math.nan

    settle = settle_time_s(
        time_s, line, slot.wordline_s, slot.sense_s,
        params.level_v(read.expected), params.settle_tol_v,
    )  # fmt: skip
    read.values["settle_time_s"] = settle
    if math.isnan(settle):
        read.reasons["settle_time_s"] = (
            f"line not within {params.settle_tol_v:.3g} V of "
            f"{params.level_v(read.expected):.3g} V by the sense time "
            f"{params.sense_s:.3g} s"
        )


def read_column(
    sim: Simulator,
    params: RomColumnParams,
    west: Sequence[int],
    east: Sequence[int],
    direction: str,
    rows: Sequence[int] | None = None,
    *,
    corner: str = "tt",
    temp_c: float = 27.0,
) -> list[ReadResult]:
    """Read `rows` (all by default) one after another in one transient; decode each."""
    rows = list(range(params.rows)) if rows is None else list(rows)
    column = column_deck(
        params, west, east, direction, rows, corner=corner, temp_c=temp_c
    )
    return access_results(column, sim.run(column.deck), west, east)


@dataclass(frozen=True)
class RomColumnCell(Cell):
    """Reads of a worst-case column, as built by `worst_case_pattern`.

    Each grid point simulates the reads of all three trits, because
    `sense_margin_v`, the smallest gap between adjacent sensed levels, needs all
    three. `leakage_a` comes from the idle column of the trit-0 read, whose
    unselected cells all sit on VSS. Columns longer than `max_segments` rows are
    lumped into that many wire segments with multiplied devices, which matches the
    per-row netlist within millivolts (see benchmarks/bench_rom_2048.py). A point
    whose line has not settled by the sense time is simulated again with the word
    line held on for `settle_window_s`.
    """

    base: RomColumnParams = field(default_factory=RomColumnParams)
    max_segments: int = 32
    settle_window_s: float = 1e-6

    name = "rom_column"
    axes = ("corner", "vdd_v", "temp_c", "rows", "direction", "trit")
    units: ClassVar[dict[str, str]] = {
        "settled_v": "V",
        "settle_time_s": "s",
        "sense_time_s": "s",
        "sense_margin_v": "V",
        "decision_margin_v": "V",
        "read_energy_j": "J",
        "precharge_energy_j": "J",
        "drive_energy_j": "J",
        "wordline_energy_j": "J",
        "leakage_a": "A",
        "read_ok": "1",
    }
    version = "4"

    def validate_point(self, point: Mapping[str, object]) -> None:
        super().validate_point(point)
        check_direction(str(point["direction"]))
        check_trit(point["trit"])
        self.params(point)

    def params(self, point: Mapping[str, object]) -> RomColumnParams:
        """Column parameters of a grid point."""
        rows = point["rows"]
        if isinstance(rows, float) and rows.is_integer():
            rows = int(rows)
        if not isinstance(rows, int | np.integer) or isinstance(rows, bool) or rows < 1:
            raise ValueError(f"rows={rows!r} is invalid; use an integer >= 1")
        segments = None if rows <= self.max_segments else self.max_segments
        return replace(
            self.base, rows=int(rows), vdd_v=float(point["vdd_v"]), segments=segments
        )

    def decks(self, point: Mapping[str, object]) -> dict[int, ColumnDeck]:
        """Build the access transient of each trit's worst-case column."""
        params = self.params(point)
        direction = check_direction(str(point["direction"]))
        decks = {}
        for trit in TRITS:
            west, east = worst_case_pattern(params.rows, trit, direction)
            decks[trit] = column_deck(
                params, west, east, direction, [params.rows - 1],
                corner=str(point["corner"]), temp_c=float(point["temp_c"]),
            )  # fmt: skip
        return decks

    def settle_deck(self, point: Mapping[str, object]) -> ColumnDeck:
        """Build the point trit's column with the word line held on for the window."""
        params = self.params(point)
        direction = check_direction(str(point["direction"]))
        west, east = worst_case_pattern(params.rows, int(point["trit"]), direction)
        hold = max(0.0, self.settle_window_s - params.sense_s)
        return column_deck(
            params, west, east, direction, [params.rows - 1],
            corner=str(point["corner"]), temp_c=float(point["temp_c"]), hold_s=hold,
        )  # fmt: skip

    def key_text(self, point: Mapping[str, object]) -> str:
        parts = [column.deck.fingerprint() for column in self.decks(point).values()]
        parts.append(self.settle_deck(point).deck.fingerprint())
        return "\n".join(parts)

    def evaluate(self, point: Mapping[str, object], sim: Simulator) -> PointResult:
        trit = check_trit(point["trit"])
        reads: dict[int, ReadResult] = {}
        hashes = []
        for deck_trit, column in self.decks(point).items():
            result = sim.run(column.deck)
            hashes.append(result.netlist_hash)
            west, east = worst_case_pattern(
                column.params.rows, deck_trit, column.direction
            )
            reads[deck_trit] = access_results(column, result, west, east)[0]
        read = reads[trit]
        values = dict(read.values)
        reasons = dict(read.reasons)
        values["leakage_a"] = reads[0].values.get("leakage_a", math.nan)
        if "leakage_a" in reads[0].reasons:
            reasons["leakage_a"] = reads[0].reasons["leakage_a"]
        values["settled_v"] = read.settled_v
        values["sense_time_s"] = self.params(point).sense_s
        values["decision_margin_v"] = read.decision_margin_v
        values["read_ok"] = 1.0 if read.ok else 0.0
        if "line_v" in read.reasons:
            values["read_ok"] = math.nan
        lowest = {t: reads[t].lowest_v for t in TRITS}
        gaps = (lowest[1] - lowest[-1], lowest[0] - lowest[1])
        values["sense_margin_v"] = math.nan if math.isnan(sum(gaps)) else min(gaps)
        failed = [
            reads[t].reasons["line_v"] for t in TRITS if "line_v" in reads[t].reasons
        ]
        if failed:
            reasons["sense_margin_v"] = failed[0]

        if math.isnan(values.get("settle_time_s", math.nan)):
            values["settle_time_s"], reason = self._settle_long(point, sim, hashes)
            if reason:
                reasons["settle_time_s"] = reason
            else:
                reasons.pop("settle_time_s", None)
        for name in self.units:
            value = values.get(name, math.nan)
            if math.isnan(value) and name not in reasons:
                reasons[name] = read.reasons.get("line_v", "not computed")
        values = {name: float(values.get(name, math.nan)) for name in self.units}
        netlist_hash = hashlib.sha256("+".join(hashes).encode()).hexdigest()
        return PointResult(values, reasons, netlist_hash)

    def _settle_long(
        self, point: Mapping[str, object], sim: Simulator, hashes: list[str]
    ) -> tuple[float, str]:
        """Measure the settle time with the word line held on, and why it is NaN."""
        column = self.settle_deck(point)
        result = sim.run(column.deck)
        hashes.append(result.netlist_hash)
        if "time" not in result.waveforms:
            reason = "; ".join(sorted(set(result.reasons.values())))
            return math.nan, f"settle run failed: {reason or 'no waveforms'}"
        params = column.params
        trit = int(point["trit"])
        slot = column.slots[0]
        node = column.read_nodes[trit]  # the worst-case pattern reads on line `trit`
        settle = settle_time_s(
            result.waveforms["time"], result.waveforms[f"v({node})"],
            slot.wordline_s, slot.sense_s, params.level_v(trit), params.settle_tol_v,
        )  # fmt: skip
        if math.isnan(settle):
            final = float(np.interp(slot.sense_s, result.waveforms["time"],
                                    result.waveforms[f"v({node})"]))  # fmt: skip
            return settle, (
                f"line at {final:.3f} V, not within {params.settle_tol_v:.3g} V of "
                f"{params.level_v(trit):.3g} V after {self.settle_window_s:g} s with "
                "the word line on"
            )
        return settle, ""

    def default_grid(self, quick: bool = False, full: bool = False) -> dict[str, list]:
        """Grids: quick (tt, 1.8 V, 27 C, 16 and 64 rows), default, or full."""
        grid: dict[str, list] = {"direction": list(DIRECTIONS), "trit": list(TRITS)}
        if quick:
            grid.update(corner=["tt"], vdd_v=[1.8], temp_c=[27.0], rows=[16, 64])
        elif full:
            grid.update(
                corner=list(CORNERS),
                vdd_v=[1.2, 1.5, 1.8],
                temp_c=[-40.0, 27.0, 85.0, 125.0],
                rows=[64, 256, 1024, 2048],
            )
        else:
            grid.update(
                corner=["tt", "ss", "ff"],
                vdd_v=[1.8],
                temp_c=[27.0, 85.0],
                rows=[64, 256, 1024],
            )
        return {axis: grid[axis] for axis in self.axes}


def bitline_waveforms(
    sim: Simulator,
    rows: int = 256,
    *,
    corner: str = "tt",
    vdd_v: float = 1.8,
    temp_c: float = 27.0,
    direction: str = "forward",
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Simulate the worst-case read of each trit; return trit -> (time_s, line_v).

    Time counts from the word line's 50 % point; the line is the read line at the
    sense stage.
    """
    params = RomColumnParams(
        rows=rows, vdd_v=vdd_v, segments=None if rows <= 32 else 32
    )
    curves = {}
    for trit in TRITS:
        west, east = worst_case_pattern(rows, trit, direction)
        column = column_deck(
            params, west, east, direction, [rows - 1], corner=corner, temp_c=temp_c
        )
        result = sim.run(column.deck)
        time_s = result.waveforms["time"] - column.slots[0].wordline_s
        line_v = result.waveforms[f"v({column.read_nodes[trit]})"]
        keep = (time_s >= -0.2e-9) & (time_s <= params.sense_s)
        curves[trit] = (time_s[keep], line_v[keep])
    return curves


def plot_bitline_waveforms(
    sim_or_results: Simulator | Mapping[int, tuple[np.ndarray, np.ndarray]],
    path: str | Path,
    *,
    params: RomColumnParams | None = None,
) -> Path:
    """Plot the three trits' bit-line waveforms (tt, 1.8 V, 27 C, 256 rows) to `path`.

    Pass a Simulator to simulate them, or the output of `bitline_waveforms`.
    """
    from matplotlib.figure import Figure

    if isinstance(sim_or_results, Simulator):
        curves = bitline_waveforms(sim_or_results)
        params = params or RomColumnParams(rows=256)
    else:
        curves = dict(sim_or_results)
        params = params or RomColumnParams()
    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.add_subplot()
    for trit in TRITS:
        time_s, line_v = curves[trit]
        label = f"trit {trit:+d}" if trit else "trit 0"
        axes.plot(time_s * 1e9, line_v, label=label)
    for name, level in (("ref low", params.ref_low_v), ("ref high", params.ref_high_v)):
        axes.axhline(level, color="grey", linestyle="--", linewidth=0.8)
        axes.annotate(name, (0, level), fontsize=8, color="grey")
    axes.set_xlabel("time after word line rise (ns)")
    axes.set_ylabel("read line at sense stage (V)")
    axes.set_title(f"ROM column read, {params.rows} rows, worst-case pattern")
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path


def plot_sense_margin(table, path: str | Path) -> Path:
    """Plot the worst sense margin over VDD, temperature and direction vs rows.

    One line per corner; a hollow marker shows a rows count where some read of that
    corner decoded wrongly.
    """
    from matplotlib.figure import Figure

    df = table.df
    figure = Figure(figsize=(6.4, 4.0))
    axes = figure.add_subplot()
    for corner, group in df.groupby("corner"):
        worst = group.groupby("rows")["sense_margin_v"].min()
        all_ok = group.groupby("rows")["read_ok"].min() == 1.0
        line = axes.plot(worst.index, worst.values, marker="o", label=str(corner))[0]
        failed = ~all_ok.reindex(worst.index, fill_value=False)
        axes.plot(
            worst.index[failed.values], worst.values[failed.values], "o",
            markerfacecolor="white", color=line.get_color(),
        )  # fmt: skip
    axes.set_xscale("log", base=2)
    rows = sorted(df["rows"].unique())
    axes.set_xticks(rows, [str(int(r)) for r in rows])
    axes.set_xlabel("rows per column")
    axes.set_ylabel("worst sense margin (V)")
    axes.set_title("ROM column sense margin (hollow: a read failed)")
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
