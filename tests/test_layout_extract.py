"""Extraction of programmed ROM tiles: one transistor per cell on the right lines."""

import numpy as np
import pytest

from bitrom_char.layout import rom
from bitrom_char.layout.extract import extract_nfets
from bitrom_char.layout.geometry import write_gds


@pytest.mark.parametrize("seed", [3, 11])
def test_extracted_tile_matches_trits(tmp_path, seed):
    trits = np.random.default_rng(seed).integers(-1, 2, size=(4, 2, 2))
    path = write_gds(rom.rom_tile(trits), tmp_path / "tile.gds")
    devices = extract_nfets(path)
    assert len(devices) == trits.shape[0] * trits.shape[1]

    found = {}
    for device in devices:
        column = int(device.source.split("_")[0].removeprefix("C"))
        row = int(device.gate.removeprefix("WL"))
        found[(row, column)] = {device.source, device.drain}
    for (row, column, _), _ in np.ndenumerate(trits[..., :1]):
        expected = {
            rom.line_net_name(column, "W", int(trits[row, column, 0])),
            rom.line_net_name(column, "E", int(trits[row, column, 1])),
        }
        assert found[(row, column)] == expected, f"cell ({row}, {column})"


def test_extracted_device_size(tmp_path):
    trits = np.ones((1, 1, 2), dtype=int)
    path = write_gds(rom.rom_tile(trits, w_um=0.6, l_um=0.2), tmp_path / "one.gds")
    (device,) = extract_nfets(path)
    assert device.w_um == pytest.approx(0.6)
    assert device.l_um == pytest.approx(0.2)
    assert device.gate == "WL0"


def test_extraction_detects_wrong_trits(tmp_path):
    from bitrom_char.layout.build import tile_matches_trits

    trits = np.random.default_rng(5).integers(-1, 2, size=(2, 2, 2))
    path = write_gds(rom.rom_tile(trits), tmp_path / "tile.gds")
    assert tile_matches_trits(path, trits)
    changed = trits.copy()
    changed[1, 0, 1] = (changed[1, 0, 1] + 2) % 3 - 1  # another trit value
    assert not tile_matches_trits(path, changed)
