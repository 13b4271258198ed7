"""ROM column: parameter checks, netlist structure, read-back at every corner, table."""

from __future__ import annotations

import math
import random
import re

import pytest

from bitrom_char.cells.rom import (
    DIRECTIONS,
    TRITS,
    RomColumnCell,
    RomColumnParams,
    bitline_waveforms,
    column_deck,
    decode_trit,
    plot_bitline_waveforms,
    plot_sense_margin,
    read_column,
    worst_case_pattern,
)
from bitrom_char.pdk import CORNERS
from bitrom_char.sweep import characterize


def random_pattern(rows: int, seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    west = [rng.choice(TRITS) for _ in range(rows)]
    east = [rng.choice(TRITS) for _ in range(rows)]
    return west, east


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"rows": 0}, "rows=0"),
        ({"rows": 2.5}, "rows=2.5"),
        ({"cell_w_um": 0.3}, "W=0.3"),
        ({"cell_l_um": 0.1}, "L=0.1"),
        ({"cell_model": "sky130_fd_pr__nfet_01v8_hvt"}, "cell_model"),
        ({"level_plus_frac": 0.6}, "level_plus_frac=0.6"),
        ({"ref_low_frac": 0.3}, "ref_low_frac=0.3"),
        ({"level_minus_frac": -0.1}, "level_minus_frac=-0.1"),
        ({"wordline_boost_v": 0.3}, "1.95 V"),
        ({"vdd_v": 2.5}, "vdd_v=2.5"),
        ({"precharge_w_um": 0.2}, "W=0.2"),
        ({"segments": 40}, "segments=40"),
        ({"sense_time_s": 0.0}, "sense_time_s=0.0"),
        ({"sense_stage": "adc"}, "sense_stage='adc'"),
    ],
)
def test_params_reject_invalid(changes, text):
    with pytest.raises((ValueError, TypeError), match=re.escape(text)):
        RomColumnParams(**changes)


def test_per_line_values_need_every_trit():
    with pytest.raises(ValueError, match="wire_r_ohm_per_row has keys"):
        RomColumnParams(wire_r_ohm_per_row={-1: 1.0, 1: 1.0})
    with pytest.raises(ValueError, match=re.escape("contact_c_f[0]=-1e-15")):
        RomColumnParams(contact_c_f={-1: 0.0, 0: -1e-15, 1: 0.0})


def test_params_accept_lvt_and_boost():
    params = RomColumnParams(
        cell_model="sky130_fd_pr__nfet_01v8_lvt", wordline_boost_v=0.15
    )
    assert params.wordline_v == pytest.approx(1.95)
    assert params.level_v(1) == pytest.approx(0.45)
    assert params.level_v(0) == pytest.approx(0.9)


@pytest.mark.parametrize("trit", [2, -2, True, "1"])
def test_pattern_rejects_bad_trit(trit):
    params = RomColumnParams(rows=4)
    west = [0, 1, -1, trit]
    with pytest.raises(ValueError, match="west trit of row 3"):
        column_deck(params, west, [0] * 4, "forward", [0])


def test_pattern_rejects_wrong_length():
    params = RomColumnParams(rows=4)
    with pytest.raises(ValueError, match="east pattern has 3 trits"):
        column_deck(params, [0] * 4, [0] * 3, "forward", [0])


def test_deck_rejects_bad_direction_and_row():
    params = RomColumnParams(rows=4)
    with pytest.raises(ValueError, match="direction 'sideways'"):
        column_deck(params, [0] * 4, [0] * 4, "sideways", [0])
    with pytest.raises(ValueError, match="read row 4 is invalid"):
        column_deck(params, [0] * 4, [0] * 4, "forward", [4])


def test_netlist_one_cell_line_per_row():
    params = RomColumnParams(rows=64)
    west, east = random_pattern(64, seed=3)
    netlist = column_deck(params, west, east, "forward", [5]).deck.netlist
    cells = [line for line in netlist.splitlines() if line.startswith("Xc")]
    assert len(cells) == 64
    assert sum(" wl5 " in line for line in cells) == 1
    assert sum(" wl_off " in line for line in cells) == 63
    row = next(line for line in cells if line.startswith("Xc7 "))
    suffix = {1: "p", 0: "z", -1: "m"}
    assert f" w{suffix[west[7]]}_8 " in row
    assert f" e{suffix[east[7]]}_8 " in row


def test_netlist_segments_keep_every_cell():
    params = RomColumnParams(rows=256, segments=16)
    west, east = random_pattern(256, seed=4)
    netlist = column_deck(params, west, east, "reverse", [255]).deck.netlist
    wires = [line for line in netlist.splitlines() if line.startswith("Xw")]
    assert len(wires) == 16
    total = 0
    for line in netlist.splitlines():
        if line.startswith(("Xc", "Xu")):
            match = re.search(r"cells=(\d+)", line)
            total += int(match.group(1)) if match else 1
    assert total == 256


def test_reverse_swaps_driven_and_precharged_sides():
    params = RomColumnParams(rows=4)
    forward = column_deck(params, [0] * 4, [0] * 4, "forward", [0]).deck.netlist
    reverse = column_deck(params, [0] * 4, [0] * 4, "reverse", [0]).deck.netlist
    assert "Rdrivez levelz wz_0" in forward
    assert "Xprez ez_0 prechargeb" in forward
    assert "Rdrivez levelz ez_0" in reverse
    assert "Xprez wz_0 prechargeb" in reverse


def test_decode_zero_when_level_not_reached():
    params = RomColumnParams()
    assert decode_trit(0.05, params) == -1
    assert decode_trit(0.5, params) == 1
    assert decode_trit(1.6, params) == 0


@pytest.mark.parametrize("corner", CORNERS)
def test_random_column_reads_back(sim, corner):
    """16 rows, random trits on both sides, every row read both ways, 3 temps."""
    params = RomColumnParams(rows=16)
    west, east = random_pattern(16, seed=2026)
    for temp_c in (-40.0, 27.0, 125.0):
        for direction in DIRECTIONS:
            reads = read_column(
                sim, params, west, east, direction, corner=corner, temp_c=temp_c
            )
            decoded = [read.decoded for read in reads]
            expected = west if direction == "forward" else east
            assert decoded == expected, (corner, temp_c, direction)
            assert min(read.decision_margin_v for read in reads) > 0.05


@pytest.mark.parametrize(("corner", "temp_c"), [("tt", 27.0), ("ss", -40.0)])
def test_latch_sense_stage_reads_back(sim, corner, temp_c):
    """StrongARM comparators decide every row the same as the line voltages."""
    params = RomColumnParams(rows=16, sense_stage="latch")
    west, east = random_pattern(16, seed=7)
    reads = read_column(
        sim, params, west, east, "forward", corner=corner, temp_c=temp_c
    )
    assert [read.decoded for read in reads] == west
    assert [read.line_decoded for read in reads] == west
    for read in reads:
        assert read.values["sense_energy_j"] > 0
        assert read.values["read_energy_j"] > read.values["sense_energy_j"]


def test_segments_match_per_row_netlist(sim):
    west, east = worst_case_pattern(64, 1, "forward")
    exact = RomColumnParams(rows=64)
    lumped = RomColumnParams(rows=64, segments=16)
    read_exact = read_column(sim, exact, west, east, "forward", [63])[0]
    read_lumped = read_column(sim, lumped, west, east, "forward", [63])[0]
    assert read_lumped.settled_v == pytest.approx(read_exact.settled_v, abs=5e-3)
    energy = read_exact.values["read_energy_j"]
    assert read_lumped.values["read_energy_j"] == pytest.approx(energy, rel=0.03)


def test_line_loads_add_energy(sim):
    """Contact capacitance and a resistive VDD/2 line cost energy and time."""
    west, east = worst_case_pattern(64, -1, "forward")
    plain = RomColumnParams(rows=64, precharge_time_s=3e-9)
    loaded = RomColumnParams(
        rows=64,
        precharge_time_s=3e-9,
        contact_c_f=0.05e-15,
        wire_r_ohm_per_row={-1: 50.0, 0: 1.0, 1: 1.0},
    )
    fast = read_column(sim, plain, west, east, "forward", [63])[0]
    slow = read_column(sim, loaded, west, east, "forward", [63])[0]
    assert slow.decoded == -1
    assert slow.values["settle_time_s"] > 1.2 * fast.values["settle_time_s"]
    assert slow.values["read_energy_j"] > 1.05 * fast.values["read_energy_j"]


def test_layout_parasitics_read_back(sim):
    params = RomColumnParams.from_layout(rows=64)
    for trit in TRITS:
        assert params.contact_c(trit) > 0
        assert params.wire_c_f(trit) > 0
    for direction in DIRECTIONS:
        for trit in TRITS:
            west, east = worst_case_pattern(64, trit, direction)
            read = read_column(sim, params, west, east, direction, [63])[0]
            assert read.decoded == trit, (direction, trit)
            assert math.isfinite(read.values["read_energy_j"]), read.reasons


def test_short_precharge_gives_nan_energy(sim):
    west, east = worst_case_pattern(64, -1, "forward")
    params = RomColumnParams(rows=64, wire_r_ohm_per_row=200.0, precharge_time_s=1e-9)
    read = read_column(sim, params, west, east, "forward", [63])[0]
    assert math.isnan(read.values["read_energy_j"])
    assert "raise precharge_time_s" in read.reasons["read_energy_j"]


def test_slow_zero_still_decodes(sim):
    """ss, -40 C: the VDD/2 line is far from its level at sense time yet reads 0."""
    params = RomColumnParams(rows=64)
    west, east = worst_case_pattern(64, 0, "forward")
    read = read_column(
        sim, params, west, east, "forward", [63], corner="ss", temp_c=-40.0
    )[0]
    assert read.decoded == 0
    assert read.settled_v > params.level_v(0) + 0.3
    assert math.isnan(read.values["settle_time_s"])
    assert "not within" in read.reasons["settle_time_s"]


def test_cell_point_outputs(sim):
    cell = RomColumnCell()
    values = {}
    for trit in TRITS:
        point = {
            "corner": "tt",
            "vdd_v": 1.8,
            "temp_c": 27.0,
            "rows": 64,
            "direction": "reverse",
            "trit": trit,
        }
        cell.validate_point(point)
        result = cell.evaluate(point, sim)
        assert set(result.values) == set(cell.units)
        assert result.values["read_ok"] == 1.0
        values[trit] = result.values
    for trit in TRITS:
        assert values[trit]["settle_time_s"] > 0
        assert values[trit]["read_energy_j"] > values[trit]["precharge_energy_j"]
    margin = values[0]["sense_margin_v"]
    assert 0.3 < margin < 0.46
    assert values[1]["sense_margin_v"] == margin
    # A -1 read discharges the line fully, a 0 read only part way.
    assert values[-1]["read_energy_j"] > 2 * values[0]["read_energy_j"]
    assert abs(values[1]["settled_v"] - 0.45) < 0.05
    assert values[0]["settle_time_s"] > values[1]["settle_time_s"]


def test_cell_rejects_bad_point():
    cell = RomColumnCell()
    point = {
        "corner": "tt",
        "vdd_v": 1.8,
        "temp_c": 27.0,
        "rows": 0,
        "direction": "forward",
        "trit": 1,
    }
    with pytest.raises(ValueError, match="rows=0"):
        cell.validate_point(point)
    with pytest.raises(ValueError, match="trit 2"):
        cell.validate_point({**point, "rows": 16, "trit": 2})
    with pytest.raises(ValueError, match="direction 'up'"):
        cell.validate_point({**point, "rows": 16, "direction": "up"})


def test_leakage_rises_with_temperature(sim):
    cell = RomColumnCell()
    point = {"corner": "tt", "vdd_v": 1.8, "rows": 16, "direction": "forward"}
    cold = cell.evaluate({**point, "temp_c": 27.0, "trit": 0}, sim)
    hot = cell.evaluate({**point, "temp_c": 125.0, "trit": 0}, sim)
    assert hot.values["leakage_a"] > 5 * cold.values["leakage_a"] > 0


def test_characterize_table(tmp_path):
    grid = {
        "corner": ["tt"],
        "vdd_v": [1.8],
        "temp_c": [27.0],
        "rows": [16],
        "direction": ["forward"],
        "trit": list(TRITS),
    }
    table = characterize(
        RomColumnCell(), grid, workers=0, cache_dir=tmp_path, progress=False
    )
    assert len(table.df) == 3
    assert table.units["read_energy_j"] == "J"
    assert table.is_complete()
    assert (table.df["read_ok"] == 1.0).all()
    path = plot_sense_margin(table, tmp_path / "margin.png")
    assert path.stat().st_size > 1000


def test_bitline_waveforms_plot(sim, tmp_path):
    curves = bitline_waveforms(sim, rows=16)
    params = RomColumnParams(rows=16)
    assert curves[-1][1][-1] < params.ref_low_v
    assert abs(curves[1][1][-1] - params.level_v(1)) < 0.05
    assert curves[0][1][-1] > params.ref_high_v
    path = plot_bitline_waveforms(curves, tmp_path / "lines.png", params=params)
    assert path.stat().st_size > 1000


def test_default_grids():
    cell = RomColumnCell()
    quick = cell.default_grid(quick=True)
    full = cell.default_grid(full=True)
    assert list(quick) == list(cell.axes)
    assert quick["rows"] == [16, 64]
    assert full["rows"] == [64, 256, 1024, 2048]
    assert len(full["corner"]) * len(full["temp_c"]) * len(full["vdd_v"]) == 60


@pytest.mark.slow
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_2048_rows_read_back(sim, direction):
    """Per-row netlist of 2,048 rows, worst-case unselected rows, at tt."""
    params = RomColumnParams(rows=2048)
    for trit in TRITS:
        west, east = worst_case_pattern(2048, trit, direction)
        read = read_column(sim, params, west, east, direction, [2047])[0]
        assert read.decoded == trit
        assert read.decision_margin_v > 0.05
