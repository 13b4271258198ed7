"""Transformer blocks on the chip against an independent numpy reference."""

import numpy as np
import pytest
from test_chip_support import example_tables

from bitrom_char.chip.chip import Chip
from bitrom_char.chip.kvcache import KVCache
from bitrom_char.chip.layers import lora_forward
from bitrom_char.chip.mapping import map_linear
from bitrom_char.chip.model import (
    BITNET_2B4T,
    LayerWeights,
    LoraAdapter,
    TernaryModel,
    random_ternary,
    synthetic_model,
)


def ref_quant(x):
    scale = 127.0 / np.max(np.abs(x), axis=-1, keepdims=True)
    return np.clip(np.round(x * scale), -128, 127).astype(np.int64), scale


def ref_linear(w, gamma, x):
    xq, scale = ref_quant(x)
    return (xq @ w.astype(np.int64).T) * gamma / scale


def ref_norm(x, gain, eps=1e-5):
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + eps) * gain


def ref_rope_half(x, pos, theta):
    d = x.shape[-1]
    out = np.empty_like(x)
    for t, p in enumerate(pos):
        for i in range(d // 2):
            angle = p * theta ** (-2 * i / d)
            a, b = x[t, :, i], x[t, :, i + d // 2]
            out[t, :, i] = a * np.cos(angle) - b * np.sin(angle)
            out[t, :, i + d // 2] = a * np.sin(angle) + b * np.cos(angle)
    return out


def ref_block(config, w, gamma, h, pos):
    """One BitNet 2B4T-style block for a prompt starting at position 0."""
    c = config
    d = c.head_dim
    x = ref_norm(h, 1.0)
    q = ref_linear(w["q"], gamma["q"], x).reshape(len(h), c.n_heads, d)
    k = ref_linear(w["k"], gamma["k"], x).reshape(len(h), c.n_kv_heads, d)
    v = ref_linear(w["v"], gamma["v"], x).reshape(len(h), c.n_kv_heads, d)
    q, k = ref_rope_half(q, pos, c.rope_theta), ref_rope_half(k, pos, c.rope_theta)
    out = np.zeros((len(h), c.n_heads, d))
    group = c.n_heads // c.n_kv_heads
    for head in range(c.n_heads):
        kv = head // group
        for t in range(len(h)):
            scores = k[: t + 1, kv] @ q[t, head] / np.sqrt(d)
            p = np.exp(scores - scores.max())
            out[t, head] = (p / p.sum()) @ v[: t + 1, kv]
    attn = ref_norm(out.reshape(len(h), -1), 1.0)
    h = h + ref_linear(w["o"], gamma["o"], attn)
    x = ref_norm(h, 1.0)
    g = ref_linear(w["gate"], gamma["gate"], x)
    u = ref_linear(w["up"], gamma["up"], x)
    act = ref_norm(np.maximum(g, 0) ** 2 * u, 1.0)
    return h + ref_linear(w["down"], gamma["down"], act)


CONFIG = BITNET_2B4T.scaled(
    hidden=96,
    ffn=160,
    n_layers=1,
    n_heads=6,
    n_kv_heads=2,
    vocab=50,
    rope_theta=10000.0,
)


def build_model(seed=0):
    rng = np.random.default_rng(seed)
    w, gamma, linears = {}, {}, {}
    for name, shape in CONFIG.linear_shapes().items():
        w[name] = random_ternary(shape, 0.3, rng)
        gamma[name] = float(rng.uniform(0.02, 0.2))
        linears[name] = map_linear(w[name], gamma[name], name)
    ones = np.ones(CONFIG.hidden, np.float32)
    layer = LayerWeights(linears, ones, ones, ones, np.ones(CONFIG.ffn, np.float32))
    embedding = rng.standard_normal((CONFIG.vocab, CONFIG.hidden)).astype(np.float32)
    head = map_linear(random_ternary((CONFIG.vocab, CONFIG.hidden), 0.3, rng), 0.1)
    model = TernaryModel(CONFIG, embedding, [layer], ones, head)
    return model, w, gamma


@pytest.fixture
def chip():
    return Chip.from_tables(example_tables(), clock_hz=200e6)


def test_block_matches_reference(chip):
    model, w, gamma = build_model()
    h = model.embedding[[3, 1, 4, 1, 5]]
    pos = np.arange(5)
    out, acc = chip.block(model, 0, h, KVCache(CONFIG), pos)
    expected = ref_block(CONFIG, w, gamma, h.astype(np.float64), pos)
    assert np.allclose(out, expected, rtol=2e-3, atol=2e-3)
    assert acc.macs == 5 * sum(o * i for o, i in CONFIG.linear_shapes().values())


def test_incremental_decode_matches_prefill(chip):
    model, _, _ = build_model(1)
    tokens = [7, 8, 9, 10]
    full, _ = chip.forward(model, np.array(tokens), KVCache(CONFIG))
    cache = KVCache(CONFIG)
    chip.forward(model, np.array(tokens[:2]), cache)
    chip.forward(model, np.array(tokens[2:3]), cache)
    last, _ = chip.forward(model, np.array(tokens[3:]), cache)
    assert cache.length == 4
    assert np.allclose(full, last, rtol=1e-4, atol=1e-4)


def test_decode_is_deterministic(chip):
    model = synthetic_model(CONFIG.scaled(n_layers=2), seed=4)
    first, _ = chip.decode(model, [1, 2, 3], 4)
    second, _ = chip.decode(model, [1, 2, 3], 4)
    assert first == second
    assert len(first) == 4


def test_decode_stops_at_eos(chip):
    model = synthetic_model(CONFIG.scaled(n_layers=2), seed=4)
    first, _ = chip.decode(model, [1, 2, 3], 4)
    stopped, _ = chip.decode(model, [1, 2, 3], 4, eos_id=first[0])
    assert stopped == first[:1]


def test_lora_adds_adapter_output(chip):
    model, _, _ = build_model(2)
    h = model.embedding[[1, 2]]
    plain, _ = chip.block(model, 0, h, KVCache(CONFIG), np.arange(2))
    model.add_lora(rank=4, alpha=8.0, targets=("down",))
    tuned, acc = chip.block(model, 0, h, KVCache(CONFIG), np.arange(2))
    assert not np.allclose(plain, tuned)
    assert acc.energy_j["lora"] > 0


def test_quantized_lora_close_to_float():
    rng = np.random.default_rng(5)
    a = rng.normal(0, 0.1, (8, 64))
    b = rng.normal(0, 0.1, (32, 8))
    xq = rng.integers(-128, 128, (3, 64)).astype(np.int8)
    scale = np.array([10.0, 20.0, 30.0], np.float32)
    exact = lora_forward(LoraAdapter(a, b, 16.0), xq, scale)
    quant = lora_forward(LoraAdapter(a, b, 16.0, quantized=True), xq, scale)
    error = np.linalg.norm(quant - exact) / np.linalg.norm(exact)
    assert error < 0.08


def test_lora_rank_mismatch_rejected():
    with pytest.raises(ValueError, match="same rank"):
        LoraAdapter(np.zeros((4, 8)), np.zeros((8, 3)), 8.0)


def test_wrong_hidden_shape_rejected(chip):
    model, _, _ = build_model()
    with pytest.raises(ValueError, match="does not match"):
        chip.block(model, 0, np.zeros((2, 5), np.float32), KVCache(CONFIG), [0, 1])


def test_token_out_of_vocab_rejected(chip):
    model, _, _ = build_model()
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 49\]"):
        chip.decode(model, [3, 50], 1)


def test_config_rejects_bad_heads():
    with pytest.raises(ValueError, match="not a multiple of n_kv_heads"):
        CONFIG.scaled(n_kv_heads=4)
