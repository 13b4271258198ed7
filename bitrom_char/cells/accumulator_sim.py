"""Simulate operation sequences on the transistor-level tri-mode accumulator.

Builds decks from a list of (trit, int8) operations and reads the register back from
the q node voltages, so tests and the characterization share one testbench.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bitrom_char.cells.accumulator_netlist import (
    ACTIVATION_BITS,
    ACTIVATION_MAX,
    ACTIVATION_MIN,
    AccumulatorDesign,
    SequenceTiming,
    accumulator_subckt,
    cell_includes,
    check_operations,
    decode_register,
    expected_sums,
    stimulus_sources,
)
from bitrom_char.spice import Deck, SimResult, Simulator
from bitrom_char.spice.measure import Measurement, OperatingPoint

log = logging.getLogger(__name__)

DISTRIBUTIONS = ("uniform", "gaussian")
# Spread of the Gaussian-like activations, in int8 steps. Absmax quantization maps
# a token's largest activation to 127, so most values sit near zero. Sigma 20 is an
# estimate of that spread, not a fit to a particular model.
GAUSSIAN_SIGMA = 20.0
TRANSITION_S = 50e-12
# The transient's largest time step is period / STEPS_PER_PERIOD, with gear
# integration. With the trapezoidal rule and 0.4 ns steps, numerical ringing flipped
# register flops mid-cycle (a 20 ns period run), and gear at the same step did not.
# Over 12 operations at 100 MHz (tt, 1.8 V, 27 C), gear with 1 ns steps gave a
# supply charge within 0.5 % of a trapezoidal run with 20 ps steps.
STEPS_PER_PERIOD = 50
OPTIONS = {"method": "gear"}
INSTANCE = "xacc"


def activation_samples(distribution: str, count: int, seed: int) -> list[int]:
    """Draw int8 activations: "uniform" over -128..127, or "gaussian" (sigma 20, clipped)."""
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        values = rng.integers(ACTIVATION_MIN, ACTIVATION_MAX + 1, count)
    elif distribution == "gaussian":
        values = np.rint(rng.normal(0.0, GAUSSIAN_SIGMA, count))
        values = np.clip(values, ACTIVATION_MIN, ACTIVATION_MAX)
    else:
        raise ValueError(
            f"distribution={distribution!r} is unknown: use one of {DISTRIBUTIONS}"
        )
    return [int(v) for v in values]


def random_operations(
    count: int, seed: int, distribution: str = "uniform"
) -> list[tuple[int, int]]:
    """Draw (trit, activation) pairs with trits uniform over -1, 0, 1."""
    rng = np.random.default_rng(seed + 1)
    trits = rng.integers(-1, 2, count)
    activations = activation_samples(distribution, count, seed)
    return [(int(t), a) for t, a in zip(trits, activations, strict=True)]


@dataclass
class SequenceRun:
    """Register values read from one simulated operation sequence.

    `register` contains the value after each operation, decoded from the q node
    voltages just before the next clock edge. An entry is None where a bit was not
    a valid logic level. `final` is read at the end of the run, after the clock
    has stopped.
    """

    operations: list[tuple[int, int]]
    expected: list[int]
    register: list[int | None]
    final: int | None
    reasons: list[str]
    timing: SequenceTiming
    result: SimResult
    waveforms: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """True when every register value equals the exact integer sum."""
        return self.register == self.expected and self.final == self.expected[-1]

    def first_error(self) -> str:
        """Describe the first wrong register value, or return "" when all are exact."""
        for index, (got, want) in enumerate(
            zip(self.register, self.expected, strict=True)
        ):
            if got != want:
                why = f" ({self.reasons[index]})" if self.reasons[index] else ""
                return f"after operation {index}: register {got}, expected {want}{why}"
        if self.final != self.expected[-1]:
            return f"final register {self.final}, expected {self.expected[-1]}"
        return ""


def sequence_deck(
    design: AccumulatorDesign,
    operations: list[tuple[int, int]],
    *,
    corner: str = "tt",
    temp_c: float = 27.0,
    vdd_v: float = 1.8,
    period_s: float = 10e-9,
    measurements: Sequence[Measurement] = (),
    save: Sequence[str] = (),
    title: str = "accumulator sequence",
) -> Deck:
    """Build the transient deck that applies `operations` once per clock period."""
    check_operations(operations)
    period_s = float(period_s)
    if not math.isfinite(period_s) or not 0.2e-9 <= period_s <= 1e-6:
        raise ValueError(f"period_s={period_s!r} is out of range: use 0.2e-9 to 1e-6 s")
    timing = SequenceTiming(period_s, TRANSITION_S, len(operations))
    ports = " ".join(design.ports).replace("vpwr", "vdd").replace("vgnd", "0")
    netlist = "\n".join(
        [
            accumulator_subckt(design),
            # The supply ramps up from 0 V while the reset is low. A DC start at
            # full VDD needed gmin stepping at some supplies (1.45 V, tt), and the
            # engine's PySpice layer counts those stderr notes as a failed run.
            "vvdd vdd 0 pwl(0 0 {0.1*period_s} {vdd_v})",
            stimulus_sources(operations, TRANSITION_S),
            f"{INSTANCE} {ports} {design.subckt_name}",
        ]
    )
    register = tuple(f"v(q{i})" for i in range(design.width))
    return Deck(
        title=title,
        netlist=netlist,
        analysis=f"tran {period_s / STEPS_PER_PERIOD!r} {timing.stop_s!r}",
        measurements=tuple(measurements),
        corner=corner,
        temp_c=float(temp_c),
        params={"vdd_v": float(vdd_v), "period_s": float(period_s)},
        options=OPTIONS,
        includes=cell_includes(design),
        save=tuple(dict.fromkeys((*register, "v(gclk)", "v(clk)", *save))),
    )


def run_sequence(
    sim: Simulator,
    operations: list[tuple[int, int]],
    *,
    design: AccumulatorDesign | None = None,
    corner: str = "tt",
    temp_c: float = 27.0,
    vdd_v: float = 1.8,
    period_s: float = 10e-9,
    measurements: Sequence[Measurement] = (),
    save: Sequence[str] = (),
    title: str = "",
) -> SequenceRun:
    """Simulate the sequence and read the register after every operation."""
    design = design or AccumulatorDesign(rows=max(1, len(operations)))
    deck = sequence_deck(
        design,
        operations,
        corner=corner,
        temp_c=temp_c,
        vdd_v=vdd_v,
        period_s=period_s,
        measurements=measurements,
        save=save,
        title=title or f"accumulator {len(operations)} operations",
    )
    result = sim.run(deck)

    timing = SequenceTiming(period_s, TRANSITION_S, len(operations))
    waves = result.waveforms
    register: list[int | None] = []
    reasons: list[str] = []
    if "time" not in waves or len(waves["time"]) < 2:
        reason = next(iter(result.reasons.values()), "the transient produced no data")
        return SequenceRun(
            operations,
            expected_sums(operations),
            [None] * len(operations),
            None,
            [reason] * len(operations),
            timing,
            result,
            waves,
        )

    # Just before the next edge the register contains the operation's result.
    for k in range(len(operations)):
        at_s = timing.edge_time_s(k + 1) - 0.05 * period_s
        value, reason = read_register(waves, design.width, at_s, vdd_v)
        register.append(value)
        reasons.append(reason)
    final, _ = read_register(waves, design.width, timing.stop_s, vdd_v)
    return SequenceRun(
        operations,
        expected_sums(operations),
        register,
        final,
        reasons,
        timing,
        result,
        waves,
    )


def read_register(
    waves: dict[str, np.ndarray], width: int, at_s: float, vdd_v: float
) -> tuple[int | None, str]:
    """Decode q0..q(width-1) at a time from saved waveforms."""
    time = waves["time"]
    volts = [float(np.interp(at_s, time, waves[f"v(q{i})"])) for i in range(width)]
    return decode_register(volts, vdd_v)


def gated_clock_max(run: SequenceRun, from_s: float, to_s: float) -> float:
    """Return the highest gated-clock voltage in a time window of a run (V)."""
    time = run.waveforms["time"]
    inside = (time >= from_s) & (time <= to_s)
    return float(np.max(run.waveforms["v(gclk)"][inside]))


def leakage_deck(
    design: AccumulatorDesign,
    *,
    corner: str = "tt",
    temp_c: float = 27.0,
    vdd_v: float = 1.8,
) -> Deck:
    """Build the DC deck for leakage: clock low, trit 0, activation 0, reset low.

    A DC solution is used because after switching the supply current decays
    slowly: 40 nA at 20 ns, 1.8 nA at 1 us and 1.4 nA at 3 us after the last
    edge, against 1.2 nA at DC (tt, 1.8 V, 27 C). The reset drives every flop, so
    the DC state is unique. With the reset released, the DC solver stopped at a
    latch's metastable point at 1.45 V and reported 3.3 uA.
    """
    ports = " ".join(design.ports).replace("vpwr", "vdd").replace("vgnd", "0")
    sources = [f"va{i} a{i} 0 0" for i in range(ACTIVATION_BITS)]
    sources += ["vnz nz 0 0", "vneg neg 0 0", "vclk clk 0 0", "vrst_b rst_b 0 0"]
    netlist = "\n".join(
        [
            accumulator_subckt(design),
            "vvdd vdd 0 {vdd_v}",
            *sources,
            f"{INSTANCE} {ports} {design.subckt_name}",
        ]
    )
    return Deck(
        title="accumulator leakage",
        netlist=netlist,
        analysis="op",
        measurements=(OperatingPoint("i_leak_a", "i(vvdd)"),),
        corner=corner,
        temp_c=float(temp_c),
        params={"vdd_v": float(vdd_v)},
        includes=cell_includes(design),
    )
