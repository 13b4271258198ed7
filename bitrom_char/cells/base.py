"""The interface a circuit implements to be characterized by the sweep engine."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bitrom_char.pdk import validate_corner, validate_supply
from bitrom_char.spice.simulator import Simulator


@dataclass
class PointResult:
    """Outputs of one grid point: values in SI units, NaN with a reason on failure."""

    values: dict[str, float]
    reasons: dict[str, str] = field(default_factory=dict)
    netlist_hash: str = ""
    # False for failures outside the simulation (a Python error, a timeout, a dead
    # worker): such points appear in the table but are computed again on a rerun.
    cacheable: bool = True


class Cell:
    """A characterizable circuit.

    Subclasses set `name` (the table name), `axes` (grid axes in order) and `units`
    (every output column and its SI unit), and implement `key_text`, `evaluate` and
    `default_grid`. The sweep engine uses nothing else of a cell.
    """

    name: str = ""
    axes: Sequence[str] = ("corner", "vdd_v", "temp_c")
    units: Mapping[str, str] = {}
    # Bump when evaluate() changes in a way that changes results for the same netlist.
    version: str = "1"

    def validate_point(self, point: Mapping[str, object]) -> None:
        """Raise ValueError when a grid point is outside what the cell supports."""
        missing = [axis for axis in self.axes if axis not in point]
        if missing:
            raise ValueError(f"{self.name}: grid point lacks axes {', '.join(missing)}")
        unknown = sorted(set(point) - set(self.axes))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown axes {', '.join(unknown)}; "
                f"this cell takes {', '.join(self.axes)}"
            )
        if "corner" in point:
            validate_corner(str(point["corner"]))
        if "vdd_v" in point and "temp_c" in point:
            validate_supply(point["vdd_v"], point["temp_c"])

    def key_text(self, point: Mapping[str, object]) -> str:
        """Return text that fully determines the point's result (netlists, meas lines)."""
        raise NotImplementedError

    def evaluate(self, point: Mapping[str, object], sim: Simulator) -> PointResult:
        """Simulate one grid point."""
        raise NotImplementedError

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        """Return the grid the run command uses; `quick` gives a first-look grid."""
        raise NotImplementedError

    def structure_key(self, point: Mapping[str, object]) -> str:
        """Group key: points with equal keys reuse a loaded circuit in a worker.

        The default groups by every axis except vdd_v, which decks pass as a parameter.
        """
        parts = [f"{axis}={point[axis]}" for axis in self.axes if axis != "vdd_v"]
        return hashlib.sha1("|".join(parts).encode()).hexdigest()
