"""Small characterization tables with plausible sky130 values for chip-model tests.

The numbers are chosen by hand to be of the right order for 2,048-row arrays at
1.8 V; the tests that use them check the chip model's arithmetic, not circuits.
"""

from __future__ import annotations

import itertools

import pandas as pd

from bitrom_char.tables import Table

ROM_READ_J = {1: 0.8e-12, 0: 0.5e-12, -1: 1.2e-12}


def rom_table(vdds=(1.6, 1.8), rows=(1024, 2048), nan_at=None) -> Table:
    records = []
    for vdd, n, direction, trit in itertools.product(
        vdds, rows, ("forward", "reverse"), (-1, 0, 1)
    ):
        scale = (vdd / 1.8) ** 2 * n / 2048
        read = ROM_READ_J[trit] * scale * (1.05 if direction == "reverse" else 1.0)
        records.append(
            {
                "corner": "tt",
                "vdd_v": vdd,
                "temp_c": 27.0,
                "rows": n,
                "direction": direction,
                "trit": trit,
                "read_energy_j": read,
                "precharge_energy_j": 0.6 * read,
                "drive_energy_j": 0.4 * read,
                "settle_time_s": 4e-9 * n / 2048 * 1.8 / vdd,
                "sense_margin_v": 0.2,
                "leakage_a": 1e-12,
            }
        )
    df = pd.DataFrame(records)
    if nan_at is not None:
        df.loc[(df["trit"] == nan_at), "read_energy_j"] = float("nan")
    units = {
        c: u
        for c, u in (
            ("read_energy_j", "J"),
            ("precharge_energy_j", "J"),
            ("drive_energy_j", "J"),
            ("settle_time_s", "s"),
            ("sense_margin_v", "V"),
            ("leakage_a", "A"),
        )
    }
    return Table(
        df,
        name="rom_column",
        axes=("corner", "vdd_v", "temp_c", "rows", "direction", "trit"),
        units=units,
    )


def accumulator_table(vdds=(1.6, 1.8)) -> Table:
    records = [
        {
            "corner": "tt",
            "vdd_v": vdd,
            "temp_c": 27.0,
            "energy_add_j": 60e-15 * (vdd / 1.8) ** 2,
            "energy_sub_j": 66e-15 * (vdd / 1.8) ** 2,
            "energy_hold_j": 4e-15 * (vdd / 1.8) ** 2,
            "delay_s": 2.5e-9 * 1.8 / vdd,
            "fmax_hz": 350e6 * vdd / 1.8,
            "leakage_w": 2e-9,
        }
        for vdd in vdds
    ]
    units = {
        "energy_add_j": "J",
        "energy_sub_j": "J",
        "energy_hold_j": "J",
        "delay_s": "s",
        "fmax_hz": "Hz",
        "leakage_w": "W",
    }
    return Table(
        pd.DataFrame(records),
        name="accumulator",
        axes=("corner", "vdd_v", "temp_c"),
        units=units,
    )


def edram_table(vdds=(1.6, 1.8), retention_s=40e-6) -> Table:
    records = [
        {
            "corner": "tt",
            "vdd_v": vdd,
            "temp_c": 27.0,
            "retention_s": retention_s,
            "write_energy_j": 20e-15,
            "read_energy_j": 15e-15,
            "refresh_energy_j": 35e-15,
            "leakage_w": 1e-15,
            "write_time_s": 2e-9,
            "read_time_s": 2e-9,
        }
        for vdd in vdds
    ]
    units = {
        "retention_s": "s",
        "write_energy_j": "J",
        "read_energy_j": "J",
        "refresh_energy_j": "J",
        "leakage_w": "W",
        "write_time_s": "s",
        "read_time_s": "s",
    }
    return Table(
        pd.DataFrame(records),
        name="edram",
        axes=("corner", "vdd_v", "temp_c"),
        units=units,
    )


def example_tables(**edram) -> dict[str, Table]:
    return {
        "rom_column": rom_table(),
        "accumulator": accumulator_table(),
        "edram": edram_table(**edram),
    }


def test_example_tables_cover_nominal_point():
    tables = example_tables()
    value = tables["rom_column"].lookup(
        "read_energy_j",
        corner="tt",
        vdd_v=1.8,
        temp_c=27.0,
        rows=2048,
        direction="forward",
        trit=1,
    )
    assert value == ROM_READ_J[1]
