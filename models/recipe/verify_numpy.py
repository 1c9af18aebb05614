#!/usr/bin/env python3
"""Independent NumPy forward pass over a llama2.c checkpoint (float32 arithmetic).

Proves the export layout: loading models/minillama-12l/model.bin exactly as documented (llama2.c
v0 header, float16 arrays in llama2.c order, no RoPE tables) must reproduce the greedy tokens that
the GPU machine produced (metrics.json, "greedy"). Also reads the float32 llama2.c files (with
their trailing RoPE tables), e.g. ../shared/models/stories260K, to check this forward itself.

  python3 models/recipe/verify_numpy.py                      # minillama-12l vs metrics.json
  python3 models/recipe/verify_numpy.py --stories260k PATH   # golden test of the forward pass
  python3 models/recipe/verify_numpy.py --heldout code --doc 3 --chars 800 --n 64
                                  # greedy continuation of a committed held-out document (CPU)

The tokenizer here is a small pure-Python reading of tokenizer.json (Llama-2 shape: prepend "\u2581",
spaces -> "\u2581", BPE merges by rank over the whole text, byte fallback); it is checked
against the prompt ids that Hugging Face `tokenizers` produced on the GPU machine.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, '..', 'minillama-12l')


def load(path, dtype):
    buf = open(path, 'rb').read()
    dim, hidden, L, H, KV, V, T = struct.unpack_from('<7i', buf, 0)
    cfg = dict(dim=dim, hidden=hidden, L=L, H=H, KV=KV, V=abs(V), T=T, shared=V > 0)
    V = abs(V)
    hd = dim // H
    w = np.frombuffer(buf, dtype=dtype, offset=28).astype(np.float32)
    shapes = [('emb', (V, dim)), ('rms_att', (L, dim)), ('wq', (L, dim, dim)), ('wk', (L, KV * hd, dim)),
              ('wv', (L, KV * hd, dim)), ('wo', (L, dim, dim)), ('rms_ffn', (L, dim)), ('w1', (L, hidden, dim)),
              ('w2', (L, dim, hidden)), ('w3', (L, hidden, dim)), ('rms_final', (dim,))]
    off, P = 0, {}
    for name, shp in shapes:
        n = int(np.prod(shp))
        P[name] = w[off:off + n].reshape(shp)
        off += n
    rest = len(w) - off
    cfg['trailing_values'] = rest
    return cfg, P


def rmsnorm(x, g, eps=1e-5):
    return x / np.sqrt(np.mean(x * x) + eps) * g


def rope(v, pos, hd):
    # interleaved pairs (2i, 2i+1) of every head, frequency theta^(-2i/hd)
    v = v.reshape(-1, hd // 2, 2)
    i = np.arange(hd // 2, dtype=np.float32)
    ang = pos * (1.0 / (10000.0 ** (2 * i / hd))).astype(np.float32)
    c, s = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    v0, v1 = v[..., 0], v[..., 1]
    return np.stack([v0 * c - v1 * s, v0 * s + v1 * c], -1).reshape(-1)


class Runner:
    def __init__(self, cfg, P):
        self.c, self.P = cfg, P
        self.hd = cfg['dim'] // cfg['H']
        self.kc = [[] for _ in range(cfg['L'])]
        self.vc = [[] for _ in range(cfg['L'])]
        self.pos = 0

    def step(self, tok):
        c, P, hd = self.c, self.P, self.hd
        H, KV = c['H'], c['KV']
        x = P['emb'][tok].copy()
        for l in range(c['L']):
            h = rmsnorm(x, P['rms_att'][l])
            q = rope(P['wq'][l] @ h, self.pos, hd).reshape(H, hd)
            k = rope(P['wk'][l] @ h, self.pos, hd).reshape(KV, hd)
            v = (P['wv'][l] @ h).reshape(KV, hd)
            self.kc[l].append(k)
            self.vc[l].append(v)
            K = np.stack(self.kc[l])  # [t, KV, hd]
            Vv = np.stack(self.vc[l])
            out = np.empty((H, hd), np.float32)
            for hh in range(H):
                g = hh // (H // KV)
                s = K[:, g, :] @ q[hh] / np.sqrt(hd)
                s = np.exp(s - s.max())
                s /= s.sum()
                out[hh] = s @ Vv[:, g, :]
            x = x + P['wo'][l] @ out.reshape(-1)
            h = rmsnorm(x, P['rms_ffn'][l])
            a = P['w1'][l] @ h
            x = x + P['w2'][l] @ ((a / (1 + np.exp(-a))) * (P['w3'][l] @ h))
        x = rmsnorm(x, P['rms_final'])
        self.pos += 1
        return P['emb'] @ x


def greedy(cfg, P, prompt, n):
    r = Runner(cfg, P)
    for t in prompt[:-1]:
        r.step(t)
    cur, out, margins = prompt[-1], [], []
    for _ in range(n):
        logits = r.step(cur)
        top2 = np.sort(logits)[-2:]
        cur = int(np.argmax(logits))
        out.append(cur)
        margins.append(float(top2[1] - top2[0]))
    return out, margins


class BPETokenizer:
    def __init__(self, path):
        tj = json.load(open(path, encoding='utf-8'))
        m = tj['model']
        self.vocab = m['vocab']
        self.inv = {i: t for t, i in self.vocab.items()}
        self.ranks = {tuple(x.split(' ') if isinstance(x, str) else x): r for r, x in enumerate(m['merges'])}

    def encode(self, text):
        syms = list('\u2581' + text.replace(' ', '\u2581'))
        while len(syms) > 1:
            best = min(((self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(syms, syms[1:]))))
            if best[0] == 1 << 30:
                break
            i = best[1]
            syms[i:i + 2] = [syms[i] + syms[i + 1]]
        ids = []
        for s in syms:
            if s in self.vocab:
                ids.append(self.vocab[s])
            else:
                ids.extend(b + 3 for b in s.encode('utf-8'))
        return ids

    def decode(self, ids):
        out, pend = [], b''
        for i in ids:
            t = self.inv[i]
            if 3 <= i <= 258:
                pend += bytes([i - 3])
                continue
            if pend:
                out.append(pend.decode('utf-8', 'replace'))
                pend = b''
            if i > 2:
                out.append(t.replace('\u2581', ' '))
        if pend:
            out.append(pend.decode('utf-8', 'replace'))
        s = ''.join(out)
        return s[1:] if s.startswith(' ') else s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default=os.path.join(MODEL_DIR, 'model.bin'))
    ap.add_argument('--metrics', default=os.path.join(MODEL_DIR, 'training', 'metrics.json'))
    ap.add_argument('--n', type=int, default=20)
    ap.add_argument('--stories260k', default=None)
    ap.add_argument('--heldout', choices=['prose', 'code'], default=None)
    ap.add_argument('--doc', type=int, default=0, help='line number in heldout/<kind>.jsonl')
    ap.add_argument('--chars', type=int, default=600, help='prompt: the first N characters, cut at a line end')
    args = ap.parse_args()
    if args.stories260k:
        cfg, P = load(os.path.join(args.stories260k, 'stories260K.bin'), '<f4')
        out, _ = greedy(cfg, P, [1], 40)
        golden = [int(x) for x in '403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 '
                  '410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394 261 370 432 352'.split()]
        ok = out == golden
        print('stories260K greedy from BOS:', 'MATCH' if ok else 'MISMATCH', out)
        sys.exit(0 if ok else 1)
    cfg, P = load(args.model, '<f2')
    tok = BPETokenizer(os.path.join(os.path.dirname(args.model), 'tokenizer.json'))
    if args.heldout:
        lines = open(os.path.join(os.path.dirname(args.model), 'heldout', args.heldout + '.jsonl'), encoding='utf-8').readlines()
        d = json.loads(lines[args.doc])
        t = d['text'][:args.chars]
        prompt = t[:t.rfind('\n') + 1] if '\n' in t[args.chars // 2:] else t
        ids = [1] + tok.encode(prompt)
        out, _ = greedy(cfg, P, ids, args.n)
        out = out[:out.index(2)] if 2 in out else out
        full = tok.decode(ids[1:] + out)
        pre = tok.decode(ids[1:])
        print(json.dumps({'doc': d['id'], 'prompt': prompt, 'continuation': full[len(pre):] if full.startswith(pre) else tok.decode(out)}, ensure_ascii=False, indent=1))
        return
    print('header:', {k: cfg[k] for k in ('dim', 'hidden', 'L', 'H', 'KV', 'V', 'T', 'shared')},
          'trailing values:', cfg['trailing_values'])
    assert cfg['trailing_values'] == 0
    m = json.load(open(args.metrics))
    all_ok = True
    for g in m['greedy']:
        enc = [1] + tok.encode(g['prompt'])
        print(f"{g['kind']}: pure-Python tokenizer on the prompt: {'MATCH' if enc == g['prompt_ids'] else 'MISMATCH'} with the device's ids")
        all_ok &= enc == g['prompt_ids']
        want = g['output_ids'][:args.n]
        got, margins = greedy(cfg, P, g['prompt_ids'], len(want))
        ok = got == want
        all_ok &= ok
        print(f"{g['kind']}: prompt {len(g['prompt_ids'])} tokens; numpy {got}; device {want}; "
              f"{'MATCH' if ok else 'MISMATCH'} (smallest top-2 logit margin {min(margins):.3f})")
    sys.exit(0 if all_ok else 1)


if __name__ == '__main__':
    main()
