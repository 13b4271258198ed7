"""Cells used only by the sweep tests; importable by spawned worker processes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.spice import Deck
from bitrom_char.spice.measure import Find


class SlowRcCell(Cell):
    """An RC transient whose length (and run time) grows with `stop_s`.

    With `hang_above_s`, points whose stop time exceeds it run a far longer transient,
    which the sweep's timeout has to kill.
    """

    name = "slow_rc"
    axes = ("corner", "vdd_v", "temp_c", "stop_s")
    units: ClassVar[dict[str, str]] = {"v_end_v": "V", "pid": "1"}

    def __init__(self, hang_above_s: float | None = None):
        self.hang_above_s = hang_above_s

    def deck(self, point: Mapping) -> Deck:
        stop_s = float(point["stop_s"])
        if self.hang_above_s is not None and stop_s > self.hang_above_s:
            analysis = "tran 1p 1"  # 10^12 minimum steps: runs for hours
        else:
            analysis = f"tran {stop_s / 1000!r} {stop_s!r}"
        return Deck(
            title="rc",
            netlist="V1 a 0 {vdd_v}\nR1 a b 1k\nC1 b 0 1p\n"
            "X1 b a 0 0 sky130_fd_pr__nfet_01v8 W=1 L=0.15\n",
            analysis=analysis,
            measurements=[Find("v_end_v", "v(b)", at_s=stop_s * 0.999)],
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
            params={"vdd_v": float(point["vdd_v"])},
        )

    def key_text(self, point: Mapping) -> str:
        return self.deck(point).fingerprint()

    def evaluate(self, point: Mapping, sim) -> PointResult:
        result = sim.run(self.deck(point))
        values = dict(result.values)
        values["pid"] = float(os.getpid())
        return PointResult(values, result.reasons, result.netlist_hash)

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        return {"corner": ["tt"], "vdd_v": [1.8], "temp_c": [27.0], "stop_s": [1e-9]}
