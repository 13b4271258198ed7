"""Floating-point transformer pieces around the ROM layers: norms, RoPE, attention."""

from __future__ import annotations

import numpy as np

from bitrom_char.chip.model import LoraAdapter
from bitrom_char.chip.quant import absmax_quantize


def rms_norm(x: np.ndarray, gain: np.ndarray, eps: float) -> np.ndarray:
    """Return x / sqrt(mean(x**2) + eps) * gain over the last axis."""
    x = x.astype(np.float32, copy=False)
    inv = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return (x * inv * gain).astype(np.float32)


def rope(x: np.ndarray, positions: np.ndarray, theta: float, style: str) -> np.ndarray:
    """Rotate (tokens, heads, head_dim) by position with rotary embeddings.

    Pair i of a head turns by position * theta**(-2i / head_dim). "half" pairs
    element i with i + head_dim/2, "interleaved" pairs 2i with 2i + 1.
    """
    d = x.shape[-1]
    freqs = theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    angles = np.asarray(positions, np.float64)[:, None] * freqs[None, :]
    cos = np.cos(angles).astype(np.float32)[:, None, :]
    sin = np.sin(angles).astype(np.float32)[:, None, :]
    if style == "half":
        a, b = x[..., : d // 2], x[..., d // 2 :]
        return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """Causal grouped-query attention.

    q is (tokens, n_heads, head_dim); k and v are (n_kv_heads, positions, head_dim)
    and hold every position up to the last query. Query heads are grouped onto KV
    heads in order. Returns (tokens, n_heads * head_dim).
    """
    tokens, n_heads, d = q.shape
    n_kv, length, _ = k.shape
    group = n_heads // n_kv
    qg = q.transpose(1, 0, 2).reshape(n_kv, group * tokens, d)
    scores = qg @ k.transpose(0, 2, 1) / np.float32(np.sqrt(d))
    scores = scores.reshape(n_kv, group, tokens, length)
    mask = np.arange(length)[None, :] > np.asarray(positions)[:, None]
    scores = np.where(mask[None, None], -np.inf, scores)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    out = weights.reshape(n_kv, group * tokens, length) @ v
    out = out.reshape(n_heads, tokens, d).transpose(1, 0, 2)
    return out.reshape(tokens, n_heads * d).astype(np.float32)


def ffn_activation(gate: np.ndarray, up: np.ndarray, kind: str) -> np.ndarray:
    """Return relu(gate)**2 * up ("relu2") or silu(gate) * up ("silu")."""
    if kind == "relu2":
        g = np.maximum(gate, 0)
        return (g * g * up).astype(np.float32)
    return (gate / (1.0 + np.exp(-gate)) * up).astype(np.float32)


def quantize_symmetric(w: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Quantize to signed integers in [-(2**(bits-1) - 1), 2**(bits-1) - 1] with one
    absmax scale; returns (integers as int32, scale)."""
    top = 2 ** (bits - 1) - 1
    peak = float(np.max(np.abs(w)))
    scale = top / peak if peak > 0 else 1.0
    return np.clip(np.rint(w * scale), -top, top).astype(np.int32), scale


def lora_forward(
    adapter: LoraAdapter, xq: np.ndarray, x_scale: np.ndarray
) -> np.ndarray:
    """Return the adapter output (alpha / rank) * B A x for int8 inputs xq / x_scale.

    The quantized path multiplies 6-bit weights with 8-bit inputs in integers:
    t = A6 xq, then t is requantized to 8 bits per token and y = B6 t8, each step
    rescaled by its absmax scales.
    """
    factor = adapter.alpha / adapter.rank
    if not adapter.quantized:
        x = xq.astype(np.float32) / x_scale[:, None]
        return (factor * (x @ adapter.a.T) @ adapter.b.T).astype(np.float32)
    a6, sa = quantize_symmetric(adapter.a, 6)
    b6, sb = quantize_symmetric(adapter.b, 6)
    t = (xq.astype(np.int64) @ a6.T.astype(np.int64)) / (sa * x_scale[:, None])
    t8, st = absmax_quantize(t)
    y = (t8.astype(np.int64) @ b6.T.astype(np.int64)) / (sb * st[:, None])
    return (factor * y).astype(np.float32)
