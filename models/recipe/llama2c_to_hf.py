#!/usr/bin/env python3
"""Convert a llama2.c checkpoint folder (the embedded model: model.bin in this project's fp16 v0
layout + model.json + tokenizer.json; karpathy's fp32 files too) into a Hugging Face
LlamaForCausalLM folder: config.json, model.safetensors (the checkpoint's own dtype, bit for bit),
tokenizer.json.

RoPE: llama2.c rotates interleaved channel pairs (2i, 2i+1) of each head; Hugging Face rotates
half-split pairs (i, i + D/2). The rows of wq and wk are permuted within each head, as Hugging
Face's convert_llama_weights_to_hf does, so both compute the same attention.

Needs only NumPy (runs on the development machine and on the GPU machine alike).

    python3 models/recipe/llama2c_to_hf.py models/minillama-12l OUT_DIR
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np


def read_llama2c(path, dtype=None):
    with open(path, "rb") as f:
        raw = f.read()
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("<7i", raw[:28])
    tied = vocab > 0
    vocab = abs(vocab)
    head_dim = dim // heads
    kv_dim = kv_heads * head_dim
    parts = [
        ("tok_embeddings", (vocab, dim)),
        ("rms_att", (layers, dim)),
        ("wq", (layers, dim, dim)),
        ("wk", (layers, kv_dim, dim)),
        ("wv", (layers, kv_dim, dim)),
        ("wo", (layers, dim, dim)),
        ("rms_ffn", (layers, dim)),
        ("w1", (layers, hidden, dim)),
        ("w2", (layers, dim, hidden)),
        ("w3", (layers, hidden, dim)),
        ("rms_final", (dim,)),
    ]
    count = sum(int(np.prod(s)) for _, s in parts)
    rope = seq_len * head_dim
    cls = 0 if tied else vocab * dim
    if dtype is None:
        if len(raw) == 28 + 2 * (count + cls):
            dtype = "float16"
        elif len(raw) == 28 + 4 * (count + rope + cls):
            dtype = "float32"
        else:
            raise SystemExit(f"{path}: {len(raw)} bytes fit neither the fp16 nor the fp32 llama2.c layout")
    np_dtype = np.float16 if dtype == "float16" else np.float32
    size = np.dtype(np_dtype).itemsize
    off = 28
    out = {}
    for name, shape in parts:
        n = int(np.prod(shape))
        out[name] = np.frombuffer(raw, dtype=np_dtype, count=n, offset=off).reshape(shape)
        off += n * size
    if dtype == "float32":
        off += rope * size
    out["wcls"] = None if tied else np.frombuffer(raw, dtype=np_dtype, count=vocab * dim, offset=off).reshape(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab, seq_len=seq_len, head_dim=head_dim, tied=tied, dtype=dtype)
    return cfg, out


def permute_rotary(w, n_heads, head_dim):
    """Rows of each head from interleaved pairs (2i, 2i+1) to half-split (i, i + D/2)."""
    rows, cols = w.shape
    return np.ascontiguousarray(w.reshape(n_heads, head_dim // 2, 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols))


SAFETENSORS_DTYPES = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}


def write_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header (padded to 8 bytes), raw data."""
    header = {"__metadata__": {"format": "pt"}}
    off = 0
    blobs = []
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        b = a.tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def convert(src, dst):
    card = json.load(open(os.path.join(src, "model.json")))
    cfg, w = read_llama2c(os.path.join(src, card.get("weights", "model.bin")), card.get("dtype"))
    L, H, KV, D = cfg["layers"], cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    tensors = [("model.embed_tokens.weight", w["tok_embeddings"])]
    for l in range(L):
        p = f"model.layers.{l}."
        tensors += [
            (p + "input_layernorm.weight", w["rms_att"][l]),
            (p + "self_attn.q_proj.weight", permute_rotary(w["wq"][l], H, D)),
            (p + "self_attn.k_proj.weight", permute_rotary(w["wk"][l], KV, D)),
            (p + "self_attn.v_proj.weight", w["wv"][l]),
            (p + "self_attn.o_proj.weight", w["wo"][l]),
            (p + "post_attention_layernorm.weight", w["rms_ffn"][l]),
            (p + "mlp.gate_proj.weight", w["w1"][l]),
            (p + "mlp.down_proj.weight", w["w2"][l]),
            (p + "mlp.up_proj.weight", w["w3"][l]),
        ]
    tensors.append(("model.norm.weight", w["rms_final"]))
    if w["wcls"] is not None:
        tensors.append(("lm_head.weight", w["wcls"]))
    os.makedirs(dst, exist_ok=True)
    write_safetensors(os.path.join(dst, "model.safetensors"), tensors)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": cfg["dim"],
        "intermediate_size": cfg["hidden"],
        "num_hidden_layers": L,
        "num_attention_heads": H,
        "num_key_value_heads": KV,
        "head_dim": D,
        "vocab_size": cfg["vocab"],
        "max_position_embeddings": card.get("maxContext", cfg["seq_len"]),
        "rms_norm_eps": card.get("rmsEps", 1e-5),
        "rope_theta": float(card.get("ropeTheta", 10000)),
        "rope_scaling": None,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": cfg["tied"],
        "bos_token_id": card.get("bos", 1),
        "eos_token_id": card.get("eos", [2])[0],
        "torch_dtype": cfg["dtype"],
    }
    json.dump(config, open(os.path.join(dst, "config.json"), "w"), indent=2)
    tok = card.get("tokenizer")
    if tok and tok.endswith(".json"):
        shutil.copy(os.path.join(src, tok), os.path.join(dst, "tokenizer.json"))
    return config


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="llama2.c model folder with model.json (e.g. models/minillama-12l)")
    ap.add_argument("dst", help="output Hugging Face folder")
    a = ap.parse_args()
    c = convert(a.src, a.dst)
    print(f"llama2c_to_hf: {a.src} -> {a.dst} ({c['num_hidden_layers']} layers, width {c['hidden_size']}, {c['num_attention_heads']}/{c['num_key_value_heads']} heads, {c['torch_dtype']})")
