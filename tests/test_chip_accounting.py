"""Chip accounting from characterization tables: energy, cycles, TOPS/W, DRAM."""

import math

import numpy as np
import pandas as pd
import pytest
from test_chip_support import (
    ROM_READ_J,
    accumulator_table,
    edram_table,
    example_tables,
    rom_table,
)

from bitrom_char.chip.chip import Chip
from bitrom_char.chip.costs import CircuitCosts, MissingTableError
from bitrom_char.chip.kvcache import dram_bytes_per_token, dram_traffic_vs_context
from bitrom_char.chip.model import BITNET_2B4T, random_ternary, synthetic_model
from bitrom_char.tables import Table


@pytest.fixture
def chip():
    return Chip.from_tables(example_tables(), clock_hz=200e6)


def test_costs_read_nominal_point():
    costs = CircuitCosts.from_tables(example_tables(), "tt", 1.8, 27.0)
    assert costs.rom_read_energy_j[("forward", -1)] == ROM_READ_J[-1]
    assert costs.rom_read_energy_j[("reverse", 1)] == pytest.approx(
        ROM_READ_J[1] * 1.05
    )
    assert costs.accumulator_energy_j["hold"] == pytest.approx(4e-15)
    assert costs.edram.retention_s == 40e-6
    assert costs.max_clock_hz() == pytest.approx(250e6)


def test_costs_interpolate_vdd():
    costs = CircuitCosts.from_tables(example_tables(), "tt", 1.7, 27.0)
    expected = (ROM_READ_J[0] * (1.6 / 1.8) ** 2 + ROM_READ_J[0]) / 2
    assert costs.rom_read_energy_j[("forward", 0)] == pytest.approx(expected)


def test_missing_table_names_command():
    with pytest.raises(MissingTableError, match="bitrom-char characterize accumulator"):
        CircuitCosts.from_tables({"rom_column": rom_table()}, "tt", 1.8, 27.0)


def test_missing_edram_needs_zero_capacity():
    tables = {"rom_column": rom_table(), "accumulator": accumulator_table()}
    with pytest.raises(MissingTableError, match="characterize edram"):
        Chip.from_tables(tables, clock_hz=100e6)
    chip = Chip.from_tables(tables, clock_hz=100e6, edram_bytes=0)
    assert chip.costs.edram is None


def test_tables_from_parquet_folder(tmp_path):
    for name, table in example_tables().items():
        table.to_parquet(tmp_path / "tables" / f"{name}.parquet")
    chip = Chip.from_tables(tmp_path, clock_hz=100e6)
    assert chip.costs.rom_read_energy_j[("forward", 1)] == ROM_READ_J[1]


def test_nan_measurement_propagates():
    tables = example_tables()
    tables["rom_column"] = rom_table(nan_at=-1)
    costs = CircuitCosts.from_tables(tables, "tt", 1.8, 27.0)
    assert math.isnan(costs.rom_read_energy_j[("forward", -1)])
    assert any("NaN" in note for note in costs.notes)


def test_clock_above_limit_rejected():
    with pytest.raises(ValueError, match=r"clock_hz=3e\+08 exceeds the 2.5e\+08 Hz"):
        Chip.from_tables(example_tables(), clock_hz=300e6)


def test_default_clock_is_limit():
    assert Chip.from_tables(example_tables()).clock_hz == pytest.approx(250e6)


def test_linear_energy_by_hand(chip):
    w = np.array([[1, 0, -1], [1, 1, 0]], np.int8)
    y, acc = chip.linear(np.array([3, -2, 5], np.int8), w)
    assert np.array_equal(y, [-2, 1])
    frame = acc.to_frame().set_index(["component", "event"])
    # One forward pass over 3 rows reads all 1024 columns: 3 x 1024 reads.
    plus, minus = 3, 1
    zero = 3 * 1024 - plus - minus
    assert frame.loc[("rom_read", "forward +1"), "count"] == plus
    assert frame.loc[("rom_read", "forward 0"), "count"] == zero
    rom_j = plus * ROM_READ_J[1] + minus * ROM_READ_J[-1] + zero * ROM_READ_J[0]
    assert acc.energy_j["rom_read"] == pytest.approx(rom_j)
    acc_j = plus * 60e-15 + minus * 66e-15 + zero * 4e-15
    assert acc.energy_j["accumulator"] == pytest.approx(acc_j)
    assert acc.cycles == 3 + 1
    assert acc.macs == 6
    assert acc.macs_nonzero == 4


def test_tops_per_w_rule(chip):
    rng = np.random.default_rng(0)
    w = random_ternary((512, 1024), 0.5, rng)
    _, acc = chip.linear(rng.integers(-128, 128, 1024).astype(np.int8), w)
    assert acc.tops_per_w() == pytest.approx(
        2 * 512 * 1024 / acc.on_die_energy_j / 1e12
    )
    nonzero = acc.tops_per_w(include_zeros=False)
    assert nonzero == pytest.approx(
        2 * np.count_nonzero(w) / acc.on_die_energy_j / 1e12
    )
    assert acc.tops_per_w(scope="macro") > acc.tops_per_w(scope="chip")
    with pytest.raises(ValueError, match="scope"):
        acc.tops_per_w(scope="die")


def test_to_frame_totals(chip):
    _, acc = chip.linear(np.ones(64, np.int8), np.ones((8, 64), np.int8))
    frame = acc.to_frame()
    assert list(frame.columns) == ["component", "event", "count", "energy_j"]
    assert frame["energy_j"].sum() == pytest.approx(acc.total_energy_j)


def small_config():
    return BITNET_2B4T.scaled(
        hidden=128, ffn=256, n_layers=2, n_heads=4, n_kv_heads=2, vocab=300
    )


def test_estimate_matches_decode_step(chip):
    model = synthetic_model(small_config(), seed=1)
    model.add_lora(rank=4)
    _, acc = chip.decode(model, [5, 6, 7], 3)
    estimate = chip.estimate_token(model, context=4)
    last = acc.steps[-1]
    assert last["context_tokens"] == 4
    assert estimate.total_energy_j == pytest.approx(last["energy_j"], rel=1e-9)
    assert estimate.latency_s == pytest.approx(last["latency_s"], rel=1e-9)
    assert estimate.total_dram_bytes == last["dram_bytes"]


def test_decode_counts_lora_and_edram(chip):
    model = synthetic_model(small_config(), seed=2)
    model.add_lora(rank=4)
    _, acc = chip.decode(model, [1, 2], 3)
    energy = acc.energy_j
    for component in ("rom_read", "accumulator", "edram", "lora", "dram", "digital"):
        assert energy[component] > 0, component
    assert acc.tokens == 2 + 3 - 1


def test_retention_shortfall_adds_refresh():
    tables = example_tables(retention_s=1e-7)
    chip = Chip.from_tables(tables, clock_hz=200e6)
    model = synthetic_model(small_config(), seed=3)
    _, acc = chip.decode(model, [1, 2, 3], 1)
    assert acc.to_frame().query("event == 'extra refresh'")["count"].sum() > 0
    assert any("retention" in note for note in acc.notes)


def test_long_retention_needs_no_refresh():
    chip = Chip.from_tables(example_tables(retention_s=1.0), clock_hz=200e6)
    model = synthetic_model(small_config(), seed=3)
    _, acc = chip.decode(model, [1, 2, 3], 1)
    assert "extra refresh" not in set(acc.to_frame()["event"])


def test_dram_traffic_with_and_without_edram():
    config = BITNET_2B4T
    per_pos = 2 * config.kv_dim * config.n_layers  # bytes at 8-bit K/V
    without = dram_bytes_per_token(config, 1000, edram_bytes=0)
    assert without["kv_read"] == 1000 * per_pos
    assert without["kv_write"] == per_pos
    assert without["embedding"] == 2 * config.hidden
    capacity = 300 * per_pos
    with_kv = dram_bytes_per_token(config, 1000, edram_bytes=capacity)
    assert with_kv["kv_read"] == 700 * per_pos
    frame = dram_traffic_vs_context(config, [0, 100, 300, 4000], capacity)
    assert isinstance(frame, pd.DataFrame)
    assert frame["dram_reduction"].iloc[1] > 0.9
    # From 100 positions on, the share held on die shrinks as the context grows.
    assert frame["dram_reduction"].iloc[1:].is_monotonic_decreasing
    assert (frame["dram_bytes_with_edram"] <= frame["dram_bytes_without_edram"]).all()


def test_lower_vdd_costs_less_energy():
    w = np.ones((64, 256), np.int8)
    x = np.ones(256, np.int8)
    energies = []
    for vdd in (1.6, 1.8):
        chip = Chip.from_tables(example_tables(), vdd_v=vdd, clock_hz=100e6)
        energies.append(chip.linear(x, w)[1].total_energy_j)
    assert energies[0] < energies[1]


def test_edram_table_only_vdd_grid():
    # A table whose temp_c grid is one point allows only that temperature.
    tables = example_tables()
    tables["edram"] = edram_table(vdds=(1.8,))
    chip = Chip.from_tables(tables, clock_hz=100e6)
    assert chip.costs.edram.write_energy_j == 20e-15


def test_extra_axis_pinned_with_note():
    acc = accumulator_table()
    frames = []
    for distribution, scale in (("gaussian", 1.0), ("uniform", 2.0)):
        df = acc.df.copy()
        df["distribution"] = distribution
        df["energy_add_j"] *= scale
        frames.append(df)
    tables = example_tables()
    tables["accumulator"] = Table(
        pd.concat(frames),
        name="accumulator",
        axes=("corner", "vdd_v", "temp_c", "distribution"),
        units=acc.units,
    )
    costs = CircuitCosts.from_tables(tables, "tt", 1.8, 27.0)
    assert costs.accumulator_energy_j["add"] == pytest.approx(60e-15)
    assert any("used 'gaussian'" in note for note in costs.notes)


def test_grid_point_ignores_nan_neighbour():
    rom = rom_table()
    failed = (rom.df["vdd_v"] == 1.6) & (rom.df["trit"] == 0)
    rom.df.loc[failed, "settle_time_s"] = float("nan")
    tables = example_tables()
    tables["rom_column"] = rom
    costs = CircuitCosts.from_tables(tables, "tt", 1.8, 27.0)
    assert costs.rom_settle_time_s == pytest.approx(4e-9)
    assert costs.notes == ()
    between = CircuitCosts.from_tables(tables, "tt", 1.7, 27.0)
    assert math.isnan(between.rom_settle_time_s)
