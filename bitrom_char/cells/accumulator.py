"""Tri-mode local accumulator cell: energy per mode, fmax, leakage and pin capacitance.

The circuit (sky130_fd_sc_hd cells at transistor level) comes from
accumulator_netlist; the testbench that runs operation sequences from accumulator_sim.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from bitrom_char.cells.accumulator_netlist import (
    DEFAULT_ROWS,
    DEFAULT_WIDTH,
    AccumulatorDesign,
    SequenceTiming,
    cell_counts,
)
from bitrom_char.cells.accumulator_sim import (
    DISTRIBUTIONS,
    TRANSITION_S,
    activation_samples,
    leakage_deck,
    run_sequence,
    sequence_deck,
)
from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.spice import Simulator
from bitrom_char.spice.measure import Integral

log = logging.getLogger(__name__)

__all__ = ["WORST_CASE", "AccumulatorCell", "cell_counts", "plot_energy_per_mode"]

MODES = ("add", "sub", "hold")
MODE_TRITS = {"add": "+1", "sub": "-1", "hold": "0"}
ENERGY_PERIOD_S = 10e-9
ENERGY_TITLE = "accumulator energy"
# Worst-case carry propagation, each ripple started by the register alone (the
# operand stays the same across the edge). Register values: -2, -1, 0, 1, 0, -1.
# Edge 1 (Q: -2 -> -1, +1 added) ripples a carry through every bit; edge 4
# (Q: 1 -> 0, +1 subtracted) ripples a carry kill through every bit.
WORST_CASE = [(1, -2), (1, 1), (1, 1), (1, 1), (-1, 1), (-1, 1)]
RIPPLE_EDGES = (1, 4)
RELAXED_PERIOD_S = 20e-9
MAX_RELAXED_PERIOD_S = 320e-9


@dataclass(frozen=True)
class AccumulatorCell(Cell):
    """The accumulator at one supply, corner and temperature.

    Energies are drawn from VDD per clock cycle at 100 MHz, averaged over
    `operations_per_mode` random operations of one mode. Activations follow the
    `distribution` axis: "uniform" int8, or "gaussian" (sigma 20, clipped to int8),
    which is closer to absmax-quantized LLM activations. They exclude the energy
    that the drivers spend charging the accumulator's input pins, which cin_*_f
    give. sums_exact is 1 when every register value of that run was exact.
    """

    width: int = DEFAULT_WIDTH
    structure: str = "ripple"
    rows: int = DEFAULT_ROWS
    block_bits: int = 4
    fmax_steps: int = 4
    seed: int = 2026

    name = "accumulator"
    axes = ("corner", "vdd_v", "temp_c", "distribution", "operations_per_mode")
    units: ClassVar[dict[str, str]] = {
        "energy_add_j": "J",
        "energy_sub_j": "J",
        "energy_hold_j": "J",
        "delay_s": "s",
        "fmax_hz": "Hz",
        "leakage_w": "W",
        "cin_act_f": "F",
        "cin_trit_f": "F",
        "cin_sign_f": "F",
        "sums_exact": "1",
    }

    @property
    def design(self) -> AccumulatorDesign:
        return AccumulatorDesign(
            width=self.width,
            structure=self.structure,
            rows=self.rows,
            block_bits=self.block_bits,
        )

    def __post_init__(self) -> None:
        self.design  # noqa: B018 - validates width, structure and rows early
        if not 1 <= self.fmax_steps <= 12:
            raise ValueError(
                f"fmax_steps={self.fmax_steps!r} is out of range: use 1 to 12"
            )

    def validate_point(self, point: Mapping[str, object]) -> None:
        super().validate_point(point)
        if point["distribution"] not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution={point['distribution']!r} is unknown: use one of "
                f"{DISTRIBUTIONS}"
            )
        count = point["operations_per_mode"]
        if not isinstance(count, int | np.integer) or not 2 <= count <= 256:
            raise ValueError(
                f"operations_per_mode={count!r} is out of range: use an integer "
                f"from 2 to 256"
            )
        # The energy run adds then subtracts up to 2 x count + 2 products.
        if 2 * int(count) + 2 > self.rows:
            raise ValueError(
                f"operations_per_mode={count} needs {2 * int(count) + 2} rows of "
                f"headroom but the design holds {self.rows}: lower it"
            )

    def energy_operations(self, point: Mapping[str, object]) -> list[tuple[int, int]]:
        """Return the energy run: add, hold and sub phases, each after one guard.

        The adder is still settling from the previous operation when the next
        one starts, so each phase begins with an unmeasured operation of its own
        mode that absorbs the previous phase's tail (see `phase_starts`).
        """
        count = int(point["operations_per_mode"])
        activations = activation_samples(
            str(point["distribution"]), 3 * count + 3, self.seed
        )
        trits = [1] * (count + 1) + [0] * (count + 1) + [-1] * (count + 1)
        return list(zip(trits, activations, strict=True))

    def energy_deck(self, point: Mapping[str, object]):
        operations = self.energy_operations(point)
        return sequence_deck(
            self.design,
            operations,
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
            vdd_v=float(point["vdd_v"]),
            period_s=ENERGY_PERIOD_S,
            measurements=self._energy_measurements(operations, point),
            title=ENERGY_TITLE,
        )

    def _energy_measurements(self, operations, point):
        count = int(point["operations_per_mode"])
        timing = SequenceTiming(ENERGY_PERIOD_S, TRANSITION_S, len(operations))
        period = ENERGY_PERIOD_S
        measurements = []
        for mode, first in phase_starts(count).items():
            start = (first + 0.09) * period
            stop = (first + count + 0.09) * period
            measurements.append(Integral(f"q_{mode}_c", "i(vvdd)", start, stop))
        for name, net, k in _pin_edges(operations, count):
            start = timing.input_time_s(k) - 0.01 * period
            measurements.append(
                Integral(name, f"i(v{net})", start, start + 0.2 * period)
            )
        return measurements

    def leakage_deck(self, point: Mapping[str, object]):
        return leakage_deck(
            self.design,
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
            vdd_v=float(point["vdd_v"]),
        )

    def key_text(self, point: Mapping[str, object]) -> str:
        worst = sequence_deck(
            self.design,
            WORST_CASE,
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
            vdd_v=float(point["vdd_v"]),
            period_s=RELAXED_PERIOD_S,
        )
        search = f"fmax bisection steps={self.fmax_steps} relaxed={RELAXED_PERIOD_S!r}"
        return "\n".join(
            [
                self.energy_deck(point).fingerprint(),
                self.leakage_deck(point).fingerprint(),
                worst.fingerprint(),
                search,
            ]
        )

    def evaluate(self, point: Mapping[str, object], sim: Simulator) -> PointResult:
        values, reasons, netlist_hash = self.energy(point, sim)

        leakage = sim.run(self.leakage_deck(point))
        values["leakage_w"] = -leakage.values["i_leak_a"] * float(point["vdd_v"])
        if "i_leak_a" in leakage.reasons:
            reasons["leakage_w"] = leakage.reasons["i_leak_a"]

        timing_values, timing_reasons = self.timing(point, sim)
        values.update(timing_values)
        reasons.update(timing_reasons)
        return PointResult(values, reasons, netlist_hash)

    def energy(
        self, point: Mapping[str, object], sim: Simulator
    ) -> tuple[dict[str, float], dict[str, str], str]:
        """Run the energy sequence; return energies, pin capacitances and sums_exact.

        Also returns the reasons for NaN values and the deck's netlist hash.
        """
        vdd_v = float(point["vdd_v"])
        values: dict[str, float] = {}
        reasons: dict[str, str] = {}
        operations = self.energy_operations(point)
        run = run_sequence(
            sim,
            operations,
            design=self.design,
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
            vdd_v=vdd_v,
            period_s=ENERGY_PERIOD_S,
            measurements=self._energy_measurements(operations, point),
            title=ENERGY_TITLE,
        )
        energy = run.result

        # Energies stay valid when a sum is wrong, so the flag marks such points.
        values["sums_exact"] = float(run.exact)
        if run.register[0] is None and energy.reasons:
            values["sums_exact"] = math.nan
            reasons["sums_exact"] = next(iter(energy.reasons.values()))
        elif not run.exact:
            log.warning("%s: energy run not exact: %s", point, run.first_error())

        count = int(point["operations_per_mode"])
        for mode in MODES:
            charge = energy.values[f"q_{mode}_c"]
            # Supply current flows out of the source's + node: ngspice reports < 0.
            values[f"energy_{mode}_j"] = -charge * vdd_v / count
            if f"q_{mode}_c" in energy.reasons:
                reasons[f"energy_{mode}_j"] = energy.reasons[f"q_{mode}_c"]
        for column in ("cin_act_f", "cin_trit_f", "cin_sign_f"):
            values[column] = -energy.values[f"q_{column}"] / vdd_v
            if f"q_{column}" in energy.reasons:
                reasons[column] = energy.reasons[f"q_{column}"]
        return values, reasons, energy.netlist_hash

    def timing(
        self, point: Mapping[str, object], sim: Simulator
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Measure the worst-case delay, then search the shortest exact clock period.

        delay_s runs from the 50 % point of the rising clock to the last sum bit
        crossing 50 % of VDD after a full carry ripple, at a relaxed period.
        fmax_hz is 1 / the shortest period found at which the worst-case sequence
        still gives every exact sum. The bisection starts at 1.25 x delay_s and
        assumes 0.9 x delay_s fails, so with the default 4 steps fmax_hz is within
        about 3 % of the true limit. The limit can sit slightly below delay_s
        because at short periods a ripple starts from carries that have not
        settled to the relaxed run's state.
        """
        conditions = {
            "corner": str(point["corner"]),
            "temp_c": float(point["temp_c"]),
            "vdd_v": float(point["vdd_v"]),
        }
        period = RELAXED_PERIOD_S
        while True:
            run = run_sequence(
                sim,
                WORST_CASE,
                design=self.design,
                period_s=period,
                save=self._sum_vectors(),
                **conditions,
            )
            delay, reason = _ripple_delay(run, self.width, conditions["vdd_v"])
            log.debug(
                "relaxed period %.4g s: exact=%s delay %.4g s", period, run.exact, delay
            )
            if run.exact and not reason and delay < 0.8 * period:
                break
            if 2 * period > MAX_RELAXED_PERIOD_S:
                failure = reason or run.first_error() or f"ripple took {delay:.3g} s"
                failure = f"no exact run at {period:.3g} s period: {failure}"
                return {"delay_s": math.nan, "fmax_hz": math.nan}, {
                    "delay_s": failure,
                    "fmax_hz": failure,
                }
            period *= 2

        passing, failing = period, 0.9 * delay
        probe = 1.25 * delay
        log.debug("worst-case delay %.4g s", delay)
        for _ in range(self.fmax_steps):
            run = run_sequence(
                sim, WORST_CASE, design=self.design, period_s=probe, **conditions
            )
            log.debug("period %.4g s exact=%s", probe, run.exact)
            if run.exact:
                passing = probe
            else:
                failing = probe
            probe = 0.5 * (passing + failing)
        return {"delay_s": delay, "fmax_hz": 1.0 / passing}, {}

    def _sum_vectors(self) -> tuple[str, ...]:
        return tuple(f"v(xacc.s{i})" for i in range(self.width))

    def structure_key(self, point: Mapping[str, object]) -> str:
        return f"{point['corner']}|{point['temp_c']}|{point['operations_per_mode']}"

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        if quick:
            return {
                "corner": ["tt"],
                "vdd_v": [1.8],
                "temp_c": [27.0],
                "distribution": ["gaussian"],
                "operations_per_mode": [4],
            }
        return {
            "corner": ["tt", "ff", "ss", "sf", "fs"],
            "vdd_v": [1.2, 1.5, 1.8],
            "temp_c": [-40.0, 27.0, 125.0],
            "distribution": ["gaussian"],
            "operations_per_mode": [16],
        }


def _pin_edges(operations, count):
    """Pick the input edges whose charge gives each pin's capacitance.

    The activation pin a0 is measured on its first rise inside the add phase, where
    the trit wires stay at +1. The trit wires are measured on the hold-to-sub
    boundary, where nz and neg rise together.
    """
    edges = []
    for k in range(2, phase_starts(count)["hold"] - 1):
        if operations[k - 1][1] & 1 == 0 and operations[k][1] & 1 == 1:
            edges.append(("q_cin_act_f", "a0", k))
            break
    else:
        raise ValueError(
            "the activation sequence has no rising a0 inside the add phase: "
            "raise operations_per_mode or change the seed"
        )
    sub_guard = phase_starts(count)["sub"] - 1
    # NOTE: at tt/27 C the pins read 2.0 fF (a0), 18.6 fF (nz) and 2.0 fF (neg) at
    # 1.8 V, but 3.6, 33.5 and 3.6 fF at 1.45 V, where gate area predicts about
    # 2 fF per nand2 input. The cause is not found: trust cin_*_f only near 1.8 V.
    edges.append(("q_cin_trit_f", "nz", sub_guard))
    edges.append(("q_cin_sign_f", "neg", sub_guard))
    return edges


def phase_starts(count: int) -> dict[str, int]:
    """Return the index of each phase's first measured operation in the energy run.

    Operation k's window runs from 0.09 periods after edge k - 1 to 0.09 periods
    after edge k, so it also contains the tail of operation k - 1.
    """
    return {"add": 1, "hold": count + 2, "sub": 2 * count + 3}


def _ripple_delay(run, width: int, vdd_v: float) -> tuple[float, str]:
    """Return the longest clock-to-last-sum-transition delay over the ripple edges."""
    waves = run.waveforms
    if "time" not in waves:
        return math.nan, "the transient produced no waveforms"
    time = waves["time"]
    half = 0.5 * vdd_v
    delays = []
    for edge in RIPPLE_EDGES:
        clock_s = run.timing.edge_time_s(edge)
        window = (time > clock_s) & (time < clock_s + 0.95 * run.timing.period_s)
        last = math.nan
        for i in range(width):
            key = f"v(xacc.s{i})"
            if key not in waves:
                return math.nan, f"vector {key} was not saved"
            above = waves[key][window] > half
            flips = np.flatnonzero(above[1:] != above[:-1])
            if flips.size:
                t = time[window][flips[-1] + 1]
                last = t if math.isnan(last) else max(last, t)
        if math.isnan(last):
            return math.nan, f"no sum bit switched after clock edge {edge}"
        delays.append(last - clock_s)
    return max(delays), ""


def plot_energy_per_mode(table, path: str | Path) -> Path:
    """Plot energy per cycle of each mode against VDD, one line per corner at 27 C."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = table.df
    if "temp_c" in frame and (frame["temp_c"] == 27.0).any():
        frame = frame[frame["temp_c"] == 27.0]
    figure, axes = plt.subplots(1, len(MODES), figsize=(12, 3.6), sharex=True)
    for axis, mode in zip(axes, MODES, strict=True):
        column = f"energy_{mode}_j"
        for (corner, distribution), group in frame.groupby(["corner", "distribution"]):
            group = group.sort_values("vdd_v")
            axis.plot(
                group["vdd_v"],
                group[column] * 1e12,
                marker="o",
                label=f"{corner}, {distribution}",
            )
        axis.set_title(f"{mode} (trit {MODE_TRITS[mode]})")
        axis.set_xlabel("VDD (V)")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("energy per cycle (pJ)")
    axes[-1].legend(fontsize=7)
    figure.suptitle("Tri-mode accumulator, energy per clock cycle at 100 MHz, 27 C")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
