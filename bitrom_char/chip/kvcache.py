"""KV cache storage: on-die eDRAM capacity, external DRAM traffic and retention."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bitrom_char.chip.model import ModelConfig

# NOTE: an estimate, not from a datasheet. LPDDR4-class interfaces are commonly put
# at a few pJ per bit including the array access; set dram_energy_j_per_bit to the
# figure of the memory you assume.
DRAM_ENERGY_J_PER_BIT = 4e-12


@dataclass(frozen=True)
class KVLayout:
    """Placement of KV entries: the first `on_die_tokens` positions of every layer
    sit in eDRAM (capacity split evenly over the layers), the rest in DRAM."""

    config: ModelConfig
    edram_bytes: int
    kv_bits: int = 8

    def __post_init__(self) -> None:
        if self.edram_bytes < 0:
            raise ValueError(f"edram_bytes must be >= 0, got {self.edram_bytes}")
        if self.kv_bits not in (4, 8, 16):
            raise ValueError(f"kv_bits must be 4, 8 or 16, got {self.kv_bits}")

    @property
    def bits_per_token_layer(self) -> int:
        """Bits of one position's K and V in one layer."""
        return 2 * self.config.kv_dim * self.kv_bits

    @property
    def on_die_tokens(self) -> int:
        per_layer_bits = self.edram_bytes * 8 // self.config.n_layers
        return per_layer_bits // self.bits_per_token_layer

    def split(self, context: int) -> tuple[int, int]:
        """Return (positions on die, positions in DRAM) for one layer's cache."""
        on_die = min(context, self.on_die_tokens)
        return on_die, context - on_die


def dram_bytes_per_token(
    config: ModelConfig,
    context: int,
    edram_bytes: int,
    kv_bits: int = 8,
    embedding_bytes: int = 2,
) -> dict[str, float]:
    """Return external DRAM bytes for one decode step at a given context length.

    The step reads the K/V of `context` earlier positions in every layer, writes
    the new position's K/V and fetches one embedding row of `embedding_bytes` per
    element. Weights never come from DRAM because they are in ROM.
    """
    if context < 0:
        raise ValueError(f"context must be >= 0 tokens, got {context}")
    layout = KVLayout(config, edram_bytes, kv_bits)
    _, in_dram = layout.split(context)
    bytes_per_pos = layout.bits_per_token_layer / 8 * config.n_layers
    write = 0.0 if context < layout.on_die_tokens else bytes_per_pos
    return {
        "kv_read": in_dram * bytes_per_pos,
        "kv_write": write,
        "embedding": float(config.hidden * embedding_bytes),
    }


def dram_traffic_vs_context(
    config: ModelConfig, contexts, edram_bytes: int, kv_bits: int = 8
) -> pd.DataFrame:
    """Tabulate DRAM bytes per decode token with and without the on-die KV cache.

    Columns: context_tokens, dram_bytes_with_edram, dram_bytes_without_edram,
    dram_reduction (fraction of the traffic the eDRAM removes).
    """
    rows = []
    for context in contexts:
        with_kv = sum(
            dram_bytes_per_token(config, int(context), edram_bytes, kv_bits).values()
        )
        without = sum(dram_bytes_per_token(config, int(context), 0, kv_bits).values())
        rows.append(
            {
                "context_tokens": int(context),
                "dram_bytes_with_edram": with_kv,
                "dram_bytes_without_edram": without,
                "dram_reduction": 1.0 - with_kv / without if without else np.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass
class KVCache:
    """Functional K/V store per layer index, shape (n_kv_heads, positions, head_dim).

    NOTE: the functional model keeps K and V in float32. Traffic and eDRAM energy
    are counted at `kv_bits` per element, as the hardware would store them.
    """

    config: ModelConfig
    k: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        c = self.config
        empty = np.zeros((c.n_kv_heads, 0, c.head_dim), np.float32)
        self.k = [empty] * c.n_layers
        self.v = [empty] * c.n_layers

    @property
    def length(self) -> int:
        return self.k[0].shape[1]

    def append(self, layer: int, k_new: np.ndarray, v_new: np.ndarray) -> None:
        """Append positions given as (n_kv_heads, tokens, head_dim)."""
        self.k[layer] = np.concatenate([self.k[layer], k_new], axis=1)
        self.v[layer] = np.concatenate([self.v[layer], v_new], axis=1)
