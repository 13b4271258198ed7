"""BitNet b1.58 quantizers: absmean ternary weights and absmax int8 activations.

Formulas from Ma et al., "The Era of 1-bit LLMs: All Large Language Models are in
1.58 Bits", arXiv 2402.17764.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-5


def absmean_ternarize(w: np.ndarray, eps: float = EPS) -> tuple[np.ndarray, float]:
    """Quantize a weight tensor to ternary values with one absmean scale.

    gamma = mean(|W|), Wq = clamp(round(W / (gamma + eps)), -1, 1), and the
    dequantized weight is Wq * gamma (arXiv 2402.17764, eq. 1-3).
    Returns (Wq as int8, gamma).
    """
    w = np.asarray(w, dtype=np.float32)
    if w.size == 0:
        raise ValueError(
            "cannot ternarize an empty weight tensor; pass a non-empty array"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("weight tensor contains NaN or inf; clean the weights first")
    gamma = float(np.mean(np.abs(w), dtype=np.float64))
    wq = np.clip(np.rint(w / (gamma + eps)), -1, 1).astype(np.int8)
    return wq, gamma


def absmax_quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantize activations to int8 per token with an absmax scale.

    s = 127 / max|x| over the last axis, xq = clamp(round(x * s), -128, 127)
    (arXiv 2402.17764, eq. 4). A token whose values are all zero gets s = 1 so that
    xq is zero instead of NaN. Returns (xq as int8, s as float32 with the token
    axes of x).
    """
    x = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("activation contains NaN or inf; check the layer inputs")
    peak = np.max(np.abs(x), axis=-1)
    scale = np.where(peak > 0, 127.0 / np.where(peak > 0, peak, 1.0), 1.0)
    scale = scale.astype(np.float32)
    xq = np.clip(np.rint(x * scale[..., None]), -128, 127).astype(np.int8)
    return xq, scale


def check_ternary(w: np.ndarray, name: str = "weights") -> np.ndarray:
    """Return w as int8 after checking that every value is -1, 0 or +1."""
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (out_features, in_features) matrix, got shape "
            f"{w.shape}"
        )
    is_integer = np.issubdtype(w.dtype, np.integer)
    if not is_integer and not (
        np.all(np.isfinite(w)) and np.array_equal(w, np.rint(w))
    ):
        raise ValueError(
            f"{name} must hold the integers -1, 0, +1; got non-integer values. "
            "Ternarize float weights with absmean_ternarize first."
        )
    bad = (w < -1) | (w > 1)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be ternary (-1, 0, +1); found {w[first]} at index {first}. "
            "Ternarize float weights with absmean_ternarize first."
        )
    return w.astype(np.int8, copy=False)


def check_int8(x: np.ndarray, name: str = "activation") -> np.ndarray:
    """Return x as int8 after checking that every value lies in [-128, 127]."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        raise ValueError(
            f"{name} must be an integer array in [-128, 127], got dtype {x.dtype}; "
            "quantize float activations with absmax_quantize first"
        )
    if x.size and (x.min() < -128 or x.max() > 127):
        raise ValueError(
            f"{name} values must lie in [-128, 127], got range "
            f"[{int(x.min())}, {int(x.max())}]; quantize with absmax_quantize"
        )
    return x.astype(np.int8, copy=False)
