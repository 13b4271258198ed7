"""Energy, latency, operation and DRAM-traffic records of chip runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

# Components that make up the ROM macro: arrays, column accumulators and the adders
# that sum partial sums of the input tiles.
MACRO_COMPONENTS = ("rom_read", "accumulator", "global_accumulation", "leakage")


@dataclass
class Accounting:
    """Event counts and energies of one or more chip operations.

    `items` maps (component, event) to [count, energy_j]. `cycles` adds up
    sequential clock cycles at `clock_hz`. `macs` counts ternary-weight x int8 MACs
    of the ROM layers, and `macs_nonzero` only those whose weight is not zero. One
    MAC counts as 2 operations in TOPS/W.
    """

    clock_hz: float
    items: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    cycles: float = 0.0
    macs: int = 0
    macs_nonzero: int = 0
    tokens: int = 0
    dram_bytes: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)

    def add(self, component: str, event: str, count: float, energy_j: float) -> None:
        """Add `count` events that together cost `energy_j`."""
        entry = self.items.setdefault((component, event), [0.0, 0.0])
        entry[0] += count
        entry[1] += energy_j

    def add_dram(self, kind: str, n_bytes: float) -> None:
        self.dram_bytes[kind] = self.dram_bytes.get(kind, 0.0) + n_bytes

    def merge(self, other: Accounting, cycles: bool = True) -> None:
        """Add another record into this one; with cycles=False it ran in parallel."""
        if other.clock_hz != self.clock_hz:
            raise ValueError(
                f"cannot merge records at {other.clock_hz} Hz and {self.clock_hz} Hz"
            )
        for (component, event), (count, energy) in other.items.items():
            self.add(component, event, count, energy)
        if cycles:
            self.cycles += other.cycles
        else:
            self.cycles = max(self.cycles, other.cycles)
        self.macs += other.macs
        self.macs_nonzero += other.macs_nonzero
        self.tokens += other.tokens
        for kind, n in other.dram_bytes.items():
            self.add_dram(kind, n)
        self.notes.extend(n for n in other.notes if n not in self.notes)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per (component, event) with count and energy_j."""
        rows = [
            {"component": c, "event": e, "count": n, "energy_j": j}
            for (c, e), (n, j) in sorted(self.items.items())
        ]
        return pd.DataFrame(rows, columns=["component", "event", "count", "energy_j"])

    @property
    def energy_j(self) -> dict[str, float]:
        """Energy in joules by component."""
        totals: dict[str, float] = {}
        for (component, _), (_, energy) in self.items.items():
            totals[component] = totals.get(component, 0.0) + energy
        return totals

    @property
    def total_energy_j(self) -> float:
        return float(sum(self.energy_j.values()))

    @property
    def on_die_energy_j(self) -> float:
        """Energy without the external DRAM."""
        return float(sum(j for c, j in self.energy_j.items() if c != "dram"))

    @property
    def macro_energy_j(self) -> float:
        """Energy of the ROM macro: arrays, accumulators, global adders, leakage."""
        return float(sum(j for c, j in self.energy_j.items() if c in MACRO_COMPONENTS))

    @property
    def latency_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def total_dram_bytes(self) -> float:
        return float(sum(self.dram_bytes.values()))

    def tops_per_w(self, include_zeros: bool = True, scope: str = "chip") -> float:
        """Return tera-operations per second per watt, 2 operations per MAC.

        `include_zeros` counts MACs with a zero weight too. `scope` picks the
        energy: "chip" (everything on the die), "macro" (ROM arrays, accumulators
        and global adders) or "system" (chip plus external DRAM).
        """
        energies = {
            "chip": self.on_die_energy_j,
            "macro": self.macro_energy_j,
            "system": self.total_energy_j,
        }
        if scope not in energies:
            raise ValueError(f"scope must be one of {sorted(energies)}, got {scope!r}")
        ops = 2.0 * (self.macs if include_zeros else self.macs_nonzero)
        energy = energies[scope]
        if not energy > 0:
            return math.nan
        return ops / energy / 1e12

    def summary(self) -> dict[str, float]:
        """Return the headline totals as a flat dict."""
        out = {f"energy_{c}_j": j for c, j in sorted(self.energy_j.items())}
        out.update(
            total_energy_j=self.total_energy_j,
            on_die_energy_j=self.on_die_energy_j,
            cycles=self.cycles,
            latency_s=self.latency_s,
            tokens=self.tokens,
            macs=self.macs,
            macs_nonzero=self.macs_nonzero,
            dram_bytes=self.total_dram_bytes,
            tops_per_w_macro=self.tops_per_w(True, "macro"),
            tops_per_w_macro_nonzero=self.tops_per_w(False, "macro"),
            tops_per_w_chip=self.tops_per_w(True, "chip"),
            tops_per_w_chip_nonzero=self.tops_per_w(False, "chip"),
            tops_per_w_system=self.tops_per_w(True, "system"),
        )
        if self.tokens:
            out["energy_per_token_j"] = self.total_energy_j / self.tokens
            out["latency_per_token_s"] = self.latency_s / self.tokens
            out["tokens_per_s"] = self.tokens / self.latency_s
        return out
