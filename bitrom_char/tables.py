"""Lookup tables: characterization results with units and provenance, and interpolation.

A table is a pandas DataFrame with one row per grid point. Axis columns (corner,
vdd_v, temp_c, and cell parameters) come first, then output columns in SI units.
Provenance columns follow: netlist hash, ngspice and PDK versions, date. The `reasons`
column is a JSON object that maps each NaN output to the cause of its failure. Units, axes and table-level
provenance travel in the Parquet file's metadata.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.interpolate import RegularGridInterpolator

PROVENANCE_COLUMNS = (
    "netlist_hash",
    "ngspice_version",
    "pdk_source",
    "pdk_version",
    "date",
    "reasons",
)
AXIS_UNITS = {"vdd_v": "V", "temp_c": "degC", "corner": "", "rows": "1"}
_METADATA_KEY = b"bitrom_char"


class OutsideGridError(ValueError):
    """A lookup asked for a point outside the characterized grid."""


def _axis_number(axis: str, value: object) -> float:
    """Convert a lookup condition to float, naming the axis when that fails."""
    if isinstance(value, bool):
        raise ValueError(f"{axis}={value!r} is not a number")  # noqa: TRY004
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{axis}={value!r} is not a number") from None
    if math.isnan(number):
        raise ValueError(f"{axis}=nan is invalid; give a number on or near the grid")
    return number


class Table:
    """Characterization results of one cell over a grid."""

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        name: str,
        axes: Sequence[str],
        units: Mapping[str, str],
        provenance: Mapping[str, object] | None = None,
    ):
        missing = [axis for axis in axes if axis not in df.columns]
        if missing:
            raise ValueError(
                f"table {name}: axis columns missing: {', '.join(missing)}"
            )
        self.df = df.reset_index(drop=True)
        self.name = name
        self.axes = tuple(axes)
        self.units = dict(units)
        self.provenance = dict(provenance or {})

    def __repr__(self) -> str:
        return f"Table({self.name!r}, {len(self.df)} rows, axes={list(self.axes)})"

    @property
    def outputs(self) -> list[str]:
        """Output columns: everything that is neither an axis nor provenance."""
        skip = set(self.axes) | set(PROVENANCE_COLUMNS)
        return [c for c in self.df.columns if c not in skip]

    def to_parquet(self, path: str | Path) -> Path:
        """Write the table and its metadata; the write is atomic."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrow = pa.Table.from_pandas(self.df, preserve_index=False)
        meta = dict(arrow.schema.metadata or {})
        meta[_METADATA_KEY] = json.dumps(
            {
                "name": self.name,
                "axes": list(self.axes),
                "units": self.units,
                "provenance": self.provenance,
            },
            default=str,
        ).encode()
        temp = path.with_name(f".{path.name}.tmp")
        pq.write_table(arrow.replace_schema_metadata(meta), temp)
        temp.replace(path)
        return path

    @classmethod
    def read_parquet(cls, path: str | Path) -> Table:
        """Read a table written by `to_parquet`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"table file {path} does not exist")
        arrow = pq.read_table(path)
        raw = (arrow.schema.metadata or {}).get(_METADATA_KEY)
        if raw is None:
            raise ValueError(f"{path} is a Parquet file but not a bitrom-char table")
        meta = json.loads(raw)
        return cls(
            arrow.to_pandas(),
            name=meta["name"],
            axes=meta["axes"],
            units=meta["units"],
            provenance=meta.get("provenance", {}),
        )

    def values(self, axis: str) -> list:
        """Sorted distinct values of a grid axis."""
        if axis not in self.axes:
            raise ValueError(f"{axis!r} is not an axis of {self.name}: {self.axes}")
        return sorted(self.df[axis].dropna().unique().tolist())

    def lookup(
        self, column: str, *, extrapolate: bool = False, **conditions: object
    ) -> float:
        """Interpolate `column` at the given axis values.

        Text axes (corner, direction) must match a grid value exactly. Numeric axes
        interpolate linearly between grid points; a value outside the grid raises
        OutsideGridError unless `extrapolate` is true. An axis with a single grid value
        may be omitted. Returns NaN when a neighbouring grid point is NaN.
        """
        if column not in self.df.columns:
            raise KeyError(
                f"{self.name} has no column {column!r}; outputs: {', '.join(self.outputs)}"
            )
        unknown = sorted(set(conditions) - set(self.axes))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown axes {', '.join(unknown)}; "
                f"axes are {', '.join(self.axes)}"
            )
        subset = self.df
        numeric: list[str] = []
        for axis in self.axes:
            grid = sorted(subset[axis].unique().tolist())
            is_number = pd.api.types.is_numeric_dtype(self.df[axis])
            if axis not in conditions:
                if len(grid) != 1:
                    raise ValueError(
                        f"{self.name}: give {axis}=...; the grid has {grid}"
                    )
                continue
            if is_number:
                conditions = {**conditions, axis: _axis_number(axis, conditions[axis])}
                numeric.append(axis)
                continue
            wanted = conditions[axis]
            if wanted not in grid:
                raise OutsideGridError(
                    f"{self.name}: {axis}={wanted!r} is not in the grid {grid}"
                )
            subset = subset[subset[axis] == wanted]
        if not numeric:
            if len(subset) != 1:
                raise ValueError(
                    f"{self.name}: {len(subset)} rows match {conditions}; "
                    "the table has duplicate grid points"
                )
            return float(subset[column].iloc[0])
        return self._interpolate(subset, column, numeric, conditions, extrapolate)

    def _interpolate(
        self,
        subset: pd.DataFrame,
        column: str,
        numeric: list[str],
        conditions: Mapping[str, object],
        extrapolate: bool,
    ) -> float:
        points = [np.array(sorted(subset[a].unique()), dtype=float) for a in numeric]
        target = np.array([float(conditions[a]) for a in numeric])
        for axis, grid, value in zip(numeric, points, target, strict=True):
            if not extrapolate and not grid[0] - 1e-12 <= value <= grid[-1] + 1e-12:
                raise OutsideGridError(
                    f"{self.name}: {axis}={value:g} is outside the grid "
                    f"{grid[0]:g}..{grid[-1]:g}; pass extrapolate=True to extrapolate"
                )
        # On a grid point, return its own value: linear weights of zero would still
        # carry a NaN neighbour into the result.
        exact = np.ones(len(subset), dtype=bool)
        for axis, value in zip(numeric, target, strict=True):
            exact &= np.isclose(subset[axis].to_numpy(dtype=float), value, rtol=1e-12)
        if exact.sum() == 1:
            return float(subset[column].to_numpy(dtype=float)[exact][0])
        cube = np.full([len(g) for g in points], np.nan)
        index = [
            np.searchsorted(grid, subset[axis].to_numpy(dtype=float))
            for axis, grid in zip(numeric, points, strict=True)
        ]
        cube[tuple(index)] = subset[column].to_numpy(dtype=float)
        # Axes with one point cannot interpolate; drop them from the interpolator.
        keep = [i for i, grid in enumerate(points) if len(grid) > 1]
        cube = cube.reshape([len(points[i]) for i in keep]) if keep else cube
        if not keep:
            return float(cube.reshape(-1)[0])
        interpolator = RegularGridInterpolator(
            [points[i] for i in keep],
            cube,
            bounds_error=False,
            fill_value=None,
        )
        return float(interpolator(target[keep])[0])

    def completeness(self) -> pd.DataFrame:
        """List NaN outputs with their grid point and reason, and missing grid points."""
        records = []
        for _, row in self.df.iterrows():
            reasons = json.loads(row.get("reasons") or "{}")
            for column in self.outputs:
                value = row[column]
                if isinstance(value, float) and math.isnan(value):
                    point = {axis: row[axis] for axis in self.axes}
                    reason = reasons.get(column, "no reason recorded")
                    records.append({**point, "column": column, "reason": reason})
        expected = 1
        for axis in self.axes:
            expected *= self.df[axis].nunique()
        if len(self.df.drop_duplicates(list(self.axes))) < expected:
            full = pd.MultiIndex.from_product([self.values(a) for a in self.axes])
            present = set(map(tuple, self.df[list(self.axes)].to_numpy().tolist()))
            for combo in full:
                if tuple(combo) not in present:
                    point = dict(zip(self.axes, combo, strict=True))
                    records.append(
                        {**point, "column": "*", "reason": "grid point missing"}
                    )
        columns = [*self.axes, "column", "reason"]
        return pd.DataFrame.from_records(records, columns=columns)

    def is_complete(self) -> bool:
        """True when no output is NaN and no grid point is missing."""
        return self.completeness().empty
