"""The run report: Markdown with PNG figures, written to the output folder."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

log = logging.getLogger(__name__)

# BitROM in 65 nm CMOS (Zhang, Li, Ando, Yoshioka; arXiv 2509.08542, ASP-DAC 2026).
PAPER = {
    "energy efficiency (TOPS/W)": 20.8,
    "bit density (kB/mm^2 as published; kilobit or kilobyte not stated)": 4967.0,
    "external DRAM access cut by the on-die KV cache (%)": 43.6,
}


def _figure_inverter(context, folder: Path) -> Path | None:
    table = context.tables.get("inverter")
    if table is None:
        return None
    df = table.df
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for (corner, vdd_v, temp_c), group in df.groupby(["corner", "vdd_v", "temp_c"]):
        group = group.sort_values("cload_f")
        ax.plot(
            group["cload_f"] * 1e15,
            group["tpd_s"] * 1e12,
            marker="o",
            label=f"{corner} {vdd_v:g} V {temp_c:g} C",
        )
    ax.set_xlabel("load (fF)")
    ax.set_ylabel("tpd (ps)")
    ax.set_title("sky130 inverter delay vs load")
    ax.legend(fontsize=6)
    fig.tight_layout()
    path = folder / "inverter_tpd.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _call_plot(spec: str, *args) -> Path | None:
    """Call `module:function(*args)` if it exists; return the path it wrote."""
    module_name, function_name = spec.split(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        log.info("figure %s unavailable: %s", spec, error)
        return None
    function(*args)
    path = args[-1]
    return path if Path(path).is_file() else None


def _cell_figures(context, folder: Path) -> list[tuple[str, Path]]:
    figures = []
    plan = [
        ("ROM bit-line waveforms (tt, 1.8 V, 27 C)", "rom_column",
         "bitrom_char.cells.rom:plot_bitline_waveforms", "rom_bitlines.png"),
        ("ROM sense margin vs rows and corner", "rom_column",
         "bitrom_char.cells.rom:plot_sense_margin", "rom_sense_margin.png"),
        ("Accumulator energy per mode", "accumulator",
         "bitrom_char.cells.accumulator:plot_energy_per_mode", "acc_energy.png"),
        ("eDRAM retention vs temperature", "edram",
         "bitrom_char.cells.edram:plot_retention", "edram_retention.png"),
    ]  # fmt: skip
    for title, table_name, spec, filename in plan:
        table = context.tables.get(table_name)
        if table is None:
            continue
        try:
            path = _call_plot(spec, table, folder / filename)
        except Exception as error:  # noqa: BLE001 - a broken figure must not end the report
            context.problems.append(f"figure {title}: {type(error).__name__}: {error}")
            continue
        if path is not None:
            figures.append((title, path))
    return figures


def _format(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.4g}"
    return str(value)


def _table_markdown(frame, max_rows: int = 40) -> str:
    frame = frame.head(max_rows)
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join(_format(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def write_report(context) -> Path:
    """Write report.md and figures/ under the context's output folder."""
    folder = context.output / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# bitrom-char report",
        "",
        (
            f"Generated {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}"
            f"{' with --quick grids' if context.quick else ''}."
        ),
        "",
        "## Tools",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in context.versions.items()]
    lines += ["", "## Tables", ""]
    for name, table in context.tables.items():
        holes = len(table.completeness())
        outputs = ", ".join(f"{c} ({table.units.get(c, '')})" for c in table.outputs)
        lines.append(
            f"- `{name}`: {len(table.df)} grid points, outputs {outputs}; "
            f"{holes} NaN outputs. File: tables/{name}.parquet"
        )
    figures: list[tuple[str, Path]] = []
    inverter = _figure_inverter(context, folder)
    if inverter is not None:
        figures.append(("sky130 inverter delay vs load", inverter))
    figures += _cell_figures(context, folder)
    chip = context.chip or {}
    figures += [(title, Path(path)) for title, path in chip.get("figures", [])]
    layout = context.layout or {}
    figures += [(title, Path(path)) for title, path in layout.get("figures", [])]
    lines += ["", "## Figures", ""]
    for title, path in figures:
        lines += [
            f"### {title}",
            "",
            f"![{title}]({path.relative_to(context.output) if path.is_relative_to(context.output) else path})",
            "",
        ]
    lines += _comparison(context)
    if context.problems:
        lines += ["", "## Problems", ""]
        lines += [f"- {problem}" for problem in context.problems]
    lines += ["", "## Stage times", ""]
    lines += [
        f"- {name}: {seconds:.1f} s" for name, seconds in context.timings_s.items()
    ]
    path = context.output / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _comparison(context) -> list[str]:
    """Results beside BitROM's published 65 nm figures."""
    chip = context.chip or {}
    layout = context.layout or {}
    ours = {
        "energy efficiency (TOPS/W)": chip.get("tops_per_w"),
        "bit density (kB/mm^2 as published; kilobit or kilobyte not stated)": layout.get(
            "array_density_kb_per_mm2"
        ),
        "external DRAM access cut by the on-die KV cache (%)": chip.get(
            "dram_reduction_pct"
        ),
    }
    lines = [
        "",
        "## Beside the BitROM paper",
        "",
        (
            "BitROM was built in 65 nm CMOS; this model uses sky130 (130 nm), so area "
            "scales by roughly (130/65)^2 = 4x and switching energy by more than 2x "
            "against it before any design difference."
        ),
        "",
        "| figure | BitROM (65 nm) | this run (sky130) |",
        "|---|---|---|",
    ]
    for key, value in PAPER.items():
        mine = ours.get(key)
        lines.append(
            f"| {key} | {value:g} | {_format(mine) if mine is not None else 'not computed'} |"
        )
    return lines
