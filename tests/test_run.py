"""End to end: `bitrom-char run --quick` on real ngspice, and what its report holds."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bitrom_char.cli import main
from bitrom_char.tables import Table


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("run")
    code = main(["run", "--quick", "--workers", "2", "--output", str(output)])
    assert code == 0
    return output


def test_run_writes_report_and_tables(quick_run):
    report = (quick_run / "report.md").read_text()
    for name in ("device", "inverter", "rom_column", "accumulator", "edram"):
        assert (quick_run / "tables" / f"{name}.parquet").is_file(), name
        assert f"`{name}`" in report
    assert "## Beside the BitROM paper" in report
    assert "not computed" not in report


def test_run_tables_carry_provenance(quick_run):
    table = Table.read_parquet(quick_run / "tables" / "rom_column.parquet")
    assert table.df["netlist_hash"].str.len().eq(64).all()
    assert table.df["ngspice_version"].str.len().gt(0).all()
    assert table.units["read_energy_j"] == "J"


def test_every_figure_holds_numbers(quick_run):
    manifest = json.loads((quick_run / "figures" / "manifest.json").read_text())
    titles = " ".join(entry["title"] for entry in manifest).lower()
    for topic in ("bit-line", "sense margin", "accumulator", "retention", "energy",
                  "density", "area", "tops/w", "dram"):  # fmt: skip
        assert topic in titles, topic
    for entry in manifest:
        assert (quick_run / entry["png"]).stat().st_size > 1000, entry["title"]
        if entry["data"] is None:
            continue
        frame = pd.read_csv(quick_run / entry["data"])
        numbers = frame.select_dtypes("number")
        assert not numbers.empty, entry["title"]
        assert not numbers.isna().any().any(), entry["title"]


def test_second_run_reuses_cache(quick_run, caplog):
    caplog.set_level("INFO", logger="bitrom_char.sweep")
    assert main(["run", "--quick", "--workers", "2", "--output", str(quick_run)]) == 0
    simulated = [r.message for r in caplog.records if "to simulate" in r.message]
    assert simulated
    assert all(message.endswith(" 0 to simulate") for message in simulated)
