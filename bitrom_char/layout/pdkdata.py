"""Read the sky130 layer map and design rules that the layout code uses."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

LAYERS_FILE = "layers.toml"
RULES_FILE = "drc_rules.toml"


@dataclass(frozen=True)
class Layer:
    """One drawn GDS layer: its name in code, layer number and datatype."""

    name: str
    layer: int
    datatype: int
    description: str


@dataclass(frozen=True)
class Rule:
    """One design rule; values in um (um^2 for area rules)."""

    name: str
    kind: str
    layer: str
    value_um: float
    description: str
    inner: str | None = None
    other: str | None = None


def _read_pdk_text(filename: str) -> str:
    """Read a file of the pdk/ folder, installed or from the source tree."""
    try:
        return resources.files("bitrom_char._pdk").joinpath(filename).read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    path = Path(__file__).parents[2] / "pdk" / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"pdk file {filename!r} not found in bitrom_char._pdk or {path.parent}; "
            "reinstall the package with `pip install -e .`"
        )
    return path.read_text()


@cache
def load_layers() -> dict[str, Layer]:
    """Return the layer map of pdk/layers.toml keyed by layer name."""
    data = tomllib.loads(_read_pdk_text(LAYERS_FILE))
    layers = {}
    for name, entry in data["layers"].items():
        layer, datatype = entry["gds"]
        layers[name] = Layer(name, int(layer), int(datatype), entry["description"])
    return layers


@cache
def load_rules() -> tuple[Rule, ...]:
    """Return the design rules of pdk/drc_rules.toml in file order."""
    data = tomllib.loads(_read_pdk_text(RULES_FILE))
    return tuple(Rule(**entry) for entry in data["rule"])


def rule_value(name: str) -> float:
    """Return the value of one rule by its sky130 name, e.g. ``"m1.2"``."""
    for rule in load_rules():
        if rule.name == name:
            return rule.value_um
    raise KeyError(f"design rule {name!r} not found in pdk/{RULES_FILE}")
