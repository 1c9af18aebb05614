/**
 * Hugging Face `tokenizer.json` for BPE models of the Llama-2 / SentencePiece shape:
 *  - normalizer: Sequence[Prepend("▁"), Replace(" ", "▁")] (also NFC/NFKC/NFD/NFKD, Lowercase, Strip),
 *    or the older Metaspace pre-tokenizer (replace spaces, prefix "▁", split before each "▁");
 *  - model BPE with merges by rank ("a b" strings or [a, b] pairs), byte fallback to <0xXX>,
 *    unk (fused when fuse_unk), ignore_merges;
 *  - added/special tokens matched in the raw text before anything else;
 *  - decoder Replace / ByteFallback / Fuse / Strip / Metaspace (and Sequence of them).
 * Byte-level BPE (GPT-2 style ByteLevel pre-tokenizer) is rejected with a clear error.
 * Behaviour follows the Rust `tokenizers` crate, component by component.
 */
import type { Tokenizer } from '../engine/backend.js';
import { mergeGreedy } from './bpe-merge.js';

type Json = Record<string, unknown>;
type Normalize = (s: string) => string;
/** Splits one normalized segment into words; `first` = the segment starts the text. */
type PreTokenize = (s: string, first: boolean) => string[];
type Decode = (tokens: string[]) => string[];

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

export interface HfTokenizerOptions {
  /** Override the BOS/EOS ids (default: the ids of <s> and </s> when present). */
  bos?: number;
  eos?: number;
}

function fail(msg: string): never {
  throw new Error(`tokenizer.json: ${msg}`);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function pattern(p: unknown, where: string): string | RegExp {
  const o = p as { String?: string; Regex?: string } | undefined;
  if (typeof o?.String === 'string') return o.String;
  if (typeof o?.Regex === 'string') return new RegExp(o.Regex, 'gu');
  return fail(`${where}: pattern must be {String} or {Regex}`);
}

const replaceAll = (s: string, p: string | RegExp, by: string) => (typeof p === 'string' ? s.split(p).join(by) : s.replace(p, by));

function compileNormalizer(n: Json | null | undefined): Normalize {
  if (!n) return (s) => s;
  switch (n.type) {
    case 'Sequence': {
      const parts = ((n.normalizers as Json[]) ?? []).map(compileNormalizer);
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    case 'Prepend': {
      const pre = String(n.prepend);
      return (s) => (s.length > 0 ? pre + s : s);
    }
    case 'Replace': {
      const p = pattern(n.pattern, 'normalizer Replace');
      const by = String(n.content);
      return (s) => replaceAll(s, p, by);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = n.type;
      return (s) => s.normalize(form);
    }
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'Strip': {
      const left = n.strip_left !== false;
      const right = n.strip_right !== false;
      return (s) => (left && right ? s.trim() : left ? s.trimStart() : right ? s.trimEnd() : s);
    }
    default:
      return fail(`normalizer type ${String(n.type)} is not supported (supported: Sequence, Prepend, Replace, NFC/NFD/NFKC/NFKD, Lowercase, Strip)`);
  }
}

/** Metaspace's prefix rule: 'always', 'first' (only at the start of the text), or 'never'. */
function prependScheme(m: Json): 'always' | 'first' | 'never' {
  if (typeof m.prepend_scheme === 'string') return m.prepend_scheme as 'always' | 'first' | 'never';
  return m.add_prefix_space === false ? 'never' : 'always';
}

function compilePreTokenizer(p: Json | null | undefined): PreTokenize {
  if (!p) return (s) => [s];
  switch (p.type) {
    case 'Sequence': {
      const parts = ((p.pretokenizers as Json[]) ?? []).map(compilePreTokenizer);
      return (s, first) => parts.reduce<string[]>((words, f) => words.flatMap((w, i) => f(w, first && i === 0)), [s]);
    }
    case 'Metaspace': {
      const rep = String(p.replacement ?? '▁');
      const scheme = prependScheme(p);
      const split = p.split !== false;
      return (s, first) => {
        let t = s.split(' ').join(rep);
        if ((scheme === 'always' || (scheme === 'first' && first)) && !t.startsWith(rep)) t = rep + t;
        if (!split) return [t];
        // Split before each replacement char, keeping it with the word that follows (MergedWithNext).
        const words: string[] = [];
        let start = 0;
        for (let i = t.indexOf(rep, 1); i >= 0; i = t.indexOf(rep, i + rep.length)) {
          if (i > start) words.push(t.slice(start, i));
          start = i;
        }
        if (start < t.length) words.push(t.slice(start));
        return words;
      };
    }
    case 'ByteLevel':
      return fail('byte-level BPE (a ByteLevel pre-tokenizer, GPT-2 style) is not supported; only SentencePiece-style BPE with byte fallback is');
    default:
      return fail(`pre_tokenizer type ${String(p.type)} is not supported (supported: Metaspace, Sequence)`);
  }
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function compileDecoder(d: Json | null | undefined): Decode {
  if (!d) return (t) => t;
  switch (d.type) {
    case 'Sequence': {
      const parts = ((d.decoders as Json[]) ?? []).map(compileDecoder);
      return (t) => parts.reduce((acc, f) => f(acc), t);
    }
    case 'Replace': {
      const p = pattern(d.pattern, 'decoder Replace');
      const by = String(d.content);
      return (t) => t.map((x) => replaceAll(x, p, by));
    }
    case 'ByteFallback':
      return (tokens) => {
        const out: string[] = [];
        let bytes: number[] = [];
        const flush = () => {
          if (!bytes.length) return;
          try {
            out.push(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes)));
          } catch {
            for (let i = 0; i < bytes.length; i++) out.push('\uFFFD'); // one replacement per byte, as tokenizers does
          }
          bytes = [];
        };
        for (const t of tokens) {
          const m = BYTE_TOKEN.exec(t);
          if (m) bytes.push(parseInt(m[1]!, 16));
          else {
            flush();
            out.push(t);
          }
        }
        flush();
        return out;
      };
    case 'Fuse':
      return (t) => [t.join('')];
    case 'Strip': {
      const c = String(d.content);
      const start = Number(d.start ?? 0);
      const stop = Number(d.stop ?? 0);
      return (t) =>
        t.map((x) => {
          const chars = [...x];
          let a = 0;
          while (a < start && a < chars.length && chars[a] === c) a++;
          let b = chars.length;
          while (chars.length - b < stop && b > a && chars[b - 1] === c) b--;
          return chars.slice(a, b).join('');
        });
    }
    case 'Metaspace': {
      const rep = String(d.replacement ?? '▁');
      const stripFirst = prependScheme(d) !== 'never';
      // As in tokenizers: in the first token every replacement char is dropped, elsewhere it becomes a space.
      return (t) => t.map((x, i) => x.split(rep).join(i === 0 && stripFirst ? '' : ' '));
    }
    case 'ByteLevel':
      return fail('ByteLevel decoder (byte-level BPE) is not supported');
    default:
      return fail(`decoder type ${String(d.type)} is not supported (supported: Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace)`);
  }
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  private readonly vocab = new Map<string, number>();
  private readonly idToToken: string[] = [];
  private readonly merges = new Map<number, { rank: number; id: number }>();
  private readonly added: AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedSplit: RegExp | null;
  private readonly normalize: Normalize;
  private readonly preTokenize: PreTokenize;
  private readonly decoder: Decode;
  private readonly unk: number | undefined;
  private readonly fuseUnk: boolean;
  private readonly byteFallback: boolean;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, number[]>();

  constructor(json: string | Json, opts: HfTokenizerOptions = {}) {
    const t: Json = typeof json === 'string' ? (JSON.parse(json) as Json) : json;
    const model = t.model as Json | undefined;
    if (!model || (model.type !== undefined && model.type !== 'BPE')) fail(`model type ${String(model?.type)} is not supported (BPE only)`);
    if (model.continuing_subword_prefix || model.end_of_word_suffix) fail('BPE continuing_subword_prefix / end_of_word_suffix are not supported');
    const vocab = model.vocab as Record<string, number> | undefined;
    if (!vocab || typeof vocab !== 'object') fail('model.vocab is missing');
    for (const [tok, id] of Object.entries(vocab)) {
      this.vocab.set(tok, id);
      this.idToToken[id] = tok;
    }
    this.added = ((t.added_tokens as Json[]) ?? []).map((a) => ({
      id: Number(a.id),
      content: String(a.content),
      special: a.special === true,
      lstrip: a.lstrip === true,
      rstrip: a.rstrip === true,
    }));
    for (const a of this.added) {
      this.addedById.set(a.id, a);
      this.idToToken[a.id] = a.content;
      if (!this.vocab.has(a.content)) this.vocab.set(a.content, a.id);
    }
    const contents = [...new Set(this.added.map((a) => a.content))].filter((c) => c.length > 0).sort((a, b) => b.length - a.length);
    this.addedSplit = contents.length ? new RegExp(contents.map(escapeRegExp).join('|'), 'g') : null;

    const merges = (model.merges as (string | [string, string])[] | undefined) ?? [];
    merges.forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? splitMerge(m) : m;
      const ia = this.vocab.get(a);
      const ib = this.vocab.get(b);
      const id = this.vocab.get(a + b);
      if (ia === undefined || ib === undefined || id === undefined) fail(`merge ${rank} ${JSON.stringify(m)} uses tokens missing from the vocabulary`);
      const key = ia * 0x100000 + ib;
      if (!this.merges.has(key)) this.merges.set(key, { rank, id });
    });

    this.vocabSize = this.idToToken.length;
    this.unk = typeof model.unk_token === 'string' ? this.vocab.get(model.unk_token) : undefined;
    this.fuseUnk = model.fuse_unk === true;
    this.byteFallback = model.byte_fallback === true;
    this.ignoreMerges = model.ignore_merges === true;
    this.normalize = compileNormalizer(t.normalizer as Json | null);
    this.preTokenize = compilePreTokenizer(t.pre_tokenizer as Json | null);
    this.decoder = compileDecoder(t.decoder as Json | null);
    this.bos = opts.bos ?? this.vocab.get('<s>');
    this.eos = opts.eos ?? this.vocab.get('</s>');
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToTokenString(id: number): string | undefined {
    return this.idToToken[id];
  }

  private pair = (a: number, b: number) => this.merges.get(a * 0x100000 + b);

  /** BPE over one pre-tokenized word. */
  private word(w: string): number[] {
    const hit = this.cache.get(w);
    if (hit) return hit;
    if (this.ignoreMerges && this.vocab.has(w)) return [this.vocab.get(w)!];
    const symbols: number[] = [];
    let lastUnk = false;
    const pushUnk = () => {
      if (this.unk === undefined) fail(`cannot encode ${JSON.stringify(w)}: a character is not in the vocabulary and there is no unk_token`);
      if (!(this.fuseUnk && lastUnk)) symbols.push(this.unk);
      lastUnk = true;
    };
    for (const ch of w) {
      const id = this.vocab.get(ch);
      if (id !== undefined) {
        symbols.push(id);
        lastUnk = false;
        continue;
      }
      if (this.byteFallback) {
        const ids = Array.from(new TextEncoder().encode(ch), (b) => this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
        if (ids.every((x) => x !== undefined)) {
          symbols.push(...(ids as number[]));
          lastUnk = false;
          continue;
        }
      }
      pushUnk();
    }
    const out = mergeGreedy(symbols, this.pair);
    if (this.cache.size < 50_000) this.cache.set(w, out);
    return out;
  }

  /** Raw text → segments: added tokens (as ids) and the plain text between them. */
  private segments(text: string): ({ id: number } | { text: string; first: boolean })[] {
    const out: ({ id: number } | { text: string; first: boolean })[] = [];
    const plain = (from: number, s: string) => s.length > 0 && out.push({ text: s, first: from === 0 });
    let i = 0;
    if (this.addedSplit) {
      const re = new RegExp(this.addedSplit);
      for (let m = re.exec(text); m; m = re.exec(text)) {
        const tok = this.added.find((a) => a.content === m![0])!;
        const before = text.slice(i, m.index);
        plain(i, tok.lstrip ? before.trimEnd() : before);
        out.push({ id: tok.id });
        i = m.index + m[0].length;
        if (tok.rstrip) while (i < text.length && /\s/u.test(text[i]!)) i++;
        re.lastIndex = i;
      }
    }
    plain(i, text.slice(i));
    return out;
  }

  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (opts.bos) {
      if (this.bos === undefined) fail('encode: BOS was asked for, but the tokenizer has no <s> (pass bos in the options)');
      ids.push(this.bos);
    }
    for (const seg of this.segments(text)) {
      if ('id' in seg) ids.push(seg.id);
      else for (const w of this.preTokenize(this.normalize(seg.text), seg.first)) ids.push(...this.word(w));
    }
    if (opts.eos) {
      if (this.eos === undefined) fail('encode: EOS was asked for, but the tokenizer has no </s>');
      ids.push(this.eos);
    }
    return ids;
  }

  /** skipSpecial (default true) drops added tokens marked special before the decoder runs, as tokenizers does. */
  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const skip = opts.skipSpecial ?? true;
    const tokens: string[] = [];
    for (const id of ids) {
      const tok = this.idToToken[id];
      if (tok === undefined) fail(`decode: id ${id} is not in the vocabulary`);
      if (skip && this.addedById.get(id)?.special) continue;
      tokens.push(tok);
    }
    return this.decoder(tokens).join('');
  }
}

/** "a b" → [a, b]; a merge of tokens that themselves contain spaces cannot use this form. */
function splitMerge(m: string): [string, string] {
  const i = m.indexOf(' ', 1);
  if (i < 0) fail(`merge ${JSON.stringify(m)} is not "left right"`);
  return [m.slice(0, i), m.slice(i + 1)];
}
