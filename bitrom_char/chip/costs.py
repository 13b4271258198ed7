"""Per-event circuit costs at one operating point, read from characterization tables."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bitrom_char.chip.mapping import DIRECTIONS, TRITS
from bitrom_char.tables import OutsideGridError, Table

logger = logging.getLogger(__name__)

TABLE_NAMES = ("rom_column", "accumulator", "edram")


class MissingTableError(ValueError):
    """A characterization table that the chip model needs is not available."""

    def __init__(self, name: str, where: str) -> None:
        super().__init__(
            f"table {name!r} not found in {where}; make it with "
            f"`bitrom-char characterize {name}`"
        )
        self.name = name


@dataclass(frozen=True)
class EdramCosts:
    """Gain-cell eDRAM costs per cell (one bit)."""

    retention_s: float
    write_energy_j: float
    read_energy_j: float
    refresh_energy_j: float
    leakage_w: float
    write_time_s: float
    read_time_s: float


@dataclass(frozen=True)
class CircuitCosts:
    """Energies, delays and leakage per event at (corner, vdd_v, temp_c).

    ROM energies are per access of one column (one row read) and include precharge
    and drive. Accumulator energies are per cycle of one accumulator.
    `edram` is None when no eDRAM table was given.
    """

    corner: str
    vdd_v: float
    temp_c: float
    array_rows: int
    rom_read_energy_j: dict[tuple[str, int], float]
    rom_settle_time_s: float
    rom_leakage_a: float
    accumulator_energy_j: dict[str, float]
    accumulator_delay_s: float
    accumulator_fmax_hz: float
    accumulator_leakage_w: float
    edram: EdramCosts | None = None
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_tables(
        cls,
        tables: Mapping[str, Any] | str | Path,
        corner: str,
        vdd_v: float,
        temp_c: float,
        array_rows: int = 2048,
    ) -> CircuitCosts:
        """Read the costs at one operating point from Tables or a directory of them.

        `tables` maps table names to bitrom_char.tables.Table objects, or is a
        directory holding <name>.parquet files (or a run output with tables/).
        The ROM and accumulator tables are required and the eDRAM table is
        optional. A missing required table raises MissingTableError.
        """
        from bitrom_char.pdk import validate_corner, validate_supply

        validate_corner(corner)
        validate_supply(vdd_v, temp_c)
        found, where = load_tables(tables)
        for name in ("rom_column", "accumulator"):
            if name not in found:
                raise MissingTableError(name, where)
        notes: list[str] = []
        conditions = {"corner": corner, "vdd_v": float(vdd_v), "temp_c": float(temp_c)}

        rom = _read_rom(found["rom_column"], conditions, array_rows, notes)
        acc = found["accumulator"]
        acc_point = _pin_extra_axes(acc, conditions, notes)
        edram = None
        if "edram" in found:
            table = found["edram"]
            point = _pin_extra_axes(table, conditions, notes)
            fields = EdramCosts.__dataclass_fields__
            edram = EdramCosts(
                **{column: _lookup(table, column, point, notes) for column in fields}
            )

        costs = cls(
            corner=corner,
            vdd_v=float(vdd_v),
            temp_c=float(temp_c),
            array_rows=array_rows,
            rom_read_energy_j=rom["read_energy_j"],
            rom_settle_time_s=_nan_max(rom["settle_time_s"].values()),
            rom_leakage_a=float(np.mean(list(rom["leakage_a"].values()))),
            accumulator_energy_j={
                mode: _lookup(acc, f"energy_{mode}_j", acc_point, notes)
                for mode in ("add", "sub", "hold")
            },
            accumulator_delay_s=_lookup(acc, "delay_s", acc_point, notes),
            accumulator_fmax_hz=_lookup(acc, "fmax_hz", acc_point, notes),
            accumulator_leakage_w=_lookup(acc, "leakage_w", acc_point, notes),
            edram=edram,
            notes=tuple(notes),
        )
        # One log line per kind of note; the full list stays in `costs.notes`.
        for head, count in group_notes(notes).items():
            suffix = f" ({count} grid points)" if count > 1 else ""
            logger.warning("%s%s", head, suffix)
        return costs

    def max_clock_hz(self) -> float:
        """Return the fastest clock both the ROM read and the accumulator allow.

        A NaN limit (a failed measurement, noted in `notes`) is left out. NaN is
        returned only when every limit is NaN.
        """
        limits = [self.accumulator_fmax_hz]
        if self.rom_settle_time_s > 0:
            limits.append(1.0 / self.rom_settle_time_s)
        if self.accumulator_delay_s > 0:
            limits.append(1.0 / self.accumulator_delay_s)
        finite = [f for f in limits if math.isfinite(f)]
        return min(finite) if finite else math.nan


def group_notes(notes) -> dict[str, int]:
    """Count notes by their text without the grid point they name."""
    counts: dict[str, int] = {}
    for note in notes:
        head = note.split(" to {")[0].split(" at {")[0]
        counts[head] = counts.get(head, 0) + 1
    return counts


def load_tables(tables: Mapping[str, Any] | str | Path) -> tuple[dict[str, Any], str]:
    """Return (name -> Table, a description of where they came from)."""
    if isinstance(tables, Mapping):
        return dict(tables), "the given tables " + repr(sorted(tables))
    root = Path(tables)
    if not root.is_dir():
        raise FileNotFoundError(
            f"table directory {root} not found; pass a run output directory or a "
            "dict of Tables"
        )
    folder = root / "tables" if (root / "tables").is_dir() else root
    found = {}
    for name in TABLE_NAMES:
        path = folder / f"{name}.parquet"
        if path.is_file():
            found[name] = Table.read_parquet(path)
    return found, str(folder)


def _nan_max(values) -> float:
    """Return the largest value, or NaN when any value is NaN."""
    values = list(values)
    return math.nan if any(math.isnan(v) for v in values) else max(values)


def _read_rom(
    table: Any, conditions: dict, array_rows: int, notes: list[str]
) -> dict[str, dict[tuple[str, int], float]]:
    """Look up read energy, settle time and leakage for each direction and trit."""
    base = dict(conditions, rows=array_rows, direction="forward", trit=0)
    base = _pin_extra_axes(table, base, notes)
    out: dict[str, dict[tuple[str, int], float]] = {
        "read_energy_j": {},
        "settle_time_s": {},
        "leakage_a": {},
    }
    for direction in DIRECTIONS:
        for trit in TRITS:
            point = dict(base, direction=direction, trit=trit)
            for column, values in out.items():
                values[(direction, trit)] = _lookup(table, column, point, notes)
    return out


# Value picked for an extra table axis that has several grid values. Gaussian
# activations are the usual model of LLM activations.
PREFERRED_AXIS_VALUES = {"distribution": "gaussian"}


def _pin_extra_axes(table: Any, conditions: dict, notes: list[str]) -> dict:
    """Return conditions plus one value for each further table axis.

    Axes with one grid value are left out, which Table.lookup allows. For an axis
    with several values, the value in PREFERRED_AXIS_VALUES is used when present,
    else the largest, and a note records the choice.
    """
    pinned = dict(conditions)
    for axis in getattr(table, "axes", ()):
        if axis in pinned:
            continue
        values = table.values(axis)
        if len(values) <= 1:
            continue
        preferred = PREFERRED_AXIS_VALUES.get(axis)
        pinned[axis] = preferred if preferred in values else max(values)
        notes.append(
            f"{table.name}: axis {axis} has values {values}; used {pinned[axis]!r}"
        )
    return pinned


def _lookup(table: Any, column: str, point: dict, notes: list[str]) -> float:
    """Look up one value, extrapolating with a note when the point is off the grid.

    A point that is a grid point reads its own row. Table.lookup interpolates even
    there, and a NaN at a neighbouring grid point (say a failed read at another
    VDD) would then turn this point's value into NaN.
    """
    exact = _grid_row(table, column, point)
    if exact is not None:
        value = exact
    else:
        try:
            value = table.lookup(column, **point)
        except KeyError as exc:
            raise ValueError(
                f"{exc.args[0]}; recharacterize the table with this bitrom-char version"
            ) from exc
        except OutsideGridError:
            value = table.lookup(column, extrapolate=True, **point)
            notes.append(f"{column} extrapolated to {point}, outside the table grid")
    value = float(value)
    if math.isnan(value):
        notes.append(f"{column} is NaN at {point}: that measurement failed")
    return value


def _grid_row(table: Any, column: str, point: dict) -> float | None:
    """Return `column` of the one row that matches every axis of `point`, or None."""
    df = getattr(table, "df", None)
    axes = getattr(table, "axes", ())
    if df is None or column not in df.columns or not set(point) <= set(df.columns):
        return None
    mask = np.ones(len(df), dtype=bool)
    for axis, wanted in point.items():
        values = df[axis]
        if isinstance(wanted, str):
            mask &= (values == wanted).to_numpy()
        else:
            mask &= np.isclose(values.to_numpy(dtype=float), float(wanted))
    # Axes left out of the point must have a single value for the row to be unique.
    if any(df.loc[mask, axis].nunique() > 1 for axis in axes if axis not in point):
        return None
    if np.count_nonzero(mask) != 1:
        return None
    return float(df.loc[mask, column].iloc[0])
