"""Model loading: safetensors BitNet checkpoints, GGUF files, the BPE tokenizer."""

import json
import struct

import numpy as np
import pytest
from test_chip_support import example_tables

from bitrom_char.chip.chip import Chip
from bitrom_char.chip.loaders import (
    SMOLLM2_ENV,
    find_smollm2,
    load_bitnet_safetensors,
    load_gguf,
)
from bitrom_char.chip.model import BITNET_2B4T, random_ternary
from bitrom_char.chip.safetensors import (
    pack_ternary,
    read_safetensors,
    unpack_ternary,
    write_safetensors,
)
from bitrom_char.chip.tokenizer import BPETokenizer, byte_to_unicode


def test_pack_layout_bits():
    # Rows 0..3 of a 4-row matrix land in bit pairs 0..3 of packed row 0.
    w = np.array([[-1], [0], [1], [1]], np.int8)
    packed = pack_ternary(w)
    assert packed.shape == (1, 1)
    assert packed[0, 0] == 0b10_10_01_00


@pytest.mark.parametrize("out_features", [4, 5, 7, 12])
def test_pack_roundtrip(out_features):
    w = random_ternary((out_features, 9), 0.3, np.random.default_rng(out_features))
    assert np.array_equal(unpack_ternary(pack_ternary(w), out_features), w)


def test_unpack_rejects_code_three():
    with pytest.raises(ValueError, match="code 3"):
        unpack_ternary(np.array([[0b11]], np.uint8), 4)


def test_safetensors_roundtrip(tmp_path):
    tensors = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.array([1, 2, 250], np.uint8),
    }
    path = write_safetensors(tmp_path / "x.safetensors", tensors, {"k": "v"})
    read, meta = read_safetensors(path)
    assert meta == {"k": "v"}
    assert np.array_equal(read["a"], tensors["a"])
    assert np.array_equal(read["b"], tensors["b"])


def test_safetensors_bf16(tmp_path):
    values = np.array([1.5, -2.0, 3.25], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps(
        {"t": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}
    ).encode()
    path = tmp_path / "bf.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bf16)
    read, _ = read_safetensors(path)
    assert np.array_equal(read["t"], values)


def test_safetensors_truncated(tmp_path):
    path = write_safetensors(
        tmp_path / "x.safetensors", {"a": np.zeros((100,), np.float32)}
    )
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_safetensors(path)
    path.write_bytes(data[:5])
    with pytest.raises(ValueError, match="too short"):
        read_safetensors(path)


def test_safetensors_bad_json(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 4) + b"{{{{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_safetensors(path)


TINY = BITNET_2B4T.scaled(
    hidden=64, ffn=96, n_layers=2, n_heads=4, n_kv_heads=2, vocab=40
)
HF_NAMES = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
}


def write_tiny_checkpoint(folder, rng):
    tensors, weights = {}, {}
    for i in range(TINY.n_layers):
        base = f"model.layers.{i}."
        for name, shape in TINY.linear_shapes().items():
            w = random_ternary(shape, 0.3, rng)
            weights[(i, name)] = w
            tensors[base + HF_NAMES[name] + ".weight"] = pack_ternary(w)
            tensors[base + HF_NAMES[name] + ".weight_scale"] = np.array(
                [4.0], np.float32
            )
        for norm in (
            "input_layernorm",
            "post_attention_layernorm",
            "self_attn.attn_sub_norm",
        ):
            tensors[base + norm + ".weight"] = np.ones(TINY.hidden, np.float32)
        tensors[base + "mlp.ffn_sub_norm.weight"] = np.ones(TINY.ffn, np.float32)
    tensors["model.embed_tokens.weight"] = rng.normal(
        size=(TINY.vocab, TINY.hidden)
    ).astype(np.float32)
    tensors["model.norm.weight"] = np.ones(TINY.hidden, np.float32)
    write_safetensors(folder / "model.safetensors", tensors)
    config = {
        "hidden_size": TINY.hidden,
        "intermediate_size": TINY.ffn,
        "num_hidden_layers": TINY.n_layers,
        "num_attention_heads": TINY.n_heads,
        "num_key_value_heads": TINY.n_kv_heads,
        "vocab_size": TINY.vocab,
        "hidden_act": "relu2",
        "model_type": "bitnet",
        "rope_theta": 500000.0,
        "tie_word_embeddings": True,
    }
    (folder / "config.json").write_text(json.dumps(config))
    return weights


def test_bitnet_checkpoint_loads_exactly(tmp_path):
    rng = np.random.default_rng(7)
    weights = write_tiny_checkpoint(tmp_path, rng)
    model = load_bitnet_safetensors(tmp_path)
    assert model.config.ffn_act == "relu2"
    assert model.config.subln
    x = rng.integers(-128, 128, TINY.ffn).astype(np.int8)
    for (i, name), w in weights.items():
        lin = model.layers[i].linears[name]
        assert lin.gamma == pytest.approx(0.25)
        y = lin.matvec(x[: w.shape[1]])
        assert np.array_equal(y, w.astype(np.int64) @ x[: w.shape[1]].astype(np.int64))
    chip = Chip.from_tables(example_tables(), clock_hz=200e6)
    new, acc = chip.decode(model, [1, 2, 3], 2)
    assert len(new) == 2
    assert acc.macs > 0


def test_bitnet_checkpoint_missing_tensor(tmp_path):
    write_tiny_checkpoint(tmp_path, np.random.default_rng(8))
    tensors, _ = read_safetensors(tmp_path / "model.safetensors")
    del tensors["model.layers.1.mlp.up_proj.weight"]
    write_safetensors(tmp_path / "model.safetensors", tensors)
    with pytest.raises(ValueError, match="mlp.up_proj.weight' is missing"):
        load_bitnet_safetensors(tmp_path)


def test_bitnet_checkpoint_wrong_shape(tmp_path):
    write_tiny_checkpoint(tmp_path, np.random.default_rng(9))
    tensors, _ = read_safetensors(tmp_path / "model.safetensors")
    tensors["model.layers.0.self_attn.q_proj.weight"] = pack_ternary(
        np.zeros((64, 32), np.int8)
    )
    write_safetensors(tmp_path / "model.safetensors", tensors)
    with pytest.raises(ValueError, match=r"expected \(out, in\) = \(64, 64\)"):
        load_bitnet_safetensors(tmp_path)


def tiny_tokenizer():
    enc = byte_to_unicode()
    space = enc[ord(" ")]
    base = [enc[b] for b in range(256)]
    merges = ["h e", "l l", "he ll", "hell o", f"{space} w", "o r"]
    tokens = ["<|end|>", *base, "he", "ll", "hell", "hello", f"{space}w", "or"]
    types = [3] + [1] * (len(tokens) - 1)
    return BPETokenizer(tokens, merges, types, eos_id=0)


def test_bpe_merges_by_rank():
    tok = tiny_tokenizer()
    ids = tok.encode("hello world")
    pieces = [tok.tokens[i] for i in ids]
    space = byte_to_unicode()[ord(" ")]
    assert pieces == ["hello", f"{space}w", "or", "l", "d"]


def test_bpe_roundtrip_unicode_and_special():
    tok = tiny_tokenizer()
    text = "héllo wörld<|end|>"
    ids = tok.encode(text)
    assert ids[-1] == 0
    assert tok.decode(ids) == text


def test_decode_rejects_bad_id():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tiny_tokenizer().decode([10_000])


def write_tiny_gguf(path, rng):
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    c = TINY.scaled(ffn_act="silu", subln=False)
    writer.add_block_count(c.n_layers)
    writer.add_context_length(64)
    writer.add_embedding_length(c.hidden)
    writer.add_feed_forward_length(c.ffn)
    writer.add_head_count(c.n_heads)
    writer.add_head_count_kv(c.n_kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    tok = tiny_tokenizer()
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tok.tokens)
    writer.add_token_merges([f"{a} {b}" for (a, b) in tok.ranks])
    writer.add_token_types([3] + [1] * (len(tok.tokens) - 1))
    vocab = len(tok.tokens)
    writer.add_tensor(
        "token_embd.weight", rng.normal(size=(vocab, c.hidden)).astype(np.float32)
    )
    writer.add_tensor("output_norm.weight", np.ones(c.hidden, np.float32))
    names = {
        "q": "attn_q",
        "k": "attn_k",
        "v": "attn_v",
        "o": "attn_output",
        "gate": "ffn_gate",
        "up": "ffn_up",
        "down": "ffn_down",
    }
    for i in range(c.n_layers):
        for name, (o, n) in c.linear_shapes().items():
            writer.add_tensor(
                f"blk.{i}.{names[name]}.weight",
                rng.normal(size=(o, n)).astype(np.float32),
            )
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(c.hidden, np.float32))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(c.hidden, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_loads_and_decodes(tmp_path):
    path = write_tiny_gguf(tmp_path / "tiny.gguf", np.random.default_rng(10))
    model, tok = load_gguf(path)
    assert model.config.rope_style == "interleaved"
    assert model.config.tie_embeddings
    assert model.config.vocab == len(tok.tokens)
    chip = Chip.from_tables(example_tables(), clock_hz=200e6)
    new, _ = chip.decode(model, tok.encode("hello"), 3)
    assert len(new) == 3


def test_gguf_truncated(tmp_path):
    path = write_tiny_gguf(tmp_path / "tiny.gguf", np.random.default_rng(11))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        load_gguf(path)


def test_find_smollm2_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(SMOLLM2_ENV, str(tmp_path / "none.gguf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="fetch_smollm2"):
        find_smollm2(tmp_path)


def test_find_smollm2_env(tmp_path, monkeypatch):
    file = tmp_path / "model.gguf"
    file.write_bytes(b"GGUF")
    monkeypatch.setenv(SMOLLM2_ENV, str(file))
    assert find_smollm2() == file


def test_smollm2_real_file():
    try:
        path = find_smollm2()
    except FileNotFoundError:
        pytest.skip("SmolLM2 GGUF not present; fetch it with fetch_smollm2()")
    model, tok = load_gguf(path, max_layers=2)
    assert model.config.hidden == 576
    assert model.config.n_heads == 9
    assert model.config.n_kv_heads == 3
    assert model.config.vocab == 49152
    text = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
    ids = tok.encode(text)
    assert ids[0] == tok.ids["<|im_start|>"]
    assert tok.decode(ids) == text
    chip = Chip.from_tables(example_tables(), clock_hz=200e6)
    new, acc = chip.decode(model, ids, 2)
    assert acc.tokens == len(ids) + 1
    assert len(new) == 2
    assert all(0 <= t < 49152 for t in new)
