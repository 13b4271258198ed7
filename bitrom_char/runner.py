"""The main job behind `bitrom-char run`: tools, tables, layouts, chip model, report.

Each stage uses the parts that are installed and working. A stage that fails is
logged with its error and named in the report, and the rest still runs. Sweeps go
through the point cache, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bitrom_char.tables import Table

log = logging.getLogger(__name__)

CELL_ORDER = ("device", "inverter", "rom", "accumulator", "edram")

# Axes that the run job narrows to keep a cold default run within about 20 minutes
# on 2 cores. A transistor-level accumulator point takes minutes of ngspice time, so
# the run covers three corners at 27 C; `bitrom-char characterize accumulator`
# sweeps the cell's whole default grid.
RUN_GRID_NARROWING = {
    "accumulator": {
        "corner": ["tt", "ss", "ff"],
        "vdd_v": [1.5, 1.8],
        "temp_c": [27.0],
    },
    # The chip model maps 2,048-row arrays, so the run includes that height.
    "rom": {"rows": [64, 256, 1024, 2048]},
}


@dataclass
class RunContext:
    """Everything the stages produce, handed to the report."""

    output: Path
    quick: bool
    versions: dict[str, str] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    layout: dict | None = None
    chip: dict | None = None
    problems: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


def _stage(context: RunContext, name: str, function, *args, **kwargs):
    """Run one stage, recording its time and turning a failure into a report line."""
    start = time.perf_counter()
    try:
        return function(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - a failed stage must not end the run
        log.error("%s failed: %s", name, error)
        log.debug("%s", traceback.format_exc())
        context.problems.append(f"{name}: {type(error).__name__}: {error}")
        return None
    finally:
        context.timings_s[name] = time.perf_counter() - start


def check_tools(pdk_root: str | None) -> dict[str, str]:
    """Find the sky130 models and ngspice; return their versions."""
    from bitrom_char.pdk import find_models
    from bitrom_char.spice.simulator import ngspice_version

    models = find_models(pdk_root)
    versions = {
        "ngspice": ngspice_version(),
        "pdk_source": models.source,
        "pdk_version": models.version,
        "model_library": str(models.lib_path),
    }
    for key, value in versions.items():
        log.info("%s: %s", key, value)
    return versions


def characterize_cells(context: RunContext, corners, sweep_options: dict) -> None:
    """Characterize every available cell on its default (or quick) grid."""
    from bitrom_char.cli import load_cell
    from bitrom_char.sweep import characterize

    for name in CELL_ORDER:
        try:
            cell = load_cell(name)
        except (ImportError, AttributeError) as error:
            context.problems.append(f"cell {name}: not available ({error})")
            continue
        grid = cell.default_grid(quick=context.quick)
        if not context.quick:
            grid.update(RUN_GRID_NARROWING.get(name, {}))
        if corners:
            grid["corner"] = [c for c in corners]
        table = _stage(context, f"characterize {name}", characterize, cell, grid,
                       **sweep_options)  # fmt: skip
        if table is None:
            continue
        table.to_parquet(context.output / "tables" / f"{cell.name}.parquet")
        context.tables[cell.name] = table
        holes = table.completeness()
        if not holes.empty:
            context.problems.append(
                f"table {cell.name}: {len(holes)} NaN outputs; "
                f"first: {holes.iloc[0].to_dict()}"
            )


def build_layouts(context: RunContext) -> dict | None:
    """Generate and DRC-check the GDS files under layouts/."""
    from bitrom_char.layout import build_all

    return build_all(Path("layouts"), quick=context.quick)


def run_chip(context: RunContext) -> dict | None:
    """Run the chip model on SmolLM2-135M and on BitNet 2B4T-shaped layers."""
    from bitrom_char.chip import run_demo

    return run_demo(
        context.tables,
        context.output,
        quick=context.quick,
        areas=context.layout,
    )


def run_all(
    output: Path,
    *,
    quick: bool = False,
    workers: int | None = None,
    corners: list[str] | None = None,
    cache_dir: Path | None = None,
    scheduler: str | None = None,
    timeout_s: float = 600.0,
    pdk_root: str | None = None,
) -> Path:
    """Run every stage and return the path of the report."""
    from bitrom_char.pdk import validate_corner
    from bitrom_char.report import write_report
    from bitrom_char.sweep import _check_sweep_limits

    for corner in corners or []:
        validate_corner(corner)
    _check_sweep_limits(workers, timeout_s)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    context = RunContext(output=output, quick=quick)
    context.versions = check_tools(pdk_root)
    sweep_options = {
        "workers": workers,
        "cache_dir": cache_dir,
        "scheduler": scheduler,
        "timeout_s": timeout_s,
        "pdk_root": pdk_root,
    }
    characterize_cells(context, corners, sweep_options)
    context.layout = _stage(context, "layout", build_layouts, context)
    context.chip = _stage(context, "chip model", run_chip, context)
    return write_report(context)
