"""The run report: Markdown with PNG figures, written to the output folder.

Every figure is saved with the numbers behind it as a CSV file of the same name.
figures/manifest.json lists each figure with its data file, so a test (or a reader)
can check that a figure shows numbers and not NaN.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt

log = logging.getLogger(__name__)

# BitROM in 65 nm CMOS (Zhang, Li, Ando, Yoshioka; arXiv 2509.08542, ASP-DAC 2026).
PAPER_TOPS_PER_W = 20.8
PAPER_DENSITY = 4967.0  # published as kB/mm^2; kilobit or kilobyte is not stated
PAPER_DRAM_CUT_PCT = 43.6


@dataclass
class Figure:
    """One figure of the report and the CSV file with the numbers it plots."""

    title: str
    png: Path
    data: Path | None


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _inverter_figure(context, folder: Path) -> Figure | None:
    table = context.tables.get("inverter")
    if table is None:
        return None
    df = table.df
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for (corner, vdd_v, temp_c), group in df.groupby(["corner", "vdd_v", "temp_c"]):
        group = group.sort_values("cload_f")
        label = f"{corner} {vdd_v:g} V {temp_c:g} C"
        ax.plot(group["cload_f"] * 1e15, group["tpd_s"] * 1e12, marker="o", label=label)
    ax.set_xlabel("load (fF)")
    ax.set_ylabel("tpd (ps)")
    ax.set_title("sky130 inverter delay vs load")
    ax.legend(fontsize=6)
    png = _save(fig, folder / "inverter_tpd.png")
    data = folder / "inverter_tpd.csv"
    df[["corner", "vdd_v", "temp_c", "cload_f", "tpd_s"]].to_csv(data, index=False)
    return Figure("sky130 inverter delay vs load", png, data)


def _bitline_figure(context, folder: Path) -> Figure | None:
    if "rom_column" not in context.tables:
        return None
    from bitrom_char.cells.rom import (
        RomColumnParams,
        bitline_waveforms,
        plot_bitline_waveforms,
    )
    from bitrom_char.spice import Simulator

    rows = 64 if context.quick else 256
    curves = bitline_waveforms(Simulator(), rows=rows)
    png = plot_bitline_waveforms(
        curves, folder / "rom_bitlines.png", params=RomColumnParams(rows=rows)
    )
    frames = [
        pd.DataFrame({"trit": trit, "time_s": time_s, "line_v": line_v})
        for trit, (time_s, line_v) in curves.items()
    ]
    data = folder / "rom_bitlines.csv"
    pd.concat(frames).to_csv(data, index=False)
    return Figure("ROM bit-line waveforms per trit (tt, 1.8 V, 27 C)", png, data)


def _table_figure(context, folder, table_name, spec, stem, title, columns):
    """Plot with a cell module's function and save the plotted table columns."""
    table = context.tables.get(table_name)
    if table is None:
        return None
    module_name, function_name = spec.split(":")
    module = __import__(module_name, fromlist=[function_name])
    png = Path(getattr(module, function_name)(table, folder / f"{stem}.png"))
    data = folder / f"{stem}.csv"
    keep = [c for c in (*table.axes, *columns) if c in table.df.columns]
    table.df[keep].to_csv(data, index=False)
    return Figure(title, png, data)


def _area_figure(context, folder: Path) -> Figure | None:
    layout = context.layout or {}
    density = layout.get("density")
    if density is None:
        return None
    frame = density.reset_index().rename(columns={"index": "design"})
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.barh(frame.iloc[:, 0].astype(str), frame["kb_per_mm2"])
    ax.axvline(PAPER_DENSITY, color="grey", linestyle="--", linewidth=0.8)
    ax.annotate("BitROM 65 nm (published)", (PAPER_DENSITY, 0), fontsize=7)
    ax.set_xlabel("density (kb/mm^2, a trit counted as log2(3) bits)")
    ax.set_title("sky130 bit density from the drawn layouts")
    png = _save(fig, folder / "density.png")
    data = folder / "density.csv"
    frame.to_csv(data, index=False)
    return Figure("Bit density: BitROM cell and array vs SRAM and 1T ROM", png, data)


def _area_breakdown_figure(context, folder: Path) -> Figure | None:
    chip = context.chip or {}
    frame = chip.get("area_breakdown")
    if frame is None:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.barh(frame["component"], frame["area_mm2"])
    ax.set_xlabel("area (mm^2)")
    ax.set_title(f"Silicon area by component: {frame['model'].iloc[0]}")
    png = _save(fig, folder / "area_breakdown.png")
    data = folder / "area_breakdown.csv"
    frame.to_csv(data, index=False)
    return Figure("Area breakdown of a whole-model chip", png, data)


def _chip_figures(context) -> list[Figure]:
    figures = []
    for title, path in (context.chip or {}).get("figures", []):
        path = Path(path)
        data = path.with_suffix(".csv")
        figures.append(Figure(title, path, data if data.is_file() else None))
    return figures


def _layout_figures(context) -> list[Figure]:
    return [
        Figure(title, Path(path), None)
        for title, path in (context.layout or {}).get("figures", [])
    ]


def collect_figures(context, folder: Path) -> list[Figure]:
    """Draw every figure the available results allow; record failures as problems."""
    makers = [
        lambda: _inverter_figure(context, folder),
        lambda: _bitline_figure(context, folder),
        lambda: _table_figure(
            context, folder, "rom_column",
            "bitrom_char.cells.rom:plot_sense_margin", "rom_sense_margin",
            "ROM sense margin vs rows and corner", ("sense_margin_v", "read_ok"),
        ),
        lambda: _table_figure(
            context, folder, "accumulator",
            "bitrom_char.cells.accumulator:plot_energy_per_mode", "acc_energy",
            "Accumulator energy per cycle in each mode",
            ("energy_add_j", "energy_sub_j", "energy_hold_j"),
        ),
        lambda: _table_figure(
            context, folder, "edram",
            "bitrom_char.cells.edram:plot_retention", "edram_retention",
            "eDRAM retention vs temperature", ("retention_s",),
        ),
        lambda: _area_figure(context, folder),
        lambda: _area_breakdown_figure(context, folder),
    ]  # fmt: skip
    figures: list[Figure] = []
    for make in makers:
        try:
            figure = make()
        except Exception as error:  # one broken figure must not end the report
            log.exception("figure failed")
            context.problems.append(f"figure: {type(error).__name__}: {error}")
            continue
        if figure is not None:
            figures.append(figure)
    return figures + _chip_figures(context) + _layout_figures(context)


def _format(value) -> str:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _markdown_table(frame: pd.DataFrame, max_rows: int = 40) -> list[str]:
    frame = frame.head(max_rows)
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |"]
    lines.append("|" + "---|" * len(frame.columns))
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_format(v) for v in row) + " |")
    return lines


def _link(path: Path, output: Path) -> str:
    path = Path(path).resolve()
    output = output.resolve()
    return str(path.relative_to(output)) if path.is_relative_to(output) else str(path)


def _key_numbers(context) -> list[str]:
    lines = ["", "## Key numbers", ""]
    rom = context.tables.get("rom_column")
    if rom is not None:
        df = rom.df
        nominal = df[(df.corner == "tt") & (df.vdd_v == 1.8) & (df.temp_c == 27.0)]
        if not nominal.empty:
            lines += [
                "ROM column read at tt, 1.8 V, 27 C (per access of one column):",
                "",
            ]
            view = nominal[
                ["rows", "direction", "trit", "read_energy_j", "settle_time_s",
                 "sense_margin_v", "read_ok"]
            ]  # fmt: skip
            lines += _markdown_table(view.sort_values(["rows", "direction", "trit"]))
            lines.append("")
        worst = df.sense_margin_v.min()
        lines.append(f"- worst sense margin over the grid: {_format(worst)} V")
        failing = df[df.read_ok < 0.5]
        lines.append(f"- grid points that read back wrongly: {len(failing)}")
    acc = context.tables.get("accumulator")
    if acc is not None:
        lines += ["", "Accumulator per cycle:", ""]
        lines += _markdown_table(acc.df[[*acc.axes, *[c for c in (
            "energy_add_j", "energy_sub_j", "energy_hold_j", "fmax_hz", "leakage_w"
        ) if c in acc.df.columns]]])  # fmt: skip
    edram = context.tables.get("edram")
    if edram is not None:
        lines += ["", "eDRAM gain cell:", ""]
        lines += _markdown_table(edram.df[[*edram.axes, *[c for c in (
            "retention_s", "write_energy_j", "read_energy_j", "refresh_energy_j"
        ) if c in edram.df.columns]]])  # fmt: skip
    layout = context.layout or {}
    if layout:
        lines += ["", "Layout:", ""]
        for key in (
            "rom_cell_area_um2",
            "cell_density_kb_per_mm2",
            "array_density_kb_per_mm2",
            "rules_checked",
            "tile_extraction_matches",
            "accumulator_area_um2",
            "edram_cell_area_um2",
        ):
            if key in layout:
                lines.append(f"- {key}: {_format(layout[key])}")
        drc = layout.get("drc", {})
        lines.append(f"- DRC violations: {sum(drc.values())} over {len(drc)} GDS files")
    chip = context.chip or {}
    if chip:
        lines += ["", "Chip model:", ""]
        for key in ("tops_per_w", "tops_per_w_nonzero", "tops_per_w_chip",
                    "dram_reduction_pct"):  # fmt: skip
            if key in chip:
                lines.append(f"- {key}: {_format(chip[key])}")
        smol = chip.get("smollm2") or {}
        for key in ("model", "prompt_tokens", "generated_text", "text"):
            if key in smol:
                lines.append(f"- SmolLM2 {key}: {smol[key]!r}")
        lines += _notes(chip.get("notes", []))
    return lines


def _notes(notes: list[str], limit: int = 8) -> list[str]:
    """Group notes that differ only in their grid point, and list the first few."""
    from bitrom_char.chip.costs import group_notes

    groups = group_notes(notes)
    lines = [
        f"- note: {head}" + (f" ({count} grid points)" if count > 1 else "")
        for head, count in groups.items()
    ]
    if len(lines) > limit:
        lines = [*lines[:limit], f"- and {len(lines) - limit} more notes"]
    return lines


def _comparison(context) -> list[str]:
    """Results beside BitROM's published 65 nm figures."""
    chip = context.chip or {}
    layout = context.layout or {}
    rows = [
        ("energy efficiency (TOPS/W)", PAPER_TOPS_PER_W, chip.get("tops_per_w")),
        (
            "bit density of the array (kb/mm^2 here; published as kB/mm^2)",
            PAPER_DENSITY,
            layout.get("array_density_kb_per_mm2"),
        ),
        (
            "external DRAM access cut by the on-die KV cache (%)",
            PAPER_DRAM_CUT_PCT,
            chip.get("dram_reduction_pct"),
        ),
    ]
    lines = [
        "",
        "## Beside the BitROM paper",
        "",
        (
            "BitROM was built in 65 nm CMOS and this model uses sky130 (130 nm). Area "
            "therefore scales by about (130/65)^2 = 4x against it, and switching "
            "energy by more than 2x, before any design difference."
        ),
        "",
        "| figure | BitROM (65 nm) | this run (sky130) |",
        "|---|---|---|",
    ]
    for name, paper, ours in rows:
        shown = _format(float(ours)) if ours is not None else "not computed"
        lines.append(f"| {name} | {paper:g} | {shown} |")
    return lines


def write_report(context) -> Path:
    """Write report.md, figures/ and figures/manifest.json under the output folder."""
    output = Path(context.output)
    folder = output / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    lines = ["# bitrom-char report", ""]
    lines.append(f"Generated {stamp}{' with --quick grids' if context.quick else ''}.")
    lines += ["", "## Tools", ""]
    lines += [f"- {key}: {value}" for key, value in context.versions.items()]
    lines += ["", "## Tables", ""]
    for name, table in context.tables.items():
        outputs = ", ".join(f"{c} ({table.units.get(c, '')})" for c in table.outputs)
        holes = len(table.completeness())
        lines.append(
            f"- `{name}`: {len(table.df)} grid points, {holes} NaN outputs, "
            f"file tables/{name}.parquet; outputs {outputs}"
        )

    figures = collect_figures(context, folder)
    lines += ["", "## Figures", ""]
    for figure in figures:
        lines += [f"### {figure.title}", ""]
        lines.append(f"![{figure.title}]({_link(figure.png, output)})")
        if figure.data is not None:
            lines += ["", f"Data: [{figure.data.name}]({_link(figure.data, output)})"]
        lines.append("")
    manifest = [
        {
            "title": f.title,
            "png": _link(f.png, output),
            "data": _link(f.data, output) if f.data else None,
        }
        for f in figures
    ]
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    lines += _key_numbers(context)
    lines += _comparison(context)
    if context.problems:
        lines += ["", "## Problems", ""]
        lines += [f"- {problem}" for problem in context.problems]
    lines += ["", "## Stage times", ""]
    lines += [
        f"- {name}: {seconds:.1f} s" for name, seconds in context.timings_s.items()
    ]
    path = output / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
