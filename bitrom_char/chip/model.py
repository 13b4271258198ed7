"""Model shapes, ternary weight containers and synthetic BitNet weights."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from bitrom_char.chip.mapping import ArrayGeometry, MappedLinear, map_linear

LINEAR_NAMES = ("q", "k", "v", "o", "gate", "up", "down")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a decoder-only transformer with grouped-query attention.

    `ffn_act` is "relu2" (squared ReLU, BitNet b1.58 2B4T) or "silu" (LLaMA-style
    SiLU-gated FFN). `subln` adds the sub-layer norms of BitNet 2B4T before the O
    and down projections. `rope_style` is "half" (rotate the two halves of a head,
    as Hugging Face Llama does) or "interleaved" (rotate adjacent pairs, as
    llama.cpp does with the permuted Q/K weights stored in GGUF files).
    """

    name: str
    hidden: int
    ffn: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab: int
    ffn_act: str = "silu"
    subln: bool = False
    rope_theta: float = 10000.0
    rope_style: str = "half"
    norm_eps: float = 1e-5
    tie_embeddings: bool = False

    def __post_init__(self) -> None:
        for name in ("hidden", "ffn", "n_layers", "n_heads", "n_kv_heads", "vocab"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"{self.name}: {name} must be an integer >= 1, got {value!r}"
                )
        if self.hidden % self.n_heads:
            raise ValueError(
                f"{self.name}: hidden={self.hidden} is not a multiple of "
                f"n_heads={self.n_heads}"
            )
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"{self.name}: n_heads={self.n_heads} is not a multiple "
                f"of n_kv_heads={self.n_kv_heads}"
            )
        if self.head_dim % 2:
            raise ValueError(
                f"{self.name}: head_dim={self.head_dim} must be even for RoPE"
            )
        if self.ffn_act not in ("relu2", "silu"):
            raise ValueError(
                f"{self.name}: ffn_act must be 'relu2' or 'silu', got {self.ffn_act!r}"
            )
        if self.rope_style not in ("half", "interleaved"):
            raise ValueError(
                f"{self.name}: rope_style must be 'half' or "
                f"'interleaved', got {self.rope_style!r}"
            )

    @property
    def head_dim(self) -> int:
        return self.hidden // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """Return (out_features, in_features) of each projection in one block."""
        h, f, kv = self.hidden, self.ffn, self.kv_dim
        return {
            "q": (h, h),
            "k": (kv, h),
            "v": (kv, h),
            "o": (h, h),
            "gate": (f, h),
            "up": (f, h),
            "down": (h, f),
        }

    def n_params(self) -> int:
        """Count weights: all projections, the embedding and an untied LM head."""
        block = sum(o * i for o, i in self.linear_shapes().values())
        head = 0 if self.tie_embeddings else self.vocab * self.hidden
        return self.n_layers * block + self.vocab * self.hidden + head

    def scaled(self, **changes) -> ModelConfig:
        """Return a copy with some fields changed, e.g. fewer layers for a test."""
        return replace(self, **changes)


# Shapes: BitNet b1.58 2B4T from its Hugging Face config (2.4 B weights, RoPE theta
# 500,000, squared ReLU, sub-layer norms). bitnet_b1_58-large and -3B are the 1bitLLM
# LLaMA-style reproductions. LLAMA_7B is the LLaMA-7B shape, used for area only.
BITNET_2B4T = ModelConfig(
    "bitnet-b1.58-2b4t",
    2560,
    6912,
    30,
    20,
    5,
    128256,
    ffn_act="relu2",
    subln=True,
    rope_theta=500000.0,
    tie_embeddings=True,
)
BITNET_LARGE = ModelConfig("bitnet_b1_58-large", 1536, 4096, 24, 16, 16, 32002)
BITNET_3B = ModelConfig("bitnet_b1_58-3B", 3200, 8640, 26, 32, 32, 32002)
LLAMA_7B = ModelConfig("llama-7b", 4096, 11008, 32, 32, 32, 32000)
PRESETS = {c.name: c for c in (BITNET_2B4T, BITNET_LARGE, BITNET_3B, LLAMA_7B)}


@dataclass
class LoraAdapter:
    """A rank-r adapter y += (alpha / r) * B (A x) computed beside the ROM.

    A has shape (rank, in_features) and B (out_features, rank). With `quantized`
    the digital path uses 6-bit symmetric weights (one absmax scale per matrix) and
    8-bit inputs.
    """

    a: np.ndarray
    b: np.ndarray
    alpha: float
    quantized: bool = False

    def __post_init__(self) -> None:
        self.a = np.asarray(self.a, dtype=np.float32)
        self.b = np.asarray(self.b, dtype=np.float32)
        if self.a.ndim != 2 or self.b.ndim != 2 or self.a.shape[0] != self.b.shape[1]:
            raise ValueError(
                f"LoRA A must be (rank, in) and B (out, rank) with the same rank; got "
                f"A {self.a.shape} and B {self.b.shape}"
            )

    @property
    def rank(self) -> int:
        return self.a.shape[0]


@dataclass
class LayerWeights:
    """One transformer block: mapped projections, norm gains and LoRA adapters."""

    linears: dict[str, MappedLinear]
    attn_norm: np.ndarray
    ffn_norm: np.ndarray
    attn_sub_norm: np.ndarray | None = None
    ffn_sub_norm: np.ndarray | None = None
    lora: dict[str, LoraAdapter] = field(default_factory=dict)


@dataclass
class TernaryModel:
    """A model whose projections and LM head sit on BitROM arrays.

    The token embedding stays in high precision and its rows are fetched from
    external DRAM, one row per token. The same LayerWeights object may appear in
    `layers` more than once, which keeps memory small for full-size benchmarks.
    """

    config: ModelConfig
    embedding: np.ndarray
    layers: list[LayerWeights]
    final_norm: np.ndarray
    lm_head: MappedLinear

    def __post_init__(self) -> None:
        c = self.config
        if self.embedding.shape != (c.vocab, c.hidden):
            raise ValueError(
                f"{c.name}: embedding shape {self.embedding.shape} is not "
                f"(vocab, hidden) = {(c.vocab, c.hidden)}"
            )
        if len(self.layers) != c.n_layers:
            raise ValueError(
                f"{c.name}: got {len(self.layers)} layers, the config has {c.n_layers}"
            )
        shapes = c.linear_shapes()
        for i, layer in enumerate(self.layers):
            for name, shape in shapes.items():
                got = layer.linears.get(name)
                if got is None:
                    raise ValueError(f"{c.name}: layer {i} lacks projection {name!r}")
                if (got.out_features, got.in_features) != shape:
                    raise ValueError(
                        f"{c.name}: layer {i} {name} has shape "
                        f"{(got.out_features, got.in_features)}, "
                        f"expected {shape}"
                    )
        if (self.lm_head.out_features, self.lm_head.in_features) != (c.vocab, c.hidden):
            raise ValueError(f"{c.name}: LM head shape does not match (vocab, hidden)")

    def unique_layers(self) -> list[LayerWeights]:
        """Return each distinct LayerWeights object once."""
        seen: dict[int, LayerWeights] = {}
        for layer in self.layers:
            seen.setdefault(id(layer), layer)
        return list(seen.values())

    def add_lora(
        self,
        rank: int = 16,
        alpha: float = 32.0,
        targets: tuple[str, ...] = ("v", "o", "down"),
        quantized: bool = False,
        seed: int = 0,
    ) -> None:
        """Attach random LoRA adapters to the target projections of every layer.

        Defaults follow the BitROM authors' public setup: rank 16, alpha 32, on the
        V, O and down projections.
        """
        unknown = set(targets) - set(LINEAR_NAMES)
        if unknown:
            raise ValueError(
                f"unknown LoRA targets {sorted(unknown)}; choose from {LINEAR_NAMES}"
            )
        if rank < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {rank}")
        rng = np.random.default_rng(seed)
        for layer in self.unique_layers():
            for name in targets:
                lin = layer.linears[name]
                a = rng.normal(0, 1 / np.sqrt(lin.in_features), (rank, lin.in_features))
                b = rng.normal(0, 0.02, (lin.out_features, rank))
                layer.lora[name] = LoraAdapter(a, b, alpha, quantized)


def random_ternary(
    shape: tuple[int, int], zero_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Draw ternary weights with the given share of zeros and equal +1/-1 odds.

    Draws 16-bit integers in blocks of rows to keep the peak memory near the size
    of the int8 result, so the share of zeros is exact to 1/65,536.
    """
    if not 0.0 <= zero_fraction <= 1.0:
        raise ValueError(f"zero_fraction must lie in [0, 1], got {zero_fraction}")
    zero_below = round(zero_fraction * 65536)
    minus_from = zero_below + (65536 - zero_below) // 2
    w = np.empty(shape, np.int8)
    step = max(1, (1 << 24) // max(shape[1], 1))
    for r in range(0, shape[0], step):
        u = rng.integers(
            0, 65536, (min(step, shape[0] - r), shape[1]), np.uint16, endpoint=False
        )
        block = (u >= zero_below).astype(np.int8)
        block -= 2 * (u >= minus_from).astype(np.int8)
        w[r : r + len(u)] = block
    return w


def synthetic_model(
    config: ModelConfig,
    zero_fraction: float = 1 / 3,
    seed: int = 0,
    share_layers: bool = False,
    geometry: ArrayGeometry | None = None,
) -> TernaryModel:
    """Build a model with random ternary weights of the real shapes.

    With `share_layers`, one block's weights serve every layer, so a 30-layer
    2B4T-shaped model needs one block of memory (about 0.35 GB) instead of thirty.
    The weight scale gamma is set so that outputs keep unit variance.
    """
    rng = np.random.default_rng(seed)
    geometry = geometry or ArrayGeometry()
    nonzero = max(1.0 - zero_fraction, 1e-6)

    def block() -> LayerWeights:
        linears = {}
        for name, (out_f, in_f) in config.linear_shapes().items():
            w = random_ternary((out_f, in_f), zero_fraction, rng)
            gamma = 1.0 / np.sqrt(in_f * nonzero)
            linears[name] = map_linear(w, gamma, name, geometry)
        ones = np.ones(config.hidden, np.float32)
        return LayerWeights(
            linears,
            ones,
            ones.copy(),
            attn_sub_norm=ones.copy() if config.subln else None,
            ffn_sub_norm=np.ones(config.ffn, np.float32) if config.subln else None,
        )

    if share_layers:
        shared = block()
        layers = [shared] * config.n_layers
    else:
        layers = [block() for _ in range(config.n_layers)]
    embedding = rng.standard_normal((config.vocab, config.hidden), np.float32)
    head = random_ternary((config.vocab, config.hidden), zero_fraction, rng)
    lm_head = map_linear(
        head, 1.0 / np.sqrt(config.hidden * nonzero), "lm_head", geometry
    )
    return TernaryModel(
        config, embedding, layers, np.ones(config.hidden, np.float32), lm_head
    )
