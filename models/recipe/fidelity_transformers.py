#!/usr/bin/env python3
"""The Hugging Face side of the fidelity check (run on the GPU machine: torch, transformers,
safetensors, tokenizers, onnx; no network). Two commands:

  greedy   transformers' greedy tokens on a Hugging Face folder (e.g. the embedded model converted
           by llama2c_to_hf.py): every prompt from a JSON list, BOS + the folder's tokenizer.json
           ids, N new tokens (EOS ignored), with the top-1 minus top-2 logit of every step.

  fixture  the CI fixture no one here wrote the answer to:
           (b) a tiny random LlamaForCausalLM (2 layers, GQA 4/2, Llama-3 rope scaling, untied,
               bf16 safetensors) saved by transformers' save_pretrained, and a byte-level BPE
               tokenizer.json trained by the `tokenizers` library on text of this repository, with
               a Llama-3-style chat template in tokenizer_config.json; fixture.json holds the ids
               `tokenizers` gives for some strings, the chat template as transformers renders it,
               transformers' RoPE frequencies, and its greedy tokens for some prompts;
           (c) that model exported to ONNX with torch's exporter, wrapped in a module whose forward
               takes and returns plain tensors (past keys and values included) in the Hugging Face /
               optimum naming the project's "your ONNX decoder" path reads (src/model/io-names.ts);
               the wrapper is checked against transformers' logits first, the export against
               onnxruntime CPU's greedy tokens.

    python3 models/recipe/fidelity_transformers.py greedy --folder DIR --prompts models/recipe/fidelity-prompts.json --max-new 32 --out FILE
    python3 models/recipe/fidelity_transformers.py fixture --out tests/fixtures/hf-tiny
"""
import argparse
import json
import math
import os
import sys

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def versions():
    import tokenizers
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "python": sys.version.split()[0]}


def load_causal_lm(folder):
    from transformers import LlamaForCausalLM

    try:
        m = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32)
    except TypeError:  # transformers 4 names it torch_dtype
        m = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
    return m.eval()


@torch.no_grad()
def greedy_with_margins(model, ids, n):
    """Greedy decoding by full forward passes (no cache): the token and the top-1 minus top-2 logit per step."""
    seq = list(ids)
    tokens, margins = [], []
    for _ in range(n):
        logits = model(torch.tensor([seq])).logits[0, -1].float()
        top = torch.topk(logits, 2)
        tokens.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(tokens[-1])
    return tokens, margins


@torch.no_grad()
def generate_check(model, ids, n):
    """transformers' own generate (greedy, EOS ignored through min_new_tokens) for the same prompt."""
    out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long), max_new_tokens=n, min_new_tokens=n, do_sample=False, num_beams=1)
    return [int(t) for t in out[0, len(ids):]]


def safe(f):
    """A cross-check's result, or its error as text (it must not stop the run)."""
    try:
        return f()
    except Exception as e:  # noqa: BLE001
        return f"error: {e}"


def bos_of(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    return cfg.get("bos_token_id", 1)


def cmd_greedy(a):
    from tokenizers import Tokenizer

    model = load_causal_lm(a.folder)
    tok = Tokenizer.from_file(os.path.join(a.folder, "tokenizer.json"))
    bos = bos_of(a.folder)
    prompts = json.load(open(a.prompts))
    greedy = []
    for p in prompts:
        ids = [bos] + tok.encode(p, add_special_tokens=False).ids
        tokens, margins = greedy_with_margins(model, ids, a.max_new)
        greedy.append({"prompt": p, "ids": ids, "tokens": tokens, "margins": margins})
    out = {"model": a.folder, "versions": versions(), "maxNewTokens": a.max_new, "generateAgrees": safe(lambda: generate_check(model, greedy[0]["ids"], a.max_new) == greedy[0]["tokens"]), "greedy": greedy}
    json.dump(out, open(a.out, "w"), indent=1)
    print(f"greedy: {len(greedy)} prompts x {a.max_new} tokens; model.generate agrees with the loop: {out['generateAgrees']}")


# --- the fixture -------------------------------------------------------------------------------

# Llama-3-Instruct's chat template (its tokenizer_config.json), over this tokenizer's special tokens.
CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
TOKENIZER_CASES = [
    "Once upon a time, there was a little girl named Lily.",
    "  two leading spaces, and two  inside",
    "line one\nline two\n\n\ttabbed",
    "def add(a, b):\n    return a + b\n",
    "accents é ü ñ, CJK 你好世界, emoji 🙂👍",
    "numbers 3.14159 and 1,000,000",
    "<|begin_of_text|>special tokens<|eot_id|> inside text",
    "",
]
GREEDY_PROMPTS = ["Once upon a time", "def add(a, b):\n    return", "The King James Bible says", "It is a truth universally acknowledged"]
CHAT_MESSAGES = [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "  What is KV-cache compression?  "}]


def repo_texts(root, limit_chars=600_000):
    """Training text for the tokenizer: the embedded model's held-out prose and code (in the repository)."""
    texts, n = [], 0
    for name in ("prose.jsonl", "code.jsonl"):
        for line in open(os.path.join(root, "models", "minillama-12l", "heldout", name), encoding="utf-8"):
            t = json.loads(line)["text"]
            texts.append(t)
            n += len(t)
            if n > limit_chars:
                break
    return texts


def train_tokenizer(texts, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), min_frequency=2, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def tiny_config(vocab, bos, eos):
    import transformers
    from transformers import LlamaConfig

    scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    kw = dict(vocab_size=vocab, hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=bos, eos_token_id=eos,
              hidden_act="silu", initializer_range=0.25)
    if int(transformers.__version__.split(".")[0]) >= 5:
        return LlamaConfig(rope_parameters={**scaling, "rope_theta": 10000.0}, **kw)
    return LlamaConfig(rope_theta=10000.0, rope_scaling=scaling, **kw)


class Decoder(torch.nn.Module):
    """LlamaForCausalLM's forward with the cache as plain tensors: (input_ids [B,T], attention_mask
    [B,P+T], position_ids [B,T], past key/value [B,KV,P,D] per layer) -> (logits [B,T,V], present
    key/value [B,KV,P+T,D] per layer). Same math as transformers' eager attention: half-split RoPE
    with the model's own inv_freq (Llama-3 scaling included), GQA, SwiGLU, RMSNorm."""

    def __init__(self, hf):
        super().__init__()
        c = hf.config
        self.m = hf
        self.heads = c.num_attention_heads
        self.kv = c.num_key_value_heads
        self.d = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        self.eps = c.rms_norm_eps
        self.register_buffer("inv_freq", hf.model.rotary_emb.inv_freq.detach().clone().float(), persistent=False)
        self.scale = float(getattr(hf.model.rotary_emb, "attention_scaling", 1.0))

    def norm(self, x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    @staticmethod
    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        B, T = input_ids.shape
        P = past[0].shape[2]
        N = P + T
        x = self.m.model.embed_tokens(input_ids)
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = (emb.cos() * self.scale)[:, None]
        sin = (emb.sin() * self.scale)[:, None]
        j = torch.arange(N, device=input_ids.device)
        t = torch.arange(T, device=input_ids.device) + P
        allowed = (j[None, None, :] <= t[None, :, None]) & (attention_mask[:, None, :] == 1)
        bias = torch.where(allowed, 0.0, -1e9)[:, None]
        presents = []
        for i, layer in enumerate(self.m.model.layers):
            a = layer.self_attn
            h = self.norm(x, layer.input_layernorm.weight)
            q = a.q_proj(h).view(B, T, self.heads, self.d).transpose(1, 2)
            k = a.k_proj(h).view(B, T, self.kv, self.d).transpose(1, 2)
            v = a.v_proj(h).view(B, T, self.kv, self.d).transpose(1, 2)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            k = torch.cat((past[2 * i], k), dim=2)
            v = torch.cat((past[2 * i + 1], v), dim=2)
            presents += [k, v]
            g = self.heads // self.kv
            kk = k[:, :, None].expand(B, self.kv, g, N, self.d).reshape(B, self.heads, N, self.d)
            vv = v[:, :, None].expand(B, self.kv, g, N, self.d).reshape(B, self.heads, N, self.d)
            s = torch.matmul(q, kk.transpose(2, 3)) / math.sqrt(self.d) + bias
            o = torch.matmul(torch.softmax(s.float(), dim=-1), vv).transpose(1, 2).reshape(B, T, self.heads * self.d)
            x = x + a.o_proj(o)
            h = self.norm(x, layer.post_attention_layernorm.weight)
            mlp = layer.mlp
            x = x + mlp.down_proj(torch.nn.functional.silu(mlp.gate_proj(h)) * mlp.up_proj(h))
        logits = self.m.lm_head(self.norm(x, self.m.model.norm.weight))
        return (logits, *presents)


def export_onnx(model, folder, layers, kv, d, vocab, max_ctx, bos, eos):
    dec = Decoder(model).eval()
    # the wrapper first: its logits must be transformers' (prefill, then one step on a past)
    ids = torch.tensor([[bos, 5, 17, 42, 99, 7]])
    with torch.no_grad():
        ref = model(ids).logits
        empty = [torch.zeros(1, kv, 0, d) for _ in range(2 * layers)]
        pre = dec(ids[:, :5], torch.ones(1, 5, dtype=torch.long), torch.arange(5)[None], *empty)
        step = dec(ids[:, 5:], torch.ones(1, 6, dtype=torch.long), torch.tensor([[5]]), *pre[1:])
    diff = max(float((pre[0] - ref[:, :5]).abs().max()), float((step[0][:, 0] - ref[:, 5]).abs().max()))
    if diff > 1e-3:
        raise SystemExit(f"the export wrapper differs from transformers by {diff} in logits")
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "total"}, "position_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    for i in range(layers):
        for kind in ("key", "value"):
            inputs.append(f"past_key_values.{i}.{kind}")
            outputs.append(f"present.{i}.{kind}")
            axes[inputs[-1]] = {0: "batch", 2: "past"}
            axes[outputs[-1]] = {0: "batch", 2: "total"}
    B, P, T = 2, 3, 4
    args = (torch.ones(B, T, dtype=torch.long), torch.ones(B, P + T, dtype=torch.long), torch.arange(P, P + T)[None].repeat(B, 1), *[torch.zeros(B, kv, P, d) for _ in range(2 * layers)])
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    path = os.path.join(folder, "onnx", "model.onnx")
    try:
        torch.onnx.export(dec, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=17, dynamo=False)
        how = "torch.onnx.export (TorchScript exporter, dynamic_axes)"
    except Exception as e:  # a torch without the TorchScript exporter: torch.export with dynamic shapes
        print(f"fixture: TorchScript export failed ({e}); trying dynamo=True", file=sys.stderr)
        batch, seq, past = torch.export.Dim("batch"), torch.export.Dim("sequence"), torch.export.Dim("past")
        total = past + seq
        shapes = [{0: batch, 1: seq}, {0: batch, 1: total}, {0: batch, 1: seq}] + [{0: batch, 2: past}] * (2 * layers)
        prog = torch.onnx.export(dec, args, input_names=inputs, output_names=outputs, dynamic_shapes=tuple(shapes), dynamo=True)
        prog.save(path)
        how = "torch.onnx.export(dynamo=True)"
    card = {
        "name": "hf-tiny-onnx", "format": "onnx", "path": "model.onnx", "tokenizer": "../tokenizer.json", "tokenizerFormat": "hf",
        "layers": layers, "heads": model.config.num_attention_heads, "kvHeads": kv, "headDim": d, "vocabSize": vocab, "maxContext": max_ctx,
        "bos": bos, "eos": [eos], "description": "the tiny fixture model exported to ONNX by models/recipe/fidelity_transformers.py",
    }
    json.dump(card, open(os.path.join(folder, "onnx", "model.json"), "w"), indent=2)
    return {"exporter": how, "wrapperMaxAbsLogitDiff": diff}


def ort_greedy(path, ids, n, layers, kv, d):
    import numpy as np
    import onnxruntime as ort

    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    past = [np.zeros((1, kv, 0, d), np.float32) for _ in range(2 * layers)]
    cur, pos, out = list(ids), 0, []
    for _ in range(n):
        T = len(cur)
        feeds = {"input_ids": np.array([cur], np.int64), "attention_mask": np.ones((1, pos + T), np.int64), "position_ids": np.arange(pos, pos + T, dtype=np.int64)[None]}
        for i in range(layers):
            feeds[f"past_key_values.{i}.key"], feeds[f"past_key_values.{i}.value"] = past[2 * i], past[2 * i + 1]
        r = s.run(None, feeds)
        tok = int(r[0][0, -1].argmax())
        out.append(tok)
        past, pos, cur = r[1:], pos + T, [tok]
    return out


def render_chat(folder, tcfg):
    """The chat template as transformers renders it (apply_chat_template); if this transformers cannot
    load the folder's tokenizer, as transformers' renderer does it: jinja2's sandbox with trim_blocks
    and lstrip_blocks. The fixture records which."""
    try:
        from transformers import AutoTokenizer

        t = AutoTokenizer.from_pretrained(folder)
        return t.apply_chat_template(CHAT_MESSAGES, tokenize=False, add_generation_prompt=True), "transformers AutoTokenizer.apply_chat_template"
    except Exception as e:  # noqa: BLE001 - recorded in the fixture
        print(f"fixture: AutoTokenizer failed ({e}); rendering with jinja2 as transformers does", file=sys.stderr)
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        out = env.from_string(tcfg["chat_template"]).render(messages=CHAT_MESSAGES, add_generation_prompt=True, bos_token=tcfg["bos_token"], eos_token=tcfg["eos_token"])
        return out, "jinja2 ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks)"


def cmd_fixture(a):
    root = os.path.abspath(a.repo)
    folder = os.path.abspath(a.out)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(0)
    tok = train_tokenizer(repo_texts(root), a.vocab)
    tok.save(os.path.join(folder, "tokenizer.json"))
    bos, eos = tok.token_to_id("<|begin_of_text|>"), tok.token_to_id("<|end_of_text|>")
    vocab = tok.get_vocab_size()
    tcfg = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "clean_up_tokenization_spaces": False, "model_max_length": 256,
            "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": CHAT_TEMPLATE}
    json.dump(tcfg, open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=2)
    cases = []
    for s in TOKENIZER_CASES:
        ids = tok.encode(s, add_special_tokens=False).ids
        cases.append({"text": s, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=True), "decodedWithSpecial": tok.decode(ids, skip_special_tokens=False)})
    from transformers import LlamaForCausalLM

    rendered, rendered_by = render_chat(folder, tcfg)

    torch.manual_seed(0)
    model = LlamaForCausalLM(tiny_config(vocab, bos, eos)).eval()
    rope = model.model.rotary_emb
    if getattr(rope, "rope_type", None) != "llama3":
        raise SystemExit(f"the tiny model's RoPE is {getattr(rope, 'rope_type', None)}, not llama3: rope scaling did not reach transformers")
    # copied before the bf16 cast below: Module.to() casts the inv_freq buffer in place, and the
    # greedy run reloads in float32, so float32 is what transformers computes with
    inv_freq = [float(x) for x in rope.inv_freq.detach().float().tolist()]
    try:
        model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True)
    except TypeError:  # a transformers where safetensors is the only format
        model.to(torch.bfloat16).save_pretrained(folder)
    model = load_causal_lm(folder)  # the saved bf16 values, computed in float32
    c = model.config
    d = c.hidden_size // c.num_attention_heads
    greedy = []
    for p in GREEDY_PROMPTS:
        ids = [bos] + tok.encode(p, add_special_tokens=False).ids
        tokens, margins = greedy_with_margins(model, ids, a.max_new)
        greedy.append({"prompt": p, "ids": ids, "tokens": tokens, "margins": margins})
    onnx = export_onnx(model, folder, c.num_hidden_layers, c.num_key_value_heads, d, vocab, c.max_position_embeddings, bos, eos)
    onnx["ortGreedyEqual"] = [ort_greedy(os.path.join(folder, "onnx", "model.onnx"), g["ids"], a.max_new, c.num_hidden_layers, c.num_key_value_heads, d) == g["tokens"] for g in greedy]
    fixture = {
        "about": "made by models/recipe/fidelity_transformers.py fixture (ci/fidelity-device.sh) on the GPU machine; the tests check the project against it",
        "versions": versions(),
        "bos": bos,
        "eos": eos,
        "tokenizer": {"cases": cases},
        "chatTemplate": {"messages": CHAT_MESSAGES, "rendered": rendered, "renderedBy": rendered_by},
        "rope": {"headDim": d, "invFreq": inv_freq, "invFreqDtype": "float32", "attentionScaling": float(getattr(rope, "attention_scaling", 1.0))},
        "generateAgrees": safe(lambda: generate_check(model, greedy[0]["ids"], a.max_new) == greedy[0]["tokens"]),
        "greedy": greedy,
        "onnx": onnx,
    }
    json.dump(fixture, open(os.path.join(folder, "fixture.json"), "w"), indent=1, ensure_ascii=False)
    print(f"fixture: {folder} (vocab {vocab}, {len(greedy)} prompts x {a.max_new} tokens; onnx {onnx['exporter']}, onnxruntime agrees: {onnx['ortGreedyEqual']})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("greedy")
    g.add_argument("--folder", required=True)
    g.add_argument("--prompts", required=True)
    g.add_argument("--max-new", type=int, default=32)
    g.add_argument("--out", required=True)
    f = sub.add_parser("fixture")
    f.add_argument("--out", required=True)
    f.add_argument("--repo", default=".")
    f.add_argument("--vocab", type=int, default=512)
    f.add_argument("--max-new", type=int, default=24)
    a = ap.parse_args()
    cmd_greedy(a) if a.cmd == "greedy" else cmd_fixture(a)
