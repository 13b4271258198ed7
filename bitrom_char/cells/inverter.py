"""sky130 inverter: propagation delay, output slews and switching energy vs load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.pdk import check_device_size
from bitrom_char.spice import Deck, Simulator, render_template
from bitrom_char.spice.measure import Delay, Integral

# Input pulse timing: one falling and one rising output transition per period.
DELAY_S = 1e-9
WIDTH_S = 2e-9
PERIOD_S = 4e-9
STOP_S = 6e-9


@dataclass(frozen=True)
class InverterCell(Cell):
    """Inverter (nfet 0.65/0.15 um, pfet 1.0/0.15 um by default) into a load.

    Delays are measured 50 % to 50 % of VDD; slews 10 % to 90 % of VDD. The input
    edges are `edge_s` long from 0 to 100 %, as ngspice's PULSE source defines them.
    `energy_cycle_j` is the energy drawn from VDD over one period, which contains one
    rising and one falling output transition.
    """

    wn_um: float = 0.65
    wp_um: float = 1.0
    l_um: float = 0.15
    edge_s: float = 20e-12
    nfet: str = "sky130_fd_pr__nfet_01v8"
    pfet: str = "sky130_fd_pr__pfet_01v8"

    name = "inverter"
    axes = ("corner", "vdd_v", "temp_c", "cload_f")
    units: ClassVar[dict[str, str]] = {
        "tphl_s": "s",
        "tplh_s": "s",
        "tpd_s": "s",
        "tfall_s": "s",
        "trise_s": "s",
        "energy_cycle_j": "J",
    }

    def __post_init__(self) -> None:
        check_device_size(self.nfet, self.wn_um, self.l_um)
        check_device_size(self.pfet, self.wp_um, self.l_um)
        if not 0 < self.edge_s < WIDTH_S:
            raise ValueError(
                f"edge_s={self.edge_s} is invalid; use 0 < edge_s < {WIDTH_S} s"
            )

    def validate_point(self, point: Mapping[str, object]) -> None:
        super().validate_point(point)
        cload_f = float(point["cload_f"])
        if not 0 <= cload_f <= 1e-9:
            raise ValueError(
                f"cload_f={cload_f} F is invalid; use a load between 0 and 1e-9 F"
            )

    def deck(self, point: Mapping[str, object]) -> Deck:
        vdd_v = float(point["vdd_v"])
        netlist = render_template(
            "inverter",
            {
                "delay_s": DELAY_S,
                "width_s": WIDTH_S,
                "period_s": PERIOD_S,
                "nfet": self.nfet,
                "pfet": self.pfet,
                "wn_um": self.wn_um,
                "wp_um": self.wp_um,
                "ln_um": self.l_um,
                "lp_um": self.l_um,
            },
        )
        half, low, high = 0.5 * vdd_v, 0.1 * vdd_v, 0.9 * vdd_v
        measurements = [
            Delay("tphl_s", "v(in)", half, "rise", "v(out)", half, "fall"),
            Delay("tplh_s", "v(in)", half, "fall", "v(out)", half, "rise"),
            Delay("tfall_s", "v(out)", high, "fall", "v(out)", low, "fall"),
            Delay("trise_s", "v(out)", low, "rise", "v(out)", high, "rise"),
            Integral("q_cycle_c", "i(vdd)", DELAY_S, DELAY_S + PERIOD_S),
        ]
        return Deck(
            title="inverter",
            netlist=netlist,
            analysis=f"tran 1p {STOP_S!r}",
            measurements=measurements,
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
            params={
                "vdd_v": vdd_v,
                "cload_f": float(point["cload_f"]),
                "edge_s": self.edge_s,
            },
        )

    def key_text(self, point: Mapping[str, object]) -> str:
        return self.deck(point).fingerprint()

    def evaluate(self, point: Mapping[str, object], sim: Simulator) -> PointResult:
        result = sim.run(self.deck(point))
        values = dict(result.values)
        reasons = dict(result.reasons)
        values["tpd_s"] = 0.5 * (values["tphl_s"] + values["tplh_s"])
        if "tphl_s" in reasons or "tplh_s" in reasons:
            reasons["tpd_s"] = reasons.get("tphl_s") or reasons["tplh_s"]
        # Supply current flows out of the source's + node, so ngspice reports it < 0.
        values["energy_cycle_j"] = -values.pop("q_cycle_c") * float(point["vdd_v"])
        if "q_cycle_c" in reasons:
            reasons["energy_cycle_j"] = reasons.pop("q_cycle_c")
        return PointResult(values, reasons, result.netlist_hash)

    def structure_key(self, point: Mapping[str, object]) -> str:
        return f"{point['corner']}|{point['temp_c']}"

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        if quick:
            return {
                "corner": ["tt"],
                "vdd_v": [1.8],
                "temp_c": [27.0],
                "cload_f": [5e-15, 10e-15],
            }
        return {
            "corner": ["tt", "ff", "ss", "sf", "fs"],
            "vdd_v": [1.2, 1.5, 1.8],
            "temp_c": [-40.0, 27.0, 85.0, 125.0],
            "cload_f": [2e-15, 10e-15, 50e-15],
        }
