"""Tests of the ROM cell and tile generators and of the KLayout DRC."""

import hashlib

import gdstk
import numpy as np
import pytest

from bitrom_char.layout import rom
from bitrom_char.layout.drc import run_drc
from bitrom_char.layout.geometry import CellDrawer, write_gds


def _all_points_nm(cell: gdstk.Cell) -> np.ndarray:
    flat = cell.copy(cell.name + "_flat").flatten()
    points = [p.points for p in flat.polygons] + [
        np.array([label.origin]) for label in flat.labels
    ]
    return np.round(np.concatenate(points) * 1000, 6)


@pytest.fixture(scope="module")
def random_trits():
    return np.random.default_rng(7).integers(-1, 2, size=(4, 3, 2))


def test_every_cell_variant_drc_clean(tmp_path):
    trits = np.array([[[w, e] for e in rom.TRITS] for w in rom.TRITS])
    path = write_gds(rom.rom_tile(trits, name="all_variants"), tmp_path / "v.gds")
    report = run_drc(path)
    assert report.violations == []
    assert len(report.rules_checked) >= 40


def test_random_tile_drc_clean(tmp_path, random_trits):
    path = write_gds(rom.rom_tile(random_trits), tmp_path / "tile.gds")
    assert run_drc(path).violations == []


def test_abutting_tiles_drc_clean(tmp_path, random_trits):
    tile = rom.rom_tile(random_trits, name="tile_a")
    width_um, height_um = rom.tile_size_um(*random_trits.shape[:2])
    d = CellDrawer("tile_pair")
    d.place(tile, 0, 0)
    d.place(tile, width_um, 0)
    d.place(tile, 0, height_um)
    path = write_gds(d.cell, tmp_path / "pair.gds")
    assert run_drc(path).violations == []


def test_wide_long_cell_drc_clean(tmp_path):
    trits = np.array([[[1, -1], [0, 1]]])
    tile = rom.rom_tile(trits, w_um=0.74, l_um=0.3, name="wide")
    assert run_drc(write_gds(tile, tmp_path / "wide.gds")).violations == []


def test_seeded_spacing_violation_reported(tmp_path):
    d = CellDrawer("seeded")
    d.rect("met1", 0, 0, 1.0, 0.14)
    d.rect("met1", 0, 0.24, 1.0, 0.38)
    violations = run_drc(write_gds(d.cell, tmp_path / "bad.gds")).violations
    assert [v.rule for v in violations] == ["m1.2"]
    assert violations[0].x_um == pytest.approx(0.5)
    assert violations[0].y_um == pytest.approx(0.19)


def test_seeded_enclosure_violation_reported(tmp_path):
    d = CellDrawer("seeded_enclosure")
    d.rect("nsdm", -0.2, -0.2, 0.62, 0.8)
    d.rect("diff", 0, 0, 0.42, 0.6)
    d.square("licon", 0.105, 0.3, 0.17)  # 0.02 um from the diff edge
    d.rect("li1", 0.02, 0.215, 0.36, 0.385)
    violations = run_drc(write_gds(d.cell, tmp_path / "enc.gds")).violations
    located = [v for v in violations if v.rule == "licon.5a"]
    assert len(located) == 1
    assert located[0].x_um == pytest.approx(0.01, abs=0.02)
    assert located[0].y_um == pytest.approx(0.3, abs=0.01)


def test_tile_gds_deterministic(tmp_path, random_trits):
    digests = []
    for name in ("a.gds", "b.gds"):
        path = write_gds(rom.rom_tile(random_trits), tmp_path / name)
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_tile_geometry_on_5nm_grid(random_trits):
    points_nm = _all_points_nm(rom.rom_tile(random_trits, w_um=0.5, l_um=0.18))
    assert np.all(points_nm == np.round(points_nm))
    assert np.all(np.round(points_nm).astype(int) % 5 == 0)


def test_tile_size_matches_pitch(random_trits):
    tile = rom.rom_tile(random_trits)
    (x0, y0), (x1, y1) = tile.bounding_box()
    rows, cols = random_trits.shape[:2]
    geom = rom.RomCellGeometry()
    assert (x0, y0) == pytest.approx((0, 0))
    assert x1 == pytest.approx(rom.STRAP_WIDTH_UM + cols * geom.pitch_x_um)
    assert y1 == pytest.approx(rows * geom.pitch_y_um)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.full((2, 2, 2), 2), "not -1, 0 or 1"),
        (np.zeros((2, 2)), "expected \\(rows, cols, 2\\)"),
    ],
)
def test_tile_rejects_bad_trits(bad, message):
    with pytest.raises(ValueError, match=message):
        rom.rom_tile(bad)


def test_cell_rejects_bad_size():
    with pytest.raises(ValueError, match="w_um=0.3 is outside"):
        rom.rom_cell(0, 0, w_um=0.3)
    with pytest.raises(ValueError, match="5 nm"):
        rom.rom_cell(0, 0, l_um=0.155)


def test_tile_reads_npy_weights(tmp_path, random_trits):
    path = tmp_path / "w.npy"
    np.save(path, random_trits)
    assert np.array_equal(rom.load_trits(path), random_trits)


def _seeded(tmp_path, name, shapes):
    d = CellDrawer(name)
    for layer, box in shapes:
        d.rect(layer, *box)
    return run_drc(write_gds(d.cell, tmp_path / f"{name}.gds")).violations


@pytest.mark.parametrize(
    ("rule", "shapes", "where"),
    [
        # poly 0.05 um from a diff it does not cross
        (
            "poly.4",
            [("diff", (0, 0, 0.42, 1)), ("poly", (0.47, 0, 0.62, 1))],
            (0.445, 0.5),
        ),
        # gate end cap of 0.08 um on both sides
        (
            "poly.8",
            [("diff", (0, 0, 0.42, 1)), ("poly", (-0.08, 0.4, 0.5, 0.55))],
            (-0.105, 0.475),  # centre of the missing 0.05 um of poly
        ),
        # diff 0.1 um past the gate at the top
        (
            "poly.7",
            [("diff", (0, 0, 0.42, 0.65)), ("poly", (-0.2, 0.4, 0.62, 0.55))],
            (0.21, 0.675),
        ),
        # channel 0.3 um wide
        (
            "difftap.2",
            [("diff", (0, 0, 0.3, 1)), ("poly", (-0.2, 0.4, 0.5, 0.55))],
            (0.15, 0.475),
        ),
        # poly across a p+ tap
        (
            "poly.12",
            [("tap", (0, 0, 0.41, 0.41)), ("poly", (0.1, -0.2, 0.25, 0.6))],
            (0.175, 0.205),
        ),
        # nsdm 0.1 um from a p+ tap
        (
            "psd.7",
            [("tap", (0, 0, 0.41, 0.41)), ("nsdm", (0.51, -0.2, 1.0, 0.6))],
            (0.46, 0.205),
        ),
        # li1 of 0.17 x 0.17 um is below the 0.0561 um^2 minimum area
        ("li.6", [("li1", (0, 0, 0.17, 0.17))], (0.085, 0.085)),
        # met2 0.1 um wide
        ("m2.1", [("met2", (0, 0, 0.1, 1))], (0.05, 0.5)),
        # via2 of 0.25 um instead of 0.2 um
        ("via2.1a", [("via2", (0, 0, 0.25, 0.25))], (0.125, 0.125)),
    ],
)
def test_seeded_rule_reported(tmp_path, rule, shapes, where):
    violations = _seeded(tmp_path, rule.replace(".", "_"), shapes)
    located = [v for v in violations if v.rule == rule]
    assert located, f"{rule} not reported; found {[v.rule for v in violations]}"
    assert (located[0].x_um, located[0].y_um) == pytest.approx(where, abs=0.06)
