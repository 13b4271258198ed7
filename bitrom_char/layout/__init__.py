"""sky130 layouts of the BitROM cells: generators, DRC, extraction, parasitics.

Submodules load gdstk and KLayout, so the public names below import lazily.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "build_all": "bitrom_char.layout.build",
    "density_table": "bitrom_char.layout.density",
    "array_area": "bitrom_char.layout.density",
    "rom_parasitics": "bitrom_char.layout.parasitics",
    "rom_cell": "bitrom_char.layout.rom",
    "rom_tile": "bitrom_char.layout.rom",
    "edram_cell": "bitrom_char.layout.edram",
    "edram_array": "bitrom_char.layout.edram",
    "accumulator_block": "bitrom_char.layout.accumulator",
    "run_drc": "bitrom_char.layout.drc",
    "extract_nfets": "bitrom_char.layout.extract",
}

__all__ = [
    "accumulator_block",
    "array_area",
    "build_all",
    "density_table",
    "edram_array",
    "edram_cell",
    "extract_nfets",
    "rom_cell",
    "rom_parasitics",
    "rom_tile",
    "run_drc",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bitrom_char.layout' has no attribute {name!r}")
