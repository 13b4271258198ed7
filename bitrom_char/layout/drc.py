"""Design-rule check of generated GDS files with KLayout regions.

Rules come from pdk/drc_rules.toml; every violation carries the sky130 rule name
and its location in um.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import klayout.db as kdb

from bitrom_char.layout.pdkdata import Rule, load_layers, load_rules

logger = logging.getLogger(__name__)

DERIVED_LAYERS = (
    "gate",
    "licon_diff",
    "licon_poly",
    "field_poly",
    "licon_tap",
    "via3_capm",
    "via3_met3",
)


@dataclass(frozen=True)
class Violation:
    """One rule violation at (x_um, y_um), the centre of the offending shape."""

    rule: str
    description: str
    x_um: float
    y_um: float

    def __str__(self) -> str:
        return (
            f"{self.rule} ({self.description}) at ({self.x_um:.3f}, {self.y_um:.3f}) um"
        )


@dataclass
class DrcReport:
    """Violations of one GDS top cell and the rules that were checked."""

    path: Path
    top_cell: str
    rules_checked: tuple[str, ...]
    violations: list[Violation]

    @property
    def clean(self) -> bool:
        return not self.violations

    def by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for violation in self.violations:
            counts[violation.rule] = counts.get(violation.rule, 0) + 1
        return counts


class _LayerSource:
    """Merged flat regions of one top cell, built per layer on first use."""

    def __init__(self, layout: kdb.Layout, top: kdb.Cell, skip_cells: Sequence[str]):
        self.layout, self.top, self.skip_cells = layout, top, skip_cells
        self._layers = load_layers()
        self._cache: dict[str, kdb.Region] = {}

    def __getitem__(self, name: str) -> kdb.Region:
        if name not in self._cache:
            self._cache[name] = self._build(name)
        return self._cache[name]

    def _build(self, name: str) -> kdb.Region:
        if name == "gate":
            return self["poly"] & self["diff"]
        if name == "licon_diff":
            return self["licon"].interacting(self["diff"])
        if name == "licon_poly":
            return self["licon"].interacting(self["poly"]).not_interacting(self["diff"])
        if name == "field_poly":
            return self["poly"] - self["diff"]
        if name == "licon_tap":
            return self["licon"].interacting(self["tap"])
        if name == "via3_capm":
            return self["via3"].interacting(self["capm"])
        if name == "via3_met3":
            return self["via3"].not_interacting(self["capm"])
        spec = self._layers[name]
        index = self.layout.find_layer(spec.layer, spec.datatype)
        if index is None:
            return kdb.Region()
        shapes = self.top.begin_shapes_rec(index)
        for pattern in self.skip_cells:
            shapes.unselect_cells(pattern)
        region = kdb.Region(shapes)
        region.merge()
        return region


def _um(value: float) -> int:
    return round(value * 1000)


def _edge_pair_centres(pairs: kdb.EdgePairs, dbu: float) -> list[tuple[float, float]]:
    centres = []
    for pair in pairs.each():
        box = pair.bbox()
        centres.append((box.center().x * dbu, box.center().y * dbu))
    return centres


def _polygon_centres(region: kdb.Region, dbu: float) -> list[tuple[float, float]]:
    return [
        (p.bbox().center().x * dbu, p.bbox().center().y * dbu) for p in region.each()
    ]


def _directional_failures(
    outer: kdb.Region, inner: kdb.Region, value_nm: int
) -> kdb.Region:
    """Return the cuts of ``inner`` not enclosed by ``value_nm`` on two opposite sides.

    A cut passes when its copy grown by the value left and right, or up and
    down, lies inside ``outer``.
    """
    cuts = inner.dup()
    # Grow each cut on its own, so that grown neighbours never merge.
    cuts.merged_semantics = False
    failed = None
    for dx, dy in ((value_nm, 0), (0, value_nm)):
        grown = cuts.sized(dx, dy, 2)  # mode 2: square corners
        grown.merged_semantics = False
        not_enclosed = grown.interacting(grown - outer)
        fails = inner.interacting(not_enclosed)
        failed = fails if failed is None else failed & fails
    return failed


def _check_one_layer(rule: Rule, region: kdb.Region, dbu: float):
    """Return violation centres of a width, space, area or cut-size rule."""
    value_nm = _um(rule.value_um)
    if rule.kind == "width":
        return _edge_pair_centres(region.width_check(value_nm), dbu)
    if rule.kind == "space":
        return _edge_pair_centres(region.space_check(value_nm), dbu)
    if rule.kind == "area":
        min_area = round(rule.value_um * 1e6)
        return _polygon_centres(region.with_area(0, min_area, False), dbu)
    wrong = [
        polygon
        for polygon in region.each()
        if not (
            polygon.is_box()
            and polygon.bbox().width() == value_nm == polygon.bbox().height()
        )
    ]
    return _polygon_centres(kdb.Region(wrong), dbu)


def _check_rule(
    rule: Rule, layers: _LayerSource, dbu: float
) -> list[tuple[float, float]]:
    region = layers[rule.layer]
    value_nm = _um(rule.value_um)
    if rule.kind in ("width", "space", "area", "size"):
        return _check_one_layer(rule, region, dbu)

    inner = layers[rule.inner] if rule.inner else None
    if rule.kind == "enclosure":
        found = _polygon_centres(inner - region, dbu)
        if value_nm > 0:
            found += _edge_pair_centres(region.enclosing_check(inner, value_nm), dbu)
        return found
    if rule.kind == "enclosure_directional":
        failed = _directional_failures(region, inner, value_nm)
        return _polygon_centres(failed, dbu)

    if rule.kind == "no_overlap":
        return _polygon_centres(region & layers[rule.other], dbu)
    if rule.kind == "separation":
        pairs = region.separation_check(layers[rule.other], value_nm)
        # shapes that touch (a gate next to its field poly) are not a spacing error
        return _edge_pair_centres(pairs.with_distance(1, value_nm, False), dbu)

    # Gate rules: poly past the diff edges, diff past the poly edges.
    if rule.kind == "endcap":
        ends = inner.edges() & layers["diff"].edges()
        return _polygon_centres(ends.extended_out(value_nm) - region, dbu)
    if rule.kind == "sd_extension":
        sides = inner.edges() - region.edges()
        return _polygon_centres(sides.extended_out(value_nm) - region, dbu)
    if rule.kind == "channel_width":
        sides = inner.edges() - region.edges()
        narrow = sides.with_length(0, value_nm, False)
        return _polygon_centres(inner.interacting(narrow), dbu)
    raise ValueError(f"rule {rule.name}: unknown kind {rule.kind!r} in drc_rules.toml")


def run_drc(
    gds_path: Path,
    *,
    top_cell: str | None = None,
    rules: Iterable[Rule] | None = None,
    skip_cells: Sequence[str] = (),
) -> DrcReport:
    """Check a GDS top cell against the sky130 rules of pdk/drc_rules.toml.

    ``skip_cells`` contains glob patterns of cell names whose shapes are left out,
    for example the foundry's standard cells (``"sky130_fd_sc_hd__*"``).
    """
    gds_path = Path(gds_path)
    if not gds_path.is_file():
        raise FileNotFoundError(f"GDS file {gds_path} not found")
    layout = kdb.Layout()
    layout.read(str(gds_path))
    top = _find_top(layout, top_cell, gds_path)
    layers = _LayerSource(layout, top, skip_cells)
    checked, violations = [], []
    for rule in rules if rules is not None else load_rules():
        checked.append(rule.name)
        for x_um, y_um in _check_rule(rule, layers, layout.dbu):
            violations.append(
                Violation(rule.name, rule.description, round(x_um, 4), round(y_um, 4))
            )
    logger.info(
        "DRC of %s (%s): %d rules, %d violations",
        gds_path.name,
        top.name,
        len(checked),
        len(violations),
    )
    return DrcReport(gds_path, top.name, tuple(checked), violations)


def _find_top(layout: kdb.Layout, top_cell: str | None, path: Path) -> kdb.Cell:
    if top_cell is not None:
        cell = layout.cell(top_cell)
        if cell is None:
            raise ValueError(f"cell {top_cell!r} not found in {path}")
        return cell
    tops = layout.top_cells()
    if len(tops) != 1:
        names = sorted(c.name for c in tops)
        raise ValueError(f"{path} has {len(tops)} top cells {names}; pass top_cell=")
    return tops[0]
