"""Behavioural BitROM chip model: bit-exact ternary LLM layers with accounting."""

from bitrom_char.chip.accounting import Accounting
from bitrom_char.chip.area import AreaModel
from bitrom_char.chip.chip import Chip
from bitrom_char.chip.costs import CircuitCosts, MissingTableError
from bitrom_char.chip.demo import run_demo
from bitrom_char.chip.loaders import (
    fetch_smollm2,
    find_smollm2,
    load_bitnet_safetensors,
    load_gguf,
)
from bitrom_char.chip.mapping import ArrayGeometry, MappedLinear, map_linear
from bitrom_char.chip.model import (
    BITNET_2B4T,
    BITNET_3B,
    BITNET_LARGE,
    LLAMA_7B,
    ModelConfig,
    TernaryModel,
    synthetic_model,
)
from bitrom_char.chip.quant import absmax_quantize, absmean_ternarize

__all__ = [
    "BITNET_2B4T",
    "BITNET_3B",
    "BITNET_LARGE",
    "LLAMA_7B",
    "Accounting",
    "AreaModel",
    "ArrayGeometry",
    "Chip",
    "CircuitCosts",
    "MappedLinear",
    "MissingTableError",
    "ModelConfig",
    "TernaryModel",
    "absmax_quantize",
    "absmean_ternarize",
    "fetch_smollm2",
    "find_smollm2",
    "load_bitnet_safetensors",
    "load_gguf",
    "map_linear",
    "run_demo",
    "synthetic_model",
]
