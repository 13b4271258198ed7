"""Lookup tables: interpolation, grid limits, completeness, Parquet round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from bitrom_char.tables import OutsideGridError, Table


def _table() -> Table:
    rows = []
    for corner in ("tt", "ss"):
        for vdd_v in (1.2, 1.8):
            for temp_c in (27.0, 85.0):
                # A plane in vdd and temperature, so linear interpolation is exact.
                value = 1e-12 * (
                    10 * vdd_v + 0.1 * temp_c + (5 if corner == "ss" else 0)
                )
                rows.append(
                    {
                        "corner": corner,
                        "vdd_v": vdd_v,
                        "temp_c": temp_c,
                        "delay_s": value,
                        "reasons": "{}",
                    }
                )
    df = pd.DataFrame(rows)
    return Table(
        df,
        name="demo",
        axes=("corner", "vdd_v", "temp_c"),
        units={"delay_s": "s", "vdd_v": "V", "temp_c": "degC", "corner": ""},
        provenance={"ngspice_version": "39"},
    )


def test_lookup_on_grid_point():
    table = _table()
    value = table.lookup("delay_s", corner="ss", vdd_v=1.8, temp_c=85.0)
    assert value == pytest.approx(1e-12 * (18 + 8.5 + 5))


def test_lookup_interpolates_between_points():
    value = _table().lookup("delay_s", corner="tt", vdd_v=1.5, temp_c=56.0)
    assert value == pytest.approx(1e-12 * (15 + 5.6))


def test_lookup_outside_grid_raises_unless_asked():
    table = _table()
    with pytest.raises(OutsideGridError, match="vdd_v=2 is outside the grid 1.2..1.8"):
        table.lookup("delay_s", corner="tt", vdd_v=2.0, temp_c=27.0)
    value = table.lookup(
        "delay_s", corner="tt", vdd_v=2.0, temp_c=27.0, extrapolate=True
    )
    assert value == pytest.approx(1e-12 * (20 + 2.7))


def test_lookup_unknown_corner_and_column():
    table = _table()
    with pytest.raises(OutsideGridError, match="corner='ff' is not in the grid"):
        table.lookup("delay_s", corner="ff", vdd_v=1.5, temp_c=27.0)
    with pytest.raises(KeyError, match="no column 'energy_j'"):
        table.lookup("energy_j", corner="tt", vdd_v=1.5, temp_c=27.0)
    with pytest.raises(ValueError, match="give temp_c"):
        table.lookup("delay_s", corner="tt", vdd_v=1.5)


def test_completeness_reports_nan_with_reason():
    table = _table()
    table.df.loc[3, "delay_s"] = math.nan
    table.df.loc[3, "reasons"] = json.dumps({"delay_s": "target v(out) never fell"})
    holes = table.completeness()
    assert len(holes) == 1
    assert holes.iloc[0]["reason"] == "target v(out) never fell"
    assert not table.is_complete()
    assert math.isnan(table.lookup("delay_s", corner="tt", vdd_v=1.8, temp_c=85.0))


def test_lookup_on_grid_point_ignores_nan_neighbour():
    table = _table()
    table.df.loc[3, "delay_s"] = math.nan  # tt, 1.8 V, 85 C
    value = table.lookup("delay_s", corner="tt", vdd_v=1.8, temp_c=27.0)
    assert value == pytest.approx(1e-12 * (18 + 2.7))
    between = table.lookup("delay_s", corner="tt", vdd_v=1.8, temp_c=50.0)
    assert math.isnan(between)


def test_completeness_reports_missing_points():
    table = _table()
    table.df = table.df.drop(index=0).reset_index(drop=True)
    holes = table.completeness()
    assert (holes["reason"] == "grid point missing").sum() == 1


def test_parquet_round_trip(tmp_path):
    table = _table()
    path = table.to_parquet(tmp_path / "demo.parquet")
    back = Table.read_parquet(path)
    assert back.units == table.units
    assert back.axes == table.axes
    assert back.provenance == {"ngspice_version": "39"}
    np.testing.assert_array_equal(back.df["delay_s"], table.df["delay_s"])


def test_read_parquet_rejects_foreign_file(tmp_path):
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(ValueError, match="not a bitrom-char table"):
        Table.read_parquet(path)
