"""Bad inputs and hostile conditions, one case per test, as researchers make them.

Tests marked xfail(strict=True) state the expected behaviour of a case that the
library still gets wrong. Remove the mark once the library is fixed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from bitrom_char.cells.accumulator import AccumulatorCell
from bitrom_char.cells.base import Cell, PointResult
from bitrom_char.cells.device import DeviceCell
from bitrom_char.cells.edram import EdramCell, EdramDesign
from bitrom_char.cells.inverter import InverterCell
from bitrom_char.cells.rom import RomColumnCell
from bitrom_char.chip import Chip
from bitrom_char.chip.costs import MissingTableError
from bitrom_char.cli import main
from bitrom_char.pdk import (
    PdkNotFoundError,
    check_device_size,
    find_models,
    std_cell_spice,
    validate_corner,
    validate_supply,
)
from bitrom_char.spice import Deck
from bitrom_char.spice.measure import Average, Delay, Find, Integral, When
from bitrom_char.sweep import ProcessPool, characterize, expand_grid
from bitrom_char.tables import OutsideGridError, Table

NFET = "sky130_fd_pr__nfet_01v8"
RC_NETLIST = "V1 a 0 PULSE(0 1.8 1n 10p 10p 2n 4n)\nR1 a b 1k\nC1 b 0 1p\n"
# v(b) of RC_NETLIST at 2 ns as ngspice 39 computes it, 1 ns after the 10 ps input edge
# (1.8 V * (1 - exp(-1)) = 1.138 V for an ideal step).
RC_VB_AT_2NS_V = 1.1345
INVERTER_GRID = {
    "corner": ["tt"],
    "vdd_v": [1.8],
    "temp_c": [27.0],
    "cload_f": [10e-15],
}


def rc_deck(**changes) -> Deck:
    """An RC step response: 1 kOhm into 1 pF, driven 0 to 1.8 V at 1 ns."""
    fields = {
        "title": "rc",
        "netlist": RC_NETLIST,
        "analysis": "tran 10p 5n",
        "measurements": [Find("vb", "v(b)", at_s=2e-9)],
    }
    fields.update(changes)
    return Deck(**fields)


class RcCell(Cell):
    """One RC transient per point, small enough to sweep in this process."""

    name = "bad_input_rc"
    axes = ("corner", "vdd_v", "temp_c")
    units: ClassVar[dict[str, str]] = {"vb_v": "V"}

    def deck(self, point: Mapping) -> Deck:
        return Deck(
            title="rc",
            netlist="V1 a 0 {vdd_v}\nR1 a b 1k\nC1 b 0 1p\n",
            analysis="tran 1p 1n",
            measurements=[Find("vb_v", "v(b)", at_s=0.9e-9)],
            corner=str(point["corner"]),
            temp_c=float(point["temp_c"]),
            params={"vdd_v": float(point["vdd_v"])},
        )

    def key_text(self, point: Mapping) -> str:
        return self.deck(point).fingerprint()

    def evaluate(self, point: Mapping, sim) -> PointResult:
        result = sim.run(self.deck(point))
        return PointResult(result.values, result.reasons, result.netlist_hash)

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        return {"corner": ["tt"], "vdd_v": [1.5, 1.8], "temp_c": [27.0]}


class BrokenRcCell(RcCell):
    """RcCell with a transistor whose model does not exist."""

    name = "bad_input_broken_rc"

    def deck(self, point: Mapping) -> Deck:
        deck = super().deck(point)
        netlist = deck.netlist + "M1 b a 0 0 no_such_model W=1 L=1\n"
        return Deck(
            title=deck.title,
            netlist=netlist,
            analysis=deck.analysis,
            measurements=deck.measurements,
            corner=deck.corner,
            temp_c=deck.temp_c,
            params=deck.params,
        )

    def default_grid(self, quick: bool = False) -> dict[str, list]:
        return {"corner": ["tt"], "vdd_v": [1.8], "temp_c": [27.0]}


def run_in_subprocess(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter, so a broken ngspice stays there."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        timeout=120,
    )


def cli_in_subprocess(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bitrom_char.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        timeout=120,
    )


def two_point_table() -> Table:
    df = pd.DataFrame(
        {
            "corner": ["tt", "tt", "ss", "ss"],
            "vdd_v": [1.5, 1.8, 1.5, 1.8],
            "delay_s": [2e-9, 1e-9, 3e-9, 2e-9],
            "reasons": ["{}"] * 4,
        }
    )
    return Table(df, name="toy", axes=("corner", "vdd_v"), units={"delay_s": "s"})


def chip_tables(**drop: str) -> dict[str, Table]:
    """Minimal ROM and accumulator tables at tt, 1.8 V, 27 C for Chip.from_tables."""
    rows = [
        {
            "corner": "tt",
            "vdd_v": 1.8,
            "temp_c": 27.0,
            "rows": 2048,
            "direction": direction,
            "trit": trit,
            "read_energy_j": 1e-13,
            "settle_time_s": 2e-9,
            "leakage_a": 1e-9,
            "reasons": "{}",
        }
        for direction in ("forward", "reverse")
        for trit in (-1, 0, 1)
    ]
    accumulator = {
        "corner": "tt",
        "vdd_v": 1.8,
        "temp_c": 27.0,
        "energy_add_j": 1e-13,
        "energy_sub_j": 1e-13,
        "energy_hold_j": 1e-14,
        "delay_s": 3e-9,
        "fmax_hz": 3e8,
        "leakage_w": 1e-7,
        "reasons": "{}",
    }
    rom_df = pd.DataFrame(rows).drop(columns=[drop.get("rom", "reasons")])
    acc_df = pd.DataFrame([accumulator]).drop(columns=[drop.get("acc", "reasons")])
    rom_axes = ("corner", "vdd_v", "temp_c", "rows", "direction", "trit")
    return {
        "rom_column": Table(rom_df, name="rom_column", axes=rom_axes, units={}),
        "accumulator": Table(
            acc_df, name="accumulator", axes=("corner", "vdd_v", "temp_c"), units={}
        ),
    }


# --- PDK: corners, supply, device sizes, model and cell files ------------------------


def test_corner_uppercase_rejected():
    with pytest.raises(ValueError, match="unknown process corner 'TT'; use one of tt"):
        validate_corner("TT")


@pytest.mark.parametrize("vdd_v", [math.nan, math.inf, -1.8, 0.0, 1e9])
def test_supply_bad_vdd_rejected(vdd_v):
    with pytest.raises(ValueError, match=rf"vdd_v={vdd_v} is outside 0.5..1.95 V"):
        validate_supply(vdd_v, 27.0)


@pytest.mark.parametrize("temp_c", [math.nan, -273.15, 1000.0])
def test_supply_bad_temperature_rejected(temp_c):
    with pytest.raises(ValueError, match=rf"temp_c={temp_c} is outside -55.0..150.0"):
        validate_supply(1.8, temp_c)


@pytest.mark.parametrize(
    ("w_um", "l_um", "message"),
    [(-1.0, 0.15, "W=-1.0 um is below"), (1.0, 0.0, "L=0.0 um is below")],
)
def test_device_negative_size_rejected(w_um, l_um, message):
    with pytest.raises(ValueError, match=message):
        check_device_size(NFET, w_um, l_um)


@pytest.mark.parametrize(("w_um", "l_um"), [(math.nan, 0.15), (1.0, math.inf)])
def test_device_nonfinite_size_rejected(w_um, l_um):
    with pytest.raises(ValueError, match="um"):
        check_device_size(NFET, w_um, l_um)


def test_inverter_nan_width_rejected():
    with pytest.raises(ValueError, match="wn_um|W=nan"):
        InverterCell(wn_um=math.nan)


def test_device_model_typo_lists_models():
    with pytest.raises(ValueError, match="unknown device model 'nfet'; known: sky130"):
        check_device_size("nfet", 1.0, 0.15)


def test_models_pdk_root_missing_names_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(PdkNotFoundError, match=str(missing)):
        find_models(missing)


def test_models_pdk_root_is_file_names_path(tmp_path):
    file = tmp_path / "pdk.txt"
    file.write_text("not a PDK\n")
    with pytest.raises(PdkNotFoundError, match="sky130A/libs.tech/ngspice"):
        find_models(file)


def test_models_bad_pdk_root_env_warns(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PDK_ROOT", str(tmp_path / "nope"))
    try:
        find_models()
        message = caplog.text
    except PdkNotFoundError as error:
        message = str(error)
    assert str(tmp_path / "nope") in message


def test_std_cell_typo_shows_name_form():
    with pytest.raises(PdkNotFoundError, match="cell names look like sky130_fd_sc_hd"):
        std_cell_spice("sky130_fd_sc_hd__nope_1")


# --- Grids and cell parameters --------------------------------------------------------


def test_grid_empty_axis_rejected():
    with pytest.raises(ValueError, match="grid axis corner has no values"):
        expand_grid(InverterCell(), {**INVERTER_GRID, "corner": []})


@pytest.mark.parametrize("cload_f", [-1e-15, math.nan, math.inf, 1.0])
def test_grid_bad_load_rejected(cload_f):
    with pytest.raises(ValueError, match=f"cload_f={cload_f} F is invalid"):
        expand_grid(InverterCell(), {**INVERTER_GRID, "cload_f": [cload_f]})


def test_grid_text_value_names_axis():
    with pytest.raises(ValueError, match="vdd_v"):
        expand_grid(InverterCell(), {**INVERTER_GRID, "vdd_v": ["abc"]})


def test_grid_scalar_axis_names_axis():
    with pytest.raises(ValueError, match="vdd_v"):
        expand_grid(InverterCell(), {**INVERTER_GRID, "vdd_v": "1.8"})


def test_grid_repeated_value_rejected():
    with pytest.raises(ValueError, match="vdd_v"):
        expand_grid(InverterCell(), {**INVERTER_GRID, "vdd_v": [1.8, 1.8]})


def test_device_grid_narrow_width_rejected():
    grid = {**DeviceCell().default_grid(quick=True), "w_um": [0.1]}
    with pytest.raises(ValueError, match="W=0.1 um is below the minimum 0.42 um"):
        expand_grid(DeviceCell(), grid)


@pytest.mark.parametrize("rows", [0, -4, 2.5, "16", True, math.nan])
def test_rom_bad_rows_rejected(rows):
    grid = {**RomColumnCell().default_grid(quick=True), "rows": [rows]}
    with pytest.raises(ValueError, match="is invalid; use an integer >= 1"):
        expand_grid(RomColumnCell(), grid)


@pytest.mark.parametrize("trit", [2, -2])
def test_rom_trit_out_of_range_rejected(trit):
    grid = {**RomColumnCell().default_grid(quick=True), "trit": [trit]}
    with pytest.raises(ValueError, match=f"trit {trit} is invalid; use -1, 0 or 1"):
        expand_grid(RomColumnCell(), grid)


@pytest.mark.parametrize("trit", [0.5, "1"])
def test_rom_fractional_trit_rejected(trit):
    grid = {**RomColumnCell().default_grid(quick=True), "trit": [trit]}
    with pytest.raises(ValueError, match="trit"):
        expand_grid(RomColumnCell(), grid)


def test_rom_direction_case_rejected():
    grid = {**RomColumnCell().default_grid(quick=True), "direction": ["FORWARD"]}
    with pytest.raises(ValueError, match="direction 'FORWARD' is invalid"):
        expand_grid(RomColumnCell(), grid)


def test_edram_zero_rows_rejected():
    cell = EdramCell(design=EdramDesign(rows=0))
    with pytest.raises(ValueError, match="rows=0 is invalid"):
        expand_grid(cell, cell.default_grid(quick=True))


@pytest.mark.parametrize("count", [0, 4.0, "4", 1000])
def test_accumulator_bad_operation_count_rejected(count):
    grid = {
        **AccumulatorCell().default_grid(quick=True),
        "operations_per_mode": [count],
    }
    with pytest.raises(ValueError, match="operations_per_mode=.* is out of range"):
        expand_grid(AccumulatorCell(), grid)


def test_accumulator_narrow_width_rejected():
    with pytest.raises(ValueError, match="width=3 is out of range"):
        AccumulatorCell(width=3)


# --- Decks and measurements, on real ngspice ------------------------------------------


def test_deck_missing_include_rejected(tmp_path):
    missing = tmp_path / "cells.spice"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        rc_deck(includes=(missing,))


def test_deck_text_parameter_names_it():
    with pytest.raises(ValueError, match="cload_f"):
        rc_deck(params={"cload_f": "abc"})


def test_deck_undefined_parameter_rejected():
    netlist = "V1 a 0 {vdd}\nR1 a b 1k\nC1 b 0 1p\n"
    with pytest.raises(ValueError, match="vdd"):
        rc_deck(netlist=netlist, params={"vdd_v": 1.8})


@pytest.mark.parametrize("analysis", ["tran 1p", "tran 1p 0", "tran 1p abc"])
def test_deck_invalid_transient_rejected(analysis):
    with pytest.raises(ValueError, match="tran"):
        rc_deck(analysis=analysis)


def test_delay_zeroth_edge_rejected():
    with pytest.raises(ValueError, match="trig_n"):
        Delay("d", "v(a)", 0.9, "rise", "v(b)", 0.9, "rise", trig_n=0)


def test_when_nan_level_rejected():
    with pytest.raises(ValueError, match="nan"):
        When("t", "v(b)", math.nan, "rise")


def test_integral_reversed_window_rejected():
    with pytest.raises(ValueError, match="from_s"):
        Integral("q", "i(v1)", from_s=4e-9, to_s=1e-9)


def test_rc_baseline_value(sim):
    result = sim.run(rc_deck())
    assert result.values["vb"] == pytest.approx(RC_VB_AT_2NS_V, rel=1e-3)


def test_meas_missing_node_nan_with_reason(sim):
    result = sim.run(rc_deck(measurements=[Average("avg_v", "v(nowhere)")]))
    assert math.isnan(result.values["avg_v"])
    assert (
        result.reasons["avg_v"] == "vector v(nowhere) does not exist in the simulation"
    )


def test_meas_unbalanced_expression_nan(sim):
    result = sim.run(rc_deck(measurements=[Find("vb", "v(b", at_s=1e-9)]))
    assert math.isnan(result.values["vb"])
    assert "failed" in result.reasons["vb"]


def test_find_negative_time_nan(sim):
    result = sim.run(rc_deck(measurements=[Find("vb", "v(b)", at_s=-1e-9)]))
    assert math.isnan(result.values["vb"])
    assert "outside the simulated 0..5e-09 s" in result.reasons["vb"]


def test_when_level_above_supply_nan(sim):
    result = sim.run(rc_deck(measurements=[When("t5", "v(b)", 5.0, "rise")]))
    assert math.isnan(result.values["t5"])
    assert "never rose through 5" in result.reasons["t5"]


def test_average_window_past_end_nan(sim):
    late = Average("avg_v", "v(b)", from_s=1e-9, to_s=1e-6)
    result = sim.run(rc_deck(measurements=[late]))
    assert math.isnan(result.values["avg_v"])


def test_unknown_model_point_nan_with_reason(tmp_path):
    table = characterize(BrokenRcCell(), workers=0, cache_dir=tmp_path, progress=False)
    reasons = json.loads(table.df["reasons"].iloc[0])
    assert math.isnan(table.df["vb_v"].iloc[0])
    assert reasons["vb_v"]


def test_unknown_model_rejected(sim):
    netlist = RC_NETLIST + "M1 b a 0 0 no_such_model W=1 L=1\n"
    with pytest.raises(ValueError, match="rejected the netlist"):
        sim.run(rc_deck(netlist=netlist))


def test_simulator_usable_after_bad_netlist(sim):
    with contextlib.suppress(ValueError):
        sim.run(rc_deck(netlist=RC_NETLIST + "Xfoo bar\n"))
    result = sim.run(rc_deck())
    assert result.values["vb"] == pytest.approx(RC_VB_AT_2NS_V, rel=1e-3)


def test_simulator_usable_after_undefined_parameter():
    # A fresh interpreter: the failure leaves its libngspice unusable for good.
    result = run_in_subprocess(
        """
        from bitrom_char.spice import Deck, Simulator
        from bitrom_char.spice.measure import Find
        sim = Simulator()
        good = "V1 a 0 {vdd_v}\\nR1 a b 1k\\nC1 b 0 1p\\n"
        measure = [Find("vb", "v(b)", at_s=0.9e-9)]
        params = {"vdd_v": 1.8}
        try:
            sim.run(Deck("rc", good.replace("vdd_v}", "vdd}"), "tran 1p 1n",
                         measure, params=params))
        except Exception:
            pass
        print(sim.run(Deck("rc", good, "tran 1p 1n", measure, params=params))
              .values["vb"])
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_meas_named_time_rejected():
    measurements = [Find("time", "v(b)", at_s=2e-9), Find("vb", "v(b)", at_s=3e-9)]
    with pytest.raises(ValueError, match="time"):
        rc_deck(measurements=measurements)


def test_meas_named_like_node_rejected():
    measurements = [Find("b", "v(b)", at_s=2e-9), Find("vb", "v(b)", at_s=3e-9)]
    with pytest.raises(ValueError, match="'b'"):
        rc_deck(measurements=measurements)


def test_deck_title_newline_rejected():
    with pytest.raises(ValueError, match="title"):
        rc_deck(title="rc\nR9 b 0 1")


def test_truncated_model_file_rebuilt(tmp_path):
    # A fresh interpreter: loading a broken model file can leave libngspice unusable.
    result = run_in_subprocess(
        f"""
        import math
        from pathlib import Path
        from bitrom_char.cells.inverter import InverterCell
        from bitrom_char.spice import Simulator
        cache = Path({str(tmp_path)!r})
        point = {{"corner": "tt", "vdd_v": 1.8, "temp_c": 27.0, "cload_f": 1e-14}}
        InverterCell().evaluate(point, Simulator(cache_dir=cache))
        for path in cache.glob("*.spice"):
            path.write_text(path.read_text()[:1000])
        result = InverterCell().evaluate(point, Simulator(cache_dir=cache))
        assert math.isfinite(result.values["tphl_s"]), result.reasons
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]


# --- Tables -----------------------------------------------------------------------------


def test_lookup_corner_case_lists_grid():
    with pytest.raises(OutsideGridError, match=r"corner='TT' is not in the grid"):
        two_point_table().lookup("delay_s", corner="TT", vdd_v=1.5)


def test_lookup_missing_axis_names_it():
    with pytest.raises(ValueError, match=r"give corner=\.\.\."):
        two_point_table().lookup("delay_s", vdd_v=1.5)


def test_lookup_nan_vdd_rejected():
    with pytest.raises(ValueError, match="vdd_v=nan"):
        two_point_table().lookup("delay_s", corner="tt", vdd_v=math.nan)


def test_lookup_unknown_column_lists_outputs():
    with pytest.raises(KeyError, match="outputs: delay_s"):
        two_point_table().lookup("energy_j", corner="tt", vdd_v=1.5)


def test_lookup_text_vdd_names_axis():
    with pytest.raises(ValueError, match="vdd_v"):
        two_point_table().lookup("delay_s", corner="tt", vdd_v="abc")


def test_lookup_none_vdd_rejected():
    with pytest.raises(ValueError, match="vdd_v"):
        two_point_table().lookup("delay_s", corner="tt", vdd_v=None)


def test_lookup_nan_vdd_extrapolate_rejected():
    with pytest.raises(ValueError, match="vdd_v"):
        two_point_table().lookup(
            "delay_s", corner="tt", vdd_v=math.nan, extrapolate=True
        )


def test_table_missing_axis_column_rejected():
    df = two_point_table().df
    with pytest.raises(ValueError, match="axis columns missing: temp_c"):
        Table(df, name="toy", axes=("corner", "temp_c"), units={})


def test_parquet_truncated_names_path(tmp_path):
    path = two_point_table().to_parquet(tmp_path / "toy.parquet")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=str(path)):
        Table.read_parquet(path)


def test_parquet_empty_file_rejected(tmp_path):
    path = tmp_path / "toy.parquet"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="0 bytes"):
        Table.read_parquet(path)


def test_parquet_failed_write_keeps_old_file(tmp_path):
    path = two_point_table().to_parquet(tmp_path / "toy.parquet")
    before = path.read_bytes()
    bad = Table(
        pd.DataFrame({"corner": ["tt"], "mixed": [object()]}),
        name="toy",
        axes=("corner",),
        units={},
    )
    with pytest.raises(ValueError, match="column mixed"):
        bad.to_parquet(path)
    assert path.read_bytes() == before


# --- Point cache and sweeps -----------------------------------------------------------


def _corrupt_first_cache_file(root: Path, content: bytes) -> Path:
    files = sorted(root.rglob("*.json"))
    files[0].write_bytes(content)
    return files[0]


@pytest.mark.parametrize("content", [b'{"point": ', b"", b"\x00" * 64])
def test_cache_unreadable_file_recomputed(tmp_path, content):
    first = characterize(RcCell(), workers=0, cache_dir=tmp_path, progress=False).df[
        "vb_v"
    ]
    broken = _corrupt_first_cache_file(tmp_path, content)
    second = characterize(RcCell(), workers=0, cache_dir=tmp_path, progress=False).df[
        "vb_v"
    ]
    assert second.tolist() == first.tolist()
    assert json.loads(broken.read_text())["values"]["vb_v"] in first.tolist()


@pytest.mark.parametrize("content", [b"\xff\xfe garbage", b"{}", b"[1, 2]"])
def test_cache_malformed_file_recomputed(tmp_path, content):
    characterize(RcCell(), workers=0, cache_dir=tmp_path, progress=False)
    _corrupt_first_cache_file(tmp_path, content)
    table = characterize(RcCell(), workers=0, cache_dir=tmp_path, progress=False)
    assert table.df["vb_v"].notna().all()


def test_cache_text_value_not_in_table(tmp_path):
    characterize(RcCell(), workers=0, cache_dir=tmp_path, progress=False)
    _corrupt_first_cache_file(tmp_path, b'{"values": {"vb_v": "abc"}}')
    table = characterize(RcCell(), workers=0, cache_dir=tmp_path, progress=False)
    assert pd.api.types.is_float_dtype(table.df["vb_v"])


def test_pool_negative_workers_rejected():
    with pytest.raises(ValueError, match="workers=-1 is invalid"):
        ProcessPool(RcCell(), -1)


@pytest.mark.parametrize("timeout_s", [0.0, -5.0])
def test_pool_nonpositive_timeout_rejected(timeout_s):
    with pytest.raises(ValueError, match=f"timeout_s={timeout_s} is invalid"):
        ProcessPool(RcCell(), 1, timeout_s=timeout_s)


def test_pool_nan_timeout_rejected():
    with pytest.raises(ValueError, match="timeout_s=nan"):
        ProcessPool(RcCell(), 1, timeout_s=math.nan)


# --- Command line ---------------------------------------------------------------------


def exit_code(args: list[str]) -> int:
    """Return main's exit status, whether it returns it or argparse exits."""
    try:
        return main(args)
    except SystemExit as exit_:
        return int(exit_.code)


def _characterize_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "characterize",
        "device",
        "--grid",
        "quick",
        "--output",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "cache"),
        *extra,
    ]


def test_cli_pdk_root_missing_exits_2(tmp_path, capsys):
    code = main(["pdk", "info", "--pdk-root", str(tmp_path / "nope")])
    assert code == 2
    assert "sky130 models not found" in capsys.readouterr().err


def test_cli_pdk_root_file_exits_2(tmp_path, capsys):
    file = tmp_path / "pdk.txt"
    file.write_text("not a PDK\n")
    code = main(_characterize_args(tmp_path, "--workers", "0", "--pdk-root", str(file)))
    assert code == 2
    assert str(file) in capsys.readouterr().err


def test_cli_negative_workers_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(_characterize_args(tmp_path, "--workers", "-1"))
    assert exit_info.value.code == 2
    assert "'-1' is invalid; use 0" in capsys.readouterr().err


def test_cli_zero_timeout_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(_characterize_args(tmp_path, "--workers", "1", "--timeout-s", "0"))
    assert exit_info.value.code == 2
    assert "'0' is invalid; use a positive number" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--vdd", "nan", "vdd_v=nan is outside"),
        ("--temp", "1e9", "temp_c=1000000000.0 is outside"),
    ],
)
def test_cli_supply_out_of_range_exits_2(tmp_path, capsys, option, value, message):
    args = _characterize_args(tmp_path, "--workers", "0", option, value)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_cli_cache_is_file_exits_2(tmp_path, capsys):
    file = tmp_path / "cache.txt"
    file.write_text("not a folder\n")
    args = _characterize_args(tmp_path, "--workers", "0", "--cache", str(file))
    assert main(args) == 2
    assert f"Not a directory: '{file}" in capsys.readouterr().err


def test_cli_unknown_corner_no_traceback(tmp_path):
    result = cli_in_subprocess("run", "--corners", "xx", "--output", str(tmp_path))
    assert result.returncode == 2
    assert "unknown process corner 'xx'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_libngspice_no_traceback(tmp_path):
    missing = str(tmp_path / "libngspice.so")
    result = cli_in_subprocess("pdk", "info", NGSPICE_LIBRARY_PATH=missing)
    assert result.returncode == 2
    assert f"NGSPICE_LIBRARY_PATH={missing} does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_empty_vdd_list_exits_2(tmp_path):
    args = _characterize_args(tmp_path, "--workers", "0", "--vdd", ",,")
    assert exit_code(args) == 2


def test_cli_corrupt_cache_no_traceback(tmp_path):
    args = _characterize_args(tmp_path, "--workers", "0")
    assert main(args) == 0
    _corrupt_first_cache_file(tmp_path / "cache", b"{}")
    result = cli_in_subprocess(*args)
    assert "Traceback" not in result.stderr


# --- Chip model -----------------------------------------------------------------------


def test_chip_from_good_tables_clock():
    chip = Chip.from_tables(chip_tables(), edram_bytes=0)
    assert chip.clock_hz == pytest.approx(3e8)


@pytest.mark.parametrize(
    ("table", "column"), [("rom", "settle_time_s"), ("acc", "energy_add_j")]
)
def test_chip_missing_column_named(table, column):
    tables = chip_tables(**{table: column})
    with pytest.raises(ValueError, match=f"no column '{column}'.*recharacterize"):
        Chip.from_tables(tables, edram_bytes=0)


def test_chip_missing_rom_table_named():
    tables = chip_tables()
    del tables["rom_column"]
    with pytest.raises(MissingTableError, match="bitrom-char characterize rom_column"):
        Chip.from_tables(tables, edram_bytes=0)


def test_chip_missing_edram_table_named():
    with pytest.raises(MissingTableError, match="pass 0 for no on-die KV cache"):
        Chip.from_tables(chip_tables())


def test_chip_unknown_corner_lists_grid():
    with pytest.raises(OutsideGridError, match=r"corner='ff' is not in the grid"):
        Chip.from_tables(chip_tables(), corner="ff", edram_bytes=0)


def test_chip_table_folder_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="table directory .* not found"):
        Chip.from_tables(tmp_path / "nope", edram_bytes=0)


def test_chip_nan_limits_need_clock():
    tables = chip_tables()
    rom, acc = tables["rom_column"], tables["accumulator"]
    rom.df["settle_time_s"] = math.nan
    acc.df["fmax_hz"] = math.nan
    acc.df["delay_s"] = math.nan
    with pytest.raises(ValueError, match="no finite clock limit"):
        Chip.from_tables(tables, edram_bytes=0)


def test_chip_nan_vdd_rejected():
    with pytest.raises(ValueError, match="vdd_v=nan"):
        Chip.from_tables(chip_tables(), vdd_v=math.nan, edram_bytes=0)


def test_chip_text_vdd_names_it():
    with pytest.raises(ValueError, match="vdd_v"):
        Chip.from_tables(chip_tables(), vdd_v="abc", edram_bytes=0)
