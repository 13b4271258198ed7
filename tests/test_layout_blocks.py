"""Tests of the eDRAM, accumulator, parasitics, density and build_all layouts."""

import hashlib
import math
import re

import numpy as np
import pytest

from bitrom_char.layout import accumulator, density, edram, parasitics, rom
from bitrom_char.layout.build import build_all
from bitrom_char.layout.drc import run_drc
from bitrom_char.layout.extract import extract_nfets
from bitrom_char.layout.geometry import CellDrawer, write_gds
from bitrom_char.pdk import std_cell_gds


@pytest.mark.parametrize("mim_cap", [False, True])
def test_edram_array_drc_clean(tmp_path, mim_cap):
    path = write_gds(edram.edram_array(3, 2, mim_cap=mim_cap), tmp_path / "e.gds")
    assert run_drc(path).violations == []


@pytest.mark.parametrize(("w_um", "l_um"), [(0.5, 0.18), (1.0, 0.5)])
def test_edram_sized_cell_drc_clean(tmp_path, w_um, l_um):
    cell = edram.edram_array(2, 2, mim_cap=True, w_um=w_um, l_um=l_um)
    path = write_gds(cell, tmp_path / "sized.gds")
    assert run_drc(path).violations == []
    devices = extract_nfets(path)
    assert len(devices) == 12
    assert {d.w_um for d in devices} == {w_um}
    assert {d.l_um for d in devices} == {l_um}


def test_edram_rejects_bad_size():
    with pytest.raises(ValueError, match="w_um=0.3 is outside"):
        edram.edram_cell(w_um=0.3)


def test_edram_extracts_three_transistors_per_cell(tmp_path):
    path = write_gds(edram.edram_array(2, 2), tmp_path / "e.gds")
    devices = extract_nfets(path)
    assert len(devices) == 12
    for column in range(2):
        write = [d for d in devices if f"WBL{column}" in (d.source, d.drain)]
        read = [d for d in devices if f"RBL{column}" in (d.source, d.drain)]
        assert len(write) == 2
        assert len(read) == 2
        for device in write:
            storage_node = ({device.source, device.drain} - {f"WBL{column}"}).pop()
            storage = [d for d in devices if d.gate == storage_node]
            assert len(storage) == 1
            assert "GND" in (storage[0].source, storage[0].drain)


def test_edram_mim_area_and_capacitance():
    info = edram.edram_cell_info(mim_cap=True)
    assert info.capm_area_um2 == pytest.approx(1.16)
    assert info.mim_c_f == pytest.approx(2.32e-15)
    assert edram.edram_cell_info().area_um2 == pytest.approx(2.0 * 1.8)


def test_accumulator_own_geometry_drc_clean(tmp_path):
    cell, _ = accumulator.accumulator_block()
    path = write_gds(cell, tmp_path / "acc.gds")
    report = run_drc(path, skip_cells=("sky130_fd_sc_hd__*",))
    assert report.violations == []


def test_accumulator_places_every_cell():
    counts = {"fa_1": 3, "xnor2_1": 2, "dfxtp_1": 3, "dlclkp_1": 1}
    cell, info = accumulator.accumulator_block(counts, rows=2)
    placed = [ref.cell.name for ref in cell.references]
    for name, count in counts.items():
        assert placed.count(f"sky130_fd_sc_hd__{name}") == count
    assert placed.count("sky130_fd_sc_hd__tapvpwrvgnd_1") == 2
    assert info.rows == 2
    assert info.height_um == pytest.approx(5.44)


def test_accumulator_area_is_placed_area():
    cell, info = accumulator.accumulator_block()
    _, (x1, y1) = cell.bounding_box()
    assert info.placed_area_um2 == pytest.approx(info.width_um * info.height_um)
    # Foundry nwell reaches up to 0.2 um past a cell's boundary, and the power
    # rails are centred on the row edges (0.24 um half height).
    assert x1 - accumulator.STRAP_COLUMN_UM == pytest.approx(info.width_um, abs=0.2)
    assert y1 == pytest.approx(info.height_um, abs=0.25)
    assert info.cell_area_um2 <= info.placed_area_um2
    assert info.utilization > 0.8


def test_accumulator_rejects_unknown_cell():
    with pytest.raises(FileNotFoundError, match="not found"):
        accumulator.accumulator_block({"no_such_cell_1": 2})
    with pytest.raises(ValueError, match="non-negative"):
        accumulator.accumulator_block({"fa_1": -1})


def test_seeded_directional_enclosure_reported(tmp_path):
    d = CellDrawer("seeded_m1_5")
    d.rect("li1", 0, 0, 0.5, 0.17)
    d.square("mcon", 0.25, 0.085, 0.17)
    d.rect("met1", 0.135, -0.03, 0.365, 0.365)  # 0.03 left and right, 0.06 not met
    violations = run_drc(write_gds(d.cell, tmp_path / "m15.gds")).violations
    assert "m1.4" not in {v.rule for v in violations}
    located = [v for v in violations if v.rule == "m1.5"]
    assert len(located) == 1
    assert (located[0].x_um, located[0].y_um) == pytest.approx((0.25, 0.085))


def test_parasitics_follow_drawn_widths():
    values = parasitics.rom_parasitics()
    row_um = rom.RomCellGeometry().pitch_y_um
    met1 = parasitics.WIRE_LAYERS["met1"]
    expected_c = row_um * (0.14 * met1.area_c_f_per_um2 + 2 * met1.edge_c_f_per_um)
    assert values["bitline_c_per_row_f"]["met1"] == pytest.approx(expected_c)
    assert values["bitline_r_per_row_ohm"]["met1"] == pytest.approx(
        0.125 * row_um / 0.14
    )
    assert values["bitline_r_per_row_ohm"]["li1"] == pytest.approx(12.8 * row_um / 0.35)
    assert set(values["bitline_c_per_row_f"]) == {"li1", "met1", "met2", "met3"}
    assert values["trit_layer"] == {-1: "met1", 0: "li1", 1: "met2"}
    assert values["trit_layer_by_side"]["E"][0] == "met3"
    for value in values["bitline_c_per_row_f"].values():
        assert 1e-17 < value < 1e-15
    assert values["wordline_r_per_cell_ohm"] < values["wordline_poly_r_per_cell_ohm"]


def test_parasitics_match_technology_lef():
    tlef = std_cell_gds("sky130_fd_sc_hd__fa_1").parents[2] / "tech"
    text = (tlef / "sky130_fd_sc_hd__nom.tlef").read_text()
    for layer, values in parasitics.WIRE_LAYERS.items():
        block = re.search(rf"LAYER {layer}\n(.*?)END {layer}", text, re.DOTALL).group(1)
        area = float(re.search(r"CPERSQDIST ([\d.eE+-]+)", block).group(1))
        edge = float(re.search(r"EDGECAPACITANCE ([\d.eE+-]+)", block).group(1))
        sheet = float(re.search(r"RPERSQ ([\d.]+)", block).group(1))
        assert values.area_c_f_per_um2 == pytest.approx(area * 1e-12), layer
        assert values.edge_c_f_per_um == pytest.approx(edge * 1e-12), layer
        assert values.sheet_r_ohm_per_sq == pytest.approx(sheet), layer


def test_density_consistent_with_area():
    area = density.array_area(256, 64, columns_per_strap=32)
    table = density.density_table(area)
    geom = rom.RomCellGeometry()
    expected_core = (64 * geom.pitch_x_um + 2 * rom.STRAP_WIDTH_UM) * 256 * 0.95
    assert area.core_area_um2 == pytest.approx(expected_core)
    cell = table.loc["BitROM two-trit cell"]
    assert cell["area_um2"] == pytest.approx(geom.area_um2)
    assert cell["trits_per_um2"] == pytest.approx(2 / geom.area_um2)
    bits = 2 * math.log2(3)
    assert cell["kb_per_mm2"] == pytest.approx(bits / geom.area_um2 * 1e3)
    with_periphery = table.loc["BitROM 256x64 array with periphery"]
    assert with_periphery["area_um2"] > area.core_area_um2
    assert with_periphery["kb_per_mm2"] < cell["kb_per_mm2"]
    assert table.loc["sky130 SRAM cell sram_sp_cell", "um2_per_bit"] == 1.896


def test_density_cell_beats_references():
    table = density.density_table()
    cell = table.loc["BitROM two-trit cell", "kb_per_mm2"]
    assert cell > table.loc["sky130 SRAM cell sram_sp_cell", "kb_per_mm2"]
    assert cell > table.loc["ROM, one trit per transistor", "kb_per_mm2"]


def test_build_all_quick(tmp_path):
    summary = build_all(tmp_path / "layouts", quick=True)
    assert summary["drc"]
    assert all(count == 0 for count in summary["drc"].values()), summary[
        "drc_violations"
    ]
    assert summary["tile_extraction_matches"] is True
    assert summary["rules_checked"] >= 60
    assert summary["rom_cell_area_um2"] == pytest.approx(
        summary["rom_cell_w_um"] * summary["rom_cell_h_um"]
    )
    assert summary["array_with_periphery_area_um2"] > summary["array_area_um2"]
    assert summary["accumulator_cell_counts"]["sky130_fd_sc_hd__fa_1"] >= 20
    assert summary["accumulator_area_um2"] > 20 * 7.36 * 2.72
    for path in summary["files"]:
        assert path.endswith(".gds")
    assert (tmp_path / "layouts" / "density.csv").is_file()
    assert summary["array_density_kb_per_mm2"] < summary["cell_density_kb_per_mm2"]
    for _, png in summary["figures"]:
        assert png.endswith(".png")
        assert (tmp_path / "layouts" / png.rsplit("/", 1)[1]).stat().st_size > 1000
    digest = hashlib.sha256(
        (tmp_path / "layouts" / "bitrom_tile_8x8.gds").read_bytes()
    ).hexdigest()
    again = build_all(tmp_path / "again", quick=True)
    assert again["drc"] == summary["drc"]
    second = hashlib.sha256((tmp_path / "again" / "bitrom_tile_8x8.gds").read_bytes())
    assert second.hexdigest() == digest


def test_trits_of_example_tile_cover_all_values():
    from bitrom_char.layout.build import _example_trits

    trits = _example_trits(8, 8)
    assert set(np.unique(trits)) == {-1, 0, 1}


def test_stacked_line_coupling_per_side():
    values = parasitics.rom_parasitics()["bitline_coupling_c_per_row_f"]
    assert set(values) == {"W:li1-met1", "W:met1-met2", "E:met1-met2", "E:met2-met3"}
    row_um = rom.RomCellGeometry().pitch_y_um
    expected = 8.854e-18 * 4.0 * 0.14 * row_um / 0.27
    assert values["W:met1-met2"] == pytest.approx(expected)
    # the 0.35 um li1 line overlaps the met1 line by 0.105 um only
    expected_li = 8.854e-18 * 4.0 * 0.105 * row_um / 0.34
    assert values["W:li1-met1"] == pytest.approx(expected_li)
    for value in values.values():
        assert value < parasitics.rom_parasitics()["bitline_c_per_row_f"]["met1"]
