"""ngspice engine: decks, measurements, trimmed sky130 models and the simulator."""

from bitrom_char.spice.deck import Deck, render_template
from bitrom_char.spice.simulator import SimResult, Simulator, ngspice_version

__all__ = ["Deck", "SimResult", "Simulator", "ngspice_version", "render_template"]
