"""Drain current of single sky130 MOSFETs at |Vgs| = |Vds| = VDD."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.pdk import check_device_size
from bitrom_char.spice import Deck, Simulator, render_template
from bitrom_char.spice.measure import OperatingPoint

DEVICES = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8")


class DeviceCell(Cell):
    """On-current of a MOSFET: the engine's simplest proof against golden values."""

    name = "device"
    axes = ("corner", "vdd_v", "temp_c", "model", "w_um", "l_um")
    units: ClassVar[dict[str, str]] = {"id_a": "A"}

    def validate_point(self, point: Mapping[str, object]) -> None:
        super().validate_point(point)
        check_device_size(
            str(point["model"]), float(point["w_um"]), float(point["l_um"])
        )

    def deck(self, point: Mapping[str, object]) -> Deck:
        model = str(point["model"])
        vdd_v = float(point["vdd_v"])
        is_pfet = "pfet" in model
        netlist = render_template(
            "device_id",
            {
                "model": model,
                "w_um": float(point["w_um"]),
                "l_um": float(point["l_um"]),
                "vd": 0.0 if is_pfet else vdd_v,
                "vg": 0.0 if is_pfet else vdd_v,
                "vs": vdd_v if is_pfet else 0.0,
            },
        )
        # Current into the drain source's + node is negative for an nfet sinking it.
        expr = "i(vd)" if is_pfet else "-i(vd)"
        return Deck(
            title=f"{model} id",
            netlist=netlist,
            analysis="op",
            measurements=[OperatingPoint("id_a", expr)],
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
        )

    def key_text(self, point: Mapping[str, object]) -> str:
        deck = self.deck(point)
        return f"{deck.fingerprint()}"

    def evaluate(self, point: Mapping[str, object], sim: Simulator) -> PointResult:
        deck = self.deck(point)
        result = sim.run(deck)
        return PointResult(result.values, result.reasons, result.netlist_hash)

    def structure_key(self, point: Mapping[str, object]) -> str:
        return "|".join(str(point[a]) for a in ("corner", "temp_c", "model"))

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        if quick:
            return {
                "corner": ["tt"],
                "vdd_v": [1.8],
                "temp_c": [27.0],
                "model": list(DEVICES),
                "w_um": [1.0],
                "l_um": [0.15],
            }
        return {
            "corner": ["tt", "ff", "ss", "sf", "fs"],
            "vdd_v": [1.2, 1.5, 1.8],
            "temp_c": [-40.0, 27.0, 85.0, 125.0],
            "model": list(DEVICES),
            "w_um": [1.0],
            "l_um": [0.15],
        }
