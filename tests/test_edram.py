"""Gain-cell eDRAM: design checks, write/read, the retention boundary, the table."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from bitrom_char.cells import edram
from bitrom_char.cells.edram import (
    Conditions,
    EdramCell,
    EdramDesign,
    EdramVariantsCell,
    decode_refresh_check,
    plot_retention,
)
from bitrom_char.spice.measure import OperatingPoint
from bitrom_char.sweep import characterize
from bitrom_char.tables import Table

# An 8-row column keeps the tests fast. The cell and its periphery are the same as
# in the default 64-row column.
SMALL = EdramDesign(rows=8)


def threshold_v(sim, cond: Conditions) -> float:
    result = sim.run(edram.sense_threshold_deck(cond))
    return result.values["threshold_v"]


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"topology": "4t"}, "topology"),
        ({"write_device": "nfet_01v8_hvt"}, "write_device"),
        ({"write_w_um": 0.3}, "W=0.3"),
        ({"read_l_um": 0.1}, "L=0.1"),
        ({"mim_w_um": 0.5, "mim_l_um": 2.0}, "mim_w_um"),
        ({"rows": 0}, "rows"),
        ({"wwl_underdrive_v": -0.1}, "wwl_underdrive_v"),
        ({"wwl_overdrive_v": 0.2}, "write word-line swing"),
        ({"read_window_s": 0.0}, "read_window_s"),
        ({"sense_margin_v": 0.9}, "sense_margin_v"),
    ],
)
def test_design_rejects_invalid(changes, field_name):
    design = dataclasses.replace(EdramDesign(), **changes)
    with pytest.raises(ValueError, match=field_name):
        design.validate(vdd_v=1.8)


def test_design_default_is_valid():
    EdramDesign().validate(vdd_v=1.8)
    EdramDesign(wwl_underdrive_v=0.15).validate(vdd_v=1.8)


def test_mim_adds_capacitor_and_area():
    plain = EdramDesign()
    with_mim = EdramDesign(mim_w_um=2.0, mim_l_um=2.0)
    assert "cap_mim_m3_1" not in edram.cell_subckt(plain)
    assert "cap_mim_m3_1" in edram.cell_subckt(with_mim)
    assert with_mim.storage_cap_f == pytest.approx(8e-15)
    assert with_mim.cell_area_um2() > plain.cell_area_um2()


def test_column_has_one_cell_per_row():
    netlist, _ = edram.column_netlist(SMALL, 1.8)
    instances = [line for line in netlist.splitlines() if line.startswith("Xcell")]
    assert len(instances) == SMALL.rows


@pytest.mark.parametrize("corner", ["tt", "ff", "ss"])
def test_write_then_read_at_corner(sim, corner):
    cond = Conditions(corner, 1.8, 27.0)
    threshold = threshold_v(sim, cond)
    assert 0.5 < threshold < 1.3
    for data in (1, 0):
        access = edram.run_access(sim, SMALL, cond, data, threshold)
        correct = edram.read_is_correct(
            data, access.rbl_at_sense_v, threshold, SMALL.sense_margin_v
        )
        assert correct, f"{corner}: read of {data} gave {access.rbl_at_sense_v} V"
        assert access.write_energy_j > 0
        assert access.write_time_s > 0
    access_one = edram.run_access(sim, SMALL, cond, 1, threshold)
    access_zero = edram.run_access(sim, SMALL, cond, 0, threshold)
    # An nfet write device passes a 1 only up to about VDD minus its threshold.
    assert 0.6 < access_one.stored_v < 1.8
    assert access_zero.stored_v < 0.2
    assert 0 < access_one.read_time_s < SMALL.read_window_s


def test_retention_boundary_at_85c(sim):
    cond = Conditions("tt", 1.8, 85.0)
    result = edram.characterize_point(SMALL, cond, sim)
    values = result.values
    retention1_s = values["retention1_s"]
    assert 10e-6 < retention1_s < 10e-3, result.reasons
    # The nfet write device leaks a stored 0 only up to a settled level far below
    # the critical level, so a 0 never fails.
    assert math.isinf(values["retention0_s"])
    assert values["retention_s"] == retention1_s
    threshold = values["sense_threshold_v"]
    margin = SMALL.sense_margin_v

    stored1_v, stored0_v = values["stored1_v"], values["stored0_v"]
    _, before_v = edram.read_after_hold(
        sim, SMALL, cond, 1, stored1_v, 0.8 * retention1_s
    )
    _, after_v = edram.read_after_hold(
        sim, SMALL, cond, 1, stored1_v, 1.2 * retention1_s
    )
    assert edram.read_is_correct(1, before_v, threshold, margin)
    assert not edram.read_is_correct(1, after_v, threshold, margin)

    _, zero_v = edram.read_after_hold(
        sim, SMALL, cond, 0, stored0_v, 1.2 * retention1_s
    )
    assert edram.read_is_correct(0, zero_v, threshold, margin)


def test_two_phase_read_matches_one_transient(sim):
    cond = Conditions("tt", 1.8, 85.0)
    threshold = threshold_v(sim, cond)
    hold_s = edram.LONG_HOLD_S
    for data in (1, 0):
        access = edram.run_access(sim, SMALL, cond, data, threshold, hold_s=hold_s)
        _, two_phase_v = edram.read_after_hold(
            sim, SMALL, cond, data, access.stored_v, hold_s
        )
        assert two_phase_v == pytest.approx(access.rbl_at_sense_v, abs=0.05)


def test_access_rejects_long_hold():
    cond = Conditions("tt", 1.8, 85.0)
    with pytest.raises(ValueError, match="read_after_hold"):
        edram.access_deck(SMALL, cond, 1, hold_s=1e-6)


def test_edram_table_over_temperature(tmp_path):
    cell = EdramCell(design=SMALL)
    grid = {"corner": ["tt"], "vdd_v": [1.8], "temp_c": [27.0, 125.0]}
    table = characterize(cell, grid, workers=0, cache_dir=tmp_path, progress=False)
    assert table.is_complete() or set(table.completeness()["column"]) <= {
        "retention0_s"
    }
    cold = table.lookup("retention_s", corner="tt", vdd_v=1.8, temp_c=27.0)
    hot = table.lookup("retention_s", corner="tt", vdd_v=1.8, temp_c=125.0)
    assert hot < cold
    for column in ("write_energy_j", "read_energy_j", "refresh_energy_j", "leakage_w"):
        value = table.lookup(column, corner="tt", vdd_v=1.8, temp_c=27.0)
        assert value > 0, column
    assert table.units["retention_s"] == "s"
    assert table.units["leakage_w"] == "W"

    check = decode_refresh_check(table, 0.5 * hot, temp_c=125.0, corner="tt")
    assert check["decode_refresh_suffices"]
    assert check["explicit_refresh_power_w"] == 0
    slow = decode_refresh_check(
        table, 2.5 * hot, temp_c=125.0, corner="tt", capacity_bits=1000
    )
    assert not slow["decode_refresh_suffices"]
    assert slow["explicit_refreshes_per_decode"] == 2

    image = plot_retention(table, tmp_path / "retention.png")
    assert image.stat().st_size > 1000


def small_table(retention_s: float, refresh_energy_j: float) -> Table:
    df = pd.DataFrame(
        {
            "corner": ["tt"],
            "vdd_v": [1.8],
            "temp_c": [85.0],
            "retention_s": [retention_s],
            "refresh_energy_j": [refresh_energy_j],
        }
    )
    return Table(
        df,
        name="edram",
        axes=("corner", "vdd_v", "temp_c"),
        units={"retention_s": "s", "refresh_energy_j": "J"},
    )


def test_decode_refresh_check_prices_refresh():
    table = small_table(retention_s=100e-6, refresh_energy_j=1e-13)
    fast = decode_refresh_check(table, 100e-6, temp_c=85.0, corner="tt")
    assert fast["decode_refresh_suffices"]
    assert fast["min_decode_rate_hz"] == pytest.approx(1e4)

    slow = decode_refresh_check(
        table, 350e-6, temp_c=85.0, corner="tt", capacity_bits=8
    )
    assert slow["explicit_refreshes_per_decode"] == 3
    per_cell_w = 3 * 1e-13 / 350e-6
    assert slow["explicit_refresh_power_per_cell_w"] == pytest.approx(per_cell_w)
    assert slow["explicit_refresh_power_w"] == pytest.approx(8 * per_cell_w)


@pytest.mark.parametrize(
    ("interval_s", "bits", "match"),
    [
        (0.0, 0, "decode_interval_s"),
        (math.nan, 0, "decode_interval_s"),
        (1e-3, -1, "capacity_bits"),
    ],
)
def test_decode_refresh_check_rejects(interval_s, bits, match):
    table = small_table(retention_s=100e-6, refresh_energy_j=1e-13)
    with pytest.raises(ValueError, match=match):
        decode_refresh_check(
            table, interval_s, temp_c=85.0, corner="tt", capacity_bits=bits
        )


def test_decode_refresh_check_rejects_nan_retention():
    table = small_table(retention_s=math.nan, refresh_energy_j=1e-13)
    with pytest.raises(ValueError, match="completeness"):
        decode_refresh_check(table, 1e-3, temp_c=85.0, corner="tt")


def test_sense_threshold_is_measured(sim):
    deck = edram.sense_threshold_deck(Conditions("tt", 1.8, 27.0))
    assert isinstance(deck.measurements[0], OperatingPoint)
    low = sim.run(edram.sense_threshold_deck(Conditions("tt", 1.6, 27.0)))
    high = sim.run(deck)
    assert low.values["threshold_v"] < high.values["threshold_v"]


def test_variants_cell_rejects_unknown_variant():
    cell = EdramVariantsCell()
    point = {"variant": "sram", "corner": "tt", "vdd_v": 1.8, "temp_c": 27.0}
    with pytest.raises(ValueError, match="variant='sram'"):
        cell.validate_point(point)


def test_variants_cell_checks_swing_per_variant():
    cell = EdramVariantsCell()
    point = {"variant": "wwl_underdrive", "corner": "tt", "vdd_v": 1.95}
    with pytest.raises(ValueError, match="word-line swing"):
        cell.validate_point({**point, "temp_c": 27.0})
    cell.validate_point({**point, "vdd_v": 1.8, "temp_c": 27.0})


def test_variants_have_distinct_keys():
    cell = EdramVariantsCell()
    base = {"corner": "tt", "vdd_v": 1.8, "temp_c": 85.0}
    keys = {cell.key_text({**base, "variant": name}) for name in cell.variants}
    assert len(keys) == len(cell.variants)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variant", "temp_c", "data"),
    [
        ("minimum", 27.0, 1),
        ("minimum", 125.0, 1),
        ("pfet_hvt_write", 85.0, 0),
    ],
)
def test_retention_boundary_full_column(sim, variant, temp_c, data):
    design = edram.design_variants()[variant]
    cond = Conditions("tt", 1.8, temp_c)
    result = edram.characterize_point(design, cond, sim)
    retention_s = result.values[f"retention{data}_s"]
    assert math.isfinite(retention_s), result.reasons
    assert result.values["retention_s"] == retention_s
    threshold = result.values["sense_threshold_v"]
    margin = design.sense_margin_v

    stored_v = result.values[f"stored{data}_v"]
    _, before_v = edram.read_after_hold(
        sim, design, cond, data, stored_v, 0.8 * retention_s
    )
    _, after_v = edram.read_after_hold(
        sim, design, cond, data, stored_v, 1.2 * retention_s
    )
    assert edram.read_is_correct(data, before_v, threshold, margin)
    assert not edram.read_is_correct(data, after_v, threshold, margin)


def test_hold_matches_fine_step_run(sim):
    cond = Conditions("tt", 1.8, 85.0)
    stored_v, critical_v = 0.99, 0.69
    hold = edram.run_hold(sim, SMALL, cond, 1, stored_v, critical_v)
    assert 10e-6 < hold.retention_s < 10e-3, hold.reason
    assert hold.leakage_w > 0

    # The same hold with a max step of 1/20000 of the span instead of 1/1000.
    stop_s = 1.5 * hold.retention_s
    deck = edram.hold_deck(SMALL, cond, 1, stored_v, critical_v, stop_s=stop_s)
    fine = dataclasses.replace(deck, analysis=f"tran 10p {stop_s!r} 0 {stop_s / 2e4!r}")
    reference_s = sim.run(fine).values["crossing_s"]
    assert hold.retention_s == pytest.approx(reference_s, rel=0.01)


def test_hold_rejects_level_past_critical(sim):
    cond = Conditions("tt", 1.8, 85.0)
    hold = edram.run_hold(sim, SMALL, cond, 1, stored_v=0.6, critical_v=0.7)
    assert math.isnan(hold.retention_s)
    assert "already past" in hold.reason
