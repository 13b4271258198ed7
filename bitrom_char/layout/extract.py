"""Transistor and net extraction of generated layouts with KLayout LayoutToNetlist."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import klayout.db as kdb

from bitrom_char.layout.pdkdata import load_layers

logger = logging.getLogger(__name__)

# Conductors from bottom to top and the cut that joins each pair.
_STACK = (
    ("li1", "licon", None),
    ("met1", "mcon", "li1"),
    ("met2", "via", "met1"),
    ("met3", "via2", "met2"),
    ("met4", "via3", "met3"),
)


@dataclass(frozen=True)
class ExtractedDevice:
    """One extracted nfet: its terminal net names and drawn size in um."""

    name: str
    gate: str
    source: str
    drain: str
    w_um: float
    l_um: float


def extract_nfets(
    gds_path: Path, *, top_cell: str | None = None
) -> list[ExtractedDevice]:
    """Extract the n-channel transistors of a GDS cell with their net names.

    Nets take their names from text labels on li1, met1, met2, met3 and met4;
    unlabelled nets get KLayout's generated names ("$12").
    """
    layout = kdb.Layout()
    layout.read(str(gds_path))
    top = layout.cell(top_cell) if top_cell else layout.top_cells()[0]
    if top is None:
        raise ValueError(f"cell {top_cell!r} not found in {gds_path}")
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(layout, top, []))
    spec = load_layers()

    def layer(name: str) -> kdb.Region:
        entry = spec[name]
        return l2n.make_layer(layout.layer(entry.layer, entry.datatype), name)

    def text_layer(name: str) -> kdb.Region:
        entry = spec[name]
        return l2n.make_text_layer(layout.layer(entry.layer, entry.datatype), name)

    diff, poly, licon = layer("diff"), layer("poly"), layer("licon")
    gate = diff & poly
    source_drain = diff - poly
    l2n.register(gate, "gate")
    l2n.register(source_drain, "sd")
    extractor = kdb.DeviceExtractorMOS3Transistor("NFET")
    l2n.extract_devices(extractor, {"SD": source_drain, "G": gate, "P": poly})

    conductors = {"sd": source_drain, "poly": poly}
    l2n.connect(source_drain)
    l2n.connect(poly)
    l2n.connect(licon)
    l2n.connect(source_drain, licon)
    l2n.connect(poly, licon)
    for metal, cut, below in _STACK:
        conductors[metal] = layer(metal)
        cut_region = licon if cut == "licon" else layer(cut)
        l2n.connect(conductors[metal])
        l2n.connect(cut_region)
        l2n.connect(cut_region, conductors[metal])
        if below is not None:
            l2n.connect(cut_region, conductors[below])
        label_name = f"{metal}_label"
        l2n.connect(conductors[metal], text_layer(label_name))
    l2n.extract_netlist()
    netlist = l2n.netlist()
    netlist.flatten()
    return _collect_devices(netlist, layout.dbu)


def _collect_devices(netlist: kdb.Netlist, dbu: float) -> list[ExtractedDevice]:
    devices = []
    for circuit in netlist.each_circuit():
        for device in circuit.each_device():
            device_class = device.device_class()

            def net_name(terminal: str, device=device, device_class=device_class):
                net = device.net_for_terminal(device_class.terminal_id(terminal))
                return net.expanded_name() if net is not None else ""

            devices.append(
                ExtractedDevice(
                    name=device.expanded_name(),
                    gate=net_name("G"),
                    source=net_name("S"),
                    drain=net_name("D"),
                    w_um=round(device.parameter("W"), 4),
                    l_um=round(device.parameter("L"), 4),
                )
            )
    logger.info("extracted %d transistors", len(devices))
    return devices
