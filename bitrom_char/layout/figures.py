"""PNG pictures of generated GDS files, drawn with KLayout's layout view."""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

# Layers hidden in pictures so the devices and lines stay visible: nsdm and the
# met4 word-line straps cover whole cells.
HIDDEN_LAYERS = ((93, 44), (71, 20))


def _layer_properties_file() -> Path | None:
    """Return layouts/sky130.lyp of the source tree, or None when it is absent."""
    path = Path(__file__).parents[2] / "layouts" / "sky130.lyp"
    return path if path.is_file() else None


def render_png(gds_path: Path, png_path: Path, *, width_px: int = 900) -> Path:
    """Draw all hierarchy levels of a GDS file into a PNG and return its path."""
    import klayout.lay as klay

    view = klay.LayoutView()
    view.load_layout(str(gds_path))
    properties = _layer_properties_file()
    if properties is None:
        logger.info(
            "layouts/sky130.lyp not found; drawing %s in KLayout colours", gds_path
        )
    else:
        view.load_layer_props(str(properties))
    layer = view.begin_layers()
    while not layer.at_end():
        props = layer.current()
        if (props.source_layer, props.source_datatype) in HIDDEN_LAYERS:
            props.visible = False
            view.set_layer_properties(layer, props)
        layer.next()
    view.max_hier()
    view.zoom_fit()
    box = view.box()
    height_px = max(200, round(width_px * box.height() / max(box.width(), 1e-9)))
    png_path = Path(png_path)
    view.save_image(str(png_path), width_px, min(height_px, 2 * width_px))
    return png_path


def render_figures(gds_files: dict[str, Path], out_dir: Path) -> list[tuple[str, str]]:
    """Render several GDS files; return (title, PNG path) pairs that were written.

    Missing KLayout drawing support (klayout.lay) is logged and yields no figures.
    """
    try:
        import klayout.lay  # noqa: F401
    except ImportError as exc:
        logger.warning("no layout figures: klayout.lay is not importable (%s)", exc)
        return []
    figures = []
    for title, gds_path in gds_files.items():
        png_path = Path(out_dir) / (Path(gds_path).stem + ".png")
        figures.append((title, str(render_png(gds_path, png_path))))
    return figures
