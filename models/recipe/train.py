#!/usr/bin/env python3
"""minillama-12l: tokenizer training, model training, evaluation and llama2.c fp16 export.

Runs on the GPU machine (PyTorch 2.11 + CUDA, Hugging Face `tokenizers`), in one command:

  PYTHONUNBUFFERED=1 python3 models/recipe/train.py --corpus .corpus/corpus.jsonl.xz \
      --out "$OUT" --time-budget 540

Stages (all in this one process, time-aware so that everything ends inside --time-budget s):
  1. read the corpus written by build_corpus.py (train / val / heldout splits);
  2. train a Llama-2-shaped byte-fallback BPE tokenizer (8192 ids) on the train split only;
  3. tokenize every document as <s> text </s>;
  4. smoke test of the whole pipeline on a tiny budget (eager, 20 steps, export, re-load, eval,
     greedy decode) so that a bug shows up in seconds;
  5. training (bf16 autocast, torch.compile, fused AdamW, cosine LR with warm-up, sequence length
     2048 throughout); the number of steps is fixed from the measured step time unless --steps
     is given; the validation split picks the best weights;
  6. export model.bin (llama2.c v0 header, float16 arrays, no RoPE tables), re-load it from the
     file, measure held-out perplexity with the fp16 weights (fp32 arithmetic) and the unigram
     baseline on the same held-out tokens, and produce greedy continuations;
  7. write tokenizer.json, metrics.json, loss.csv, loss.png, and model.bin split in two parts
     (files come back from the GPU machine at most 16 MiB each).
"""
import argparse
import hashlib
import json
import lzma
import math
import os
import struct
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

T0 = time.time()


def log(*a):
    print(f'[{time.time() - T0:7.1f}s]', *a, flush=True)


# ----------------------------------------------------------------------------------------------
# Configuration (decided by the project lead; the harness reads these from model.json)

CFG = dict(dim=256, hidden_dim=576, n_layers=12, n_heads=4, n_kv_heads=2, vocab_size=8192,
           seq_len=2048, norm_eps=1e-5, rope_theta=10000.0)
UNK, BOS, EOS = 0, 1, 2
SP = '\u2581'  # ▁
# Pre-tokenization used ONLY while learning the merges (keeps letters, single digits,
# punctuation, whitespace runs and newline runs apart). The saved tokenizer has no
# pre-tokenizer (Llama-2 shape); the corpus is tokenized with the saved tokenizer itself.
TRAIN_SPLIT = SP + r'?\p{L}+|' + SP + r'?\p{N}|' + SP + r'?[^\p{L}\p{N}' + SP + r'\n\t]+|' + SP + r'+(?=' + SP + r')|' + SP + r'+|\n+|\t+'


# ----------------------------------------------------------------------------------------------
# Tokenizer

def train_tokenizer(texts, vocab_size):
    from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(unk_token='<unk>', byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend(SP), normalizers.Replace(' ', SP)])
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(TRAIN_SPLIT), behavior='isolated')
    specials = ['<unk>', '<s>', '</s>'] + [f'<0x{i:02X}>' for i in range(256)]
    alphabet = [chr(c) for c in range(32, 127)] + ['\n', '\t', SP]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, min_frequency=2,
                                  limit_alphabet=160, initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    trained = json.loads(tok.to_str())
    vocab = trained['model']['vocab']
    merges = [m if isinstance(m, list) else m.split(' ') for m in trained['model']['merges']]
    for i, s in enumerate(specials):
        assert vocab[s] == i, (s, vocab.get(s))
    inv = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in inv] == list(range(len(inv))), 'vocabulary ids are not contiguous'
    for a, b in merges:
        assert ' ' not in a and ' ' not in b
    final = {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [
            {'id': i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False,
             'normalized': False, 'special': True} for i, s in enumerate(specials[:3])],
        'normalizer': {'type': 'Sequence', 'normalizers': [
            {'type': 'Prepend', 'prepend': SP},
            {'type': 'Replace', 'pattern': {'String': ' '}, 'content': SP}]},
        'pre_tokenizer': None,
        'post_processor': None,
        'decoder': {'type': 'Sequence', 'decoders': [
            {'type': 'Replace', 'pattern': {'String': SP}, 'content': ' '},
            {'type': 'ByteFallback'},
            {'type': 'Fuse'},
            {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<unk>',
                  'continuing_subword_prefix': None, 'end_of_word_suffix': None,
                  'fuse_unk': True, 'byte_fallback': True, 'ignore_merges': False,
                  'vocab': dict(inv), 'merges': [f'{a} {b}' for a, b in merges]},
    }
    text = json.dumps(final, ensure_ascii=False, indent=1)
    return text, Tokenizer.from_str(text)


def encode_docs(tok, texts, batch=512):
    """Token ids of each text, without BOS/EOS (the caller adds them)."""
    fn = getattr(tok, 'encode_batch_fast', None) or tok.encode_batch
    out = []
    for i in range(0, len(texts), batch):
        encs = fn(texts[i:i + batch], add_special_tokens=False)
        out.extend(np.asarray(e.ids, dtype=np.uint16) for e in encs)
    return out


def stream_of(id_lists):
    parts = []
    for ids in id_lists:
        parts += [np.array([BOS], np.uint16), ids, np.array([EOS], np.uint16)]
    return np.concatenate(parts) if parts else np.zeros(0, np.uint16)


# ----------------------------------------------------------------------------------------------
# Model (llama2.c conventions: interleaved RoPE pairs, GQA head h -> kv head h // (H / KV))

def rope_tables(T, hd, theta, device):
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, device=device, dtype=torch.float32) / hd))
    ang = torch.outer(torch.arange(T, device=device, dtype=torch.float32), inv)
    return torch.cos(ang), torch.sin(ang)  # [T, hd/2]


def apply_rope(x, cos, sin):
    # x [B, T, h, hd]; pairs (2i, 2i+1) rotate together by angle pos * theta^(-2i/hd)
    xf = x.float()
    x0, x1 = xf[..., 0::2], xf[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)
    return out.type_as(x)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, H, KV = c['dim'], c['n_heads'], c['n_kv_heads']
        self.H, self.KV, self.hd = H, KV, D // H
        self.attention_norm = RMSNorm(D, c['norm_eps'])
        self.wq = nn.Linear(D, H * self.hd, bias=False)
        self.wk = nn.Linear(D, KV * self.hd, bias=False)
        self.wv = nn.Linear(D, KV * self.hd, bias=False)
        self.wo = nn.Linear(H * self.hd, D, bias=False)
        self.ffn_norm = RMSNorm(D, c['norm_eps'])
        self.w1 = nn.Linear(D, c['hidden_dim'], bias=False)
        self.w2 = nn.Linear(c['hidden_dim'], D, bias=False)
        self.w3 = nn.Linear(D, c['hidden_dim'], bias=False)

    def forward(self, x, cos, sin):
        B, T, D = x.shape
        h = self.attention_norm(x)
        q = apply_rope(self.wq(h).view(B, T, self.H, self.hd), cos, sin).transpose(1, 2)
        k = apply_rope(self.wk(h).view(B, T, self.KV, self.hd), cos, sin).transpose(1, 2)
        v = self.wv(h).view(B, T, self.KV, self.hd).transpose(1, 2)
        rep = self.H // self.KV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(y.transpose(1, 2).reshape(B, T, D))
        h = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_embeddings = nn.Embedding(c['vocab_size'], c['dim'])
        self.layers = nn.ModuleList(Block(c) for _ in range(c['n_layers']))
        self.norm = RMSNorm(c['dim'], c['norm_eps'])
        hd = c['dim'] // c['n_heads']
        cos, sin = rope_tables(c['seq_len'], hd, c['rope_theta'], 'cpu')
        self.register_buffer('cos', cos, persistent=False)
        self.register_buffer('sin', sin, persistent=False)
        std = 0.02
        for n, p in self.named_parameters():
            if p.dim() == 2:
                s = std / math.sqrt(2 * c['n_layers']) if n.endswith(('wo.weight', 'w2.weight')) else std
                nn.init.normal_(p, mean=0.0, std=s)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok_embeddings(idx)
        cos, sin = self.cos[:T], self.sin[:T]
        for layer in self.layers:
            x = layer(x, cos, sin)
        x = self.norm(x)
        return F.linear(x, self.tok_embeddings.weight)  # tied classifier


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------------------------
# llama2.c v0 export, float16, no RoPE tables

def export_arrays(model):
    c = model.c
    L = model.layers
    g = lambda t: t.detach().float().cpu().numpy()
    arrs = [g(model.tok_embeddings.weight)]
    for name in ('attention_norm', 'wq', 'wk', 'wv', 'wo', 'ffn_norm', 'w1', 'w2', 'w3'):
        arrs.append(np.stack([g(getattr(l, name).weight) for l in L]))
    arrs.append(g(model.norm.weight))
    return arrs


def export_llama2c_fp16(model, path):
    c = model.c
    header = struct.pack('<7i', c['dim'], c['hidden_dim'], c['n_layers'], c['n_heads'],
                         c['n_kv_heads'], c['vocab_size'], c['seq_len'])
    with open(path, 'wb') as f:
        f.write(header)
        for a in export_arrays(model):
            f.write(np.ascontiguousarray(a).astype('<f2').tobytes())
    return os.path.getsize(path)


def load_llama2c_fp16(path, device):
    """Parse model.bin with the documented layout (independently of export) into a new model."""
    buf = open(path, 'rb').read()
    dim, hidden, L, H, KV, V, T = struct.unpack_from('<7i', buf, 0)
    shared = V > 0
    V = abs(V)
    hd = dim // H
    c = dict(CFG, dim=dim, hidden_dim=hidden, n_layers=L, n_heads=H, n_kv_heads=KV, vocab_size=V, seq_len=T)
    w = np.frombuffer(buf, dtype='<f2', offset=28).astype(np.float32)
    shapes = [('emb', (V, dim)), ('attention_norm', (L, dim)), ('wq', (L, dim, dim)), ('wk', (L, KV * hd, dim)),
              ('wv', (L, KV * hd, dim)), ('wo', (L, dim, dim)), ('ffn_norm', (L, dim)), ('w1', (L, hidden, dim)),
              ('w2', (L, dim, hidden)), ('w3', (L, hidden, dim)), ('norm', (dim,))]
    off, P = 0, {}
    for name, shp in shapes:
        n = int(np.prod(shp))
        P[name] = w[off:off + n].reshape(shp)
        off += n
    assert off == len(w), f'{len(w) - off} trailing values'
    assert shared
    m = Llama(c)
    with torch.no_grad():
        m.tok_embeddings.weight.copy_(torch.from_numpy(P['emb']))
        m.norm.weight.copy_(torch.from_numpy(P['norm']))
        for i, l in enumerate(m.layers):
            for name in ('attention_norm', 'wq', 'wk', 'wv', 'wo', 'ffn_norm', 'w1', 'w2', 'w3'):
                getattr(l, name).weight.copy_(torch.from_numpy(P[name][i]))
    return m.to(device)


# ----------------------------------------------------------------------------------------------
# Evaluation

def windows(stream, T, max_windows=None):
    n = (len(stream) - 1) // T
    if max_windows:
        n = min(n, max_windows)
    idx = np.arange(n)[:, None] * T + np.arange(T + 1)[None, :]
    return torch.from_numpy(stream[idx].astype(np.int64))


@torch.no_grad()
def eval_nll(model, stream, T, device, batch=16, max_windows=None, autocast=False):
    """Sum of -log p and count over all targets except BOS, non-overlapping windows."""
    model.eval()
    W = windows(stream, T, max_windows)
    tot, cnt = 0.0, 0
    for i in range(0, len(W), batch):
        w = W[i:i + batch].to(device)
        x, y = w[:, :-1], w[:, 1:]
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=autocast):
            logits = model(x)
        nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction='none')
        mask = (y.reshape(-1) != BOS)
        tot += float(nll[mask].double().sum())
        cnt += int(mask.sum())
    model.train()
    return tot, cnt, W


def unigram_nll(counts, W):
    V = len(counts)
    p = (counts.astype(np.float64) + 1.0) / (counts.sum() + V)
    y = W[:, 1:].numpy().reshape(-1)
    y = y[y != BOS]
    return float(-np.log(p[y]).sum()), len(y)


@torch.no_grad()
def greedy(model, ids, n_new, device):
    model.eval()
    ids = list(ids)
    out = []
    for _ in range(n_new):
        x = torch.tensor([ids[-model.c['seq_len']:]], device=device)
        nxt = int(model(x)[0, -1].float().argmax())
        out.append(nxt)
        ids.append(nxt)
        if nxt == EOS:
            break
    model.train()
    return out


def pick_prompts(docs):
    """Deterministic prompts from held-out documents: one prose, one code. Never raises."""
    held = sorted((d for d in docs if d['split'] == 'heldout'), key=lambda d: d['id'])
    prose = None
    for src in ('austen', 'sotu', 'kjv', 'pydoc', 'linuxdoc', 'gcide'):
        cands = [d for d in held if d['source'] == src and len(d['text']) > 2000]
        if cands:
            prose = cands[0]
            break
    prose = prose or next(d for d in held if d['kind'] == 'prose')
    t = prose['text']
    cut = t[:700]
    j = cut.rfind('. ')
    prose_prompt = cut[:j + 1] if j > 200 else cut[:max(1, cut.rfind(' '))]
    code, k = None, -1
    for src in ('pystdlib', 'django', 'numpy', 'sympy'):
        for d in held:
            if d['source'] != src or len(d['text']) < 3000 or '/test' in d['id'] or '/encodings/' in d['id']:
                continue
            t = d['text']
            k = t.find('\n    def ', 400)
            if k < 0:
                k = t.find('\ndef ', 400)
            if 0 <= k < 20000:
                code = d
                break
        if code:
            break
    if code is None:
        code = next(d for d in held if d['kind'] == 'code')
        code_prompt = code['text'][:600]
    else:
        t = code['text']
        end = k + 1
        for _ in range(3):  # the def line and the two lines after it
            nl = t.find('\n', end)
            end = nl + 1 if nl >= 0 else len(t)
        start = 0 if k < 1500 else t.rfind('\n', 0, k - 800) + 1
        code_prompt = t[start:end]
    return [('prose', prose['id'], prose_prompt), ('code', code['id'], code_prompt)]


# ----------------------------------------------------------------------------------------------

def train_loop(model, train_t, val_stream, device, *, batch, T, peak_lr, min_lr, warmup, train_deadline,
               fixed_steps, use_compile, eval_every, csv_rows, log_every=50, max_steps=None, label='train'):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    fused = device == 'cuda'
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=peak_lr, betas=(0.9, 0.95), eps=1e-8, fused=fused)
    fwd = model
    if use_compile:
        try:
            fwd = torch.compile(model)
        except Exception:
            log('torch.compile failed, eager:', traceback.format_exc(limit=2))
            fwd = model
    N = len(train_t)
    ar = torch.arange(T + 1, device=device)
    gen = torch.Generator(device=device)
    gen.manual_seed(1234)
    total = fixed_steps or max_steps or 10 ** 9
    calib_at, calib_from = 60, 20
    t_calib = None
    best = (float('inf'), None, -1)
    val_W = None
    loss_acc = torch.zeros((), device=device)
    acc_n = 0
    step = 0
    tok_per_step = batch * T
    t_start = time.time()

    def lr_at(s):
        if s < warmup:
            return peak_lr * (s + 1) / warmup
        prog = min(1.0, (s - warmup) / max(1, total - warmup))
        return min_lr + 0.5 * (peak_lr - min_lr) * (1 + math.cos(math.pi * prog))

    def do_eval():
        nonlocal best
        tot, cnt, _ = eval_nll(model, val_stream, T, device, batch=16, max_windows=48, autocast=True)
        vl = tot / max(cnt, 1)
        if vl < best[0]:
            best = (vl, {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
        return vl

    while step < total:
        if time.time() > train_deadline:
            log(f'{label}: deadline reached at step {step}')
            break
        lr = lr_at(step)
        for gparam in opt.param_groups:
            gparam['lr'] = lr
        off = torch.randint(0, N - T - 1, (batch,), device=device, generator=gen)
        w = train_t[off[:, None] + ar[None, :]].long()
        x, y = w[:, :-1], w[:, 1:]
        with torch.autocast('cuda', dtype=torch.bfloat16):
            try:
                logits = fwd(x)
            except Exception:
                if fwd is model:
                    raise
                log('compiled forward failed, falling back to eager:', traceback.format_exc(limit=3))
                fwd = model
                logits = fwd(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_acc += loss.detach()
        acc_n += 1
        step += 1
        if step == calib_from:
            torch.cuda.synchronize()
            t_calib = time.time()
        if step == calib_at and not fixed_steps:
            torch.cuda.synchronize()
            dt = (time.time() - t_calib) / (calib_at - calib_from)
            left = train_deadline - time.time()
            n_evals = 1 + left / dt / eval_every
            left -= n_evals * 0.6  # validation passes (eager, 48 windows)
            total = step + int(left / dt * 0.97)
            if max_steps:
                total = min(total, max_steps)
            log(f'{label}: {dt * 1000:.1f} ms/step = {tok_per_step / dt / 1e6:.2f} M tok/s -> total steps {total} '
                f'({total * tok_per_step / 1e6:.0f} M tokens)')
        if step % 10 == 0 or step == total:
            tl = float(loss_acc) / acc_n
            loss_acc.zero_()
            acc_n = 0
            vl = ''
            if step % eval_every == 0 or step == total:
                vl = do_eval()
            csv_rows.append((step, step * tok_per_step, lr, tl, vl, time.time() - T0))
            if step % log_every == 0 or vl != '':
                log(f'{label} step {step}/{total} loss {tl:.4f} val {vl if vl == "" else round(vl, 4)} lr {lr:.2e} '
                    f'{step * tok_per_step / max(1e-9, time.time() - t_start) / 1e6:.2f} M tok/s avg')
    if best[1] is None or (csv_rows and csv_rows[-1][4] == '' and step > best[2]):
        do_eval()
    return best, step, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--corpus', default='.corpus/corpus.jsonl.xz')
    ap.add_argument('--out', default=os.environ.get('OUT', 'out'))
    ap.add_argument('--time-budget', type=float, default=540.0, help='seconds for the whole script')
    ap.add_argument('--steps', type=int, default=0, help='fixed number of training steps (default: fit the budget)')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=1.5e-3)
    ap.add_argument('--min-lr', type=float, default=1.5e-4)
    ap.add_argument('--warmup', type=int, default=250)
    ap.add_argument('--no-compile', action='store_true')
    ap.add_argument('--skip-smoke', action='store_true')
    ap.add_argument('--tok-chars-per-doc', type=int, default=40000)
    ap.add_argument('--new-tokens', type=int, default=96)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    deadline = T0 + args.time_budget
    device = 'cuda'
    torch.manual_seed(1234)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    log('torch', torch.__version__, torch.cuda.get_device_name(0))
    import tokenizers
    log('tokenizers', tokenizers.__version__)
    metrics = {'config': CFG, 'args': vars(args), 'torch': torch.__version__, 'tokenizers': tokenizers.__version__,
               'gpu': torch.cuda.get_device_name(0)}

    # 1. corpus
    docs = []
    with lzma.open(args.corpus, 'rt', encoding='utf-8') as f:
        for line in f:
            docs.append(json.loads(line))
    log(f'corpus: {len(docs)} documents, {sum(len(d["text"]) for d in docs) / 1e6:.1f} M chars')

    # 2. tokenizer (train split only)
    tok_texts = [d['text'][:args.tok_chars_per_doc] for d in docs if d['split'] == 'train']
    tok_json, tok = train_tokenizer(tok_texts, CFG['vocab_size'])
    del tok_texts
    with open(os.path.join(args.out, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        f.write(tok_json)
    if hasattr(tok, 'encode_special_tokens'):
        tok.encode_special_tokens = True  # literal "<s>" in a document is text, not BOS
    vocab_n = tok.get_vocab_size()
    log(f'tokenizer trained: {vocab_n} ids')
    rt_samples = ['def f(x):\n\tif x:\n\t\treturn  x  # two  spaces\n    else:\n        pass\n',
                  '  leading spaces, trailing  ', 'Unicode: café — naïve ✓ 数学 🙂\n\n\nend', '<s> literal </s> <0x41>']
    rt_fail = [s for s in rt_samples if tok.decode(tok.encode(s, add_special_tokens=False).ids, skip_special_tokens=False) != s]
    held_docs = [d for d in docs if d['split'] == 'heldout']
    rt_doc_fail = sum(tok.decode(tok.encode(d['text'], add_special_tokens=False).ids, skip_special_tokens=False) != d['text']
                      for d in held_docs[:200])
    log(f'round trip: {len(rt_fail)} of {len(rt_samples)} samples failed {rt_fail!r}; {rt_doc_fail} of '
        f'{min(200, len(held_docs))} held-out documents failed')
    metrics['tokenizer'] = {'vocab_size': vocab_n, 'roundtrip_sample_failures': rt_fail,
                            'roundtrip_heldout_doc_failures': rt_doc_fail,
                            'training_pre_tokenizer_regex': TRAIN_SPLIT,
                            'sha256': hashlib.sha256(tok_json.encode()).hexdigest()}

    # 3. tokenize
    ids = encode_docs(tok, [d['text'] for d in docs])
    streams, chars = {}, {}
    for sp in ('train', 'val', 'heldout'):
        sel = [i for i, d in enumerate(docs) if d['split'] == sp]
        streams[sp] = stream_of([ids[i] for i in sel])
        chars[sp] = sum(len(docs[i]['text']) for i in sel)
    for kind in ('prose', 'code'):
        sel = [i for i, d in enumerate(docs) if d['split'] == 'heldout' and d['kind'] == kind]
        streams['heldout_' + kind] = stream_of([ids[i] for i in sel])
    per_source = {}
    for i, d in enumerate(docs):
        s = per_source.setdefault(d['source'], {'train_tokens': 0, 'heldout_tokens': 0, 'chars': 0})
        s['chars'] += len(d['text'])
        if d['split'] in ('train', 'heldout'):
            s[d['split'] + '_tokens'] += len(ids[i]) + 2
    del ids
    metrics['tokens'] = {k: int(len(v)) for k, v in streams.items()}
    metrics['chars'] = chars
    metrics['chars_per_token_train'] = chars['train'] / len(streams['train'])
    metrics['tokens_per_source'] = per_source
    log('tokens:', metrics['tokens'], f'{metrics["chars_per_token_train"]:.2f} chars/token')
    counts = np.bincount(streams['train'], minlength=CFG['vocab_size'])
    train_t = torch.from_numpy(streams['train'].astype(np.int32)).to(device)
    T = CFG['seq_len']

    # 4. smoke test of the whole pipeline
    if not args.skip_smoke:
        ts = time.time()
        m = Llama(CFG).to(device)
        rows = []
        best, st, _ = train_loop(m, train_t, streams['val'], device, batch=4, T=T, peak_lr=1e-3, min_lr=1e-4,
                                 warmup=5, train_deadline=time.time() + 60, fixed_steps=20, use_compile=False,
                                 eval_every=10, csv_rows=rows, log_every=10, label='smoke')
        p = os.path.join(args.out, 'smoke.bin')
        export_llama2c_fp16(m, p)
        m2 = load_llama2c_fp16(p, device)
        x = train_t[:64].long()[None]
        with torch.no_grad():
            a, b = m(x).float(), m2(x).float()
        diff = float((a - b).abs().max())
        assert diff < 0.05 * float(a.abs().max()) + 1e-3, f'export/reload mismatch {diff}'
        tot, cnt, W = eval_nll(m2, streams['heldout'], T, device, max_windows=4)
        un, uc = unigram_nll(counts, W)
        pr = pick_prompts(docs)
        g = greedy(m2, [BOS] + tok.encode(pr[1][2], add_special_tokens=False).ids, 4, device)
        os.remove(p)
        del m, m2
        torch.cuda.empty_cache()
        log(f'SMOKE OK in {time.time() - ts:.1f}s: export diff {diff:.2e}, ppl {math.exp(tot / cnt):.1f}, '
            f'unigram {math.exp(un / uc):.1f}, greedy {g}, {len(rows)} csv rows')

    # 5. training
    model = Llama(CFG).to(device)
    metrics['n_params'] = n_params(model)
    log(f'model: {metrics["n_params"]:,} parameters')
    rows = []
    reserve = 50.0
    t_train0 = time.time()
    best, steps, total = None, 0, 0
    try:
        best, steps, total = train_loop(
            model, train_t, streams['val'], device, batch=args.batch, T=T, peak_lr=args.lr, min_lr=args.min_lr,
            warmup=args.warmup, train_deadline=deadline - reserve, fixed_steps=args.steps,
            use_compile=not args.no_compile, eval_every=250, csv_rows=rows)
    except Exception:
        log('TRAINING FAILED, exporting what there is:\n' + traceback.format_exc())
        metrics['training_error'] = traceback.format_exc()
    train_s = time.time() - t_train0
    metrics['training'] = {'steps': steps, 'planned_steps': total, 'batch': args.batch, 'seq_len': T,
                           'tokens_seen': steps * args.batch * T, 'seconds_incl_compile': train_s,
                           'epochs_over_train_split': steps * args.batch * T / len(streams['train']),
                           'peak_lr': args.lr, 'min_lr': args.min_lr, 'warmup': args.warmup,
                           'weight_decay': 0.1, 'betas': [0.9, 0.95], 'grad_clip': 1.0}
    with open(os.path.join(args.out, 'loss.csv'), 'w') as f:
        f.write('step,tokens,lr,train_loss,val_loss,elapsed_s\n')
        for r in rows:
            f.write(','.join('' if v == '' else (f'{v:.6g}' if isinstance(v, float) else str(v)) for v in r) + '\n')
    if best and best[1] is not None:
        model.load_state_dict(best[1])
        metrics['training']['best_val_loss'] = best[0]
        metrics['training']['best_val_step'] = best[2]
        log(f'best val loss {best[0]:.4f} at step {best[2]} (of {steps})')

    # 6. export + evaluation on the exported fp16 weights, fp32 arithmetic
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    mb = os.path.join(args.out, 'model.bin')
    size = export_llama2c_fp16(model, mb)
    sha = hashlib.sha256(open(mb, 'rb').read()).hexdigest()
    metrics['model_bin'] = {'bytes': size, 'sha256': sha}
    log(f'model.bin {size} bytes sha256 {sha}')
    del model
    torch.cuda.empty_cache()
    em = load_llama2c_fp16(mb, device)
    ev = {}
    for name in ('heldout', 'heldout_prose', 'heldout_code'):
        tot, cnt, W = eval_nll(em, streams[name], T, device, batch=8, max_windows=1000)
        un, uc = unigram_nll(counts, W)
        assert uc == cnt
        ev[name] = {'tokens': cnt, 'ppl': math.exp(tot / cnt), 'nll': tot / cnt,
                    'unigram_ppl': math.exp(un / uc), 'unigram_nll': un / uc}
        log(f'{name}: ppl {ev[name]["ppl"]:.2f}  unigram ppl {ev[name]["unigram_ppl"]:.2f}  ({cnt} tokens)')
    metrics['eval'] = ev
    metrics['eval_note'] = ('non-overlapping 2048-token windows over the concatenated held-out documents '
                            '(<s> text </s> each); targets equal to <s> are excluded; model: the exported fp16 '
                            'weights computed in fp32; unigram: add-one smoothed counts of the training tokens')
    gens = []
    for kind, doc_id, prompt in pick_prompts(docs):
        pids = [BOS] + tok.encode(prompt, add_special_tokens=False).ids
        out = greedy(em, pids, args.new_tokens, device)
        full = tok.decode(pids[1:] + [t for t in out if t != EOS])
        pre = tok.decode(pids[1:])
        cont = full[len(pre):] if full.startswith(pre) else tok.decode(out)
        gens.append({'kind': kind, 'doc': doc_id, 'prompt': prompt, 'prompt_ids': pids, 'output_ids': out,
                     'continuation': cont})
        log(f'--- {kind} ({doc_id})\nPROMPT: {prompt[-300:]!r}\nCONTINUATION: {cont!r}')
    metrics['greedy'] = gens
    metrics['elapsed_s'] = time.time() - T0

    # 7. files
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1, ensure_ascii=False)
    try:
        plot(rows, ev, os.path.join(args.out, 'loss.png'))
    except Exception:
        log('plot failed:', traceback.format_exc(limit=2))
    data = open(mb, 'rb').read()
    part = 12 * 1024 * 1024
    for i in range(0, len(data), part):
        with open(os.path.join(args.out, f'model.bin.part{i // part}'), 'wb') as f:
            f.write(data[i:i + part])
    os.remove(mb)
    log('done:', sorted(os.listdir(args.out)))


def plot(rows, ev, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tokens = np.array([r[1] for r in rows], dtype=np.float64) / 1e6
    tl = np.array([r[3] for r in rows])
    vt = [(r[1] / 1e6, r[4]) for r in rows if r[4] != '']
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.plot(tokens, tl, lw=0.8, label='train loss (mean of 10 steps)')
    if vt:
        ax.plot([a for a, _ in vt], [b for _, b in vt], 'o-', ms=3, label='validation loss')
    ax.axhline(ev['heldout']['unigram_nll'], color='gray', ls='--', lw=0.8,
               label=f'unigram baseline on held-out ({ev["heldout"]["unigram_nll"]:.2f})')
    ax.axhline(ev['heldout']['nll'], color='green', ls=':', lw=0.8,
               label=f'held-out, exported fp16 weights ({ev["heldout"]["nll"]:.2f})')
    ax.set_xlabel('training tokens (millions)')
    ax.set_ylabel('cross-entropy (nats / token)')
    ax.set_ylim(max(0.0, min(tl.min(), ev['heldout']['nll']) - 0.3), min(10, ev['heldout']['unigram_nll'] + 1.0))
    ax.set_title('minillama-12l training (sequence length 2048)')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


if __name__ == '__main__':
    main()
